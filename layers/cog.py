"""Copying a tile file into Cloud-Optimized GeoTIFF, and the tile files' codec.

A raster meant for users is written tile by tile into a tile file (tiled GeoTIFF, blocks of
nodata skipped), then copied to COG with overviews (:func:`_to_cog`): GDAL's COG driver, with
our own overviews for float and categorical rasters (:mod:`sxplan.layers.overviews`). Float tile
files are uncompressed unless the disk is short (:func:`float_tile_compress`).

Inputs: a tile file (GeoTIFF), a folder and a size. Outputs: a COG; a codec name.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import rasterio

from .atomic import _remove_quietly
from .heap import trim_above_ceiling

__all__ = ["TILE_FILE_DISK_MARGIN", "float_tile_compress"]

#: Float tile files (the files a COG is copied from) are written uncompressed unless the disk
#: holding them has less free space than this many times their uncompressed size; then they are
#: ZSTD level 1. Measured on one 30 m float32 raster of 248 M cells (2026-12-01, 2 cores;
#: ``benchmarks/README.md``, "Tile files"): uncompressed 732 MB on disk (blocks of nodata
#: skipped), ZSTD 174 MB for +1.3-2.0 CPU-s to write and +0.6 CPU-s to copy to COG. Chosen, not
#: tuned: the other half leaves room for the COGs, the parcels and the distance scratch rasters.
TILE_FILE_DISK_MARGIN = 2.0


def float_tile_compress(folder: str | os.PathLike, nbytes: int) -> str:
    """Codec for float tile files of ``nbytes`` (uncompressed) kept at once in ``folder``.

    ``"NONE"`` (fastest) when the disk holding ``folder`` has at least
    :data:`TILE_FILE_DISK_MARGIN` times ``nbytes`` free, else ``"ZSTD"`` (level 1: 4-6x
    smaller for smooth float scores, about 2x for noisy ones such as slope), so that a
    national run fits a disk that uncompressed tile files would fill. The COGs copied from
    them are the same bytes either way.

    Examples
    --------
    >>> import tempfile
    >>> float_tile_compress(tempfile.gettempdir(), 0)
    'NONE'
    >>> float_tile_compress(tempfile.gettempdir(), 2**62)
    'ZSTD'
    """
    import shutil

    path = Path(folder).absolute()
    while not path.exists() and path != path.parent:  # the folder may not exist yet
        path = path.parent
    free = shutil.disk_usage(path).free
    return "NONE" if free >= TILE_FILE_DISK_MARGIN * nbytes else "ZSTD"


def _to_cog(src_path: Path, dst_path: Path, compress: str = "DEFLATE") -> None:
    """Copy a tiled GeoTIFF into Cloud-Optimized layout (with overviews).

    Categorical rasters get GDAL's NEAREST overviews, float rasters AVERAGE overviews, both
    computed by :mod:`sxplan.layers.overviews` (NEAREST value for value as GDAL picks them,
    with a few MB instead of GDAL's 40-60 at 30 m; AVERAGE the same block means at about a
    third of GDAL's cost for NaN nodata) and handed to the COG driver through a VRT.
    Other rasters (integer, not categorical) get GDAL's AVERAGE.
    """
    from rasterio.shutil import copy as rio_copy

    from .overviews import average_overviews, nearest_overviews, overview_vrt

    with rasterio.open(src_path) as src:
        categorical = src.tags().get("SXPLAN_KIND") == "categorical"
        one_band = src.count == 1
        is_float = np.dtype(src.dtypes[0]).kind == "f" and one_band
    levels: list[Path] = []
    vrt = src_path.with_name(src_path.name + ".vrt")
    try:
        source = src_path
        if one_band and (categorical or is_float):
            levels = nearest_overviews(src_path) if categorical else average_overviews(src_path)
            if levels:
                source = overview_vrt(src_path, levels, vrt)
        rio_copy(
            source,
            dst_path,
            driver="COG",
            compress=compress,
            BLOCKSIZE=256,
            BIGTIFF="IF_SAFER",
            OVERVIEW_RESAMPLING="NEAREST" if categorical else "AVERAGE",
            NUM_THREADS=str(max(1, min(4, os.cpu_count() or 1))),  # compress blocks in parallel
            LEVEL=1,  # libdeflate level 1: about 30 % faster than 6, files within 1 % in size
        )
    finally:
        for p in [vrt, *levels]:
            _remove_quietly(p)
        trim_above_ceiling()  # the conversion's buffers (levels, compression) go back
