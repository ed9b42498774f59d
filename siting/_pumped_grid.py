"""The pumped-storage search's grid and inputs: DEM, valid and excluded cells, within budget.

The terrain search (:func:`sxplan.siting._pumped_reservoirs.find_reservoirs`) holds its whole
grid in memory: a priority-flood fill, D8 receivers, catchments and each dam site's upstream
cells. That costs :data:`SEARCH_BYTES_PER_CELL` per cell, so a 30 m province (280 M cells)
would need about 31 GB. The search therefore runs on its own grid,
``pumped_storage.resolution_m`` (default: the project grid), made of whole blocks of ``k x k``
project cells, and refuses a grid that does not fit the run's budget before anything is read
(:func:`check_search_fits`, called by the pre-flight and by the step).

Inputs are reduced block by block, window by window, so the project grid is never held
whole: elevation = mean of a block's cells with data (a block has data where any cell does),
excluded = any cell of the block excluded (every ``siting.exclusions`` rule listing
``pumped_storage``, and cells outside the counties). With ``k = 1`` the inputs are the
project grid's own cells.

Inputs: the run's grid, aligned rasters, vectors, counties, settings and budget.
Outputs: the search grid and its ``z``, ``valid``, ``excluded`` arrays.
"""

from __future__ import annotations

import math

import numpy as np

from sxplan.errors import MemoryBudgetError
from sxplan.layers.grid import GridSpec

__all__ = ["SEARCH_BYTES_PER_CELL", "check_search_fits", "search_grid", "search_inputs"]

#: Memory the terrain search holds per cell of its grid, inputs included. Measured with
#: ``benchmarks/pumped_search.py`` on the embedded demo DEM (tracemalloc peak of
#: ``find_reservoirs``: 97.3 bytes a cell at 1 km, 491,017 cells), plus 6 bytes of float32
#: elevation and two masks handed in (103.3), rounded up (benchmarks/README.md, issue 17,
#: s25; 184.1 before the search stopped holding a table of every cell's neighbours). Coarser
#: grids hold more per cell (133.8 at 2 km: nearly every cell is a dam site with its own
#: upstream cells) but few cells in all; finer ones hold less (500 m: see the README).
SEARCH_BYTES_PER_CELL = 110


def search_grid(grid: GridSpec, resolution_m: float | None) -> tuple[GridSpec, int]:
    """The search grid for ``resolution_m`` and its block side ``k`` in project cells.

    ``k = max(1, round(resolution_m / grid.res))``; the search grid starts at the project
    grid's corner and covers it with ``ceil(height / k) x ceil(width / k)`` blocks.

    Examples
    --------
    >>> g = GridSpec.from_bounds((0, 0, 3000, 2000), 30)
    >>> sg, k = search_grid(g, 1000)
    >>> k, sg.res, sg.shape
    (33, 990.0, (3, 4))
    >>> search_grid(g, None)[1]
    1
    """
    if resolution_m is None:
        return grid, 1
    k = max(1, round(float(resolution_m) / grid.res))
    if k == 1:
        return grid, 1
    t = grid.transform
    transform = t * t.scale(k, k)
    shape = (math.ceil(grid.height / k), math.ceil(grid.width / k))
    return GridSpec(grid.crs, transform, shape), k


