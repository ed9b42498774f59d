"""Family 4 of docs/errors.md: inputs that used to give silent wrong answers are now refused.

Each test builds the bad input itself (real GeoTIFF, GeoPackage, Shapefile, GeoJSON, YAML) and
runs the real ``sxplan`` command: exit 2 and a message naming the layer, the file and the fix.
"""

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _badinputs import DEM_TRANSFORM, cli, dem_array, demo, tiny, write

from _sxtest import write_tif
from sxplan.layers import VectorLayerSpec, load_vector


def _validate(tmp_path, cfg, capsys):
    return cli(["validate", write(tmp_path, cfg)], capsys)


@pytest.mark.parametrize(
    "sentinel,dtype",
    [(-9999, "int16"), (-32768, "int32"), (-3.4028234663852886e38, "float32"), (-1e20, "float64")],
)
def test_undeclared_sentinel_block_is_refused(tmp_path, capsys, sentinel, dtype):
    dem = dem_array().astype(dtype)
    dem[10:20, 10:20] = sentinel  # a void block inside the study area, not declared as nodata
    cfg = tiny(tmp_path, dem=dem, nodata=None)
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2
    assert "layer 'dem'" in err and "dem.tif" in err and "usually marks missing data" in err
    assert f"nodata: {sentinel:g}" in err and "sentinels: []" in err


def test_sentinel_declared_as_real_value_is_accepted(tmp_path, capsys):
    dem = dem_array()
    dem[10:12, 10:12] = -9999
    cfg = tiny(tmp_path, dem=dem, nodata=None)
    cfg["layers"]["dem"]["sentinels"] = []
    code, out, _ = _validate(tmp_path, cfg, capsys)
    assert code == 0 and "a run will start" in out


def test_sentinel_list_is_configurable(tmp_path, capsys):
    dem = dem_array()
    dem[10:12, 10:12] = -1  # not a default sentinel: accepted until listed
    cfg = tiny(tmp_path, dem=dem, nodata=None)
    assert _validate(tmp_path, cfg, capsys)[0] == 0
    cfg["layers"]["dem"]["sentinels"] = [-1]
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "holds -1 in" in err


def test_layer_covering_half_the_study_area_is_refused(tmp_path, capsys):
    dem = dem_array()
    dem[:, 15:] = -32768  # the declared nodata: the east half has no data
    cfg = tiny(tmp_path, dem=dem)
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2
    # the study area is columns 5..25 of the DEM (0.2 degree of 0.3): 10 of 20 have data
    share = int(err.split("has data on ")[1].split("%")[0])
    assert 45 <= share <= 55
    assert "min_coverage: 0.99" in err and "layers.dem.min_coverage" in err


def test_lower_min_coverage_accepts_the_gap(tmp_path, capsys):
    dem = dem_array()
    dem[:, 15:] = -32768
    cfg = tiny(tmp_path, dem=dem)
    cfg["layers"]["dem"]["min_coverage"] = 0.4
    code, out, _ = _validate(tmp_path, cfg, capsys)
    assert code == 0 and "dem: int16, data on 5" in out


def test_raster_smaller_than_the_study_area_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    # a DEM covering only the western 0.1 degree of the 0.2 degree area
    write_tif(
        tmp_path / "inputs" / "dem.tif", dem_array()[:, :15], DEM_TRANSFORM, "EPSG:4326", -32768
    )
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "has data on" in err and "of the study area" in err


def test_continuous_values_declared_categorical_are_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    ghi = np.linspace(1500.5, 1800.5, 900).reshape(30, 30).astype("float32")
    write_tif(tmp_path / "inputs" / "ghi.tif", ghi, DEM_TRANSFORM, "EPSG:4326", -9999.0)
    cfg["layers"]["ghi"] = {"type": "raster", "path": "inputs/ghi.tif", "kind": "categorical"}
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "declared `kind: categorical` but holds fractional values" in err
    assert "kind: continuous" in err


