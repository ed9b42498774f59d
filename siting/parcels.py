"""Parcels: connected candidate cells, labelled tile by tile and merged exactly across tiles.

A *candidate* cell is eligible with a suitability score at or above the technology's threshold.
A *region* is a connected set of candidate cells (4- or 8-connectivity). Regions smaller than
the minimum area are dropped; regions up to the maximum area are one parcel each; larger ones
are cut along a fixed square block grid (blocks of at most the maximum area, aligned to the grid
origin, like reV's supply-curve points) into *pieces* (connected parts of the region within one
block), and pieces under the minimum area join the neighbouring piece of the same region with
which they share the most cell contacts (ties: the piece whose first cell comes first in
row-major order). A parcel is therefore at most the block area plus any slivers merged into it.

Windowing is exact: each tile labels its cells with block lines cut, records the label pairs
touching across block lines and along its edges, and a union-find over those pairs (SciPy
sparse connected components) rebuilds the pieces and regions the whole grid would have. Zonal
statistics are accumulated per tile and per piece, then summed per parcel, so no whole-grid
array is ever held. Regions that are complete inside one tile and too small are dropped at once.

Code: labelling a tile into pieces in :mod:`~sxplan.siting._parcel_pieces`, resolving pieces
into parcels in :mod:`~sxplan.siting._parcel_graph`, parcel outlines in
:mod:`~sxplan.siting.polygonize`; this module gathers the public names and
:func:`parcels_from_array`, the whole engine on an in-memory mask.

Inputs: per-tile candidate masks and per-cell values (scores, resource, land cover, county).
Outputs: :class:`ParcelSet` (per-parcel statistics, cell counts per county and land-cover class)
and parcel ids per cell.
"""

from __future__ import annotations

import numpy as np

from ._parcel_graph import ParcelAccumulator, ParcelSet, parcel_ids_tile
from ._parcel_pieces import (
    PieceTile,
    block_side_cells,
    empty_piece_tile,
    label_pieces,
    piece_parcel_ids,
    piece_tile,
)

__all__ = [
    "ParcelAccumulator",
    "ParcelSet",
    "PieceTile",
    "block_side_cells",
    "empty_piece_tile",
    "label_pieces",
    "parcel_ids_tile",
    "parcels_from_array",
    "piece_parcel_ids",
    "piece_tile",
]


def parcels_from_array(
    candidate: np.ndarray,
    *,
    block_cells: int,
    connectivity: int = 8,
    min_cells: float = 1,
    max_cells: float | None = None,
    tile_size: int | None = None,
    values: dict | None = None,
) -> tuple[ParcelSet, np.ndarray]:
    """Parcels of an in-memory candidate mask, tiled exactly as the engine tiles a grid.

    For small arrays, tests and checks: with ``tile_size=None`` the whole array is one tile.

    Parameters
    ----------
    candidate : numpy.ndarray of bool
        Candidate cells.
    block_cells : int
        Block side in cells.
    connectivity : {4, 8}
        Neighbourhood.
    min_cells, max_cells : float
        Parcel size limits in cells (``max_cells`` default: the block area).
    tile_size : int, optional
        Tile side in cells.
    values : dict of str to numpy.ndarray, optional
        Per-cell values whose per-parcel sums and counts are accumulated.

    Returns
    -------
    parcels : ParcelSet
    ids : numpy.ndarray
        int32 parcel id per cell.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.zeros((4, 6), bool); c[:, :] = True
    >>> ps, ids = parcels_from_array(c, block_cells=3, max_cells=9, min_cells=4)
    >>> ps.n, ps.stats["cells"].tolist()
    (2, [12, 12])
    """
    from rasterio.windows import Window

    h, w = candidate.shape
    max_cells = block_cells * block_cells if max_cells is None else max_cells
    side = max(h, w) if tile_size is None else int(tile_size)
    values = values or {}
    acc = ParcelAccumulator((h, w), block_cells, connectivity, min_cells, max_cells)
    windows = [
        Window(c0, r0, min(side, w - c0), min(side, h - r0))
        for r0 in range(0, h, side)
        for c0 in range(0, w, side)
    ]
    for win in windows:
        sl = (
            slice(win.row_off, win.row_off + win.height),
            slice(win.col_off, win.col_off + win.width),
        )
        pt = piece_tile(
            candidate[sl], row_off=win.row_off, col_off=win.col_off, grid_width=w,
            block_cells=block_cells, connectivity=connectivity, min_cells=min_cells,
            values={k: v[sl] for k, v in values.items()},
        )  # fmt: skip
        acc.add(win, pt)
    parcels = acc.finish()
    ids = np.zeros((h, w), dtype="int32")
    for i, win in enumerate(windows):
        sl = (
            slice(win.row_off, win.row_off + win.height),
            slice(win.col_off, win.col_off + win.width),
        )
        ids[sl] = parcel_ids_tile(
            parcels, i, candidate[sl], win.row_off, win.col_off, block_cells, connectivity
        )
    return parcels, ids
