"""A tiny synthetic run folder (real GeoPackages and GeoTIFFs) for the map tests.

Geography: a 1 x 1 degree "province" (112-113 E, 37-38 N) split into two prefectures
(west/east halves) and four counties (quadrants). One base covers the northern half.
Three PV parcels (Albers CRS, to exercise reprojection), two roadside segments, a PV
suitability raster (0 at the west edge rising to 1 at the east edge, nodata in the south-west
quadrant), an afforestation-eligible raster (1 in the north half), a DEM (a plane rising
eastward), the PV excluded-by-rule raster (code 1 "redline" in the western quarter, code 2
"water" in the next quarter, 0 elsewhere) with its legend, a sink trajectory, and a
``run.json`` whose config names the context layers (red lines and water as vector rules).
Wind outputs are absent on purpose: optional layers must be skipped and noted, not fail.

Files, layers and column names are those of the run-folder schema (``sxplan/schema.py``): the
columns the maps use, plus one column the schema does not know (``surprise_extra_col``, shown
in popups all the same).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import LineString, box

from sxplan.layers.grid import ALBERS_CHINA

XSS = "<img src=x onerror=alert(1)>"
COUNTY_XSS = "<script>alert(2)</script>县"

# Parcel centres (lon, lat) and half-size in degrees; parcel 2 carries the XSS name.
PARCELS = [
    (1, 112.25, 37.75, "阳曲县", 0.9),
    (2, 112.75, 37.75, XSS, 0.6),
    (3, 112.75, 37.25, "榆次区", 0.3),
]
PARCEL_HALF_DEG = 0.06


def _quadrants():
    return {
        "sw": box(112.0, 37.0, 112.5, 37.5),
        "se": box(112.5, 37.0, 113.0, 37.5),
        "nw": box(112.0, 37.5, 112.5, 38.0),
        "ne": box(112.5, 37.5, 113.0, 38.0),
    }


def write_run_folder(root: Path, *, with_sinks: bool = True) -> Path:
    """Write the synthetic run folder under ``root`` and return it."""
    q = _quadrants()
    layers_dir, siting_dir, sinks_dir = root / "layers", root / "siting", root / "sinks"
    for d in (layers_dir, siting_dir):
        d.mkdir(parents=True, exist_ok=True)
    wgs = "EPSG:4326"
    vectors = layers_dir / "vectors.gpkg"
    gpd.GeoDataFrame(
        {"name": ["山西省(测试)"], "adcode": [140000]}, geometry=[box(112, 37, 113, 38)], crs=wgs
    ).to_file(vectors, layer="province")
    gpd.GeoDataFrame(
        {"name": ["西市", "东市"], "adcode": [140100, 140700]},
        geometry=[box(112, 37, 112.5, 38), box(112.5, 37, 113, 38)],
        crs=wgs,
    ).to_file(vectors, layer="prefectures")
    county_names = {"sw": "清徐县", "se": "榆次区", "nw": "阳曲县", "ne": COUNTY_XSS}
    counties = gpd.GeoDataFrame(
        {
            "adcode": [140121, 140702, 140122, 140703],
            "name": [county_names[k] for k in ("sw", "se", "nw", "ne")],
            "prefecture": ["西市", "东市", "西市", "东市"],
        },
        geometry=[q[k] for k in ("sw", "se", "nw", "ne")],
        crs=wgs,
    )
    counties.to_file(vectors, layer="counties")
    gpd.GeoDataFrame(
        {"name_zh": ["晋北测试基地"], "name_en": ["North test base"]},
        geometry=[box(112.05, 37.55, 112.95, 37.95)],
        crs=wgs,
    ).to_file(vectors, layer="bases")
    gpd.GeoDataFrame({"name": ["红线"]}, geometry=[box(112.1, 37.1, 112.2, 37.2)], crs=wgs).to_file(
        vectors, layer="redline_proxy"
    )
    gpd.GeoDataFrame(
        {"name": ["水库"]}, geometry=[box(112.3, 37.1, 112.35, 37.15)], crs=wgs
    ).to_file(vectors, layer="water")
    gpd.GeoDataFrame(
        {"name": ["G5"]}, geometry=[LineString([(112.0, 37.4), (113.0, 37.45)])], crs=wgs
    ).to_file(vectors, layer="highways")

    h = PARCEL_HALF_DEG
    parcels = gpd.GeoDataFrame(
        {
            "parcel_id": [f"PV-{p[0]:05d}" for p in PARCELS],
            "rank": [1, 2, 3],
            "technology": ["pv"] * 3,
            "name": [p[3] for p in PARCELS],
            "area_km2": [40.1, 40.2, 40.3],
            "capacity_mw": [1443.6, 1447.2, 1450.8],
            "energy_gwh_per_yr": [2100.5, 2050.3, 1990.0],
            "county": [p[3] for p in PARCELS],
            "adcode": [140122, 140703, 140702],
            "prefecture": ["西市", "东市", "东市"],
            "bases": ["north", "north", ""],
            "bases_zh": ["晋北测试基地", "晋北测试基地", ""],
            "score_mean": [p[4] for p in PARCELS],
            "score_max": [0.95, 0.7, 0.4],
            "crit_ghi": [1560.0, 1540.0, 1500.0],
            "score_ghi": [0.8, 0.7, 0.5],
            "crit_slope": [2.5, 7.25, 12.0],
            "surprise_extra_col": ["a", "b", "c"],
        },
        geometry=[box(x - h, y - h, x + h, y + h) for _, x, y, _, _ in PARCELS],
        crs=wgs,
    ).to_crs(ALBERS_CHINA)
    parcels.to_file(siting_dir / "parcels_pv.gpkg", layer="parcels_pv")
    gpd.GeoDataFrame(
        {
            "strip_id": ["1-L", "2-R"],
            "road_ref": ["G5", "G5"],
            "road_name": ["京昆高速", "京昆高速"],
            "name": ["清徐县", "榆次区"],
            "prefecture": ["西市", "东市"],
            "side_compass": ["S", "N"],
            "facing_compass": ["S", "S"],
            "terrain_form": ["cut", "embankment"],
            "panel_tilt_deg": [25.0, 30.0],
            "usable_strip_km": [5.0, 6.5],
            "capacity_mw": [7.5, 9.75],
            "specific_yield_kwh_per_kwp": [1350.0, 1420.0],
            "energy_gwh_per_yr": [10.1, 13.8],
            "score": [0.6, 0.7],
            "excluded_by": ["", "tunnel"],
        },
        geometry=[
            LineString([(112.1, 37.41), (112.4, 37.42)]),
            LineString([(112.6, 37.43), (112.9, 37.44)]),
        ],
        crs=wgs,
    ).to_file(siting_dir / "roadside_pv_segments.gpkg", layer="roadside_pv_segments")
    # As siting writes it: rows per level x technology; targets only on the pv+wind rows.
    pd.DataFrame(
        {
            "level": ["base", "base", "base", "prefecture"],
            "id": ["north", "north", "north", "140100"],
            "name_zh": ["晋北测试基地", "晋北测试基地", "晋北测试基地", "西市"],
            "name_en": ["North test base", "North test base", "North test base", "West"],
            "technology": ["pv", "wind", "pv+wind", "pv"],
            "potential_gw": [4.3, 0.0, 4.3, 9.9],
            "target_gw_2025": [None, None, 1.0, None],
            "target_gw_2030": [None, None, 2.0, None],
        }
    ).to_csv(siting_dir / "bases.csv", index=False, encoding="utf-8-sig")

    # Albers grid covering the province at 2 km.
    prov_albers = gpd.GeoSeries([box(112, 37, 113, 38)], crs=wgs).to_crs(ALBERS_CHINA)
    minx, miny, maxx, maxy = prov_albers.total_bounds
    res = 2000.0
    cols, rows = int(np.ceil((maxx - minx) / res)), int(np.ceil((maxy - miny) / res))
    transform = from_origin(minx, maxy, res, res)
    suit = np.tile(np.linspace(0, 1, cols, dtype="float32"), (rows, 1))
    suit[rows // 2 :, : cols // 2] = -9999.0
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "crs": ALBERS_CHINA,
        "transform": transform,
    }
    with rasterio.open(
        siting_dir / "suitability_pv.tif", "w", dtype="float32", nodata=-9999.0, **profile
    ) as dst:
        dst.write(suit, 1)
    dem = np.tile(np.linspace(500, 1500, cols, dtype="float32"), (rows, 1))
    with rasterio.open(
        layers_dir / "dem.tif", "w", dtype="float32", nodata=-9999.0, **profile
    ) as dst:
        dst.write(dem, 1)
    codes = np.zeros((rows, cols), dtype="uint8")
    codes[:, : cols // 4] = 1
    codes[:, cols // 4 : cols // 2] = 2
    with rasterio.open(
        siting_dir / "excluded_by_rule_pv.tif", "w", dtype="uint8", nodata=255, **profile
    ) as dst:
        dst.write(codes, 1)
    pd.DataFrame(
        {
            "code": [0, 1, 2, 254, 255],
            "rule": ["eligible", "redline", "water", "no_data", "outside_study_area (nodata)"],
            "label_zh": ["可用", "生态保护红线(代理)", "水域及500米缓冲", "缺少数据", "研究区外"],
            "mode": ["", "hard", "hard", "hard", ""],
        }
    ).to_csv(siting_dir / "excluded_by_rule_pv.csv", index=False, encoding="utf-8-sig")
    rules = [
        {"name": "redline", "label_zh": "生态保护红线(代理)", "type": "vector",
         "layer": "redline_proxy"},
        {"name": "water", "label_zh": "水域及500米缓冲", "type": "vector", "layer": "water"},
        {"name": "highway_setback", "type": "vector", "layer": "highways"},
        {"name": "cropland_pv", "type": "categorical", "layer": "landcover"},
    ]  # fmt: skip
    config = {
        "project": {"study_area": "province", "prefectures": "prefectures"},
        "siting": {"highways_layer": "highways", "exclusions": rules},
        "maps": None,
    }
    (root / "run.json").write_text(json.dumps({"config": config}), encoding="utf-8")

    if with_sinks:
        sinks_dir.mkdir(parents=True, exist_ok=True)
        sinks = counties.copy()
        sinks["prefecture_adcode"] = [140100, 140700, 140100, 140700]
        sinks["area_km2"] = [2200.0, 2200.0, 2200.0, 2200.0]
        sinks["baseline_forest_pct"] = [10.0, 20.0, 30.0, 40.0]
        sinks["calibrated_forest_pct"] = [11.0, 21.0, 31.0, 41.0]
        sinks["eligible_ha"] = [1000.0, 2000.0, 3000.0, 4000.0]
        sinks["allocated_gain_ha"] = [100.0, 200.0, 300.0, 400.0]
        sinks["sink_tco2_per_yr_2030"] = [500.0, 1000.0, 1500.0, 2000.0]
        sinks["sink_tco2_per_yr_2030_p05"] = [400.0, 800.0, 1200.0, 1600.0]
        sinks["sink_tco2_per_yr_2030_p95"] = [600.0, 1200.0, 1800.0, 2400.0]
        sinks["cover_2025_pct"] = [13.5, 23.5, 33.5, 43.5]
        sinks.to_file(sinks_dir / "counties.gpkg", layer="counties")
        # Province totals: the county sums (5,000 tCO2/yr in 2030) with a Monte Carlo range.
        pd.DataFrame(
            {
                "year": [2025, 2030],
                "sink_tco2_per_yr": [5000.0, 5000.0],
                "sink_tco2_per_yr_p05": [4100.0, 4100.0],
                "sink_tco2_per_yr_p95": [6300.0, 6300.0],
            }
        ).to_csv(sinks_dir / "trajectory.csv", index=False, encoding="utf-8-sig")
        elig = np.zeros((rows, cols), dtype="uint8")
        elig[: rows // 2, :] = 1
        with rasterio.open(
            sinks_dir / "afforestation_eligible.tif", "w", dtype="uint8", nodata=255, **profile
        ) as dst:
            dst.write(elig, 1)
    return root


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory) -> Path:
    return write_run_folder(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="session")
def built_maps(run_folder) -> dict[str, Path]:
    from sxplan.maps import run_maps

    return run_maps(run_folder)


@pytest.fixture(scope="session")
def facts() -> dict:
    """Known values of the synthetic run folder, for assertions."""
    return {"xss": XSS, "county_xss": COUNTY_XSS, "parcels": PARCELS}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium (Debian's package) context, 1366 x 768 (a planner's laptop)."""
    from _browser import FLAGS, chromium, require_cjk_font
    from playwright.sync_api import sync_playwright

    require_cjk_font()
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium(),
            headless=True,
            args=FLAGS,
            viewport={"width": 1366, "height": 768},
        )
        yield context
        context.close()
