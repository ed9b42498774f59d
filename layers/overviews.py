"""Overviews of rasters computed block by block with NumPy, for COG writing.

GDAL's COG driver builds overviews itself, but for a float raster with NaN nodata its AVERAGE
costs about twice the DEFLATE compression of the full-resolution band (about 4.5 CPU-s per
giga-cell here, against 2.2 for the compression), and for a categorical raster its NEAREST
reads the band into chunks that held 40-60 MB at 30 m (a Shanxi uint8 band: +84 MB against +26
MB for the copy alone, ``benchmarks/README.md``). This module computes the same pyramids from
the uncompressed staging raster and hands them to the COG driver through a VRT whose
``<Overview>`` elements point at the levels, so the COG driver only compresses them.

Average (float rasters): level ``k`` (factor ``2**k``) holds, for each block of
``2**k x 2**k`` full-resolution cells, the mean of the block's valid cells (nodata and NaN
ignored), or nodata where the block has none. Blocks on the right and bottom edges cover the
cells that exist. Levels are added until both sides are at most the COG block size (256), each
side halved rounding up. The sums are accumulated in float64 (the first pair of rows in the
band's type), so a level differs from the exact mean by a few units in the last place at most.

Nearest (categorical rasters): GDAL's own pyramid, value for value (tested against GDAL's COG
output): level ``k`` has each side of the full band divided by ``2**k`` rounding down (at
least 1), levels added while a side of the last is larger than the block size; a level's cell
``i`` takes cell ``floor(i * n_prev / n + 0.5)`` of the level before, along each axis.

Inputs: an uncompressed (or any) single-band GeoTIFF.
Outputs: one GeoTIFF per level next to it, and a VRT joining them; the caller removes them.
"""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import rasterio
from rasterio.windows import Window

__all__ = [
    "average_overviews", "nearest_overviews", "overview_sizes", "overview_vrt",
]  # fmt: skip

# columns of full-resolution cells read at once (a multiple of the largest factor is used).
# One 30 m Shanxi float32 copy to COG (10,973 columns, 2026-12-02, 2 cores): 16,384 columns
# (a strip padded to 16,384) 78-79 MB / 7.6 CPU-s, 8,192 64 MB / 7.7, 4,096 56 MB / 7.0-7.2,
# 2,048 51 MB / 7.0-7.4 (``benchmarks/README.md``, "COG copies"). Level files are still
# written in whole rows of blocks, whatever this is.
_BLOCK_COLS = 4096
# block side of the level files (written in whole rows of these blocks)
_LEVEL_BLOCK = 256
# full-resolution rows read at once by nearest_overviews (columns: _BLOCK_COLS)
_NEAREST_ROWS = 256
# GDAL's names of the band types a VRT declares
_VRT_TYPES = {
    "uint8": "Byte", "int8": "Int8", "uint16": "UInt16", "int16": "Int16", "uint32": "UInt32",
    "int32": "Int32", "uint64": "UInt64", "int64": "Int64", "float32": "Float32",
    "float64": "Float64",
}  # fmt: skip