def test_too_many_codes_declared_categorical_are_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    cfg["layers"]["dem"]["kind"] = "categorical"  # 30 x 30 DEM at 1 m steps: 900 "codes"
    dem = (np.arange(900).reshape(30, 30) + 800).astype("int16")
    write_tif(tmp_path / "inputs" / "dem.tif", dem, DEM_TRANSFORM, "EPSG:4326", -32768)
    cfg["project"]["resolution_m"] = 300
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "distinct values in a sample" in err and "kind: continuous" in err


def test_class_codes_declared_continuous_warn(tmp_path, capsys):
    cfg = tiny(tmp_path)
    codes = np.tile(np.array([1, 2, 3, 4], "uint8"), (30, 8))[:, :30]
    write_tif(tmp_path / "inputs" / "lc.tif", codes, DEM_TRANSFORM, "EPSG:4326", 0)
    cfg["layers"]["lc"] = {"type": "raster", "path": "inputs/lc.tif", "kind": "continuous"}
    code, out, _ = _validate(tmp_path, cfg, capsys)
    assert code == 0
    assert "WARNING: layer 'lc'" in out and "only 4 distinct whole values (1, 2, 3, 4)" in out


@pytest.mark.parametrize("setting", ["criteria", "range_rule"])
def test_quantity_read_from_a_categorical_layer_is_refused(tmp_path, capsys, setting):
    cfg = demo(tmp_path)
    cfg["layers"]["wind_proxy"]["kind"] = "categorical"
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "declared `kind: categorical`" in err
    expected = {
        "criteria": "siting.wind.criteria 'wind_proxy_ms' scores layer 'wind_proxy'",
        "range_rule": "siting.exclusions 'low_wind' compares layer 'wind_proxy'",
    }[setting]
    assert expected in err


def _shapefile(tmp_path, encoding, cpg=False):
    d = tmp_path / "inputs"
    gdf = gpd.GeoDataFrame(
        {"adcode": [140101, 140102], "county": ["小店区", "迎泽区"]},
        geometry=[shapely.box(112.4, 37.7, 112.5, 37.9), shapely.box(112.5, 37.7, 112.6, 37.9)],
        crs="EPSG:4326",
    )
    gdf.to_file(d / "parks.shp", encoding=encoding)
    if not cpg:
        (d / "parks.cpg").unlink(missing_ok=True)
    return d / "parks.shp"


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_shapefile_without_cpg_gives_garbled_names_and_is_refused(tmp_path, capsys, encoding):
    cfg = tiny(tmp_path)
    _shapefile(tmp_path, encoding)
    cfg["layers"]["parks"] = {"type": "vector", "path": "inputs/parks.shp"}
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2
    assert "layer 'parks'" in err and "field 'county' reads as garbled text" in err
    assert f"encoding: {encoding}" in err


def test_encoding_option_reads_a_gbk_shapefile(tmp_path, capsys):
    cfg = tiny(tmp_path)
    path = _shapefile(tmp_path, "gbk")
    cfg["layers"]["parks"] = {"type": "vector", "path": "inputs/parks.shp", "encoding": "gbk"}
    code, out, _ = _validate(tmp_path, cfg, capsys)
    assert code == 0, out
    gdf = load_vector(VectorLayerSpec(path=path, encoding="gbk"))
    assert gdf["county"].tolist() == ["小店区", "迎泽区"]


def _geojson(tmp_path, crs_name):
    feature = {
        "type": "Feature",
        "properties": {"name": "示范"},
        "geometry": shapely.geometry.mapping(shapely.box(112.45, 37.75, 112.55, 37.85)),
    }
    doc = {"type": "FeatureCollection", "features": [feature]}
    if crs_name is not None:
        doc["crs"] = {"type": "name", "properties": {"name": crs_name}}
    path = tmp_path / "inputs" / "zone.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("crs_name", ["GCJ-02", "urn:ogc:def:crs:EPSG::GCJ02", "Beijing local"])
