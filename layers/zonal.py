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

from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from sxplan.errors import LayerValueError

from .budget import Budget
from .grid import GridSpec

__all__ = ["ZoneCover", "zone_cover"]


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
        Runs of cells of coverage 1: row, first column, column after the last, zone; sorted by
        row, then column.
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

    def runs(self, window: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The coverage-1 runs inside ``window``: local rows, first and end columns, zones."""
        r0, c0, h, w = _window(window)
        lo, hi = np.searchsorted(self.run_row, [r0, r0 + h])
        start = np.maximum(self.run_start[lo:hi], c0) - c0
        end = np.minimum(self.run_end[lo:hi], c0 + w) - c0
        keep = end > start
        return self.run_row[lo:hi][keep] - r0, start[keep], end[keep], self.run_zone[lo:hi][keep]

    def interior(self, window: Window) -> np.ndarray:
        """Zone index of every cell of ``window`` wholly inside a zone, else -1 (int32)."""
        out = self._labels(window)
        out -= 1
        return out

    def _labels(self, window: Window) -> np.ndarray:
        """Zone index + 1 of every cell of ``window`` wholly inside a zone, else 0 (int32)."""
        h, w = _window(window)[2:]
        rows, start, end, zone = self.runs(window)
        label = zone + 1
        steps = np.zeros((h, w + 1), dtype="int32")
        np.add.at(steps, (rows, start), label)
        np.add.at(steps, (rows, end), -label)
        return np.cumsum(steps[:, :w], axis=1, dtype="int32")

    def boundary(self, window: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The boundary entries inside ``window``: local rows, local columns, zones, coverage."""
        r0, c0, h, w = _window(window)
        width = self.shape[1]
        lo, hi = np.searchsorted(self.cell, [r0 * width, (r0 + h) * width])
        cells = self.cell[lo:hi]
        rows = cells // width - r0
        cols = cells % width - c0
        keep = (cols >= 0) & (cols < w)
        return rows[keep], cols[keep], self.zone[lo:hi][keep], self.coverage[lo:hi][keep]

    def class_coverage(
        self, window: Window, classes: np.ndarray, n_classes: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cells of each class per zone in ``window``, coverage-weighted.

        Parameters
        ----------
        window : rasterio.windows.Window
            A window of the grid.
        classes : numpy.ndarray
            Integer class of each cell of ``window`` in ``0 .. n_classes - 1``; negative cells
            (no data) are skipped.
        n_classes : int
            Number of classes.

        Returns
        -------
        tuple of numpy.ndarray
            ``(counts, partial)``, both ``(n_zones, n_classes)``: int64 counts of the cells of
            coverage 1, and float64 sums of the coverage of the boundary cells. Their sum is
            ``sum_i c_i [class_i = k]`` per zone and class ``k``.
        """
        n = self.n_zones * n_classes
        # bin (zone + 1) x (n_classes + 1) + (class + 1): cells off the interior (zone 0) or
        # without data (class -1 -> 0) land in bins dropped below, so nothing is masked
        comp = self._labels(window).astype("int64")
        comp *= n_classes + 1
        comp += classes
        comp += 1
        size = (self.n_zones + 1) * (n_classes + 1)
        counts = np.bincount(comp.ravel(), minlength=size)
        counts = counts.reshape(self.n_zones + 1, n_classes + 1)[1:, 1:]
        rows, cols, zones, cov = self.boundary(window)
        k = classes[rows, cols].astype("int64")
        ok = k >= 0
        partial = np.bincount(zones[ok] * n_classes + k[ok], weights=cov[ok], minlength=n)
        return np.ascontiguousarray(counts), partial.reshape(self.n_zones, n_classes)

    def weighted_sums(
        self, window: Window, values: np.ndarray, valid: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per zone ``sum_i c_i v_i`` and ``sum_i c_i`` over the valid cells of ``window``.

        Returns
        -------
        tuple of numpy.ndarray
            float64 arrays of ``n_zones``: the coverage-weighted sum of ``values`` and the
            coverage of the valid cells (exactextract's ``sum`` and ``count``).
        """
        n = self.n_zones
        h, w = values.shape
        rows, start, end, zone = self.runs(window)
        # each run is a contiguous stretch of the flattened window: sum it with reduceat
        # (in float64, in cell order), then add the runs per zone
        flat = np.where(valid, values, 0).ravel()
        ok = valid.ravel()
        edges = np.empty(2 * rows.size, dtype="int64")
        edges[0::2] = rows * w + start
        edges[1::2] = rows * w + end
        total = np.zeros(n)
        count = np.zeros(n)
        if rows.size:
            if edges[-1] == flat.size:  # reduceat's last stretch runs to the end anyway
                edges = edges[:-1]
            run_sum = np.add.reduceat(flat, edges, dtype="float64")[0::2]
            run_n = np.add.reduceat(ok, edges, dtype="int64")[0::2]
            total += np.bincount(zone, weights=run_sum, minlength=n)
            count += np.bincount(zone, weights=run_n, minlength=n)
        rows, cols, zones, cov = self.boundary(window)
        ok = valid[rows, cols]
        v = values[rows, cols][ok].astype("float64")
        total += np.bincount(zones[ok], weights=cov[ok] * v, minlength=n)
        count += np.bincount(zones[ok], weights=cov[ok], minlength=n)
        return total, count


def _window(window: Window) -> tuple[int, int, int, int]:
    return int(window.row_off), int(window.col_off), int(window.height), int(window.width)


def zone_cover(polygons, grid: GridSpec, *, mem_limit_mb: float) -> ZoneCover:
    """Exact coverage of the grid's cells by each polygon (exactextract), in compact form.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame or geopandas.GeoSeries
        Zone polygons in the grid CRS; zone ``k`` is the ``k``-th row.
    grid : GridSpec
        The grid.
    mem_limit_mb : float
        Memory budget; bounds the cells exactextract holds at once.

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
    from exactextract import exact_extract

    geoms = polygons.geometry if hasattr(polygons, "geometry") else polygons
    vec = geoms.reset_index(drop=True).to_frame("geometry").set_geometry("geometry")
    vec["zone"] = np.arange(len(vec), dtype="int64")
    # one thread: exactextract holds the GIL while it computes (two threads were no faster)
    collector = _collector(grid.width)
    exact_extract(
        _cell_numbers(grid),
        vec,
        ["values", "coverage"],
        include_cols=["zone"],
        output=collector,
        max_cells_in_memory=Budget.of(mem_limit_mb).cells_in_memory(24),
    )
    return _assemble_cover(collector.runs, collector.edges, collector.full, grid.shape, len(vec))


def _cell_numbers(grid: GridSpec):
    """An exactextract raster source whose cell values are the cell numbers."""
    from exactextract.raster import RasterSource

    # uint32 holds the cell numbers of grids up to 4.29 G cells
    dtype = np.uint32 if grid.n_cells < 2**32 else np.int64

    class CellNumbers(RasterSource):
        def __init__(self):
            super().__init__()
            self.set_name("cell")

        def res(self):
            return (grid.res, grid.res)

        def extent(self):
            return tuple(grid.bounds)

        def srs_wkt(self):
            return grid.pyproj_crs.to_wkt()

        def nodata_value(self):
            return None

        def read_window(self, x0, y0, nx, ny):
            rows = np.arange(y0, y0 + ny, dtype=dtype)[:, None] * dtype(grid.width)
            return rows + np.arange(x0, x0 + nx, dtype=dtype)[None, :]

    return CellNumbers()


def _collector(width: int):
    """An exactextract writer keeping each zone's coverage-1 runs and boundary cells."""
    from exactextract.feature import JSONFeature
    from exactextract.writer import Writer

    class Collector(Writer):
        def __init__(self):
            super().__init__()
            self.runs: list[tuple[np.ndarray, ...]] = []
            self.edges: list[tuple[np.ndarray, ...]] = []
            self.full: dict[int, int] = {}

        def write(self, feature):
            f = JSONFeature()
            feature.copy_to(f)
            props = f.feature["properties"]
            k = int(props["zone"])
            cells = np.asarray(props["values"], dtype="int64")
            cov = np.asarray(props["coverage"], dtype="float64")
            full = cov == 1.0
            part = ~full & (cov > 0)  # the boundary table is sorted once, at the end
            self.edges.append((cells[part], np.full(int(part.sum()), k, "int32"), cov[part]))
            ids = cells[full]
            self.full[k] = ids.size
            if ids.size:
                self.runs.append(_runs_of(ids, width, k))

        def features(self):
            return None

    return Collector()


def _runs_of(ids: np.ndarray, width: int, k: int) -> tuple[np.ndarray, ...]:
    """Runs of consecutive cell numbers, none across a row end: row, start, end, zone."""
    step = np.diff(ids)
    if (step <= 0).any():  # exactextract gives cells in row order; sort if it ever does not
        ids = np.unique(ids)
        step = np.diff(ids)
    brk = np.flatnonzero(step != 1) + 1
    first = ids[np.r_[0, brk]]
    last = ids[np.r_[brk - 1, ids.size - 1]]
    row, last_row = first // width, last // width
    across = np.flatnonzero(row != last_row)  # runs over whole rows: cut at each row start
    if across.size:
        pieces = [np.arange(row[i], last_row[i] + 1) for i in across]
        extra_first = np.concatenate(
            [np.maximum(r * width, first[i]) for i, r in zip(across, pieces, strict=True)]
        )
        extra_last = np.concatenate(
            [
                np.minimum(r * width + width - 1, last[i])
                for i, r in zip(across, pieces, strict=True)
            ]
        )
        keep = row == last_row
        first = np.concatenate([first[keep], extra_first])
        last = np.concatenate([last[keep], extra_last])
        order = np.argsort(first, kind="stable")
        first, last = first[order], last[order]
        row = first // width
    return row, first - row * width, last - row * width + 1, np.full(first.size, k, "int32")


def _assemble_cover(runs, edges, full, shape, n_zones) -> ZoneCover:
    def cat(parts, i, dtype):
        return np.concatenate([p[i] for p in parts]).astype(dtype) if parts else np.zeros(0, dtype)

    row, start, end, rzone = (cat(runs, i, d) for i, d in enumerate(("int64",) * 3 + ("int32",)))
    order = np.lexsort((start, row))
    row, start, end, rzone = row[order], start[order], end[order], rzone[order]
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
    cell, zone, cov = (cat(edges, i, d) for i, d in enumerate(("int64", "int32", "float64")))
    order = np.argsort(cell, kind="stable")
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
        cell[order],
        zone[order],
        cov[order],
        full_cells,
    )
