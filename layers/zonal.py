"""Exact coverage of grid cells by zones (counties), computed once, summed tile by tile.

A zonal sum with exact coverage fractions is ``sum_i v_i x c_i`` over the cells ``i`` of the
grid, ``c_i`` the fraction of cell ``i`` inside the zone (exactextract's definition). Most cells
lie wholly inside one zone (``c = 1``); only cells cut by a zone boundary have ``0 < c < 1``.
:func:`zone_cover` asks exactextract once for the coverage of every cell of every zone and
keeps it compactly:

- the cells of coverage 1 as runs along rows (row, first column, end column, zone), from which
  :meth:`ZoneCover.interior` paints any window's zone index;
- the cells of coverage below 1 as a sparse table (cell, zone, coverage), sorted by cell, from
  which :meth:`ZoneCover.boundary` picks a window's entries.

The coverage fractions are exactextract's own (its ``coverage`` operation on a raster whose
values are the cell numbers), so sums formed with them differ from ``exact_extract(..., "sum")``
only by the order of the additions. A raster pass can then sum per zone inside its own tile loop
(:meth:`ZoneCover.class_coverage`, :meth:`ZoneCover.weighted_sums`) instead of writing a raster
and letting exactextract read it again.

Inputs: zone polygons in the grid CRS, the :class:`~sxplan.layers.grid.GridSpec`, a memory
budget. Outputs: a :class:`ZoneCover` (a few bytes per boundary cell and per row of each zone).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from sxplan.errors import LayerValueError

from .budget import Budget
from .grid import GridSpec
from .heap import release_free_memory

__all__ = ["ZoneCover", "ZoneSums", "zone_cover"]

# Bytes per cell of a zone's bounding box while exactextract works on it: the cell numbers it
# reads (4), its coverage raster (4), the values and coverage it returns (16) and their copies.
_COVER_BYTES = 40


@dataclass(frozen=True)
class ZoneCover:
    """Exact coverage of the grid's cells by ``n_zones`` zones (see the module docstring).

    Attributes
    ----------
    shape : tuple of int
        The grid's ``(height, width)``.
    n_zones : int
        Number of zones (zone ``k`` is row ``k`` of the polygons given).
    run_row, run_start, run_end, run_zone : numpy.ndarray
        Runs of cells of coverage 1: row, first column, column after the last, zone (int32);
        sorted by row, then column.
    cell, zone, coverage : numpy.ndarray
        Cells of coverage between 0 and 1 (exclusive): cell number (``row x width + col``),
        zone, coverage; sorted by cell.
    full_cells : numpy.ndarray
        Per zone, the number of cells of coverage 1 (a check on the runs).
    """

    shape: tuple[int, int]
    n_zones: int
    run_row: np.ndarray
    run_start: np.ndarray
    run_end: np.ndarray
    run_zone: np.ndarray
    cell: np.ndarray
    zone: np.ndarray
    coverage: np.ndarray
    full_cells: np.ndarray

    def runs(self, window: Window) -> tuple[np.ndarray, ...]:
        """The coverage-1 runs inside ``window``: local rows, first and end columns, zones, ids.

        ``ids`` number the runs of the whole grid (positions in ``run_row`` ...).
        """
        r0, c0, h, w = _window(window)
        lo, hi = np.searchsorted(self.run_row, [r0, r0 + h])
        # int64 from here: the window's arrays are small, and cell offsets may pass 2**31
        start = np.maximum(self.run_start[lo:hi].astype("int64"), c0) - c0
        end = np.minimum(self.run_end[lo:hi].astype("int64"), c0 + w) - c0
        keep = end > start
        ids = np.flatnonzero(keep) + lo
        return (
            self.run_row[ids].astype("int64") - r0,
            start[keep],
            end[keep],
            self.run_zone[ids],
            ids,
        )

    @property
    def nbytes(self) -> int:
        """Bytes held by the cover's arrays."""
        return sum(
            a.nbytes
            for a in (self.run_row, self.run_start, self.run_end, self.run_zone, self.cell)
            + (self.zone, self.coverage, self.full_cells)
        )

    def interior(self, window: Window) -> np.ndarray:
        """Zone index of every cell of ``window`` wholly inside a zone, else -1 (int32)."""
        out = self._labels(window)
        out -= 1
        return out

    def _labels(self, window: Window, scale: int = 1, offset: int = 0) -> np.ndarray:
        """Zone index + 1 of every cell of ``window`` wholly inside a zone, else 0 (int32).

        Formed as ``label x scale + offset`` in the same cumulative sum.
        """
        h, w = _window(window)[2:]
        rows, start, end, zone, _ = self.runs(window)
        label = (zone + 1) * np.int32(scale)
        steps = np.zeros((h, w + 1), dtype="int32")
        steps[:, 0] = offset  # carried along each row by the cumulative sum
        # runs do not overlap, so their starts (and their ends) are distinct cells
        steps[rows, start] += label
        steps[rows, end] -= label
        return np.cumsum(steps[:, :w], axis=1, dtype="int32")

    def boundary(self, window: Window) -> tuple[np.ndarray, ...]:
        """The boundary entries inside ``window``: local rows and columns, zones, coverage, ids.

        ``ids`` number the entries of the whole grid (positions in ``cell`` ...).
        """
        r0, c0, h, w = _window(window)
        width = self.shape[1]
        lo, hi = np.searchsorted(self.cell, [r0 * width, (r0 + h) * width])
        cells = self.cell[lo:hi]
        rows = cells // width - r0
        cols = cells % width - c0
        keep = (cols >= 0) & (cols < w)
        ids = np.flatnonzero(keep) + lo
        return rows[keep], cols[keep], self.zone[ids], self.coverage[ids], ids


