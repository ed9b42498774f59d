"""Sample aligned rasters at scattered points, reading only the cells around the points.

Roads touch a small share of a province grid, so rather than reading whole layers this groups
the points by square blocks of the grid and, for each block, reads the smallest window holding
the cells its points use (a point's cell, and for bilinear interpolation the 2 x 2 cells around
it), through one open dataset per call (:func:`sxplan.layers.open_datasets.keep_datasets_open`),
so a file block shared by two windows is decoded once while GDAL's block cache holds it.
Memory is bounded by the block size, not the grid size. The values are those of reading each
block with a one-cell halo (the same cells; a window's offset is a whole number of cells, so
the interpolation weights are the same floats).

On the 30 m demo's roadside step (65,050 stations, six calls: DEM three times, land cover, GHI,
PV yield; 2026-12-03) sampling took 9.6-9.9 s reading whole blocks with a halo, each read
opening its file (a closed dataset drops its cached blocks); 4.7 s reading only the cells
needed; 1.4-1.8 s with the dataset kept open as well (``benchmarks/README.md``, s37).

Inputs: an aligned layer (anything with ``.grid``, ``.read(window)`` returning a masked array,
and ``.kind``), point coordinates in the grid CRS. Outputs: float arrays, NaN where the point is
off the grid or on nodata.
"""

from __future__ import annotations

import numpy as np
from rasterio.windows import Window

__all__ = ["sample_layer"]


def sample_layer(layer, x, y, *, method: str | None = None, block: int = 512) -> np.ndarray:
    """Values of ``layer`` at points ``(x, y)`` in the grid CRS.

    Parameters
    ----------
    layer : layers.io.AlignedLayer
        The raster (on the run's grid).
    x, y : array_like
        Point coordinates in the grid CRS, metres.
    method : {"nearest", "bilinear"}, optional
        Default ``nearest`` for categorical layers and ``bilinear`` for continuous ones.
        Bilinear falls back to the nearest cell when any of the four neighbours is nodata.
    block : int
        Block side in cells: the points in one block are read as one window (the cells they
        use, at most the block and a one-cell margin).

    Returns
    -------
    numpy.ndarray
        float64 values; NaN off the grid or on nodata.
    """
    from sxplan.layers.open_datasets import keep_datasets_open

    grid = layer.grid
    if method is None:
        method = "nearest" if getattr(layer, "kind", "continuous") == "categorical" else "bilinear"
    x = np.asarray(x, dtype="float64").ravel()
    y = np.asarray(y, dtype="float64").ravel()
    t = grid.transform
    colf = (x - t.c) / t.a
    rowf = (y - t.f) / t.e
    out = np.full(x.size, np.nan)
    h, w = grid.shape
    inside = (colf >= 0) & (colf < w) & (rowf >= 0) & (rowf < h) & np.isfinite(colf + rowf)
    if not inside.any():
        return out
    r = np.floor(rowf).astype("int64")
    c = np.floor(colf).astype("int64")
    # the cells a point reads: its own, and for bilinear the 2 x 2 around it
    if method == "nearest":
        lo_r, hi_r, lo_c, hi_c = r, r, c, c
    else:
        lo_r = np.clip(np.floor(rowf - 0.5).astype("int64"), 0, h - 1)
        lo_c = np.clip(np.floor(colf - 0.5).astype("int64"), 0, w - 1)
        hi_r, hi_c = np.minimum(lo_r + 1, h - 1), np.minimum(lo_c + 1, w - 1)
        lo_r, lo_c = np.minimum(lo_r, r), np.minimum(lo_c, c)
        hi_r, hi_c = np.maximum(hi_r, r), np.maximum(hi_c, c)
    key = np.where(inside, (r // block) * ((w // block) + 1) + (c // block), -1)
    order = np.argsort(key, kind="stable")
    keys = key[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    with keep_datasets_open():  # a file block that two windows share is decoded once
        for s0, s1 in zip(starts, np.r_[starts[1:], keys.size], strict=True):
            if keys[s0] < 0:
                continue
            sel = order[s0:s1]
            r0, c0 = int(lo_r[sel].min()), int(lo_c[sel].min())
            r1, c1 = int(hi_r[sel].max()) + 1, int(hi_c[sel].max()) + 1
            data = layer.read(Window(c0, r0, c1 - c0, r1 - r0))
            vals = np.ma.getdata(data).astype("float64")
            valid = ~np.ma.getmaskarray(data)
            vals = np.where(valid, vals, np.nan)
            rr, cc = r[sel] - r0, c[sel] - c0
            nearest = vals[rr, cc]
            if method == "nearest":
                out[sel] = nearest
                continue
            # Bilinear between the four surrounding cell centres (clamped at the grid edge).
            fr = rowf[sel] - 0.5 - r0
            fc = colf[sel] - 0.5 - c0
            i0 = np.clip(np.floor(fr).astype("int64"), 0, vals.shape[0] - 1)
            j0 = np.clip(np.floor(fc).astype("int64"), 0, vals.shape[1] - 1)
            i1 = np.minimum(i0 + 1, vals.shape[0] - 1)
            j1 = np.minimum(j0 + 1, vals.shape[1] - 1)
            wr = np.clip(fr - i0, 0.0, 1.0)
            wc = np.clip(fc - j0, 0.0, 1.0)
            v = (
                vals[i0, j0] * (1 - wr) * (1 - wc)
                + vals[i0, j1] * (1 - wr) * wc
                + vals[i1, j0] * wr * (1 - wc)
                + vals[i1, j1] * wr * wc
            )
            out[sel] = np.where(np.isfinite(v), v, nearest)
    return out
