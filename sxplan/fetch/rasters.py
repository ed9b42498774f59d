"""Mosaic raster tiles, clip them to a box, write a Cloud-Optimized GeoTIFF.

The box is snapped outward to the first tile's pixel grid, so no value is resampled: each
output pixel is a source pixel (``rasterio.merge`` with nearest, in the sources' CRS; the
analysis grid is made later by ``sxplan site``). Tiles are read window by window within a
memory limit (``rasterio.merge`` ``mem_limit``, house style 4).

Inputs: GeoTIFF paths, a (west, south, east, north) box in degrees. Outputs: one COG.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import rasterio
from rasterio.merge import merge
from rasterio.warp import transform_bounds

from sxplan.errors import NoOverlapError
from sxplan.layers.cog import float_predictor
from sxplan.layers.io import atomic_path

__all__ = ["clip_to_cog"]


def _snapped(src, bounds) -> tuple[float, float, float, float]:
    """``bounds`` (EPSG:4326) in the source CRS, grown outward to whole source pixels."""
    west, south, east, north = (
        bounds if src.crs.to_epsg() == 4326 else transform_bounds("EPSG:4326", src.crs, *bounds)
    )
    t = src.transform
    rx, ry = t.a, -t.e
    w = t.c + math.floor(round((west - t.c) / rx, 6)) * rx
    e = t.c + math.ceil(round((east - t.c) / rx, 6)) * rx
    n = t.f - math.floor(round((t.f - north) / ry, 6)) * ry
    s = t.f - math.ceil(round((t.f - south) / ry, 6)) * ry
    return w, s, e, n


def clip_to_cog(
    paths: list[Path],
    bounds: tuple[float, float, float, float],
    out_path: Path,
    *,
    kind: str,
    units: str,
    nodata: float | None = None,
    description: str = "",
    mem_limit_mb: int = 256,
) -> Path:
    """Mosaic ``paths``, clip to ``bounds`` and write ``out_path`` as a COG, atomically.

    Parameters
    ----------
    paths : list of pathlib.Path
        Tiles (or one file) in one CRS and resolution.
    bounds : tuple of float
        (west, south, east, north) in EPSG:4326.
    out_path : pathlib.Path
        Destination ``.tif``.
    kind : {"categorical", "continuous"}
        Recorded as the ``SXPLAN_KIND`` tag (overview resampling).
    units : str
        Recorded as the ``units`` tag.
    nodata : float, optional
        Nodata of the output (default: the first file's; NaN for float files without one).
    description : str
        Recorded as the ``description`` tag.
    mem_limit_mb : int
        Memory for one window of the mosaic.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    sxplan.errors.NoOverlapError
        The files do not overlap the box.
    """
    from rasterio.shutil import copy as rio_copy

    with rasterio.open(paths[0]) as first:
        box = _snapped(first, bounds)
        if nodata is None:
            nodata = first.nodata
        if nodata is None and first.dtypes[0].startswith("float"):
            nodata = float("nan")
        crs = first.crs
    overlaps = []
    for p in paths:
        with rasterio.open(p) as src:
            b = src.bounds
            if b.left < box[2] and b.right > box[0] and b.bottom < box[3] and b.top > box[1]:
                overlaps.append(p)
    if not overlaps:
        raise NoOverlapError(
            f"{', '.join(p.name for p in paths)} do not overlap the study area box {bounds} "
            f"(in {crs}: {tuple(round(v, 4) for v in box)}); check the area and the files"
        )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    staging = out_path.with_name(f".{out_path.stem}.mosaic-staging.tif")
    try:
        merge(
            [str(p) for p in overlaps],
            bounds=box,
            nodata=nodata,
            mem_limit=mem_limit_mb,
            dst_path=str(staging),
            dst_kwds={"tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "NONE"},
        )
        with rasterio.open(staging, "r+") as dst:
            dst.update_tags(SXPLAN_KIND=kind, units=units, description=description)
            is_float = dst.count == 1 and np.dtype(dst.dtypes[0]).kind == "f"
        # smooth float fields (DEM, wind and solar atlases) get the floating-point predictor
        # where a sample shows it pays, as the run's own COGs (sxplan.layers.cog)
        extra = {"PREDICTOR": float_predictor(staging)} if is_float else {}
        with atomic_path(out_path) as tmp:
            rio_copy(
                staging,
                tmp,
                driver="COG",
                compress="DEFLATE",
                BLOCKSIZE=256,
                BIGTIFF="IF_SAFER",
                OVERVIEW_RESAMPLING="NEAREST" if kind == "categorical" else "AVERAGE",
                **extra,
            )
    finally:
        staging.unlink(missing_ok=True)
    return out_path