class ZoneSums:
    """Exact zonal sums accumulated tile by tile, the same whatever the tiling.

    :meth:`tile` is a pure function of one window (run it on tile workers); :meth:`add` keeps
    its result (call it in one thread). Cells wholly inside a zone are counted with integers
    (class counts) or summed per piece of run in float64 (values); boundary cells are kept per
    entry. The totals add pieces and entries in their fixed order over the grid, so they do not
    depend on the tiles as long as no tile boundary cuts a piece (tiles whose columns start at
    multiples of ``piece_cols`` of :func:`zone_cover`, 256 by default, as
    :func:`sxplan.layers.windows.plan_tiles` makes them).

    Parameters
    ----------
    cover : ZoneCover
        The zones' coverage of the grid.
    n_classes : int
        Number of classes counted per zone (0: none).
    values : bool
        Whether a raster of values is summed per zone.
    """

    def __init__(self, cover: ZoneCover, *, n_classes: int = 0, values: bool = False):
        self.cover = cover
        self.n_classes = int(n_classes)
        n_entries, n_runs = cover.cell.size, cover.run_row.size
        self.counts = np.zeros((cover.n_zones, max(self.n_classes, 1)), dtype="int64")
        self.entry_class = np.full(n_entries, -1, dtype="int32")
        self.values = bool(values)
        self.run_sum = np.zeros(n_runs if values else 0)
        self.run_count = np.zeros(n_runs if values else 0, dtype="int64")
        self.entry_value = np.full(n_entries if values else 0, np.nan)

    @property
    def nbytes(self) -> int:
        """Bytes held by the sums' own arrays (the cover's are :attr:`ZoneCover.nbytes`)."""
        arrays = (self.counts, self.entry_class, self.run_sum, self.run_count, self.entry_value)
        return sum(a.nbytes for a in arrays)

    def part_function(self):
        """:meth:`tile` as a function holding the cover only (for tile closures)."""
        return functools.partial(_tile_part, self.cover, self.n_classes, self.values)

    def tile(self, window: Window, classes=None, values=None, valid=None) -> tuple:
        """One window's share: class counts and/or value sums (pure; see :meth:`add`).

        Parameters
        ----------
        window : rasterio.windows.Window
            A window of the grid.
        classes : numpy.ndarray, optional
            Integer class of each cell in ``0 .. n_classes - 1``; negative: no data (skipped).
        values, valid : numpy.ndarray, optional
            Values to sum and where they hold data.
        """
        return _tile_part(self.cover, self.n_classes, self.values, window, classes, values, valid)

    def add(self, part: tuple) -> None:
        """Keep one window's share (from :meth:`tile`)."""
        classes, values = part
        if classes is not None:
            counts, ids, k = classes
            self.counts += counts
            self.entry_class[ids] = k
        if values is not None:
            run_ids, run_sum, run_n, ids, v = values
            np.add.at(self.run_sum, run_ids, run_sum)  # a run cut by a tile edge: in tile order
            np.add.at(self.run_count, run_ids, run_n)
            self.entry_value[ids] = v

    def class_coverage(self) -> np.ndarray:
        """``(n_zones, n_classes)`` float64: per zone and class, ``sum_i c_i [class_i = k]``."""
        cover, nc = self.cover, self.n_classes
        ok = self.entry_class >= 0
        bins = cover.zone[ok].astype("int64") * nc + self.entry_class[ok]
        partial = np.bincount(bins, weights=cover.coverage[ok], minlength=cover.n_zones * nc)
        return self.counts + partial.reshape(cover.n_zones, nc)

    def weighted_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """Per zone, ``sum_i c_i v_i`` and ``sum_i c_i`` over the valid cells (float64).

        exactextract's ``sum`` and ``count``.
        """
        cover, n = self.cover, self.cover.n_zones
        total = np.bincount(cover.run_zone, weights=self.run_sum, minlength=n)
        count = np.bincount(cover.run_zone, weights=self.run_count, minlength=n)
        ok = ~np.isnan(self.entry_value)
        total += np.bincount(
            cover.zone[ok], weights=cover.coverage[ok] * self.entry_value[ok], minlength=n
        )
        count += np.bincount(cover.zone[ok], weights=cover.coverage[ok], minlength=n)
        return total, count


