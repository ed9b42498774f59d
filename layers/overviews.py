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

# side of the square windows average_overviews reads (full-resolution cells; a power of two,
# twice the level block: level 1 then gets whole blocks from every window)
_WINDOW = 512
# block side of the level files (each block written whole, once)
_LEVEL_BLOCK = 256
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


def _morton(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the cells of an ``n x n`` square (``n`` a power of two), in Z order.

    Every aligned square of a power-of-two side inside it comes as one run of consecutive cells.

    Examples
    --------
    >>> rows, cols = _morton(4)
    >>> list(zip(rows.tolist(), cols.tolist()))[:8]
    [(0, 0), (0, 1), (1, 0), (1, 1), (0, 2), (0, 3), (1, 2), (1, 3)]
    """
    z = np.arange(n * n, dtype=np.int64)
    rows, cols = np.zeros_like(z), np.zeros_like(z)
    for b in range(max(1, n.bit_length())):
        cols |= ((z >> (2 * b)) & 1) << b
        rows |= ((z >> (2 * b + 1)) & 1) << b
    return rows, cols


def average_overviews(src_path: str | Path, block: int = 256) -> list[Path]:
    """Write the average overview levels of a single-band float raster, one file per level.

    Parameters
    ----------
    src_path : str or pathlib.Path
        A float32 or float64 GeoTIFF, read in square windows of 512 cells (or one top-level
        cell, if larger), 1 MB for float32, in Z order (below); the levels have its type.
    block : int
        COG block size: levels are added until both sides are at most ``block``.

    Returns
    -------
    list of pathlib.Path
        ``<src>.ov<k>.tif`` for k = 1, 2, ... (factor ``2**k``), uncompressed and tiled; empty
        when the raster needs no overview.

    Notes
    -----
    Each level is written in whole 256-cell blocks, each block once, so GDAL's shared block
    cache never holds a half-written block that another thread's reads or writes could flush
    and this thread re-read stale (GDAL #2011 / #2015: whole blocks of a level came out as
    nodata on a national grid with two copies at once). A window (512 cells, or one top-level
    cell if larger) gives level ``k`` a square of its side / ``2**k`` cells: whole blocks,
    written at once, at level 1; at higher levels (and where a square is smaller than a block)
    a part of one block, kept in that level's one-block buffer. The windows are visited in Z
    order, so the windows of each block come one after the other, and the block is written
    when the next block's first window comes. Memory is one window's arrays and a block per
    level, about 6 MB for float32, whatever the raster's width: a 30 m Shanxi float32 band
    (10,973 columns) took +23 MB of heap with GDAL's reads and writes, against +48 MB when
    windows of 256 x 4,096 cells filled whole rows of blocks of every level (which grow with
    the width), and 1.4-1.7 s against 1.8-2.1 (2026-12-03, ``benchmarks/README.md`` s38).
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
        # window side: a power of two holding whole top-level cells (levels then come from
        # one window's cells alone) and at least two level blocks, so level 1 gets whole blocks
        side = max(_WINDOW, 1 << len(sizes))
        paths = [src_path.with_name(f"{src_path.name}.ov{k + 1}.tif") for k in range(len(sizes))]
        profile = dict(
            driver="GTiff", count=1, dtype=ftype.name, crs=src.crs, nodata=nodata,
            tiled=True, blockxsize=_LEVEL_BLOCK, blockysize=_LEVEL_BLOCK, compress="NONE",
            BIGTIFF="IF_SAFER",
        )  # fmt: skip
        nodata_fill = ftype.type(np.nan if nan_nodata else nodata)
        piece = [side >> (k + 1) for k in range(len(sizes))]  # a window's side at level k
        # a level's block buffer, and which block it holds, where a window gives less than one
        bufs = [
            np.full((_LEVEL_BLOCK, _LEVEL_BLOCK), nodata_fill, ftype) if p < _LEVEL_BLOCK else None
            for p in piece
        ]
        held: list[tuple[int, int] | None] = [None] * len(sizes)
        outs = []
        ok = False
        try:
            for (w, h), path in zip(sizes, paths, strict=True):
                t = src.transform * rasterio.Affine.scale(width / w, height / h)
                outs.append(rasterio.open(path, "w", width=w, height=h, transform=t, **profile))

            def flush(k: int) -> None:
                # the block a level's buffer holds, written whole (cut at the level's edges)
                if held[k] is None:
                    return
                w, h = sizes[k]
                bi, bj = held[k]
                r0, c0 = bi * _LEVEL_BLOCK, bj * _LEVEL_BLOCK
                bh, bw = min(_LEVEL_BLOCK, h - r0), min(_LEVEL_BLOCK, w - c0)
                outs[k].write(bufs[k][:bh, :bw], 1, window=Window(c0, r0, bw, bh))
                bufs[k].fill(nodata_fill)
                held[k] = None

            # one window's buffers, reused (a window's cells past the raster's edge are NaN,
            # so they count as missing like nodata). Windows lie on the staging file's
            # 256-cell blocks, so each block is read once whatever GDAL's block cache holds
            # (the COG copies' 8 MB: 128-row windows read every block twice, s32)
            half = side // 2
            vals = np.empty((side, side), dtype=ftype)
            bits = vals.view(f"uint{8 * ftype.itemsize}")  # the same memory, as integers
            mask = np.empty((side, side), dtype=bool)  # missing cells, then valid ones
            pairs = np.empty((half, side), dtype=ftype)
            pairs64 = np.empty((half, side), dtype="float64")
            sums = np.empty((half, half), dtype="float64")
            row_counts = np.empty((half, side), dtype="uint8")
            counts = np.empty((half, half), dtype="float64")
            # where a window gives whole blocks: their means, written at once
            wholes = [np.empty((p, p), ftype) if p >= _LEVEL_BLOCK else None for p in piece]
            nd = None if nan_nodata else nodata
            n_rows, n_cols = -(-height // side), -(-width // side)
            # windows per side of the largest block a window gives part of: the Z order runs
            # over squares of that many windows, so every block's windows come together
            group = max([_LEVEL_BLOCK // p for p in piece if p < _LEVEL_BLOCK], default=1)
            # no larger than the windows need (a block wider than the raster is its only one)
            group = min(group, 1 << max(0, (max(n_rows, n_cols) - 1).bit_length()))
            rows, cols = _morton(group)
            order = list(zip(rows.tolist(), cols.tolist(), strict=True))
            for gi in range(0, n_rows, group):
                for gj in range(0, n_cols, group):
                    for di, dj in order:
                        wi, wj = gi + di, gj + dj
                        if wi >= n_rows or wj >= n_cols:
                            continue
                        r0, c0 = wi * side, wj * side
                        rh, cw = min(side, height - r0), min(side, width - c0)
                        if rh == side and cw == side:
                            src.read(1, window=Window(c0, r0, cw, rh), out=vals)
                        else:
                            vals.fill(np.nan)
                            vals[:rh, :cw] = src.read(1, window=Window(c0, r0, cw, rh))
                        np.isnan(vals, out=mask)
                        if not nan_nodata:
                            mask |= vals == ftype.type(nodata)
                        valid = np.logical_not(mask, out=mask)
                        # missing cells to +0.0: their bits times 0, the others' times 1 (a
                        # quarter of the time of copyto(..., where=missing) on the 30 m
                        # benchmark's wind suitability, 0.04 against 0.17 s)
                        np.multiply(bits, valid, out=bits)
                        # first level: pairs of rows in the band's type (float32: exact to
                        # half an ulp), then float64
                        np.add(vals[0::2], vals[1::2], out=pairs)
                        np.copyto(pairs64, pairs)
                        np.add(pairs64[:, 0::2], pairs64[:, 1::2], out=sums)
                        # valid cells of each 2 x 2 block: pairs of rows as bytes (0-2), then
                        # the two bytes of each column pair read as one uint16 and added
                        np.add(valid[0::2].view("uint8"), valid[1::2].view("uint8"),
                               out=row_counts)  # fmt: skip
                        two = row_counts.view("uint16")
                        np.copyto(counts, (two & 0xFF) + (two >> 8))
                        s, n = sums, counts
                        for k, (w, h) in enumerate(sizes):
                            if k:
                                s, n = _reduce(s, n)
                            p = piece[k]
                            orow, ocol = wi * p, wj * p
                            # at least one cell: the window starts inside the raster
                            oh, ow = min(p, h - orow), min(p, w - ocol)
                            if bufs[k] is None:  # whole blocks: written at once
                                dst = wholes[k][:oh, :ow]
                                _means_into(dst, s[:oh, :ow], n[:oh, :ow], nd)
                                outs[k].write(dst, 1, window=Window(ocol, orow, ow, oh))
                                continue
                            here = (orow // _LEVEL_BLOCK, ocol // _LEVEL_BLOCK)
                            if held[k] != here:
                                flush(k)
                                held[k] = here
                            i0, j0 = orow % _LEVEL_BLOCK, ocol % _LEVEL_BLOCK
                            _means_into(bufs[k][i0 : i0 + oh, j0 : j0 + ow],
                                        s[:oh, :ow], n[:oh, :ow], nd)  # fmt: skip
            for k in range(len(sizes)):
                flush(k)
            ok = True
        finally:
            for o in outs:
                o.close()
            if not ok:  # no half-written level left beside the staging file
                for p in paths:
                    p.unlink(missing_ok=True)
    return paths


def _nearest_steps(n_full: int, sides: list[int]) -> list[np.ndarray]:
    """For each level, the cell of the level before that each of its cells takes, along one axis.

    A level's cell ``i`` takes cell ``floor(i * n_prev / n + 0.5)`` of the level before (GDAL's
    nearest neighbour from the previous level; the full band before the first level).

    Examples
    --------
    >>> [s.tolist() for s in _nearest_steps(7, [3, 1])]
    [[0, 2, 5], [0]]
    """
    out, n_prev = [], n_full
    for n in sides:
        i = (np.arange(n, dtype=np.float64) * (n_prev / n) + 0.5).astype(np.int64)
        out.append(np.minimum(i, n_prev - 1))
        n_prev = n
    return out


def nearest_overviews(src_path: str | Path, block: int = 256) -> list[Path]:
    """Write GDAL's NEAREST overview levels of a single-band raster, one file per level.

    The levels are the cells GDAL's COG driver would pick (:func:`overview_sizes` rounding
    down, :func:`_nearest_steps`). Each level is made from the one before (the band, for the
    first), one 256-cell block at a time: the block's cells come from one window of the level
    before (about 512 x 512 cells), and the block is written whole, once (GDAL #2011, see
    :func:`average_overviews`). Memory is one window and one block, whatever the raster's
    width: with GDAL's reads and writes (its cache at 8 MiB), +14 MB of heap for a 30 m
    Shanxi uint8 band (10,973 columns) and +15 MB for one of China 30 m's 163,840 columns,
    against +22 and +117 MB when whole rows of blocks of every level were held (2026-12-03,
    ``benchmarks/README.md`` s39).

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
        crs, transform = src.crs, src.transform
    sizes = overview_sizes(width, height, block, round_down=True)
    if not sizes:
        return []
    row_steps = _nearest_steps(height, [h for _, h in sizes])
    col_steps = _nearest_steps(width, [w for w, _ in sizes])
    paths = [src_path.with_name(f"{src_path.name}.ov{k + 1}.tif") for k in range(len(sizes))]
    profile = dict(
        driver="GTiff", count=1, dtype=dtype, crs=crs, nodata=nodata, tiled=True,
        blockxsize=_LEVEL_BLOCK, blockysize=_LEVEL_BLOCK, compress="NONE", BIGTIFF="IF_SAFER",
    )  # fmt: skip
    ok = False
    try:
        prev = src_path
        for (w, h), path, rsteps, csteps in zip(sizes, paths, row_steps, col_steps, strict=True):
            t = transform * rasterio.Affine.scale(width / w, height / h)
            with (
                rasterio.open(prev) as before,
                rasterio.open(path, "w", width=w, height=h, transform=t, **profile) as out,
            ):
                for r0 in range(0, h, _LEVEL_BLOCK):
                    ri = rsteps[r0 : r0 + _LEVEL_BLOCK]
                    for c0 in range(0, w, _LEVEL_BLOCK):
                        ci = csteps[c0 : c0 + _LEVEL_BLOCK]
                        # the window of the level before that holds the block's cells
                        win = Window(ci[0], ri[0], ci[-1] + 1 - ci[0], ri[-1] + 1 - ri[0])
                        a = before.read(1, window=win)
                        # rows, then columns, each by take: 4x faster than one np.ix_ index
                        picked = a.take(ri - ri[0], axis=0).take(ci - ci[0], axis=1)
                        out.write(picked, 1, window=Window(c0, r0, len(ci), len(ri)))
            prev = path
        ok = True
    finally:
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
