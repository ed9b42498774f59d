"""Shared constants and helpers: package lookup, deterministic GeoTIFF/GeoPackage writers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
from affine import Affine

from sxplan.layers.grid import ALBERS_CHINA

FIXED_DATE = "2024-01-01T00:00:00.000Z"  # gpkg_contents.last_change of every GeoPackage
LC_RES = 0.05  # MCD12C1 grid, also the solar grid


# ----------------------------------------------------------------------------------- helpers
def pkg_dir(mod: str) -> Path:
    """Folder of an installed package, found without importing it (meteva's import is heavy)."""
    import importlib.util

    spec = importlib.util.find_spec(mod)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {mod!r} is not installed; pip install -e '.[demo-build]'")
    return Path(spec.submodule_search_locations[0])


def _atomic(path: Path):
    """Return a temporary sibling path; caller renames it onto ``path`` on success."""
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    return Path(tmp)


def write_tif(path: Path, array: np.ndarray, transform: Affine, nodata, tags: dict) -> None:
    """Write a tiled, DEFLATE-compressed single-band GeoTIFF in EPSG:4326, atomically."""
    predictor = 3 if array.dtype.kind == "f" else 2
    profile = dict(
        driver="GTiff",
        width=array.shape[1],
        height=array.shape[0],
        count=1,
        dtype=array.dtype,
        crs="EPSG:4326",
        transform=transform,
        nodata=nodata,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
        zlevel=9,
        predictor=predictor,
    )
    tmp = _atomic(path)
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(array, 1)
            dst.update_tags(**{k: str(v) for k, v in sorted(tags.items())})
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Write GeoDataFrames as layers of one GeoPackage with a fixed last_change, atomically."""
    tmp = _atomic(path)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
        tmp.replace(path)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
        tmp.unlink(missing_ok=True)


def area_km2(geoms) -> np.ndarray:
    return gpd.GeoSeries(list(geoms), crs="EPSG:4326").to_crs(ALBERS_CHINA).area.to_numpy() / 1e6
