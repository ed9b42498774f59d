"""Parcel pieces: one tile's candidate cells labelled without crossing block lines.

See :mod:`sxplan.siting.parcels` for the model (regions, blocks, pieces, slivers). A tile is
labelled with block lines cut; the statistics of every piece and the label pairs touching
across block lines inside the tile are collected in a :class:`PieceTile`.

Inputs: a tile's candidate mask and per-cell values (scores, resource, land cover, county).
Outputs: :class:`PieceTile`; parcel ids per cell from a tile's kept labels
(:func:`piece_parcel_ids`); a tile side's piece numbers as runs, for the pass that holds them
(:func:`_pack_side`, :func:`_unpack_side`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from sxplan.errors import ConfigError

__all__ = [
    "N_LANDCOVER",
    "PieceTile",
    "block_side_cells",
    "empty_piece_tile",
    "label_pieces",
    "piece_parcel_ids",
    "piece_tile",
]

N_LANDCOVER = 9  # common land-cover classes 0 (no data) .. 8
_N_LC = N_LANDCOVER


def block_side_cells(max_area_km2: float, cell_area_km2: float) -> int:
    """Side, in cells, of the largest square block whose area is at most ``max_area_km2``.

    Parameters
    ----------
    max_area_km2 : float
        Maximum parcel area.
    cell_area_km2 : float
        Area of one cell.

    Returns
    -------
    int

    Examples
    --------
    >>> block_side_cells(20.0, 0.0009)  # 30 m cells: 149 x 149 cells = 19.98 km2
    149
    """
    side = int(math.floor(math.sqrt(max_area_km2 / cell_area_km2) + 1e-9))
    if side < 1:
        raise ConfigError(
            f"max_parcel_area_km2 = {max_area_km2} is smaller than one cell "
            f"({cell_area_km2} km2); raise it or use a finer grid"
        )
    return side


def _structure(connectivity: int) -> np.ndarray:
    if connectivity == 8:
        return np.ones((3, 3), dtype=bool)
    if connectivity == 4:
        return ndimage.generate_binary_structure(2, 1)
    raise ConfigError(f"connectivity must be 4 or 8, got {connectivity}")


def _block_cuts(offset: int, length: int, block: int) -> np.ndarray:
    """Local indices i (1..length-1) where a new block starts (global offset + i % block == 0)."""
    first = (-offset) % block
    if first == 0:
        first = block
    return np.arange(first, length, block)


def label_pieces(
    candidate: np.ndarray, row_off: int, col_off: int, block_cells: int, connectivity: int
) -> tuple[np.ndarray, int]:
    """Label connected candidate cells without connecting across block lines.

    Block lines lie at global rows and columns that are multiples of ``block_cells``. Labels
    are numbered in row-major order of each piece's first cell.

    Parameters
    ----------
    candidate : numpy.ndarray of bool
        Candidate cells of a window.
    row_off, col_off : int
        Global offset of the window.
    block_cells : int
        Block side in cells.
    connectivity : {4, 8}
        Neighbourhood.

    Returns
    -------
    labels : numpy.ndarray
        int32 labels (0 = not a candidate).
    n : int
        Number of pieces.
    """
    h, w = candidate.shape
    rcuts = _block_cuts(row_off, h, block_cells)
    ccuts = _block_cuts(col_off, w, block_cells)
    if not (rcuts.size or ccuts.size):
        labels, n = ndimage.label(candidate, structure=_structure(connectivity))
        return labels.astype("int32", copy=False), int(n)
    # one empty row/column inserted at each block line, so no piece crosses it; the cells
    # are copied in and out by block (slices), in the same row-major order
    rseg = _segments(rcuts, h)
    cseg = _segments(ccuts, w)
    expanded = np.zeros((h + rcuts.size, w + ccuts.size), dtype=bool)
    for r0, r1, dr in rseg:
        for c0, c1, dc in cseg:
            expanded[r0 + dr : r1 + dr, c0 + dc : c1 + dc] = candidate[r0:r1, c0:c1]
    labels, n = ndimage.label(expanded, structure=_structure(connectivity))
    out = np.empty((h, w), dtype="int32")
    for r0, r1, dr in rseg:
        for c0, c1, dc in cseg:
            out[r0:r1, c0:c1] = labels[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
    return out, int(n)


def _segments(cuts: np.ndarray, length: int) -> list[tuple[int, int, int]]:
    """``(start, stop, shift)`` of the runs between cuts; run j moves by j in the expanded axis."""
    edges = [0, *(int(c) for c in cuts), length]
    return [(edges[j], edges[j + 1], j) for j in range(len(edges) - 1)]


@dataclass
class PieceTile:
    """What one tile contributes to the parcel graph.

    Pieces kept from the tile are numbered 1..n in ``kept_local`` order (0 = none).

    Attributes
    ----------
    kept_local : numpy.ndarray
        Sorted local labels kept (the others belong to small regions wholly inside the tile).
    sums : dict of str to numpy.ndarray
        Per kept piece: ``cells``, ``first_index`` (global row-major index of the first cell),
        ``<field>_sum``/``<field>_n`` for every value field, ``<field>_max`` for max fields.
    lc_cells : numpy.ndarray
        (n, 9) cell counts per common land-cover class (column 0 = no data).
    county_pairs : numpy.ndarray
        (k, 3) int64 rows ``(piece 1..n, county index, cells)``.
    edges : numpy.ndarray
        (m, 3) int64 rows ``(piece a, piece b, contacts)`` across block lines inside the tile.
    top, bottom, left, right : numpy.ndarray
        Piece numbers along the core edges of the tile.
    """

    kept_local: np.ndarray
    sums: dict
    lc_cells: np.ndarray
    county_pairs: np.ndarray
    edges: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    left: np.ndarray
    right: np.ndarray

    @property
    def n(self) -> int:
        """Number of pieces kept."""
        return int(self.kept_local.size)


def empty_piece_tile(height: int, width: int) -> PieceTile:
    """A :class:`PieceTile` with no pieces for a tile of the given core shape."""
    z = np.zeros(0, dtype="int64")
    return PieceTile(
        np.zeros(0, dtype="int32"), {"cells": z, "first_index": z},
        np.zeros((0, _N_LC), "int64"), np.zeros((0, 3), "int64"), np.zeros((0, 3), "int64"),
        np.zeros(width, "int64"), np.zeros(width, "int64"),
        np.zeros(height, "int64"), np.zeros(height, "int64"),
    )  # fmt: skip


def _pairs_across_blocks(lab, row_off, col_off, block, connectivity):
    """(a, b) label pairs of adjacent cells in different blocks, each pair once."""
    h, w = lab.shape
    rb = (row_off + np.arange(h)) // block
    cb = (col_off + np.arange(w)) // block
    ii = np.nonzero(rb[:-1] != rb[1:])[0]
    jj = np.nonzero(cb[:-1] != cb[1:])[0]
    a_parts, b_parts = [], []
    if jj.size:
        a_parts.append(lab[:, jj].ravel())
        b_parts.append(lab[:, jj + 1].ravel())
    if ii.size:
        a_parts.append(lab[ii, :].ravel())
        b_parts.append(lab[ii + 1, :].ravel())
    if connectivity == 8 and h > 1 and w > 1:
        if ii.size:
            a_parts += [lab[ii, :-1].ravel(), lab[ii, 1:].ravel()]
            b_parts += [lab[ii + 1, 1:].ravel(), lab[ii + 1, :-1].ravel()]
        if jj.size:
            rest = np.ones(h - 1, dtype=bool)  # rows not on a row cut (np.setdiff1d, sorted)
            rest[ii] = False
            other = np.flatnonzero(rest)
            if other.size:
                a_parts += [lab[np.ix_(other, jj)].ravel(), lab[np.ix_(other, jj + 1)].ravel()]
                b_parts += [
                    lab[np.ix_(other + 1, jj + 1)].ravel(),
                    lab[np.ix_(other + 1, jj)].ravel(),
                ]
    if not a_parts:
        return np.zeros((0, 3), dtype="int64")
    a = np.concatenate(a_parts).astype("int64")
    b = np.concatenate(b_parts).astype("int64")
    return _count_pairs(a, b)


def _count_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows (min, max, count) of distinct non-zero pairs with a != b."""
    keep = (a > 0) & (b > 0) & (a != b)
    a, b = a[keep], b[keep]
    if a.size == 0:
        return np.zeros((0, 3), dtype="int64")
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    # (lo, hi) rows sorted lexicographically = lo * m + hi sorted (0 < hi < m): one 1-D unique
    m = int(hi.max()) + 1
    keys, counts = np.unique(lo * m + hi, return_counts=True)
    lo_u, hi_u = np.divmod(keys, m)
    return np.column_stack([lo_u, hi_u, counts]).astype("int64")


