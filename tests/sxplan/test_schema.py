"""The run-folder contract: names, units, and readers that say what is missing."""

import re

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from sxplan.errors import LayerIOError, RunFolderError
from sxplan.schema import DATASETS, Column, dataset, read_json, read_table, require_columns

UNIT_SUFFIX = {"_km2": "km2", "_mw": "MW", "_gw": "GW", "_ha": "ha", "_pct": "%", "_m": "m"}


def test_every_dataset_is_under_a_stage_folder_and_has_a_meaning():
    for key, ds in DATASETS.items():
        assert ds.meaning, key
        assert ds.path in ("run.json", "report.html") or ds.path.split("/")[0] in {
            "figures",
            "layers",
            "siting",
            "sinks",
            "maps",
            "backtest",
        }
        assert ds.path.endswith("." + ds.kind), key
        if ds.kind == "gpkg":
            assert ds.layer or key == "layers.vectors", key


def test_column_names_are_unique_and_units_agree_with_suffixes():
    for key, ds in DATASETS.items():
        names = [c.name for c in ds.columns]
        assert len(names) == len(set(names)), f"{key} repeats {names}"
        for col in ds.all_columns():
            for suffix, unit in UNIT_SUFFIX.items():
                if col.name.endswith(suffix) and not col.is_pattern:
                    assert col.unit == unit, f"{key}.{col.name}: unit {col.unit!r}, expected {unit}"


def test_patterns_match_families_only():
    col = Column("sink_tco2_per_yr_{year}_p05", "tCO2/yr", "p05")
    assert col.matches("sink_tco2_per_yr_2030_p05")
    assert not col.matches("sink_tco2_per_yr_2030")
    assert not Column("rank", "rank", "r").matches("ranks")


def test_paths_fill_placeholders():
    ds = dataset("siting.suitability")
    assert ds.relpath(tech="wind") == "siting/suitability_wind.tif"
    with pytest.raises(KeyError, match="known"):
        dataset("siting.nope")


def test_check_refuses_a_writer_that_drifts():
    ds = dataset("sinks.trajectory")
    good = pd.DataFrame(columns=[c.name for c in ds.columns])
    assert ds.check(good) is good
    with pytest.raises(RuntimeError, match=r"missing \['sink_tco2_per_yr_p95'\]"):
        ds.check(good.drop(columns="sink_tco2_per_yr_p95"))
    with pytest.raises(RuntimeError, match=r"not in the schema \['sink_guess'\]"):
        ds.check(good.assign(sink_guess=1.0))


def _bases_csv(folder):
    cols = [c.name for c in dataset("siting.bases").columns]
    df = pd.DataFrame([dict.fromkeys(cols, 1)])
    (folder / "siting").mkdir(parents=True)
    df.to_csv(folder / "siting" / "bases.csv", index=False, encoding="utf-8-sig")
    return df


def test_read_table_names_a_dropped_column(tmp_path):
    df = _bases_csv(tmp_path)
    assert list(read_table(tmp_path, "siting.bases").columns) == list(df.columns)
    df.drop(columns="potential_gw").to_csv(
        tmp_path / "siting" / "bases.csv", index=False, encoding="utf-8-sig"
    )
    with pytest.raises(RunFolderError, match=r"lacks column\(s\) \['potential_gw'\]") as err:
        read_table(tmp_path, "siting.bases")
    assert "bases.csv" in str(err.value) and "Re-run the 'siting' step" in str(err.value)
    assert isinstance(err.value, LayerIOError)  # callers catching LayerIOError keep working


def test_read_table_names_a_missing_file_and_layer(tmp_path):
    with pytest.raises(RunFolderError, match=re.escape("has no siting/parcels_pv.gpkg")):
        read_table(tmp_path, "siting.parcels", tech="pv")
    (tmp_path / "siting").mkdir()
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(112, 37)], crs="EPSG:4326")
    gdf.to_file(tmp_path / "siting" / "parcels_pv.gpkg", layer="other")
    with pytest.raises(RunFolderError, match="has no layer 'parcels_pv'"):
        read_table(tmp_path, "siting.parcels", tech="pv")


