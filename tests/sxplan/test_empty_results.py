"""Empty results are results (issue 12, family 2).

A technology with no parcel (cropland-only land, a strict threshold, a layer with no data, a
minimum parcel area nothing reaches) writes its files with zero rows and every column, and
warns (on screen and in run.json) which rule or input emptied it. Each test builds its real
input from the demo data on a 3 km grid.
"""

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from _sxrun import demo_project

from sxplan.cli import main
from sxplan.config import demo_config_path
from sxplan.schema import dataset


def _site(config, out, capsys, *techs):
    args = ["site", str(config), "--out", str(out), "--no-progress"]
    for tech in techs:
        args += ["--tech", tech]
    assert main(args) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    return run, printed


def _copy_raster(tmp_path, name, fill):
    """The demo raster ``name`` rewritten with every cell set by ``fill(array, nodata)``."""
    src = demo_config_path().parent / "shanxi" / name
    with rasterio.open(src) as s:
        profile, band = s.profile, s.read(1)
    band = fill(band, profile["nodata"])
    path = tmp_path / name
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(band, 1)
    return path


def _assert_empty_parcels(out, tech, reference_columns=None):
    ds = dataset("siting.parcels")
    path = ds.path_in(out, tech=tech)
    parcels = gpd.read_file(path, layer=ds.layer_name(tech=tech))
    assert len(parcels) == 0
    required = [c.name for c in ds.columns if c.required]
    required += [c.name for c in ds.by_technology.get(tech, ()) if c.required]
    assert set(required) <= set(parcels.columns), set(required) - set(parcels.columns)
    if reference_columns is not None:
        assert list(parcels.columns) == reference_columns
    assert parcels.crs.to_epsg() == 4326
    return parcels


def test_strict_threshold_gives_zero_parcels_and_names_the_threshold(tmp_path, capsys):
    def strict(cfg):
        cfg["siting"]["pv"]["score_threshold"] = 0.999

    config = demo_project(tmp_path, strict)
    run, printed = _site(config, tmp_path / "out", capsys, "pv")
    out = tmp_path / "out"
    # the same columns, in the same order, as a run that finds parcels
    normal = demo_project(tmp_path / "normal")
    _site(normal, tmp_path / "normal_out", capsys, "pv")
    ref = gpd.read_file(tmp_path / "normal_out" / "siting" / "parcels_pv.gpkg")
    assert len(ref) > 0
    _assert_empty_parcels(out, "pv", list(ref.columns))
    shortlist = pd.read_csv(out / "siting" / "shortlist.csv", encoding="utf-8-sig")
    assert len(shortlist) == 0 and "energy_gwh_per_yr" in shortlist.columns
    bases = pd.read_csv(out / "siting" / "bases.csv", encoding="utf-8-sig")
    assert (bases["potential_gw"] == 0).all()
    (warning,) = run["warnings"]
    assert "technology 'pv': no parcel" in warning and "score_threshold = 0.999" in warning
    assert "WARNING: technology 'pv': no parcel" in printed
    assert run["results"]["siting"]["technologies"]["pv"]["parcels"] == 0


def test_cropland_only_area_names_the_cropland_rule(tmp_path, capsys):
    crop = _copy_raster(tmp_path, "landcover_igbp.tif", lambda a, nd: np.where(a == nd, a, 12))

    def cropland(cfg):
        cfg["layers"]["landcover"]["path"] = str(crop)

    run, _ = _site(demo_project(tmp_path, cropland), tmp_path / "out", capsys, "pv")
    _assert_empty_parcels(tmp_path / "out", "pv")
    (warning,) = run["warnings"]
    assert "no eligible land is left; rule 'cropland_pv' removed the last of it" in warning
    excl = pd.read_csv(tmp_path / "out" / "siting" / "exclusions.csv", encoding="utf-8-sig")
    eligible = excl[(excl["technology"] == "pv") & (excl["rule"] == "eligible")]
    assert float(eligible["km2_in_sequence"].iloc[0]) == 0.0


def test_all_nodata_layer_is_named(tmp_path, capsys):
    ghi = _copy_raster(
        tmp_path, "ghi.tif", lambda a, nd: np.full_like(a, nd if nd is not None else np.nan)
    )

    def no_ghi(cfg):
        cfg["layers"]["ghi"]["path"] = str(ghi)
        cfg["layers"]["ghi"]["min_coverage"] = 0  # past the pre-flight, which refuses it (E4)

    run, printed = _site(demo_project(tmp_path, no_ghi), tmp_path / "out", capsys, "pv")
    _assert_empty_parcels(tmp_path / "out", "pv")
    layer_warning = [w for w in run["warnings"] if w.startswith("layer 'ghi'")]
    assert layer_warning and "is all nodata on the analysis grid" in layer_warning[0]
    assert str(ghi) in layer_warning[0]
    pv_warning = [w for w in run["warnings"] if w.startswith("technology 'pv'")]
    assert pv_warning and "'no_data'" in pv_warning[0]


