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
from .heap import trim_free_heap

__all__ = [
    "PREDICTOR_ENV",
    "PREDICTOR_MAX_SHARE",
    "TILE_FILE_DISK_MARGIN",
    "float_predictor",
    "float_tile_compress",
    "predictor_setting",
]

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


#: A float COG gets TIFF's floating-point predictor (``PREDICTOR=3``) when it shrinks a sample
#: of the raster's blocks, compressed with zlib level 1, to at most this share of their size
#: without it. Measured on the 30 m demo's aligned layers (2026-12-02, one thread, DEFLATE level
#: 1, full band; ``benchmarks/README.md``, "Issue 17: the floating-point predictor"): GHI
#: bilinear from 0.05 degrees 766 -> 161 MB (0.21) and 8.8 -> 5.1 CPU-s to write, 2.45 -> 2.23 s
#: to read; the wind proxy bilinear from 30 arc-seconds 883 -> 433 MB (0.49), 10.6 -> 6.8 CPU-s
#: to write, 2.48 -> 2.82 s to read; the aspect (noise at 30 m) 233 -> 461 MB, 4.2 -> 7.7
#: CPU-s; the benchmark's suitability 290 -> 275 MB (0.95), 5.7 -> 6.9 s (copied from its
#: compressed COG, so decoding included). Chosen, not tuned:
#: above the wind proxy's sampled 0.53, below the shares where writing costs more.
PREDICTOR_MAX_SHARE = 0.7

#: Set to ``none`` (``SXPLAN_FLOAT_PREDICTOR=none``) to write every float COG without the
#: predictor, for a reader that lacks it (all GDAL builds read it; ArcGIS was not checked).
PREDICTOR_ENV = "SXPLAN_FLOAT_PREDICTOR"

#: Sample of :func:`float_predictor`: windows of 128 x 128 cells on an even lattice of at most
#: 8 x 8 over the raster, fewer where the raster is smaller than 8 windows across, so that no
#: cell is read twice over (at most 1 M cells, compressed twice).
_SAMPLE_LATTICE = 8
_SAMPLE_SIDE = 128


def _fp_predicted(block: np.ndarray) -> np.ndarray:
    """The bytes TIFF's floating-point predictor (Technical Note 3) makes of ``block``'s rows.

    Each row's samples are split into byte planes, most significant first, and each byte is
    replaced by its difference from the one before it in the row (modulo 256).
    """
    big = np.ascontiguousarray(block, dtype=block.dtype.newbyteorder(">"))  # MSB first
    h, w = big.shape
    size = big.dtype.itemsize
    rows = np.ascontiguousarray(big.view(np.uint8).reshape(h, w, size).transpose(0, 2, 1))
    rows = rows.reshape(h, size * w)
    out = rows.copy()
    out[:, 1:] -= rows[:, :-1]  # uint8: modulo 256
    return out


def predictor_setting() -> str:
    """``"auto"`` or ``"none"``, from :data:`PREDICTOR_ENV` (unset: ``"auto"``).

    Raises
    ------
    ConfigError
        Any other value (the pre-flight asks first, so a run refuses it before any work).
    """
    setting = os.environ.get(PREDICTOR_ENV, "auto").strip().lower()
    if setting not in ("auto", "none"):
        from sxplan.errors import ConfigError

        raise ConfigError(
            f"environment variable {PREDICTOR_ENV}={setting!r}: use 'none' (float COGs without "
            "the floating-point predictor) or 'auto' (the default), or unset it"
        )
    return setting


def float_predictor(path: str | os.PathLike) -> int:
    """TIFF predictor for a float raster's COG: 3 (floating point) or 1 (none).

    3 when a sample of the raster (windows on an even lattice, :data:`_SAMPLE_LATTICE`, read
    from ``path``) compresses, after the predictor, to at most :data:`PREDICTOR_MAX_SHARE` of
    its size without it: smooth fields such as layers resampled from coarser sources become a
    fraction of the size and faster to write and read; noisy ones (slope, aspect at 30 m)
    would grow. The values are the same either way; the choice depends only on the values, so
    the same raster always gets the same bytes. Always 1 when the environment variable
    :data:`PREDICTOR_ENV` is ``none``.

    Examples
    --------
    >>> import tempfile, rasterio
    >>> from rasterio.transform import from_origin
    >>> d = tempfile.mkdtemp()
    >>> y, x = np.mgrid[0:300, 0:400]
    >>> smooth = (1400 + 50 * np.sin(y / 40) + 30 * np.cos(x / 55)).astype("float32")
    >>> noise = np.random.default_rng(0).random((300, 400), dtype="float32")
    >>> for name, a in [("smooth", smooth), ("noise", noise)]:
    ...     with rasterio.open(f"{d}/{name}.tif", "w", driver="GTiff", width=400, height=300,
    ...                        count=1, dtype="float32", transform=from_origin(0, 300, 1, 1)) as f:
    ...         f.write(a, 1)
    >>> float_predictor(f"{d}/smooth.tif"), float_predictor(f"{d}/noise.tif")
    (3, 1)
    """
    import zlib

    from rasterio.windows import Window

    if predictor_setting() == "none":
        return 1
    with rasterio.open(path) as src:
        h, w = src.height, src.width
        side_r, side_c = min(_SAMPLE_SIDE, h), min(_SAMPLE_SIDE, w)
        n_r, n_c = (min(_SAMPLE_LATTICE, -(-n // _SAMPLE_SIDE)) for n in (h, w))
        rows = sorted({int(round(x)) for x in np.linspace(0, h - side_r, n_r)})
        cols = sorted({int(round(x)) for x in np.linspace(0, w - side_c, n_c)})
        plain = predicted = 0
        for r in rows:
            for c in cols:
                block = src.read(1, window=Window(c, r, side_c, side_r))
                plain += len(zlib.compress(block.tobytes(), 1))
                predicted += len(zlib.compress(_fp_predicted(block).tobytes(), 1))
    return 3 if predicted <= PREDICTOR_MAX_SHARE * plain else 1


def _to_cog(src_path: Path, dst_path: Path, compress: str = "DEFLATE") -> None:
    """Copy a tiled GeoTIFF into Cloud-Optimized layout (with overviews).

    Categorical rasters get GDAL's NEAREST overviews, float rasters AVERAGE overviews, both
    computed by :mod:`sxplan.layers.overviews` (NEAREST value for value as GDAL picks them,
    with a few MB instead of GDAL's 40-60 at 30 m; AVERAGE the same block means at about a
    third of GDAL's cost for NaN nodata) and handed to the COG driver through a VRT.
    Other rasters (integer, not categorical) get GDAL's AVERAGE. Float rasters get the
    floating-point predictor where it pays (:func:`float_predictor`).
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
        extra = {"PREDICTOR": float_predictor(src_path)} if is_float else {}
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
            **extra,
        )
    finally:
        for p in [vrt, *levels]:
            _remove_quietly(p)
        trim_free_heap()  # the conversion's buffers go back if the heap keeps too much