#: Bins of a class count formed in int32 (the labels' cumulative sum already is): beyond this,
#: in int64. A national grid's 2,800 counties leave room for 760,000 classes.
_INT32_BINS = 2**31 - 1


def _tile_part(cover, n_classes, want_values, window, classes=None, values=None, valid=None):
    """:meth:`ZoneSums.tile` (a module function so tile closures carry only the cover)."""
    out_classes = out_values = None
    if n_classes:
        nc = n_classes
        # bin (zone + 1) x (nc + 1) + (class + 1): cells off the interior (zone 0) or
        # without data (class -1 -> 0) fall in bins dropped below, so nothing is masked
        n_bins = (cover.n_zones + 1) * (nc + 1)
        if n_bins <= _INT32_BINS:  # int32, from one cumulative sum and one addition
            comp = cover._labels(window, scale=nc + 1, offset=1)
            comp += classes
        else:
            comp = cover._labels(window).astype("int64")
            comp *= nc + 1
            comp += classes
            comp += 1
        counts = np.bincount(comp.ravel(), minlength=n_bins)
        del comp
        counts = counts.reshape(cover.n_zones + 1, nc + 1)[1:, 1:]
        rows, cols, _, _, ids = cover.boundary(window)
        out_classes = (np.ascontiguousarray(counts), ids, classes[rows, cols])
    if want_values:
        w = values.shape[1]
        rows, start, end, _, run_ids = cover.runs(window)
        # each run is a contiguous stretch of the flattened window: reduceat sums it in
        # float64, in cell order
        flat = np.where(valid, values, 0).ravel().astype("float64")
        edges = np.empty(2 * rows.size, dtype="int64")
        edges[0::2] = rows * w + start
        edges[1::2] = rows * w + end
        run_sum = np.zeros(0)
        run_n = np.zeros(0, dtype="int64")
        if rows.size:
            if edges[-1] == flat.size:  # reduceat's last stretch runs to the end anyway
                edges = edges[:-1]
            run_sum = np.add.reduceat(flat, edges)[0::2]
            del flat
            run_n = np.add.reduceat(valid.ravel(), edges, dtype="int64")[0::2]
        rows, cols, _, _, ids = cover.boundary(window)
        v = np.where(valid[rows, cols], values[rows, cols].astype("float64"), np.nan)
        out_values = (run_ids, run_sum, run_n, ids, v)
    return out_classes, out_values


def _window(window: Window) -> tuple[int, int, int, int]:
    return int(window.row_off), int(window.col_off), int(window.height), int(window.width)