def test_min_parcel_area_nothing_reaches_is_named(tmp_path, capsys):
    def huge(cfg):
        cfg["siting"]["wind"]["min_parcel_area_km2"] = 100000
        cfg["siting"]["wind"]["max_parcel_area_km2"] = 200000

    run, _ = _site(demo_project(tmp_path, huge), tmp_path / "out", capsys, "wind")
    _assert_empty_parcels(tmp_path / "out", "wind")
    (warning,) = run["warnings"]
    assert "min_parcel_area_km2 = 100000" in warning


def test_one_empty_technology_keeps_the_other_and_the_map(tmp_path, capsys):
    def strict_wind(cfg):  # the demo's best wind cells score 1.0, so no threshold empties wind
        cfg["siting"]["wind"]["min_parcel_area_km2"] = 100000
        cfg["siting"]["wind"]["max_parcel_area_km2"] = 200000

    out = tmp_path / "out"
    run, _ = _site(demo_project(tmp_path, strict_wind), out, capsys, "pv", "wind")
    _assert_empty_parcels(out, "wind")
    assert len(gpd.read_file(out / "siting" / "parcels_pv.gpkg")) > 0
    shortlist = pd.read_csv(out / "siting" / "shortlist.csv", encoding="utf-8-sig")
    assert set(shortlist["technology"]) == {"pv"}
    assert main(["map", str(out)]) == 0
    assert (out / "maps" / "siting.html").stat().st_size > 0
    from _sxrun import tree_sha256

    rerun = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert rerun["outputs_sha256"] == tree_sha256(out)  # the map's files are recorded too
    assert len(run["warnings"]) == 1 and "technology 'wind'" in run["warnings"][0]


def test_empty_suitability_raster_is_a_note_on_the_map(tmp_path, capsys):
    crop = _copy_raster(tmp_path, "landcover_igbp.tif", lambda a, nd: np.where(a == nd, a, 12))

    def cropland(cfg):
        cfg["layers"]["landcover"]["path"] = str(crop)

    out = tmp_path / "out"
    _site(demo_project(tmp_path, cropland), out, capsys, "pv")
    assert main(["map", str(out)]) == 0
    html = (out / "maps" / "siting.html").read_text(encoding="utf-8")
    assert "empty result, not drawn" in html


@pytest.mark.parametrize("tech", ["pv", "wind"])
def test_empty_parcel_table_through_the_schema_reader(tmp_path, capsys, tech):
    def strict(cfg):
        cfg["siting"][tech]["min_parcel_area_km2"] = 100000
        cfg["siting"][tech]["max_parcel_area_km2"] = 200000

    out = tmp_path / "out"
    _site(demo_project(tmp_path, strict), out, capsys, tech)
    from sxplan.schema import read_table

    table = read_table(out, "siting.parcels", tech=tech)
    assert len(table) == 0


def test_roadside_with_no_road_of_its_classes_is_an_error_naming_them(tmp_path, capsys):
    """No road of the configured classes is most likely a wrong setting, so it stays an error."""

    def primary_only(cfg):
        cfg["roadside_pv"]["road_classes"] = ["primary"]

    out = tmp_path / "out"
    config = demo_project(tmp_path, primary_only)
    assert main(["site", str(config), "--tech", "roadside_pv", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "roadside_pv: no line of the highway layer has" in err and "['primary']" in err
    assert "roadside_pv.road_classes" in err and not out.exists()


def test_sinks_with_no_eligible_land_warn_and_write_zero_allocation(tmp_path, capsys):
    crop = _copy_raster(tmp_path, "landcover_igbp.tif", lambda a, nd: np.where(a == nd, a, 12))

    def cropland(cfg):
        cfg["layers"]["landcover"]["path"] = str(crop)
        cfg["sinks"]["calibration"] = "replace"  # keep the official 2020 cover per county

    out = tmp_path / "out"
    config = demo_project(tmp_path, cropland)
    assert main(["sinks", str(config), "--out", str(out), "--no-progress"]) == 0
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    (warning,) = run["warnings"]
    assert warning.startswith("sinks: no land is eligible for afforestation")
    assert "sinks.eligible_credit" in warning and "sinks.max_slope_deg = 35.0" in warning
    counties = pd.read_csv(out / "sinks" / "counties.csv", encoding="utf-8-sig")
    assert len(counties) == 117
    assert run["results"]["sinks"]["province"]["eligible_ha"] == 0
