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


def _means_into(dst: np.ndarray, s: np.ndarray, n: np.ndarray, nodata) -> None:
    """Write the means ``s / n`` into ``dst`` (the level's type), nodata where ``n`` is 0.

    ``s`` and ``n`` are float64 (counts are whole numbers, exact in float64), and ``s`` is
    +0.0 wherever ``n`` is 0 (missing cells were summed as +0.0). For NaN nodata no mask is
    built: 0 / 0 gives a NaN whose sign bit x86 sets, and copying the sign of ``s`` onto the
    quotient changes nothing else (a mean has the sign of its sum) but makes that NaN the
    positive quiet NaN ``np.nan`` is, so the bytes are the same as setting ``np.nan``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.divide(s, n)
    if nodata is None:
        np.copysign(m, s, out=m)
        dst[...] = m
    else:
        dst[...] = m
        np.copyto(dst, dst.dtype.type(nodata), where=n == 0)


def average_overviews(src_path: str | Path, block: int = 256) -> list[Path]:
    """Write the average overview levels of a single-band float raster, one file per level.

    Parameters
    ----------
    src_path : str or pathlib.Path
        A float32 or float64 GeoTIFF (read in windows of 256 rows, or one top-level cell's
        rows if more, by 4,096 columns, a few MB each, plus one row of 256-row blocks per
        level held until it is written whole: about 2 x 256 x width / 2 cells, 20 MB for a
        30 m Shanxi float32 grid); the levels have its type.
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
            # so they count as missing like nodata); at least 256 rows, whole rows of the
            # staging file's 256-row blocks, so each block is read once whatever GDAL's block
            # cache holds (128-row windows read every block twice with the 8 MB cache of the
            # COG copies: 0.46 s against 0.23 s for a 30 m Shanxi band)
            win_rows = max(span, _LEVEL_BLOCK)
            vals = np.empty((win_rows, cols), dtype=ftype)
            bits = vals.view(f"uint{8 * ftype.itemsize}")  # the same memory, as integers
            mask = np.empty((win_rows, cols), dtype=bool)  # missing cells, then valid ones
            pairs = np.empty((win_rows // 2, cols), dtype=ftype)
            pairs64 = np.empty((win_rows // 2, cols), dtype="float64")
            sums = np.empty((win_rows // 2, cols // 2), dtype="float64")
            row_counts = np.empty((win_rows // 2, cols), dtype="uint8")
            counts = np.empty((win_rows // 2, cols // 2), dtype="float64")
            for r0 in range(0, height, win_rows):
                rh = min(win_rows, height - r0)
                for c0 in range(0, width, cols):
                    cw = min(cols, width - c0)
                    if rh == win_rows and cw == cols:
                        src.read(1, window=Window(c0, r0, cw, rh), out=vals)
                    else:
                        vals.fill(np.nan)
                        vals[:rh, :cw] = src.read(1, window=Window(c0, r0, cw, rh))
                    np.isnan(vals, out=mask)
                    if not nan_nodata:
                        mask |= vals == ftype.type(nodata)
                    valid = np.logical_not(mask, out=mask)
                    # missing cells to +0.0: their bits times 0, the others' times 1 (a quarter
                    # of the time of copyto(..., where=missing) on the 30 m benchmark's wind
                    # suitability, 0.04 against 0.17 s)
                    np.multiply(bits, valid, out=bits)
                    # first level: pairs of rows in the band's type (float32: exact to half an
                    # ulp), then float64
                    np.add(vals[0::2], vals[1::2], out=pairs)
                    np.copyto(pairs64, pairs)
                    np.add(pairs64[:, 0::2], pairs64[:, 1::2], out=sums)
                    # valid cells of each 2 x 2 block: pairs of rows as bytes (0-2), then the
                    # two bytes of each column pair read as one uint16 and added
                    np.add(valid[0::2].view("uint8"), valid[1::2].view("uint8"), out=row_counts)
                    two = row_counts.view("uint16")
                    np.copyto(counts, (two & 0xFF) + (two >> 8))
                    s, n = sums, counts
                    for k, (w, h) in enumerate(sizes):
                        if k:
                            s, n = _reduce(s, n)
                        f = 1 << (k + 1)
                        orow, ocol = r0 // f, c0 // f
                        oh, ow = min(s.shape[0], h - orow), min(s.shape[1], w - ocol)
                        if oh <= 0 or ow <= 0:
                            continue
                        b0, buf = bufs[k]
                        _means_into(
                            buf[orow - b0 : orow - b0 + oh, ocol : ocol + ow],
                            s[:oh, :ow], n[:oh, :ow], None if nan_nodata else nodata,
                        )  # fmt: skip
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
                            # rows, then columns, each by take: 4x faster than one
                            # np.ix_ index (0.16 against 0.62 ms for a level-1 window)
                            picked = a.take(rows[k][i0:i1] - r0, axis=0)
                            picked = picked.take(cols[k][j0:j1] - c0, axis=1)
                            bufs[k][i0 - done[k] : i1 - done[k], j0:j1] = picked
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