def overview_sizes(
    width: int, height: int, block: int = 256, round_down: bool = False
) -> list[tuple[int, int]]:
    """Sizes ``(width, height)`` of a raster's overview levels.

    Levels are added while a side of the last one (the raster itself at first) is larger than
    ``block``. Each level halves the sides of the one before, rounding up (the average levels
    of this module) or, with ``round_down``, rounding down and at least 1: the sides of GDAL
    3.10's COG driver, which the nearest levels copy (checked against its output in
    ``tests/layers/test_overviews.py``).

    Examples
    --------
    >>> overview_sizes(1000, 300)
    [(500, 150), (250, 75)]
    >>> overview_sizes(200, 100)
    []
    >>> overview_sizes(769, 770), overview_sizes(769, 770, round_down=True)
    ([(385, 385), (193, 193)], [(384, 385), (192, 192)])
    >>> overview_sizes(3, 600, round_down=True)
    [(1, 300), (1, 150)]
    """
    sizes = []
    w, h = width, height
    while w > block or h > block:
        if round_down:
            w, h = max(1, w // 2), max(1, h // 2)
        else:
            w, h = -(-w // 2), -(-h // 2)
        sizes.append((w, h))
    return sizes


def _reduce(s: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums and counts of 2 x 2 blocks (even shapes)."""
    s = s[0::2] + s[1::2]
    s = s[:, 0::2] + s[:, 1::2]
    n = n[0::2] + n[1::2]
    n = n[:, 0::2] + n[:, 1::2]
    return s, n


def _means(s: np.ndarray, n: np.ndarray, nodata) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        m = s / n
    m[n == 0] = np.nan if nodata is None else nodata
    return m


def average_overviews(src_path: str | Path, block: int = 256) -> list[Path]:
    """Write the average overview levels of a single-band float raster, one file per level.

    Parameters
    ----------
    src_path : str or pathlib.Path
        A float32 or float64 GeoTIFF (read in windows of up to 128 rows by 4,096 columns, a
        few MB each, plus one row of 256-row blocks per level held until it is written whole:
        about 2 x 256 x width / 2 cells, 20 MB for a 30 m Shanxi float32 grid); the levels
        have its type.
    block : int
        COG block size: levels are added until both sides are at most ``block``.

    Returns
    -------
    list of pathlib.Path
        ``<src>.ov<k>.tif`` for k = 1, 2, ... (factor ``2**k``), uncompressed and tiled; empty
        when the raster needs no overview.
    """
    src_path = Path(src_path)
    with rasterio.open(src_path) as src:
        width, height, nodata = src.width, src.height, src.nodata
        sizes = overview_sizes(width, height, block)
        if not sizes:
            return []
        if np.dtype(src.dtypes[0]).kind != "f":
            raise ValueError(f"{src_path.name}: average overviews are for float rasters")
        nan_nodata = nodata is None or math.isnan(nodata)
        ftype = np.dtype(src.dtypes[0])  # float32 or float64: the levels keep it
        span = 1 << len(sizes)  # full-resolution rows and columns of one top-level cell
        cols = -(-max(_BLOCK_COLS, span) // span) * span
        paths = [src_path.with_name(f"{src_path.name}.ov{k + 1}.tif") for k in range(len(sizes))]
        profile = dict(
            driver="GTiff", count=1, dtype=ftype.name, crs=src.crs, nodata=nodata,
            tiled=True, blockxsize=_LEVEL_BLOCK, blockysize=_LEVEL_BLOCK, compress="NONE",
            BIGTIFF="IF_SAFER",
        )  # fmt: skip
        outs = []
        # each level's rows are gathered into whole rows of blocks (256 rows, or a strip's
        # rows if more) and written once: a block is never written in parts, so GDAL's shared
        # block cache never holds a half-written block that another thread's reads or
        # writes could flush and this thread re-read stale (GDAL #2011 / #2015: whole blocks of
        # a level came out as nodata on a national grid with two copies at once)
        nodata_fill = ftype.type(np.nan if nan_nodata else nodata)
        bufs = []
        ok = False
        try:
            for k, ((w, h), path) in enumerate(zip(sizes, paths, strict=True)):
                t = src.transform * rasterio.Affine.scale(width / w, height / h)
                outs.append(rasterio.open(path, "w", width=w, height=h, transform=t, **profile))
                rows = max(_LEVEL_BLOCK, span >> (k + 1))  # powers of two: strips fill it exactly
                bufs.append([0, np.full((min(rows, h), w), nodata_fill, dtype=ftype)])
            # one window's buffers, reused (a window's cells past the raster's edge are NaN,
            # so they count as missing like nodata)
            vals = np.empty((span, cols), dtype=ftype)
            missing = np.empty((span, cols), dtype=bool)
            pairs = np.empty((span // 2, cols), dtype=ftype)
            for r0 in range(0, height, span):
                rh = min(span, height - r0)
                for c0 in range(0, width, cols):
                    cw = min(cols, width - c0)
                    if rh == span and cw == cols:
                        src.read(1, window=Window(c0, r0, cw, rh), out=vals)
                    else:
                        vals.fill(np.nan)
                        vals[:rh, :cw] = src.read(1, window=Window(c0, r0, cw, rh))
                    np.isnan(vals, out=missing)
                    if not nan_nodata:
                        missing |= vals == ftype.type(nodata)
                    np.copyto(vals, ftype.type(0), where=missing)
                    # first level: pairs of rows in the band's type (float32: exact to half an
                    # ulp), then float64
                    np.add(vals[0::2], vals[1::2], out=pairs)
                    s = pairs.astype("float64")
                    s = s[:, 0::2] + s[:, 1::2]
                    cnt = np.logical_not(missing, out=missing).view("uint8")
                    n = cnt[0::2] + cnt[1::2]
                    n = (n[:, 0::2] + n[:, 1::2]).astype("uint32")
                    for k, (w, h) in enumerate(sizes):
                        if k:
                            s, n = _reduce(s, n)
                        f = 1 << (k + 1)
                        orow, ocol = r0 // f, c0 // f
                        oh, ow = min(s.shape[0], h - orow), min(s.shape[1], w - ocol)
                        if oh <= 0 or ow <= 0:
                            continue
                        m = _means(s[:oh, :ow], n[:oh, :ow], None if nan_nodata else nodata)
                        b0, buf = bufs[k]
                        buf[orow - b0 : orow - b0 + oh, ocol : ocol + ow] = m
                # the strip's rows are complete in every column: write whole rows of blocks
                for k, (w, h) in enumerate(sizes):
                    f = 1 << (k + 1)
                    b0, buf = bufs[k]
                    end = min(-(-(r0 + rh) // f), h)  # level rows covered so far
                    if end >= min(b0 + buf.shape[0], h) and end > b0:
                        outs[k].write(buf[: end - b0], 1, window=Window(0, b0, w, end - b0))
                        buf.fill(nodata_fill)
                        bufs[k][0] = end
            ok = True
        finally:
            for o in outs:
                o.close()
            if not ok:  # no half-written level left beside the staging file
                for p in paths:
                    p.unlink(missing_ok=True)
    return paths


def _nearest_cells(n_full: int, sides: list[int]) -> list[np.ndarray]:
    """For each level, the full-resolution index its cells take along one axis.

    A level's cell ``i`` takes cell ``floor(i * n_prev / n + 0.5)`` of the level before (GDAL's
    nearest neighbour from the previous level); composed down to the full band.
    """
    out, prev, n_prev = [], np.arange(n_full, dtype=np.int64), n_full
    for n in sides:
        i = (np.arange(n, dtype=np.float64) * (n_prev / n) + 0.5).astype(np.int64)
        prev = prev[np.minimum(i, n_prev - 1)]
        out.append(prev)
        n_prev = n
    return out


def nearest_overviews(src_path: str | Path, block: int = 256) -> list[Path]:
    """Write GDAL's NEAREST overview levels of a single-band raster, one file per level.

    The levels are the cells GDAL's COG driver would pick (:func:`overview_sizes` rounding
    down, :func:`_nearest_cells`), read in windows of 256 rows by 4,096 columns and written in
    whole rows of 256-row blocks, each block once (as :func:`average_overviews`): memory is a
    window plus up to 512 rows of each level (about 5 MB for a 30 m Shanxi uint8 band, against
    GDAL's 40-60 MB).

    Parameters
    ----------
    src_path : str or pathlib.Path
        A single-band GeoTIFF of any type (codes: nothing is averaged).
    block : int
        COG block size: levels are added while a side is larger than ``block``.

    Returns
    -------
    list of pathlib.Path
        ``<src>.ov<k>.tif`` for k = 1, 2, ..., uncompressed and tiled; empty when the raster
        needs no overview.
    """
    src_path = Path(src_path)
    with rasterio.open(src_path) as src:
        width, height, nodata, dtype = src.width, src.height, src.nodata, src.dtypes[0]
        sizes = overview_sizes(width, height, block, round_down=True)
        if not sizes:
            return []
        rows = _nearest_cells(height, [h for _, h in sizes])
        cols = _nearest_cells(width, [w for w, _ in sizes])
        paths = [src_path.with_name(f"{src_path.name}.ov{k + 1}.tif") for k in range(len(sizes))]
        profile = dict(
            driver="GTiff", count=1, dtype=dtype, crs=src.crs, nodata=nodata, tiled=True,
            blockxsize=_LEVEL_BLOCK, blockysize=_LEVEL_BLOCK, compress="NONE", BIGTIFF="IF_SAFER",
        )  # fmt: skip
        outs, bufs, done = [], [], [0] * len(sizes)  # done: level rows written
        ok = False
        try:
            for (w, h), path in zip(sizes, paths, strict=True):
                t = src.transform * rasterio.Affine.scale(width / w, height / h)
                outs.append(rasterio.open(path, "w", width=w, height=h, transform=t, **profile))
                bufs.append(np.empty((_LEVEL_BLOCK + _NEAREST_ROWS, w), dtype=dtype))
            for r0 in range(0, height, _NEAREST_ROWS):
                r1 = min(r0 + _NEAREST_ROWS, height)
                spans = [np.searchsorted(r, (r0, r1)) for r in rows]  # level rows in the strip
                for c0 in range(0, width, _BLOCK_COLS):
                    c1 = min(c0 + _BLOCK_COLS, width)
                    a = src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
                    for k, (i0, i1) in enumerate(spans):
                        j0, j1 = np.searchsorted(cols[k], (c0, c1))
                        if i1 > i0 and j1 > j0:
                            pick = np.ix_(rows[k][i0:i1] - r0, cols[k][j0:j1] - c0)
                            bufs[k][i0 - done[k] : i1 - done[k], j0:j1] = a[pick]
                for k, (_, i1) in enumerate(spans):  # whole rows of blocks, or the last rows
                    w, h = sizes[k]
                    n = (i1 - done[k]) if i1 == h else (i1 - done[k]) // _LEVEL_BLOCK * _LEVEL_BLOCK
                    if n > 0:
                        outs[k].write(bufs[k][:n], 1, window=Window(0, done[k], w, n))
                        bufs[k][: i1 - done[k] - n] = bufs[k][n : i1 - done[k]]
                        done[k] += n
            ok = True
        finally:
            for o in outs:
                o.close()
            if not ok:  # no half-written level left beside the staging file
                for p in paths:
                    p.unlink(missing_ok=True)
    return paths


def overview_vrt(src_path: str | Path, levels: list[Path], vrt_path: str | Path) -> Path:
    """A VRT of ``src_path`` with ``levels`` declared as its overviews.

    Band 1 with its CRS, transform, nodata and tags, for GDAL's COG driver to copy
    (``OVERVIEWS=AUTO`` takes a source's overviews as they are).
    """
    src_path, vrt_path = Path(src_path), Path(vrt_path)
    with rasterio.open(src_path) as src:
        dtype = _VRT_TYPES[src.dtypes[0]]
        nodata = src.nodata
        try:
            colormap = src.colormap(1)  # a palette band keeps its colours
        except ValueError:
            colormap = None
        gt = ", ".join(repr(float(v)) for v in src.transform.to_gdal())
        lines = [
            f'<VRTDataset rasterXSize="{src.width}" rasterYSize="{src.height}">',
            f"  <SRS>{escape(src.crs.to_wkt())}</SRS>" if src.crs else "",
            f"  <GeoTransform>{gt}</GeoTransform>",
            "  <Metadata>",
            *(f'    <MDI key="{escape(k)}">{escape(v)}</MDI>' for k, v in src.tags().items()),
            "  </Metadata>",
            f'  <VRTRasterBand dataType="{dtype}" band="1">',
            f"    <NoDataValue>{'nan' if nodata is None or math.isnan(nodata) else repr(nodata)}"
            "</NoDataValue>"
            if nodata is not None
            else "",
            *(
                ["    <ColorInterp>Palette</ColorInterp>", "    <ColorTable>"]
                + [
                    f'      <Entry c1="{r}" c2="{g}" c3="{b}" c4="{a}"/>'
                    for _, (r, g, b, a) in sorted(colormap.items())
                ]
                + ["    </ColorTable>"]
                if colormap
                else []
            ),
            "    <SimpleSource>",
            f'      <SourceFilename relativeToVRT="1">{escape(src_path.name)}</SourceFilename>',
            "      <SourceBand>1</SourceBand>",
            "    </SimpleSource>",
            *(
                f'    <Overview><SourceFilename relativeToVRT="1">{escape(p.name)}'
                "</SourceFilename><SourceBand>1</SourceBand></Overview>"
                for p in levels
            ),
            "  </VRTRasterBand>",
            "</VRTDataset>",
        ]
    vrt_path.write_text("\n".join(line for line in lines if line) + "\n", encoding="utf-8")
    return vrt_path
