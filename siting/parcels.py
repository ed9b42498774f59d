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

Inputs: per-tile candidate masks and per-cell values (scores, resource, land cover, county).
Outputs: :class:`ParcelSet` (per-parcel statistics, cell counts per county and land-cover class)
and parcel polygons from :func:`polygonize_tile`.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sxplan.errors import ConfigError

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

_N_LC = 9  # common land-cover classes 0 (no data) .. 8


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
    rcuts = _block_cuts(row_off, candidate.shape[0], block_cells)
    ccuts = _block_cuts(col_off, candidate.shape[1], block_cells)
    expanded = candidate
    if rcuts.size:
        expanded = np.insert(expanded, rcuts, False, axis=0)
    if ccuts.size:
        expanded = np.insert(expanded, ccuts, False, axis=1)
    labels, n = ndimage.label(expanded, structure=_structure(connectivity))
    if rcuts.size or ccuts.size:
        rows = np.arange(candidate.shape[0]) + np.searchsorted(
            rcuts, np.arange(candidate.shape[0]), side="right"
        )
        cols = np.arange(candidate.shape[1]) + np.searchsorted(
            ccuts, np.arange(candidate.shape[1]), side="right"
        )
        labels = labels[np.ix_(rows, cols)]
    return labels.astype("int32", copy=False), int(n)


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
            other = np.setdiff1d(np.arange(h - 1), ii)
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
    pairs, counts = np.unique(np.column_stack([lo, hi]), axis=0, return_counts=True)
    return np.column_stack([pairs, counts]).astype("int64")


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
    struct = _structure(connectivity)
    pieces, n_pieces = label_pieces(candidate, row_off, col_off, block_cells, connectivity)
    h, w = candidate.shape
    if n_pieces == 0:
        return empty_piece_tile(h, w)
    # Regions inside the tile: complete (not touching the tile edge) and small ones are dropped.
    regions, n_regions = ndimage.label(candidate, structure=struct)
    region_cells = np.bincount(regions.ravel(), minlength=n_regions + 1)
    on_edge = np.zeros(n_regions + 1, dtype=bool)
    on_edge[np.concatenate([regions[0], regions[-1], regions[:, 0], regions[:, -1]])] = True
    keep_region = on_edge | (region_cells >= min_cells - 1e-9)
    keep_region[0] = False
    sel = pieces > 0
    lab = pieces[sel]
    region_of_piece = np.zeros(n_pieces + 1, dtype="int64")
    region_of_piece[lab] = regions[sel]
    keep_piece = keep_region[region_of_piece]
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
    _, first_pos = np.unique(kl, return_index=True)
    fr, fc = np.divmod(flat[first_pos], w)
    sums["first_index"] = (fr + row_off).astype("int64") * grid_width + (fc + col_off)
    for name, arr in values.items():
        v = arr[sel][in_kept].astype("float64")
        ok = np.isfinite(v)
        sums[f"{name}_sum"] = np.bincount(kl[ok], weights=v[ok], minlength=n + 1)[1:]
        sums[f"{name}_n"] = np.bincount(kl[ok], minlength=n + 1)[1:]
        if name in max_fields:
            mx = np.full(n + 1, -np.inf)
            np.maximum.at(mx, kl[ok], v[ok])
            sums[f"{name}_max"] = mx[1:]
    if landcover is not None:
        lc = landcover[sel][in_kept].astype("int64")
        lc_cells = np.bincount(kl * _N_LC + lc, minlength=(n + 1) * _N_LC).reshape(n + 1, _N_LC)
        lc_cells = lc_cells[1:]
    else:
        lc_cells = np.zeros((n, _N_LC), dtype="int64")
    if county is not None:
        ct = county[sel][in_kept].astype("int64")
        key = kl * (int(ct.max()) + 1) + ct
        uniq, cnt = np.unique(key, return_counts=True)
        p, c = np.divmod(uniq, int(ct.max()) + 1)
        county_pairs = np.column_stack([p, c, cnt]).astype("int64")
    else:
        county_pairs = np.zeros((0, 3), dtype="int64")
    kept_lab = np.zeros(pieces.shape, dtype="int64")
    kept_lab[sel] = renum[lab]
    edges = _pairs_across_blocks(kept_lab, row_off, col_off, block_cells, connectivity)
    return PieceTile(
        kept_local, sums, lc_cells, county_pairs, edges,
        kept_lab[0].copy(), kept_lab[-1].copy(), kept_lab[:, 0].copy(), kept_lab[:, -1].copy(),
    )  # fmt: skip