def piece_tile(
    candidate: np.ndarray,
    *,
    row_off: int,
    col_off: int,
    grid_width: int,
    block_cells: int,
    connectivity: int,
    min_cells: float,
    values: dict,
    max_fields: tuple = (),
    landcover: np.ndarray | None = None,
    county: np.ndarray | None = None,
) -> PieceTile:
    """Label a tile's candidate cells into pieces and accumulate their statistics.

    Parameters
    ----------
    candidate : numpy.ndarray of bool
        Candidate cells of the tile's core window.
    row_off, col_off : int
        Global offset of the core window.
    grid_width : int
        Width of the grid (for global row-major indices).
    block_cells : int
        Block side in cells.
    connectivity : {4, 8}
        Neighbourhood.
    min_cells : float
        Minimum parcel area in cells; regions complete inside the tile and smaller are dropped.
    values : dict of str to numpy.ndarray
        Per-cell values to average per parcel (NaN = missing, not counted).
    max_fields : tuple of str
        Names in ``values`` whose per-parcel maximum is also kept.
    landcover : numpy.ndarray, optional
        Common land-cover class per cell (0..8).
    county : numpy.ndarray, optional
        County index per cell (0 = none).

    Returns
    -------
    PieceTile
    """
    pieces, n_pieces = label_pieces(candidate, row_off, col_off, block_cells, connectivity)
    h, w = candidate.shape
    if n_pieces == 0:
        return empty_piece_tile(h, w)
    sel = pieces > 0
    lab = pieces[sel]
    # Pieces in contact across block lines inside the tile, (a, b, contacts) with a < b; the
    # regions of the tile (candidate cells connected in it) are the pieces joined by them.
    piece_edges = _pairs_across_blocks(pieces, row_off, col_off, block_cells, connectivity)
    region_of_piece, n_regions = _joined(n_pieces + 1, piece_edges)
    # Regions complete inside the tile (not touching its edge) and small are dropped.
    piece_cells = np.bincount(lab, minlength=n_pieces + 1)
    region_cells = np.zeros(n_regions, dtype="int64")
    np.add.at(region_cells, region_of_piece, piece_cells)
    on_edge = np.zeros(n_regions, dtype=bool)
    border = np.concatenate([pieces[0], pieces[-1], pieces[:, 0], pieces[:, -1]])
    on_edge[region_of_piece[border]] = True
    keep_region = on_edge | (region_cells >= min_cells - 1e-9)
    keep_piece = keep_region[region_of_piece]
    keep_piece[0] = False  # label 0: not a candidate
    kept_local = np.nonzero(keep_piece)[0].astype("int32")
    if kept_local.size == 0:
        return empty_piece_tile(h, w)
    # local label -> kept number (1..n), 0 if dropped
    renum = np.zeros(n_pieces + 1, dtype="int64")
    renum[kept_local] = np.arange(1, kept_local.size + 1)
    n = kept_local.size
    kl = renum[lab]
    in_kept = kl > 0
    kl = kl[in_kept]
    flat = np.flatnonzero(sel)[in_kept]
    sums = {"cells": np.bincount(kl, minlength=n + 1)[1:]}
    # first cell of each piece in row-major order = global row-major first index
    first_pos = _first_positions(kl, n)
    fr, fc = np.divmod(flat[first_pos], w)
    sums["first_index"] = (fr + row_off).astype("int64") * grid_width + (fc + col_off)
    for name, arr in values.items():
        # one gather of the kept cells (row-major, as arr[sel][in_kept]) instead of two copies
        # float32 fields stay float32 here: bincount converts its weights to float64
        # (exactly) itself, and adds them in the same order
        v = _gather(arr, flat, w)
        if name in max_fields or v.dtype.kind != "f":
            v = v.astype("float64", copy=False)
        ok = np.isfinite(v)
        if ok.all():  # the common case: no copies of the labels and values
            kl_ok, v_ok = kl, v
            sums[f"{name}_n"] = sums["cells"].copy()
        else:
            kl_ok, v_ok = kl[ok], v[ok]
            sums[f"{name}_n"] = np.bincount(kl_ok, minlength=n + 1)[1:]
        sums[f"{name}_sum"] = np.bincount(kl_ok, weights=v_ok, minlength=n + 1)[1:]
        if name in max_fields:
            mx = np.full(n + 1, -np.inf)
            np.maximum.at(mx, kl_ok, v_ok)
            sums[f"{name}_max"] = mx[1:]
    if landcover is not None:
        lc = _gather(landcover, flat, w).astype("int64")
        lc_cells = np.bincount(kl * _N_LC + lc, minlength=(n + 1) * _N_LC).reshape(n + 1, _N_LC)
        lc_cells = lc_cells[1:]
    else:
        lc_cells = np.zeros((n, _N_LC), dtype="int64")
    if county is not None:
        ct = _gather(county, flat, w).astype("int64")
        key = kl * (int(ct.max()) + 1) + ct
        uniq, cnt = np.unique(key, return_counts=True)
        p, c = np.divmod(uniq, int(ct.max()) + 1)
        county_pairs = np.column_stack([p, c, cnt]).astype("int64")
    else:
        county_pairs = np.zeros((0, 3), dtype="int64")
    # contacts between kept pieces: a piece and the pieces it touches are in one region, so
    # kept or dropped together; renum keeps the order, so the rows stay sorted
    ka, kb = renum[piece_edges[:, 0]], renum[piece_edges[:, 1]]
    both = (ka > 0) & (kb > 0)
    edges = np.column_stack([ka[both], kb[both], piece_edges[both, 2]]).astype("int64")
    return PieceTile(
        kept_local, sums, lc_cells, county_pairs, edges,
        renum[pieces[0]], renum[pieces[-1]], renum[pieces[:, 0]], renum[pieces[:, -1]],
    )  # fmt: skip


