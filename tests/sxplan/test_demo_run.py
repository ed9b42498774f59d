"""`sxplan demo` end to end on the embedded Shanxi data: every promised file, with facts."""

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio

from sxplan.cli import main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "sxplan-demo"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["demo", "--out", str(out), "--no-progress"]) == 0
    return out, buf.getvalue()


def test_every_promised_output_exists(demo):
    out, _ = demo
    expected = {
        "layers": [
            "dem.tif",
            "landcover.tif",
            "ghi.tif",
            "pv_yield.tif",
            "wind_proxy.tif",
            "slope_deg.tif",
            "slope_pct.tif",
            "aspect_deg.tif",
            "vectors.gpkg",
            "grid.json",
            "provenance.csv",
            "reserved_for_renewables.tif",
        ],
        "siting": [
            "suitability_pv.tif",
            "suitability_wind.tif",
            "excluded_by_rule_pv.tif",
            "excluded_by_rule_wind.tif",
            "parcels_pv.gpkg",
            "parcels_wind.gpkg",
            "shortlist.csv",
            "shortlist.gpkg",
            "bases.csv",
            "exclusions.csv",
            "roadside_pv_segments.gpkg",
            "roadside_pv.csv",
        ],
        "sinks": ["counties.csv", "counties.gpkg", "afforestation_eligible.tif"],
        "maps": ["siting.html", "sinks.html"],
    }
    for folder, names in expected.items():
        for name in names:
            assert (out / folder / name).is_file(), f"{folder}/{name}"
    assert (out / "run.json").is_file()
    assert not list(out.parent.glob(".sxplan-demo.*")), "staging folder left behind"


def test_aligned_stack_is_one_1km_albers_grid(demo):
    out, _ = demo
    grids = set()
    for tif in (out / "layers").glob("*.tif"):
        with rasterio.open(tif) as src:
            grids.add((src.crs.to_wkt(), tuple(src.transform)[:6], src.shape))
            assert src.res == (1000.0, 1000.0)
    assert len(grids) == 1
    prov = pd.read_csv(out / "layers" / "provenance.csv")
    assert {"dem", "landcover", "counties", "highways"} <= set(prov["name"])
    assert prov["sha256"].str.len().eq(64).all()


def test_run_json_records_inputs_versions_timings(demo):
    out, _ = demo
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert len(run["inputs"]) == 15  # 14 layers + the config
    assert {"rasterio", "geopandas", "numpy", "gdal"} <= set(run["versions"])
    assert {"layers", "siting", "roadside_pv", "sinks", "maps", "total"} <= set(run["timings_s"])
    # run.json's headline is the parcels' capacity summed (MW -> GW), not just "some"
    parcels = gpd.read_file(out / "siting" / "parcels_pv.gpkg")
    assert len(parcels) > 0
    assert run["results"]["siting"]["technologies"]["pv"]["potential_gw"] == pytest.approx(
        parcels["capacity_mw"].sum() / 1000.0, rel=1e-9
    )


