"""Sample aligned rasters at scattered points, reading only the blocks that hold points.

Roads touch a small share of a province grid, so rather than reading whole layers this groups
the points by square blocks of the grid and reads each needed block (plus a one-cell halo for
bilinear interpolation) once. Memory is bounded by the block size, not the grid size.

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
        Block side in cells; one block plus halo is read at a time.

    Returns
    -------
    numpy.ndarray
        float64 values; NaN off the grid or on nodata.
    """
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
    key = np.where(inside, (r // block) * ((w // block) + 1) + (c // block), -1)
    for k in np.unique(key[inside]):
        sel = np.flatnonzero(key == k)
        br, bc = (r[sel[0]] // block) * block, (c[sel[0]] // block) * block
        r0, c0 = max(br - 1, 0), max(bc - 1, 0)
        r1, c1 = min(br + block + 1, h), min(bc + block + 1, w)
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