def _joined(n_nodes: int, edges: np.ndarray) -> tuple[np.ndarray, int]:
    """Connected component of each node 0..n_nodes-1 joined by ``edges`` rows (a, b, ...)."""
    if edges.shape[0] == 0:
        return np.arange(n_nodes), n_nodes
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix(
        (np.ones(edges.shape[0], dtype="int8"), (edges[:, 0], edges[:, 1])),
        shape=(n_nodes, n_nodes),
    )
    n, comp = connected_components(graph, directed=False)
    return comp, int(n)


def _first_positions(kl: np.ndarray, n: int) -> np.ndarray:
    """Index of the first occurrence of each kept number 1..n in ``kl`` (row-major order).

    Pieces are numbered in the row-major order of their first cell, so the first cells are
    where the running maximum steps up by one; ``np.unique(kl, return_index=True)`` is the
    fallback (and the definition) should that order not hold.
    """
    if kl.size:
        step = np.empty(kl.size, dtype=bool)
        step[0] = True
        np.greater(kl[1:], np.maximum.accumulate(kl)[:-1], out=step[1:])
        pos = np.flatnonzero(step)
        if pos.size == n and np.array_equal(kl[pos], np.arange(1, n + 1)):
            return pos
    return np.unique(kl, return_index=True)[1]


