"""Parcels resolved across tiles: a union-find over piece contacts, then sliver merging.

See :mod:`sxplan.siting.parcels` for the model. :class:`ParcelAccumulator` collects each
tile's :class:`~sxplan.siting._parcel_pieces.PieceTile` in tile order;
:meth:`~ParcelAccumulator.finish` joins pieces across tile seams (SciPy sparse connected
components), cuts regions over the maximum area into block pieces, merges slivers into their
neighbours and sums the statistics per parcel.

A pass over a national grid gathers millions of pieces. With a ``spill_dir``, the per-piece
arrays held beyond ``spill_bytes`` are appended to scratch ``.npy`` files there and read back,
in the same order, by ``finish`` (after the pass, when its tiles no longer hold memory), and
the parcels are the same bits. Each tile's border piece numbers (needed to join pieces across
the seams in ``finish``) go to one scratch file there at the same moments. What still grows
with the grid is small: each tile's kept-piece numbers, held until the outlines are drawn.

Inputs: :class:`~sxplan.siting._parcel_pieces.PieceTile` per tile, grid shape, block side,
connectivity, parcel size limits in cells; optionally a scratch folder and a byte limit.
Outputs: :class:`ParcelSet`; parcel ids per cell of a tile (:func:`parcel_ids_tile`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ._parcel_pieces import N_LANDCOVER as _N_LC
from ._parcel_pieces import PieceTile, _pack_side, _unpack_side, piece_parcel_ids

__all__ = ["ParcelAccumulator", "ParcelSet", "parcel_ids_tile"]

_INT32_MAX = np.iinfo("int32").max


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

    def tile_parcels(self, tile_index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(kept local labels, their parcel ids)`` of one tile, in tile order."""
        kept = self.tile_kept[tile_index]
        off = self.tile_offsets[tile_index]
        return kept, self.node_parcel[off + 1 : off + 1 + kept.size]


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
    spill_dir : str or pathlib.Path, optional
        Scratch folder (created) for the per-piece arrays held beyond ``spill_bytes``; the
        caller removes it. None: everything stays in memory.
    spill_bytes : float, optional
        Bytes of per-piece arrays and tile borders held in memory before they are written
        to ``spill_dir``.
    """

    def __init__(
        self,
        grid_shape,
        block_cells,
        connectivity,
        min_cells,
        max_cells,
        spill_dir=None,
        spill_bytes=None,
    ):
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
        # tile key -> (node offset, the four sides as _pack_side keeps them), or
        # (node offset, None) once the sides are in the scratch file
        self._borders: dict = {}
        self._border_file: dict = {}  # tile key -> (byte offset, dtype, four side lengths)
        self.tile_offsets: list[int] = []
        self.tile_kept: list[np.ndarray] = []
        self._spill_dir = None if spill_dir is None else Path(spill_dir)
        self._spill_bytes = float("inf") if spill_bytes is None else float(spill_bytes)
        self._held = 0  # bytes in _sums, _lc, _county, _edges and the borders in memory
        self._spilled: dict[tuple, list[Path]] = {}
        self.spills = 0

    def add(self, window, pt: PieceTile) -> None:
        """Add one tile's pieces (tiles must be added in :func:`plan_tiles` order).

        What is kept until :meth:`finish` is stored in the smallest exact types (the pieces
        of a national 90 m grid are held for the whole pass): cell counts, land-cover and
        county cells, node ids and contacts as int32 while every node id fits, a tile's border
        piece numbers as uint16 or uint32, as runs where that is smaller (:func:`_pack_side`),
        with the tile's node offset beside them. ``finish`` widens them again, so the
        results are the same bits.
        """
        off = self.n_nodes
        self.tile_offsets.append(off)
        self.tile_kept.append(pt.kept_local)
        self.n_nodes += pt.n
        narrow = self.n_nodes < _INT32_MAX  # node ids, and so every count of a tile, fit

        def small(a, kind="int32"):
            return np.asarray(a).astype(kind if narrow else "int64", copy=False)

        held = []  # what this tile adds to the per-piece lists
        for k, v in pt.sums.items():
            v = np.asarray(v)
            if v.dtype.kind in "iu" and k != "first_index":  # cell counts of one tile
                v = small(v)
            held.append(v)
            self._sums.setdefault(k, []).append(v)
        held.append(small(pt.lc_cells))
        self._lc.append(held[-1])
        if pt.county_pairs.size:
            cp = pt.county_pairs.copy()
            cp[:, 0] += off
            held.append(small(cp))
            self._county.append(held[-1])
        if pt.edges.size:
            e = pt.edges.copy()
            e[:, :2] += off
            held.append(small(np.column_stack([e, np.zeros(len(e), dtype="int64")])))
            self._edges.append(held[-1])
        key = (int(window.row_off), int(window.col_off), int(window.height), int(window.width))
        local = "uint16" if pt.n <= np.iinfo("uint16").max else "uint32"
        sides = tuple(
            _pack_side(np.asarray(x).astype(local)) for x in (pt.top, pt.bottom, pt.left, pt.right)
        )
        self._borders[key] = (off, sides)
        for side in sides:  # an array, or its runs (values, ends)
            held.extend(side if isinstance(side, tuple) else (side,))
        self._held += sum(a.nbytes for a in held)
        if self._spill_dir is not None and self._held > self._spill_bytes:
            self._spill()

    # -- pieces kept on disk during the pass ---------------------------------------------------
    def _lists(self):
        """``(key, list of arrays)`` of every per-piece list (the same lists, not copies)."""
        yield from ((("sums", k), v) for k, v in self._sums.items())
        yield ("lc",), self._lc
        yield ("county",), self._county
        yield ("edges",), self._edges

    def _spill(self) -> None:
        """Append what every per-piece list holds to its scratch file, and empty the lists."""
        self._spill_dir.mkdir(parents=True, exist_ok=True)
        for key, parts in self._lists():
            if parts:
                path = self._spill_dir / f"{'-'.join(key)}.{self.spills}.npy"
                np.save(path, np.concatenate(parts), allow_pickle=False)
                self._spilled.setdefault(key, []).append(path)
                parts.clear()
        in_memory = [k for k, (_, sides) in self._borders.items() if sides is not None]
        if in_memory:
            path = self._spill_dir / "borders.bin"
            with open(path, "ab") as f:
                for k in in_memory:
                    off, packed = self._borders[k]
                    sides = [_unpack_side(side) for side in packed]
                    self._border_file[k] = (f.tell(), sides[0].dtype, tuple(a.size for a in sides))
                    for a in sides:
                        a.tofile(f)
                    self._borders[k] = (off, None)
        self.spills += 1
        self._held = 0

    def _take(self, key: tuple) -> np.ndarray | None:
        """One per-piece list joined in the order of ``add`` (spilled parts first), released.

        None if no tile added to it. Integer counts come back as stored (int32 while node ids
        fit); the caller widens them.
        """
        paths = self._spilled.pop(key, [])
        parts = [np.load(path, allow_pickle=False) for path in paths]
        for path in paths:
            path.unlink()
        held = self._sums.get(key[1], []) if key[0] == "sums" else getattr(self, f"_{key[0]}")
        parts += held
        held.clear()
        if not parts:
            return None
        out = np.concatenate(parts) if len(parts) > 1 else parts[0]
        del parts
        return out

    def _sum_field(self, k: str) -> np.ndarray:
        """Per-piece field ``k`` of ``PieceTile.sums``; integer counts as int64."""
        v = self._take(("sums", k))
        v = np.zeros(0) if v is None else v
        return v.astype("int64", copy=False) if v.dtype.kind in "iu" else v

    def _border(self, key, side: int, f=None) -> np.ndarray:
        """Global node ids (int64, 0 = none) along one side (0 top, 1 bottom, 2 left, 3 right).

        ``f``: the open ``borders.bin`` when some borders were written there.
        """
        off, sides = self._borders[key]
        if sides is not None:
            a = _unpack_side(sides[side])
        else:  # read back the one side from the scratch file
            start, dtype, sizes = self._border_file[key]
            f.seek(start + sum(sizes[:side]) * dtype.itemsize)
            a = np.fromfile(f, dtype=dtype, count=sizes[side])
        a = a.astype("int64")
        return np.where(a > 0, a + off, 0)

    # -- seams between tiles -------------------------------------------------------------------
    def _seam_edges(self) -> np.ndarray:
        keys = sorted(self._borders)
        if not self._border_file:
            return self._seam_edges_of(keys, None)
        path = self._spill_dir / "borders.bin"
        with open(path, "rb") as f:
            edges = self._seam_edges_of(keys, f)
        path.unlink()
        return edges

    def _seam_edges_of(self, keys, f) -> np.ndarray:
        if len(keys) <= 1:
            return np.zeros((0, 4), dtype="int64")
        row_starts = sorted({k[0] for k in keys})
        col_starts = sorted({k[1] for k in keys})
        # tiles by the row or column where they start or end, in sorted key order
        by = {name: {} for name in ("top", "bottom", "left", "right")}
        for k in keys:
            by["top"].setdefault(k[0], []).append(k)
            by["bottom"].setdefault(k[0] + k[2], []).append(k)
            by["left"].setdefault(k[1], []).append(k)
            by["right"].setdefault(k[1] + k[3], []).append(k)
        out = []
        b = self.block
        # Horizontal seams: pairs crossing between rows r-1 and r (vertical and diagonal).
        for r in row_starts[1:]:
            above = np.concatenate([self._border(k, 1, f) for k in by["bottom"][r]])
            below = np.concatenate([self._border(k, 0, f) for k in by["top"][r]])
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
        rows = np.arange(self.height)
        inner = np.ones(max(self.height - 1, 0), dtype=bool)  # rows r with r + 1 not a seam
        inner[np.asarray(row_starts[1:], dtype="int64") - 1] = False
        for c in col_starts[1:]:
            left = np.concatenate([self._border(k, 3, f) for k in by["right"][c]])
            right = np.concatenate([self._border(k, 2, f) for k in by["left"][c]])
            same_col_block = (c - 1) // b == c // b
            parts = [(left, right, rows, rows)]
            if self.connectivity == 8:
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

        Consumes the accumulator (call it once). The contacts, cell counts and first cells are
        joined first to resolve the graph; then each statistic is read back (from the
        scratch files too), summed per parcel and released before the next, so a national
        run's millions of pieces are never all in memory at once.

        Returns
        -------
        ParcelSet
        """
        n = self.n_nodes
        fields = list(self._sums)  # spilled fields keep their (emptied) list here
        if n == 0:
            return ParcelSet(
                0,
                {k: self._sum_field(k)[:0] for k in fields},
                np.zeros((0, _N_LC), "int64"),
                np.zeros((0, 3), "int64"),
                np.zeros(1, "int64"),
                self.tile_offsets,
                self.tile_kept,
            )
        # Fields are taken one at a time (each released once summed), so a national run's
        # pieces are not all in memory at once: the graph needs the cells, first cells and
        # contacts only.
        piece_cells_n = self._sum_field("cells")
        piece_first_index = self._sum_field("first_index")
        edges = [self._take(("edges",)), self._seam_edges()]
        self._borders, self._border_file = {}, {}
        edges = np.concatenate(
            [e for e in edges if e is not None and e.size] or [np.zeros((0, 4), "int64")]
        )
        edges = edges.astype("int64", copy=False)
        cells = np.concatenate([[0], piece_cells_n]).astype("float64")
        first = np.concatenate([[np.iinfo("int64").max], piece_first_index])
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
        del edges, same
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
        for k in fields:  # each field is read back, summed and released in turn
            if k == "cells":
                v, piece_cells_n = piece_cells_n, None
            elif k == "first_index":
                v, piece_first_index = piece_first_index, None
            else:
                v = self._sum_field(k)
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
            del v
        stats["cells"] = stats["cells"].round().astype("int64")
        lc = self._take(("lc",))
        lc = np.zeros((0, _N_LC), "int64") if lc is None else lc.astype("int64", copy=False)
        lc_cells = np.zeros((n_parcels + 1, _N_LC), dtype="int64")
        np.add.at(lc_cells, np_idx, lc)
        del lc
        county = self._take(("county",))
        county_cells = _county_cells([] if county is None else [county], node_parcel)
        del county
        return ParcelSet(
            n_parcels,
            stats,
            lc_cells[1:],
            county_cells,
            node_parcel,
            self.tile_offsets,
            self.tile_kept,
        )