def test_shortlist_is_excel_ready_and_inside_shanxi(demo):
    out, _ = demo
    raw = (out / "siting" / "shortlist.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    sl = pd.read_csv(out / "siting" / "shortlist.csv", encoding="utf-8-sig")
    assert set(sl["technology"]) == {"pv", "wind", "roadside_pv"}
    assert sl["lon"].between(110.2, 114.6).all() and sl["lat"].between(34.5, 40.8).all()
    assert sl["county"].str.contains("县|区|市").all()
    for tech, grp in sl.groupby("technology"):
        assert list(grp["rank"]) == list(range(1, len(grp) + 1)), tech


def test_per_rule_accounting_adds_up(demo):
    out, _ = demo
    ex = pd.read_csv(out / "siting" / "exclusions.csv", encoding="utf-8-sig")
    for tech, grp in ex.groupby("technology"):
        rules = grp[grp["order"].notna() & (grp["mode"] == "hard")]  # soft rules only re-score
        total = grp.loc[grp["rule"] == "total_excluded", "km2_in_sequence"].iloc[0]
        assert rules["km2_in_sequence"].sum() == pytest.approx(total), tech
        assert (rules["km2_alone"] >= rules["km2_in_sequence"] - 1e-9).all(), tech


def test_bases_table_has_five_bases_and_targets(demo):
    out, _ = demo
    b = pd.read_csv(out / "siting" / "bases.csv", encoding="utf-8-sig")
    assert set(b.loc[b["level"] == "base", "id"]) == {
        "jinbei",
        "xinshuo",
        "jinxi_yanhuang",
        "jindong",
        "jinnan",
    }
    outlines = gpd.read_file(out / "layers" / "vectors.gpkg", layer="bases")
    assert sorted(outlines["id"]) == sorted(set(b.loc[b["level"] == "base", "id"]))
    assert outlines.geometry.is_valid.all() and outlines.crs.to_epsg() == 4326
    prov = b[(b["level"] == "province") & (b["technology"] == "pv+wind")].iloc[0]
    assert prov["target_gw_2025"] == 80 and prov["target_gw_2030"] == 120


def test_sinks_cover_all_117_counties(demo):
    out, _ = demo
    c = pd.read_csv(out / "sinks" / "counties.csv", encoding="utf-8-sig")
    assert len(c) == 117 and c["adcode"].is_unique
    gpkg = gpd.read_file(out / "sinks" / "counties.gpkg")
    assert len(gpkg) == 117 and gpkg.crs is not None
    pct = c["calibrated_forest_pct"] if "calibrated_forest_pct" in c else c.filter(like="pct")
    assert np.isfinite(np.asarray(pct, dtype=float)).all()


def test_maps_are_offline_and_paths_printed(demo):
    out, stdout = demo
    for name in ("siting.html", "sinks.html"):
        html = (out / "maps" / name).read_text(encoding="utf-8")
        # no element fetches from the network (links inside Leaflet's JS strings are not fetches)
        assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']https?://""", html)
        assert not re.search(r"""tileLayer\(\s*["']https?://""", html), name
        assert f"{out / 'maps' / name}" in stdout
    for name in ("wind_proxy", "redline_proxy", "highways"):
        assert f"WARNING: demo layer `{name}`" in stdout


def test_run_json_lists_outputs_that_exist(demo):
    out, _ = demo
    text = (out / "run.json").read_text(encoding="utf-8")
    assert ".partial-" not in text  # nothing points into the deleted staging folder
    results = json.loads(text)["results"]
    listed = [*results["siting"]["outputs"].values(), *results["maps"].values()]
    assert len(listed) >= 14 and "siting/shortlist.gpkg" in listed
    for rel in listed:  # relative to the run folder, and there after the run
        assert not rel.startswith("/") and (out / rel).is_file(), rel


def _copy_without_maps(out, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(out, run)
    shutil.rmtree(run / "maps")
    return run


def test_map_names_a_column_dropped_from_a_real_run(demo, tmp_path, capsys):
    """The issue's test: a real run folder, one column dropped, `sxplan map` names it."""
    out, _ = demo
    run = _copy_without_maps(out, tmp_path)
    bases = run / "siting" / "bases.csv"
    pd.read_csv(bases, encoding="utf-8-sig").drop(columns="potential_gw").to_csv(
        bases, index=False, encoding="utf-8-sig"
    )
    assert main(["map", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sxplan: error: ")
    assert str(bases) in err and "['potential_gw']" in err
    assert "Re-run the 'siting' step" in err
    assert not (run / "maps").exists() or not list((run / "maps").iterdir())  # no map at all


def test_map_names_a_column_dropped_from_a_geopackage(demo, tmp_path, capsys):
    out, _ = demo
    run = _copy_without_maps(out, tmp_path)
    parcels = run / "siting" / "parcels_pv.gpkg"
    gdf = gpd.read_file(parcels, layer="parcels_pv").drop(columns="capacity_mw")
    parcels.unlink()
    gdf.to_file(parcels, layer="parcels_pv")
    assert main(["map", str(run)]) == 2
    err = capsys.readouterr().err
    assert "parcels_pv.gpkg (layer 'parcels_pv')" in err and "['capacity_mw']" in err
    assert not (run / "maps").exists() or not list((run / "maps").iterdir())


def test_map_of_an_untouched_real_run_rebuilds_both(demo, tmp_path, capsys):
    out, _ = demo
    run = _copy_without_maps(out, tmp_path)
    assert main(["map", str(run)]) == 0
    assert sorted(p.name for p in (run / "maps").iterdir()) == [
        "sinks.html", "siting.html", "supply_curves.png"
    ]  # fmt: skip


def test_backtest_on_the_demo_run(demo, tmp_path):
    """Sites on the best PV cells rank far above the background, sites on the worst below."""
    from pyproj import Transformer

    out, _ = demo
    with rasterio.open(out / "siting" / "suitability_pv.tif") as src:
        suit = src.read(1, masked=True).filled(np.nan)
        tr, crs = src.transform, src.crs
    ok = np.isfinite(suit)
    hi_r, hi_c = np.nonzero(ok & (suit >= np.nanpercentile(suit, 95)))
    lo_r, lo_c = np.nonzero(ok & (suit <= np.nanpercentile(suit, 5)))
    rng = np.random.default_rng(3)
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def sites(rows, cols, name):
        k = rng.choice(rows.size, 40, replace=False)
        x, y = rasterio.transform.xy(tr, rows[k], cols[k])
        lon, lat = to_ll.transform(x, y)
        path = tmp_path / f"{name}.csv"
        pd.DataFrame({"longitude": lon, "latitude": lat}).to_csv(path, index=False)
        return path, suit[rows[k], cols[k]]

    aucs = {}
    for name, (r, c) in {"high": (hi_r, hi_c), "low": (lo_r, lo_c)}.items():
        path, expected = sites(r, c, name)
        args = ["backtest", str(out), "--sites", str(path), "--technology", "pv", "--overwrite"]
        assert main(args) == 0
        table = pd.read_csv(out / "backtest" / "backtest.csv", encoding="utf-8-sig")
        np.testing.assert_allclose(table["score"], expected, atol=1e-4)  # the cell's score
        auc = pd.read_csv(out / "backtest" / "backtest_auc.csv", encoding="utf-8-sig")
        aucs[name] = auc.set_index("measure")["auc"]
    assert aucs["high"]["score"] > 0.9 and aucs["high"]["score_eligible"] > 0.9
    # the worst eligible cells still beat excluded land (score 0), not eligible land
    assert aucs["low"]["score_eligible"] < 0.1
    run = json.loads((out / "run.json").read_text("utf-8"))
    assert "results" in run and run["backtest"]["technologies"]["pv"]["scored"] == 40
    assert main(["map", str(out)]) == 0  # the map draws the backtest's sites
    assert "回测: 现有场站" in (out / "maps" / "siting.html").read_text("utf-8")


def test_rank_stability_columns_in_parcels_and_shortlist(demo):
    out, report = demo
    parcels = gpd.read_file(out / "siting" / "parcels_wind.gpkg")
    shortlist = pd.read_csv(out / "siting" / "shortlist.csv", encoding="utf-8-sig")
    for frame in (parcels, shortlist[shortlist["technology"] != "roadside_pv"]):
        assert frame["top_n_share"].between(0, 1).all()
        assert (frame["rank_p05"] <= frame["rank_p95"]).all()
    run = json.loads((out / "run.json").read_text("utf-8"))
    st = run["results"]["siting"]["technologies"]["wind"]["stability"]
    assert st["draws"] == 1000 and st["method"] == "dirichlet"
    assert st["top_n_always"] == int((parcels["top_n_share"] == 1).sum())
    assert "rank stability" in report


def test_sinks_alone_takes_the_reservation_of_an_earlier_siting_run(demo, tmp_path):
    """`sxplan sinks --siting RUN` keeps the shortlisted parcels from planting, as `demo` does."""
    import contextlib
    import io

    from sxplan.config import demo_config_path

    out, _ = demo
    alone = tmp_path / "sinks-alone"
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(
            ["sinks", str(demo_config_path()), "--out", str(alone), "--no-progress",
             "--siting", str(out)]
        )  # fmt: skip
    assert rc == 0
    full = pd.read_csv(out / "sinks" / "net_carbon.csv", encoding="utf-8-sig")
    part = pd.read_csv(alone / "sinks" / "net_carbon.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(full, part)
    a = pd.read_csv(out / "sinks" / "counties.csv", encoding="utf-8-sig")
    b = pd.read_csv(alone / "sinks" / "counties.csv", encoding="utf-8-sig")
    np.testing.assert_allclose(a["eligible_ha"], b["eligible_ha"])
    # net carbon by hand for the first parcel: energy x 1000 x factor - plantable x removal
    r = full.iloc[0]
    # energy is written to 0.01 GWh: 0.005 GWh x 536.6 t/GWh = 2.7 t of rounding at most
    assert r["avoided_tco2_per_yr"] == pytest.approx(
        r["energy_gwh_per_yr"] * 1000 * r["grid_emission_factor_tco2_per_mwh"], abs=3.0
    )
    assert r["net_tco2_per_yr"] == pytest.approx(
        r["avoided_tco2_per_yr"] - r["forgone_sink_tco2_per_yr"], abs=0.05
    )
    assert r["grid_emission_factor_tco2_per_mwh"] == 0.5366  # the config value, unrounded
    assert r["forgone_sink_tco2_per_yr"] == pytest.approx(
        r["contested_plantable_ha"] * r["forgone_sink_tco2_per_ha_yr"], rel=1e-3
    )


def test_sinks_siting_folder_without_a_siting_step_is_a_clear_error(tmp_path):
    from sxplan.config import demo_config_path

    empty = tmp_path / "not-a-run"
    empty.mkdir()
    rc = main(
        ["sinks", str(demo_config_path()), "--out", str(tmp_path / "o"), "--no-progress",
         "--siting", str(empty)]
    )  # fmt: skip
    assert rc == 2
    assert not (tmp_path / "o").exists()


def test_parcel_geometries_are_valid(demo):
    """Parcels whose cells touch only at a corner used to be one ring through that corner
    twice (340 OGC-invalid geometries in the demo, flagged by QGIS's validity check); they
    are now two polygons meeting at the point, the same whatever the tiling."""
    import shapely

    out, _ = demo
    for tech in ("pv", "wind"):
        parcels = gpd.read_file(out / "siting" / f"parcels_{tech}.gpkg", layer=f"parcels_{tech}")
        reasons = shapely.is_valid_reason(np.asarray(parcels.geometry.values))
        assert (reasons == "Valid Geometry").all(), sorted(set(reasons))[:3]