def zone_cover(
    polygons,
    grid: GridSpec,
    *,
    mem_limit_mb: float,
    piece_cols: int = 256,
    max_cells: int | None = None,
    helpers: int | None = None,
) -> ZoneCover:
    """Exact coverage of the grid's cells by each polygon (exactextract), in compact form.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame or geopandas.GeoSeries
        Zone polygons in the grid CRS; zone ``k`` is the ``k``-th row.
    grid : GridSpec
        The grid.
    mem_limit_mb : float
        Memory budget; bounds the cells exactextract holds at once.
    piece_cols : int
        Runs of coverage-1 cells are also cut where a column number is a multiple of this
        (tile edges of :func:`~sxplan.layers.windows.plan_tiles`), so :class:`ZoneSums` gives
        the same totals whatever the tiles.
    max_cells : int, optional
        Zones whose bounding box holds more cells are done in bands of rows of at most this
        many cells (default: the tile share of ``mem_limit_mb`` at 40 bytes per cell, halved
        when a helper shares the work).
    helpers : {None, 0, 1}
        Processes besides this one computing zones (:mod:`sxplan.layers._zone_extract`):
        ``None`` starts one where it pays (a second core, large zones, room in the budget),
        ``0`` none, ``1`` one. The cover is the same bit for bit either way.

    Returns
    -------
    ZoneCover

    Raises
    ------
    LayerValueError
        If two zones both wholly cover one cell (the polygons overlap).

    Examples
    --------
    A square of 2 x 2 cells whose corner cells are cut in half by a second polygon:

    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> g = GridSpec.from_bounds((0, 0, 4, 2), 1, crs="EPSG:3857")
    >>> z = gpd.GeoSeries([box(0, 0, 2.5, 2), box(2.5, 0, 4, 2)], crs="EPSG:3857")
    >>> cov = zone_cover(z, g, mem_limit_mb=64)
    >>> cov.interior(g.full_window()).tolist()
    [[0, 0, -1, 1], [0, 0, -1, 1]]
    >>> cov.boundary(g.full_window())[3].tolist()
    [0.5, 0.5, 0.5, 0.5]
    """
    from . import _zone_extract as zx

    geoms = polygons.geometry if hasattr(polygons, "geometry") else polygons
    vec = geoms.reset_index(drop=True).to_frame("geometry").set_geometry("geometry")
    # exactextract returns a zone's cell numbers and coverage at once (16 B per cell): a zone
    # whose bounding box holds more than `limit` cells is done band by band (coverage is
    # computed cell by cell on the same grid either way: the same numbers, tested)
    share = Budget.of(mem_limit_mb).run_tiles().total_bytes
    boxes = _bbox_windows(vec, grid)
    cells = [w.width * w.height for w in boxes]
    held = [zx.piece_bytes(w.height, w.width, piece_cols) for w in boxes]
    mine, theirs = zx.split_zones(cells)
    if helpers is None:
        kept = sum(held[k] for k in theirs)  # what the helper holds until it sends it
        helpers = 1 if max_cells is None and zx.use_helper(sum(cells), share, kept) else 0
    if not helpers or not theirs:  # no helper, or one zone only: nothing to share
        mine, theirs = list(range(len(vec))), []
    # with a helper, each process works within half the share (the helper less its imports
    # and its pieces, and within the room left below the run's heap ceiling)
    limit = int(max_cells or max(10_000, share / (2 if theirs else 1) // _COVER_BYTES))
    room = zx.helper_bytes(share) - sum(held[k] for k in theirs)
    helper_limit = int(max_cells or max(10_000, room // _COVER_BYTES))
    features = [
        {"type": "Feature", "properties": {"zone": k}, "geometry": g.__geo_interface__}
        for k, g in enumerate(vec.geometry)
    ]
    srs_wkt = vec.crs.to_wkt() if vec.crs is not None else None
    spec = {"res": grid.res, "width": grid.width, "n_cells": grid.n_cells,
            "piece_cols": int(piece_cols), "srs_wkt": grid.pyproj_crs.to_wkt()}  # fmt: skip

    def job(window, zones, band, cap):
        t = grid.window_transform(window)
        extent = (t.c, t.f - window.height * grid.res, t.c + window.width * grid.res, t.f)
        return {"window": (int(window.col_off), int(window.row_off)), "extent": extent,
                "zones": list(zones), "band": band, "max_cells": max(cap, 10_000)}  # fmt: skip

    def plan(cap, zones) -> list[dict]:
        """Jobs for ``zones`` within ``cap`` cells: small zones one by one, large by bands."""
        out = []
        for k in zones:
            box = boxes[k]
            if cells[k] == 0:
                continue
            if cells[k] <= cap:
                out.append(job(grid.full_window(), [k], 0, cap))
                continue
            step = max(1, cap // box.width)
            for b, r0 in enumerate(range(box.row_off, box.row_off + box.height, step)):
                h = min(step, box.row_off + box.height - r0)
                out.append(job(Window(box.col_off, r0, box.width, h), [k], b, cap))
        return out

    if theirs:
        pieces = zx.extract_with_helper(
            features, srs_wkt, spec, plan(limit, mine), plan(helper_limit, theirs)
        )
    else:
        pieces = zx.extract(features, srs_wkt, spec, plan(limit, mine))
    pieces.sort(key=lambda p: p[0])  # zone by zone, band by band: whoever computed them
    runs = {n: [p[1][i] for p in pieces] for i, n in enumerate(("row", "start", "end", "zone"))}
    edges = {n: [p[2][i] for p in pieces] for i, n in enumerate(("cell", "zone", "coverage"))}
    full: dict[int, int] = {}
    for (k, _), _, _, n in pieces:
        full[k] = full.get(k, 0) + n
    del pieces
    return _assemble_cover(runs, edges, full, grid.shape, len(vec))


def _bbox_windows(vec, grid: GridSpec) -> list[Window]:
    """Each zone's bounding box as a window of the grid (a cell of margin, clipped)."""
    left, _, _, top = grid.bounds
    out = []
    for minx, miny, maxx, maxy in vec.geometry.bounds.to_numpy():
        c0 = max(0, int(np.floor((minx - left) / grid.res)) - 1)
        c1 = min(grid.width, int(np.ceil((maxx - left) / grid.res)) + 1)
        r0 = max(0, int(np.floor((top - maxy) / grid.res)) - 1)
        r1 = min(grid.height, int(np.ceil((top - miny) / grid.res)) + 1)
        out.append(Window(c0, r0, max(0, c1 - c0), max(0, r1 - r0)))
    return out


def _assemble_cover(runs, edges, full, shape, n_zones) -> ZoneCover:
    """The collector's lists joined and sorted, field by field (each list emptied as joined)."""

    def take(parts: list, dtype) -> np.ndarray:
        out = np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)
        parts.clear()
        release_free_memory()  # the parts were small heap blocks: give their pages back
        return out

    def sort(arrays: list, order: np.ndarray) -> list:
        out = []
        while arrays:  # one field reordered at a time: the old one is released at once
            out.append(arrays.pop(0)[order])
            release_free_memory()
        return out

    fields = [take(runs[k], "int32") for k in ("row", "start", "end", "zone")]
    order = np.lexsort((fields[1], fields[0]))
    # the list is the only holder of the unsorted fields, so each goes as soon as it is sorted
    row, start, end, rzone = sort(fields, order)
    del order
    same_row = row[1:] == row[:-1]
    overlap = same_row & (start[1:] < end[:-1])
    if overlap.any():
        i = int(np.flatnonzero(overlap)[0])
        raise LayerValueError(
            f"zones {int(rzone[i])} and {int(rzone[i + 1])} (rows of the county layer) both "
            f"wholly cover cells of grid row {int(row[i])}: the polygons overlap; county "
            "polygons must not overlap (fix the layer, e.g. with QGIS 'Check validity' and "
            "'Topology checker')"
        )
    fields = [
        take(edges[k], d)
        for k, d in (("cell", "int64"), ("zone", "int32"), ("coverage", "float64"))
    ]
    order = np.argsort(fields[0], kind="stable")
    cell, zone, cov = sort(fields, order)
    del order
    full_cells = np.zeros(n_zones, dtype="int64")
    for k, n in full.items():
        full_cells[k] = n
    return ZoneCover(
        (int(shape[0]), int(shape[1])),
        int(n_zones),
        row,
        start,
        end,
        rzone,
        cell,
        zone,
        cov,
        full_cells,
    )