def test_read_table_checks_only_what_the_reader_uses(tmp_path):
    _bases_csv(tmp_path)
    df = read_table(tmp_path, "siting.bases", columns=["id", "potential_gw"])
    assert len(df) == 1
    with pytest.raises(RunFolderError, match="wind_share"):
        read_table(tmp_path, "siting.bases", columns=["wind_share"])


def test_require_columns_lists_every_missing_one():
    with pytest.raises(RunFolderError, match=r"\['b', 'c'\]"):
        require_columns(["a"], ["a", "b", "c"], source="t.csv", fix="fix it")


def test_year_families_are_four_digits():
    sink = Column("sink_tco2_per_yr_{year}", "tCO2/yr", "sink")
    assert sink.matches("sink_tco2_per_yr_2030")
    assert not sink.matches("sink_tco2_per_yr_2030_p05")  # a percentile is another family
    counties = dataset("sinks.counties")
    assert counties.column("sink_tco2_per_yr_2030_p05").name == "sink_tco2_per_yr_{year}_p05"
    cols = ["adcode", "sink_tco2_per_yr_2025", "sink_tco2_per_yr_2025_p95", "sink_tco2_per_yr_2060"]
    assert counties.family(cols, "sink_tco2_per_yr_{year}") == [
        "sink_tco2_per_yr_2025",
        "sink_tco2_per_yr_2060",
    ]
    with pytest.raises(KeyError, match="no column family"):
        counties.family(cols, "sink_{guess}")


def test_sinks_columns_follow_the_runs_settings():
    """Limits, target year and allocation set which county columns a run writes."""
    ds = dataset("sinks.counties")
    cols = [c.name for c in ds.columns if c.required]
    assert "removed_reserved_ha" not in cols and ds.known("removed_climate_ha")
    ds.check(pd.DataFrame(columns=[*cols, "removed_slope_ha", "sink_tco2_per_yr_2030"]))
    ds.check(pd.DataFrame(columns=[*cols, "cover_2030_pct", "priority_score"]))


def test_file_names_and_presence(tmp_path):
    assert dataset("sinks.counties_gpkg").filename() == "counties.gpkg"
    vector = dataset("layers.vector")
    assert vector.layer_name(name="highways") == "highways"
    assert not vector.present_in(tmp_path, name="province")
    (tmp_path / "layers").mkdir()
    gdf = gpd.GeoDataFrame({"name": ["省"]}, geometry=[Point(112, 37)], crs="EPSG:4326")
    gdf.to_file(tmp_path / "layers" / "vectors.gpkg", layer="province")
    assert vector.present_in(tmp_path, name="province")
    assert not vector.present_in(tmp_path, name="water")
    assert list(read_table(tmp_path, "layers.vector", name="province", columns=[])["name"]) == [
        "省"
    ]
    (tmp_path / "layers" / "vectors.gpkg").write_bytes(b"not a geopackage")
    with pytest.raises(RunFolderError, match="not a GeoPackage"):
        read_table(tmp_path, "layers.vector", name="province")


def test_read_json_names_the_missing_file_and_entry(tmp_path):
    with pytest.raises(RunFolderError, match=re.escape("has no run.json")):
        read_json(tmp_path, "run.json")
    (tmp_path / "run.json").write_text('{"config": {"project": {}}}', encoding="utf-8")
    assert read_json(tmp_path, "run.json", keys=["config.project"])["config"] == {"project": {}}
    with pytest.raises(RunFolderError, match="no 'config.maps' entry"):
        read_json(tmp_path, "run.json", keys=["config.maps"])
    (tmp_path / "run.json").write_text("{broken", encoding="utf-8")
    with pytest.raises(RunFolderError, match="not valid JSON"):
        read_json(tmp_path, "run.json")


def test_read_table_names_a_csv_excel_saved_in_gbk_or_emptied(tmp_path):
    df = _bases_csv(tmp_path)
    path = tmp_path / "siting" / "bases.csv"
    df.assign(name_zh="晋北基地").to_csv(path, index=False, encoding="gbk")
    with pytest.raises(RunFolderError, match=r"bases.csv is not UTF-8 text.*CSV UTF-8"):
        read_table(tmp_path, "siting.bases")
    path.write_bytes(b"")
    with pytest.raises(RunFolderError, match="bases.csv is not a readable CSV table"):
        read_table(tmp_path, "siting.bases")