def check_search_fits(grid: GridSpec, cfg, budget, where: str = "pumped_storage") -> GridSpec:
    """The search grid of ``cfg``, or :class:`MemoryBudgetError` when it does not fit.

    The search may use the budget's tile share (:meth:`Budget.run_tiles`), like every other
    stage's windows. The message names the finest ``resolution_m`` that fits and the budget
    that would hold the grid asked for.

    Examples
    --------
    >>> from sxplan.layers.budget import Budget
    >>> from sxplan.siting.pumped_config import PumpedStorageConfig
    >>> g = GridSpec.from_bounds((0, 0, 300_000, 300_000), 30)  # 1e8 cells
    >>> check_search_fits(g, PumpedStorageConfig(resolution_m=1000), Budget(512)).shape
    (304, 304)
    >>> check_search_fits(g, PumpedStorageConfig(), Budget(512))
    Traceback (most recent call last):
    ...
    sxplan.errors.MemoryBudgetError: pumped_storage: the terrain search holds its whole grid ...
    """
    from sxplan.layers.budget import Budget

    budget = Budget.of(budget)
    sgrid, k = search_grid(grid, cfg.resolution_m)
    cells = sgrid.width * sgrid.height
    need = cells * SEARCH_BYTES_PER_CELL
    limit = budget.run_tiles().total_bytes
    if need <= limit:
        return sgrid
    k_fit = max(k + 1, math.ceil(k * math.sqrt(need / limit)))
    while (
        math.ceil(grid.height / k_fit) * math.ceil(grid.width / k_fit) * SEARCH_BYTES_PER_CELL
        > limit
    ):
        k_fit += 1
    mem_mb = math.ceil(2 * need / 2**20)
    while Budget(mem_mb).run_tiles().total_bytes < need:  # the block cache comes off
        mem_mb += 8
    raise MemoryBudgetError(
        f"{where}: the terrain search holds its whole grid in memory: "
        f"{sgrid.width:,} x {sgrid.height:,} cells of {sgrid.res:g} m at about "
        f"{SEARCH_BYTES_PER_CELL} bytes a cell = {need / 1e6:,.0f} MB, more than the "
        f"{limit / 1e6:,.0f} MB this run's budget gives it (project.mem_limit_mb: "
        f"{budget.mem_limit_mb:g}). Set `pumped_storage.resolution_m: {k_fit * grid.res:g}` "
        f"(the finest search that fits; the DEM is averaged over {k_fit} x {k_fit} cells), "
        f"or raise project.mem_limit_mb to about {mem_mb:,}, or set "
        "`pumped_storage.enabled: false`"
    )


def search_inputs(grid, rasters, vectors, counties, siting_cfg, cfg, budget, tile_size=None):
    """``(search_grid, z, valid, excluded)`` on the search grid (see the module docstring).

    ``z`` is the DEM's own values at ``k = 1`` (its dtype) and float64 block means otherwise.
    ``tile_size`` forces the windows' side (tests; rounded down to whole blocks).
    """
    sgrid, k = search_grid(grid, cfg.resolution_m)
    dem = rasters[cfg.dem_layer]
    layers = (grid, rasters, vectors, counties, siting_cfg, budget)
    if k == 1:
        z, valid = dem.read_valid()
        return sgrid, z, valid, _excluded(*layers, tile_size=tile_size)
    z = np.zeros(sgrid.shape, dtype="float64")
    count = np.zeros(sgrid.shape, dtype="int64")
    excluded = np.ones(sgrid.shape, dtype=bool)
    tiles, excluded_of = _exclusion_tiles(*layers, k, tile_size)

    def compute(tile):
        code = excluded_of(tile)
        zt, vt = dem.read_valid(tile.window)
        s, n = _block_sums(np.where(vt, zt, 0).astype("float64"), vt, k)
        return s, n, _block_any(code, k)

    def write(tile, reduced):
        s, n, ex = reduced
        r0, c0 = int(tile.window.row_off) // k, int(tile.window.col_off) // k
        h, wd = s.shape
        z[r0 : r0 + h, c0 : c0 + wd] = s
        count[r0 : r0 + h, c0 : c0 + wd] = n
        excluded[r0 : r0 + h, c0 : c0 + wd] = ex

    _run(tiles, compute, write)
    valid = count > 0
    np.divide(z, count, out=z, where=valid)
    return sgrid, z, valid, excluded


def _pad_to(a: np.ndarray, k: int, fill) -> np.ndarray:
    h, w = a.shape
    ph, pw = -h % k, -w % k
    if ph or pw:
        a = np.pad(a, ((0, ph), (0, pw)), constant_values=fill)
    return a