def _gather(arr: np.ndarray, flat: np.ndarray, width: int) -> np.ndarray:
    """``arr.ravel()[flat]`` without copying a non-contiguous ``arr`` whole (row-major order)."""
    if arr.flags.c_contiguous:
        return np.take(arr.reshape(-1), flat)
    rows, cols = np.divmod(flat, width)
    return arr[rows, cols]


def piece_parcel_ids(
    candidate, row_off, col_off, block_cells, connectivity, kept, parcel_of_kept
) -> np.ndarray:
    """Parcel id per cell from a tile's kept piece labels and their parcel ids.

    Parameters
    ----------
    candidate : numpy.ndarray of bool
        The tile's candidate cells (as when its pieces were accumulated).
    row_off, col_off : int
        Global offset of the tile's core window.
    block_cells : int
        Block side in cells.
    connectivity : {4, 8}
        Neighbourhood.
    kept : numpy.ndarray
        Sorted local labels the tile kept (:attr:`PieceTile.kept_local`).
    parcel_of_kept : numpy.ndarray
        Parcel id of each kept label (0 = dropped).

    Returns
    -------
    numpy.ndarray
        int32 parcel ids.
    """
    if kept.size == 0:
        return np.zeros(candidate.shape, dtype="int32")
    lab, n = label_pieces(candidate, row_off, col_off, block_cells, connectivity)
    # a table indexed by local label (labels run 1..n): one gather per cell, 30x faster than
    # a binary search of every cell in ``kept`` (0.009 s against 0.28 s on a 2,048-cell
    # tile of the 30 m benchmark, s31)
    if kept[0] < 1 or kept[-1] > n:
        raise RuntimeError(
            f"tile at row {row_off}, column {col_off}: kept labels {kept[0]}..{kept[-1]} are "
            f"not among the {n} labels found on re-reading; please report"
        )
    table = np.zeros(int(n) + 1, dtype="int32")
    table[kept] = parcel_of_kept
    return table[lab]