@dataclass
class ParcelSet:
    """Parcels of one technology.

    Attributes
    ----------
    n : int
        Number of parcels (ids 1..n, ordered by their first cell in row-major order).
    stats : dict of str to numpy.ndarray
        Per parcel (index 0 = parcel 1): ``cells``, ``first_index``, ``<field>_sum``,
        ``<field>_n``, ``<field>_max``.
    lc_cells : numpy.ndarray
        (n, 9) cells per common land-cover class.
    county_cells : numpy.ndarray
        (k, 3) rows ``(parcel id, county index, cells)``.
    node_parcel : numpy.ndarray
        Parcel id of every piece node (index = global node id, 0 = none).
    tile_offsets : list of int
        Global node id offset of each tile's pieces (tile order).
    tile_kept : list of numpy.ndarray
        Each tile's kept local labels.
    """

    n: int
    stats: dict
    lc_cells: np.ndarray
    county_cells: np.ndarray
    node_parcel: np.ndarray
    tile_offsets: list = field(default_factory=list)
    tile_kept: list = field(default_factory=list)

    def mean(self, name: str) -> np.ndarray:
        """Per-parcel mean of value field ``name`` (NaN where no cell had a value)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.stats[f"{name}_sum"] / self.stats[f"{name}_n"]


class ParcelAccumulator:
    """Collect :class:`PieceTile` results in tile order and resolve them into parcels.

    Parameters
    ----------
    grid_shape : tuple of int
        ``(height, width)`` of the grid.
    block_cells : int
        Block side in cells.
    connectivity : {4, 8}
        Neighbourhood.
    min_cells, max_cells : float
        Parcel size limits in cells.
    """

    def __init__(self, grid_shape, block_cells, connectivity, min_cells, max_cells):
        self.height, self.width = grid_shape
        self.block = int(block_cells)
        self.connectivity = int(connectivity)
        self.min_cells = float(min_cells)
        self.max_cells = float(max_cells)
        self.n_nodes = 0
        self._sums: dict[str, list] = {}
        self._lc: list = []
        self._county: list = []
        self._edges: list = []
        self._borders: dict = {}
        self.tile_offsets: list[int] = []
        self.tile_kept: list[np.ndarray] = []

    def add(self, window, pt: PieceTile) -> None:
        """Add one tile's pieces (tiles must be added in :func:`plan_tiles` order)."""
        off = self.n_nodes
        self.tile_offsets.append(off)
        self.tile_kept.append(pt.kept_local)
        self.n_nodes += pt.n

        def glob(a):
            a = np.asarray(a, dtype="int64")
            return np.where(a > 0, a + off, 0)

        for k, v in pt.sums.items():
            self._sums.setdefault(k, []).append(np.asarray(v))
        self._lc.append(pt.lc_cells)
        if pt.county_pairs.size:
            cp = pt.county_pairs.copy()
            cp[:, 0] += off
            self._county.append(cp)
        if pt.edges.size:
            e = pt.edges.copy()
            e[:, :2] += off
            self._edges.append(np.column_stack([e, np.zeros(len(e), dtype="int64")]))
        key = (int(window.row_off), int(window.col_off), int(window.height), int(window.width))
        self._borders[key] = tuple(glob(x) for x in (pt.top, pt.bottom, pt.left, pt.right))

    # -- seams between tiles -------------------------------------------------------------------
    def _seam_edges(self) -> np.ndarray:
        keys = sorted(self._borders)
        if len(keys) <= 1:
            return np.zeros((0, 4), dtype="int64")
        row_starts = sorted({k[0] for k in keys})
        col_starts = sorted({k[1] for k in keys})
        hseams = set(row_starts[1:])
        out = []
        b = self.block
        # Horizontal seams: pairs crossing between rows r-1 and r (vertical and diagonal).
        for r in row_starts[1:]:
            above = np.concatenate([self._borders[k][1] for k in keys if k[0] + k[2] == r])
            below = np.concatenate([self._borders[k][0] for k in keys if k[0] == r])
            cols = np.arange(self.width)
            same_row_block = (r - 1) // b == r // b
            parts = [(above, below, cols, cols)]
            if self.connectivity == 8:
                parts += [
                    (above[:-1], below[1:], cols[:-1], cols[1:]),
                    (above[1:], below[:-1], cols[1:], cols[:-1]),
                ]
            for a, bb, ca, cb in parts:
                same = same_row_block & ((ca // b) == (cb // b))
                out.append(self._pairs(a, bb, same))
        # Vertical seams: horizontal pairs, and diagonals not crossing a horizontal seam.
        for c in col_starts[1:]:
            left = np.concatenate([self._borders[k][3] for k in keys if k[1] + k[3] == c])
            right = np.concatenate([self._borders[k][2] for k in keys if k[1] == c])
            rows = np.arange(self.height)
            same_col_block = (c - 1) // b == c // b
            parts = [(left, right, rows, rows)]
            if self.connectivity == 8:
                inner = np.array([r + 1 not in hseams for r in rows[:-1]], dtype=bool)
                ra = rows[:-1][inner]
                parts += [
                    (left[ra], right[ra + 1], ra, ra + 1),
                    (left[ra + 1], right[ra], ra + 1, ra),
                ]
            for a, bb, ra_, rb_ in parts:
                same = same_col_block & ((ra_ // b) == (rb_ // b))
                out.append(self._pairs(a, bb, same))
        out = [o for o in out if o.size]
        return np.concatenate(out) if out else np.zeros((0, 4), dtype="int64")

    @staticmethod
    def _pairs(a, bb, same) -> np.ndarray:
        same = np.broadcast_to(same, a.shape)
        keep = (a > 0) & (bb > 0)
        if not keep.any():
            return np.zeros((0, 4), dtype="int64")
        a, bb, same = a[keep], bb[keep], same[keep].astype("int64")
        lo, hi = np.minimum(a, bb), np.maximum(a, bb)
        rows, counts = np.unique(np.column_stack([lo, hi, same]), axis=0, return_counts=True)
        return np.column_stack([rows[:, 0], rows[:, 1], counts, rows[:, 2]]).astype("int64")

    # -- resolution ----------------------------------------------------------------------------
    def finish(self) -> ParcelSet:
        """Resolve pieces into parcels and sum their statistics.

        Returns
        -------
        ParcelSet
        """
        n = self.n_nodes
        sums = {k: np.concatenate(v) if v else np.zeros(0) for k, v in self._sums.items()}
        if n == 0:
            return ParcelSet(
                0,
                {k: v[:0] for k, v in sums.items()},
                np.zeros((0, _N_LC), "int64"),
                np.zeros((0, 3), "int64"),
                np.zeros(1, "int64"),
                self.tile_offsets,
                self.tile_kept,
            )
        edges = [e for e in self._edges] + [self._seam_edges()]
        edges = np.concatenate([e for e in edges if e.size] or [np.zeros((0, 4), "int64")])
        cells = np.concatenate([[0], sums["cells"]]).astype("float64")
        first = np.concatenate([[np.iinfo("int64").max], sums["first_index"]])
        # Pieces: nodes joined across tile seams within one block.
        same = edges[edges[:, 3] == 1]
        piece = _components(n + 1, same[:, 0], same[:, 1])
        region = _components(n + 1, edges[:, 0], edges[:, 1])
        n_piece = piece.max() + 1
        n_region = region.max() + 1
        piece_cells = np.bincount(piece, weights=cells, minlength=n_piece)
        region_cells = np.bincount(region, weights=cells, minlength=n_region)
        piece_first = np.full(n_piece, np.iinfo("int64").max)
        np.minimum.at(piece_first, piece, first)
        region_of_piece = np.zeros(n_piece, dtype="int64")
        region_of_piece[piece] = region
        # Group = final parcel before numbering: the region, or merged pieces of a big region.
        group_of_piece = _split_and_merge(
            region_of_piece,
            piece_cells,
            piece_first,
            region_cells,
            edges,
            piece,
            self.min_cells,
            self.max_cells,
        )
        group_of_piece[piece[0]] = -1  # node 0 is "no piece"
        valid = group_of_piece >= 0
        groups, inv = np.unique(group_of_piece[valid], return_inverse=True)
        inv = inv.ravel()
        group_cells = np.bincount(inv, weights=piece_cells[valid], minlength=groups.size)
        group_first = np.full(groups.size, np.iinfo("int64").max)
        np.minimum.at(group_first, inv, piece_first[valid])
        kept = np.nonzero(group_cells >= self.min_cells - 1e-9)[0]
        kept = kept[np.argsort(group_first[kept], kind="stable")]
        parcel_of_group = np.zeros(groups.size, dtype="int64")
        parcel_of_group[kept] = np.arange(1, kept.size + 1)
        parcel_of_piece = np.zeros(group_of_piece.size, dtype="int64")
        parcel_of_piece[valid] = parcel_of_group[inv]
        node_parcel = parcel_of_piece[piece]
        node_parcel[0] = 0
        n_parcels = int(kept.size)
        np_idx = node_parcel[1:]
        stats = {}
        for k, v in sums.items():
            if k.endswith("_max"):
                mx = np.full(n_parcels + 1, -np.inf)
                np.maximum.at(mx, np_idx, v)
                stats[k] = mx[1:]
            elif k == "first_index":
                mn = np.full(n_parcels + 1, np.iinfo("int64").max)
                np.minimum.at(mn, np_idx, v.astype("int64"))
                stats[k] = mn[1:]
            else:
                stats[k] = np.bincount(np_idx, weights=v, minlength=n_parcels + 1)[1:]
        stats["cells"] = stats["cells"].round().astype("int64")
        lc = np.concatenate(self._lc) if self._lc else np.zeros((0, _N_LC), "int64")
        lc_cells = np.zeros((n_parcels + 1, _N_LC), dtype="int64")
        np.add.at(lc_cells, np_idx, lc)
        if self._county:
            cp = np.concatenate(self._county)
            cp = np.column_stack([node_parcel[cp[:, 0]], cp[:, 1], cp[:, 2]])
            cp = cp[cp[:, 0] > 0]
            key, inv = np.unique(cp[:, :2], axis=0, return_inverse=True)
            cnt = np.bincount(inv.ravel(), weights=cp[:, 2]).astype("int64")
            county_cells = np.column_stack([key, cnt])
        else:
            county_cells = np.zeros((0, 3), dtype="int64")
        return ParcelSet(
            n_parcels,
            stats,
            lc_cells[1:],
            county_cells,
            node_parcel,
            self.tile_offsets,
            self.tile_kept,
        )


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes given undirected edges ``a - b``."""
    graph = coo_matrix((np.ones(len(a), dtype="int8"), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype("int64")


def _split_and_merge(
    region_of_piece, piece_cells, piece_first, region_cells, edges, piece, min_cells, max_cells
) -> np.ndarray:
    """Group id per piece: the region id, or (for regions over the maximum) merged pieces."""
    n_piece = len(region_of_piece)
    big = region_cells > max_cells + 1e-9
    group = region_of_piece.copy()  # groups < n_region: whole regions
    offset = int(region_cells.size)
    big_pieces = np.nonzero(big[region_of_piece])[0]
    if big_pieces.size == 0:
        return group
    # Each piece of a big region starts as its own group.
    parent = {int(p): int(p) for p in big_pieces}
    area = {int(p): float(piece_cells[p]) for p in big_pieces}
    first = {int(p): int(piece_first[p]) for p in big_pieces}
    nbr: dict[int, dict[int, int]] = {int(p): {} for p in big_pieces}
    cross = edges[edges[:, 3] == 0]
    pa, pb = piece[cross[:, 0]], piece[cross[:, 1]]
    for x, y, wgt in zip(pa.tolist(), pb.tolist(), cross[:, 2].tolist(), strict=True):
        if x == y or x not in parent or y not in parent:
            continue
        nbr[x][y] = nbr[x].get(y, 0) + wgt
        nbr[y][x] = nbr[y].get(x, 0) + wgt
    heap = [(area[p], first[p], p) for p in parent if area[p] < min_cells - 1e-9]
    heapq.heapify(heap)
    while heap:
        a, f, g = heapq.heappop(heap)
        if parent[g] != g or area[g] != a or not nbr[g]:
            continue  # stale entry, or isolated sliver (cannot happen in a connected region)
        # Neighbour with most contacts; ties broken by the earlier first cell.
        h = min(nbr[g], key=lambda k: (-nbr[g][k], first[k]))
        parent[g] = h
        area[h] += area[g]
        first[h] = min(first[h], first[g])
        for k, wgt in nbr.pop(g).items():
            nbr[k].pop(g, None)
            if k != h:
                nbr[h][k] = nbr[h].get(k, 0) + wgt
                nbr[k][h] = nbr[k].get(h, 0) + wgt
        nbr[g] = {}
        if area[h] < min_cells - 1e-9:
            heapq.heappush(heap, (area[h], first[h], h))

    def root(p):
        while parent[p] != p:
            p = parent[p]
        return p

    for p in big_pieces.tolist():
        group[p] = offset + root(p)
    del n_piece
    return group


def parcel_ids_tile(
    parcels: ParcelSet,
    tile_index: int,
    candidate: np.ndarray,
    row_off: int,
    col_off: int,
    block_cells: int,
    connectivity: int,
) -> np.ndarray:
    """Parcel id of each cell of a tile (0 = none), re-labelling its candidate cells.

    The candidate mask must be the one the tile had when its pieces were accumulated (labelling
    is deterministic, so the local labels repeat).

    Parameters
    ----------
    parcels : ParcelSet
        Result of :meth:`ParcelAccumulator.finish`.
    tile_index : int
        Position of the tile in the order tiles were added.
    candidate : numpy.ndarray of bool
        The tile's candidate cells.
    row_off, col_off : int
        Global offset of the tile's core window.
    block_cells : int
        Block side in cells.
    connectivity : {4, 8}
        Neighbourhood.

    Returns
    -------
    numpy.ndarray
        int32 parcel ids.
    """
    off = parcels.tile_offsets[tile_index]
    kept = parcels.tile_kept[tile_index]
    return piece_parcel_ids(
        candidate,
        row_off,
        col_off,
        block_cells,
        connectivity,
        kept,
        parcels.node_parcel[off + 1 : off + 1 + kept.size],
    )


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
    lab, _ = label_pieces(candidate, row_off, col_off, block_cells, connectivity)
    pos = np.minimum(np.searchsorted(kept, lab), kept.size - 1)
    hit = (lab > 0) & (kept[pos] == lab)
    lookup = np.concatenate([[0], np.asarray(parcel_of_kept, dtype="int64")])
    return lookup[np.where(hit, pos + 1, 0)].astype("int32")


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