def _block_sums(values: np.ndarray, valid: np.ndarray, k: int):
    """Sum of ``values`` and count of ``valid`` over each ``k x k`` block (edges padded)."""
    v = _pad_to(values, k, 0.0)
    m = _pad_to(valid, k, False)
    hb, wb = v.shape[0] // k, v.shape[1] // k
    s = v.reshape(hb, k, wb, k).sum(axis=(1, 3))
    n = m.reshape(hb, k, wb, k).sum(axis=(1, 3), dtype="int64")
    return s, n


def _block_any(mask: np.ndarray, k: int) -> np.ndarray:
    m = _pad_to(mask, k, False)  # a block at the grid's edge: its own cells only
    hb, wb = m.shape[0] // k, m.shape[1] // k
    return m.reshape(hb, k, wb, k).any(axis=(1, 3))


def _excluded(grid, rasters, vectors, counties, siting_cfg, budget, tile_size=None):
    """The project grid's excluded cells, whole (``k = 1``; see :func:`_exclusion_tiles`)."""
    out = np.ones(grid.shape, dtype=bool)
    tiles, excluded_of = _exclusion_tiles(
        grid, rasters, vectors, counties, siting_cfg, budget, 1, tile_size
    )

    def write(tile, code):
        w = tile.window
        r0, c0 = int(w.row_off), int(w.col_off)
        out[r0 : r0 + int(w.height), c0 : c0 + int(w.width)] = code

    _run(tiles, excluded_of, write)
    return out


def _run(tiles, compute, write) -> None:
    """The tiles on the run's scheduler (two at a time on threads), inputs kept open.

    The tiles' windows do not follow the files' blocks, so a block on a tile's edge is read by
    two tiles: kept open, its decoded copy serves both (:func:`keep_datasets_open`). Each tile
    is computed whole and written in tile order, so the values do not depend on the scheduler
    (30 m demo's search inputs, 2026-12-03: 7.0 s on one thread, see ``benchmarks/README.md``
    s37).
    """
    from sxplan.layers.open_datasets import keep_datasets_open
    from sxplan.layers.windows import run_tiles

    with keep_datasets_open():
        run_tiles(tiles, compute, write)


def _exclusion_tiles(grid, rasters, vectors, counties, siting_cfg, budget, k=1, tile_size=None):
    """The tiles, and a function giving a tile's excluded cells.

    A cell is excluded where a ``pumped_storage`` rule applies, or outside the counties. Tiles
    are whole multiples of ``k`` cells (but at the grid's edge), so blocks never straddle two
    tiles; they share the budget's tile share with the others computed at once
    (:meth:`~sxplan.layers.budget.Budget.workers`). ``tile_size`` forces a tile side (tests).
    """
    import shapely

    from sxplan.layers.budget import Budget
    from sxplan.layers.windows import plan_tiles

    from ._context import LayerSet, TileContext
    from .exclusions import CompiledRules, study_area_tile

    layers = LayerSet(grid, rasters, vectors)
    rules = []
    if siting_cfg is not None:
        rules = [
            (i + 1, r) for i, r in enumerate(siting_cfg.exclusions)
            if "pumped_storage" in r.technologies
        ]  # fmt: skip
    compiled = CompiledRules(rules, layers)
    geoms = np.asarray(counties.geometry.values)
    tree = shapely.STRtree(geoms)
    # as the siting pass plans its tiles (rules, their temporaries, one read per raster), plus
    # the block reduction (k > 1), counted, not measured: the window's elevations as float64
    # and their padded copy (16), the masks and their copies (4), the read itself (4)
    per_cell = 48 + 8 * len(layers.rasters) + (24 if k > 1 else 0)
    plan = {"budget": Budget.of(budget).run_tiles(), "bytes_per_cell": per_cell}
    plan["halo"] = compiled.halo
    plan["n_workers"] = Budget.workers()
    if k > 1:
        side = tile_size or int(plan_tiles(grid, **plan)[0].window.width)
        tile_size = max(k, side // k * k)

    def excluded_of(tile) -> np.ndarray:
        study = study_area_tile(geoms, tree, grid, tile.window) > 0
        return compiled.evaluate(TileContext(layers, tile), study).code != 0

    return plan_tiles(grid, **plan, tile_size=tile_size), excluded_of
