"""Helpers importable from any test module: ``from _sxtest import write_tif``."""

from __future__ import annotations

import numpy as np
import rasterio


def write_tif(path, array, transform, crs, nodata=None, **extra):
    """Write a single-band GeoTIFF (crs may be None to make a file without a CRS)."""
    array = np.asarray(array)
    profile = dict(
        driver="GTiff",
        width=array.shape[1],
        height=array.shape[0],
        count=1,
        dtype=array.dtype.name,
        transform=transform,
        nodata=nodata,
        **extra,
    )
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
    return path