def _pack_side(a: np.ndarray) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """One side's piece numbers as runs ``(values, run ends)``, or as they are when not smaller.

    A side crosses few pieces, so its numbers repeat along long runs: on the 30 m benchmark
    the four sides of each tile held 3.97 MB per technology as they are and 0.22-0.26 MB as
    runs (``benchmarks/README.md``, s40). :func:`_unpack_side` gives the same array back.

    Examples
    --------
    >>> v, ends = _pack_side(np.array([0, 0, 0, 0, 7, 7, 7, 7, 0, 0, 0, 0], "uint16"))
    >>> v.tolist(), ends.tolist()
    ([0, 7, 0], [4, 8, 12])
    >>> _unpack_side((v, ends)).tolist()
    [0, 0, 0, 0, 7, 7, 7, 7, 0, 0, 0, 0]
    >>> _pack_side(np.array([1, 2, 3], "uint16")).tolist()  # runs would not be smaller
    [1, 2, 3]
    """
    if a.size == 0:
        return a
    ends = np.append(np.flatnonzero(a[1:] != a[:-1]) + 1, a.size).astype("uint32")
    if ends.size * (a.itemsize + ends.itemsize) >= a.nbytes:
        return a
    return a[ends - 1], ends


def _unpack_side(side) -> np.ndarray:
    """The piece numbers of a side kept by :func:`_pack_side`."""
    if not isinstance(side, tuple):
        return side
    values, ends = side
    return np.repeat(values, np.diff(ends, prepend=np.uint32(0)))