def _county_cells(parts: list, node_parcel: np.ndarray) -> np.ndarray:
    """``(parcel, county, cells)`` rows, sorted by parcel then county.

    From the pieces' ``(node, county, cells)`` rows; pieces of no parcel are dropped.
    """
    if not parts:
        return np.zeros((0, 3), dtype="int64")
    cp = np.concatenate(parts).astype("int64", copy=False)
    parcel = node_parcel[cp[:, 0]]
    keep = parcel > 0
    parcel, county, cells = parcel[keep], cp[keep, 1], cp[keep, 2]
    del cp
    if parcel.size == 0:
        return np.zeros((0, 3), dtype="int64")
    if county.min() < 0:
        raise ValueError("county ids must be >= 0")  # programming error, not user input
    # one int64 key per (parcel, county): the order of np.unique(axis=0) on the pairs,
    # without its row-wise copies
    span = int(county.max()) + 1
    key, inv = np.unique(parcel * span + county, return_inverse=True)
    cnt = np.bincount(inv.ravel(), weights=cells).astype("int64")
    return np.column_stack([key // span, key % span, cnt]).astype("int64")


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes given undirected edges ``a - b``."""
    graph = coo_matrix((np.ones(len(a), dtype="int8"), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype("int64")


def _split_and_merge(
    region_of_piece, piece_cells, piece_first, region_cells, edges, piece, min_cells, max_cells
) -> np.ndarray:
    """Group id per piece: the region id, or (for regions over the maximum) merged pieces.

    In a region over the maximum every piece starts as its own group; groups under the
    minimum are merged, smallest first (ties: earlier first cell, then lower id), into the
    neighbour they share most cell contacts with (ties: earlier first cell). Areas only
    grow, so a group that starts at or above the minimum is never merged away and its
    neighbour counts are never read: they are kept for the small groups only (a national
    run has hundreds of thousands of pieces in big regions, a tenth of them small).
    """
    big = region_cells > max_cells + 1e-9
    group = region_of_piece.copy()  # groups < n_region: whole regions
    offset = int(region_cells.size)
    in_big = big[region_of_piece]
    big_pieces = np.nonzero(in_big)[0]
    if big_pieces.size == 0:
        return group
    small = in_big & (piece_cells < min_cells - 1e-9)
    parent = np.arange(len(region_of_piece), dtype="int64")
    area = np.asarray(piece_cells, dtype="float64").copy()
    first = np.array(piece_first, dtype="int64")  # a copy: merges lower it
    # Contacts between pieces of big regions, for the pairs with a small piece.
    cross = edges[edges[:, 3] == 0]
    pa, pb = piece[cross[:, 0]], piece[cross[:, 1]]
    keep = (pa != pb) & in_big[pa] & in_big[pb] & (small[pa] | small[pb])
    nbr: dict[int, dict[int, int]] = {p: {} for p in np.nonzero(small)[0].tolist()}
    pairs = zip(pa[keep].tolist(), pb[keep].tolist(), cross[keep, 2].tolist(), strict=True)
    for x, y, wgt in pairs:
        if x in nbr:
            nbr[x][y] = nbr[x].get(y, 0) + wgt
        if y in nbr:
            nbr[y][x] = nbr[y].get(x, 0) + wgt
    heap = [(float(area[p]), int(first[p]), p) for p in nbr]
    heapq.heapify(heap)
    while heap:
        a, f, g = heapq.heappop(heap)
        if parent[g] != g or area[g] != a or not nbr[g]:
            continue  # stale entry, or isolated sliver (cannot happen in a connected region)
        # Neighbour with most contacts; ties broken by the earlier first cell.
        h = min(nbr[g], key=lambda k: (-nbr[g][k], int(first[k])))
        parent[g] = h
        area[h] += area[g]
        first[h] = min(first[h], first[g])
        nh = nbr.get(h)
        for k, wgt in nbr.pop(g).items():
            nk = nbr.get(k)
            if nk is not None:
                nk.pop(g, None)
            if k != h:
                if nh is not None:
                    nh[k] = nh.get(k, 0) + wgt
                if nk is not None:
                    nk[h] = nk.get(h, 0) + wgt
        nbr[g] = {}
        if area[h] < min_cells - 1e-9:
            heapq.heappush(heap, (float(area[h]), int(first[h]), h))

    # Roots of every piece by pointer jumping (parents form a forest of short chains).
    root = parent[big_pieces]
    while True:
        nxt = parent[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    group[big_pieces] = offset + root
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
    kept, parcel_of_kept = parcels.tile_parcels(tile_index)
    return piece_parcel_ids(
        candidate, row_off, col_off, block_cells, connectivity, kept, parcel_of_kept
    )