def test_geojson_crs_member_gdal_ignores_is_refused(tmp_path, capsys, crs_name):
    cfg = tiny(tmp_path)
    _geojson(tmp_path, crs_name)
    cfg["layers"]["zone"] = {"type": "vector", "path": "inputs/zone.geojson"}
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "GeoJSON `crs` member names" in err and crs_name in err
    fix = "datum: gcj02" if "GCJ" in crs_name else "set `crs:` in `layers.zone`"
    assert fix in err


@pytest.mark.parametrize(
    "crs_name,spec",
    [
        ("GCJ-02", {"datum": "gcj02"}),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", {}),
        ("urn:ogc:def:crs:EPSG::4326", {}),
        (None, {}),
    ],
)
def test_geojson_crs_member_that_is_declared_or_wgs84_passes(tmp_path, capsys, crs_name, spec):
    cfg = tiny(tmp_path)
    _geojson(tmp_path, crs_name)
    cfg["layers"]["zone"] = {"type": "vector", "path": "inputs/zone.geojson", **spec}
    code, out, err = _validate(tmp_path, cfg, capsys)
    assert code == 0, err


def test_weights_not_summing_to_one_are_refused(tmp_path, capsys):
    cfg = demo(tmp_path)
    cfg["siting"]["wind"]["weights"] = {
        "wind_proxy_ms": 0.9,
        "slope_pct": 0.3,
        "dist_highway_m": 0.3,
    }
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "siting.wind" in err and "weights sum to 1.5, not 1" in err
    # the suggestion keeps the proportions: 0.9/1.5 = 0.6, 0.3/1.5 = 0.2
    assert "'wind_proxy_ms': 0.6" in err and "'slope_pct': 0.2" in err


def test_weights_summing_to_one_within_rounding_pass(tmp_path, capsys):
    cfg = demo(tmp_path)
    cfg["siting"]["wind"]["weights"] = {
        "wind_proxy_ms": 0.6,
        "slope_pct": 0.2,
        "dist_highway_m": 0.199,
    }
    assert _validate(tmp_path, cfg, capsys)[0] == 0


@pytest.mark.parametrize(
    "text,key,line",
    [
        ("project:\n  resolution_m: 30\n  resolution_m: 1000\n", "resolution_m", 3),
        ("layers:\n  dem: {type: raster}\n  dem: {type: vector}\n", "dem", 3),
        ("project: {}\nlayers: {}\nproject: {}\n", "project", 3),
    ],
)
def test_duplicate_yaml_keys_are_refused_with_key_and_line(tmp_path, capsys, text, key, line):
    path = tmp_path / "project.yaml"
    path.write_text(text, encoding="utf-8")
    code, _, err = cli(["validate", path], capsys)
    assert code == 2
    assert f"line {line}: duplicate key '{key}'" in err and str(path) in err


def test_gbk_county_shapefile_is_refused_then_read_with_encoding(tmp_path, capsys):
    # the case: county names garbled in every output
    cfg = tiny(tmp_path)
    counties = gpd.read_file(tmp_path / "inputs" / "admin.gpkg", layer="counties")
    counties.to_file(tmp_path / "inputs" / "counties.shp", encoding="gbk")
    (tmp_path / "inputs" / "counties.cpg").unlink(missing_ok=True)
    cfg["layers"]["counties"] = {"type": "vector", "path": "inputs/counties.shp"}
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'counties'" in err and "field 'cname' reads as garbled" in err
    assert "encoding: gbk" in err
    cfg["layers"]["counties"]["encoding"] = "gbk"
    code, out, err = cli(["layers", write(tmp_path, cfg), "--out", tmp_path / "run"], capsys)
    assert code == 0, err
    written = gpd.read_file(tmp_path / "run" / "layers" / "vectors.gpkg", layer="counties")
    assert sorted(written["name"]) == ["乙县", "甲县"]
