"""Memory-bounded tiling of the analysis grid, with halos for focal operations.

Every raster operation in sxplan runs tile by tile. A tile is a *core* window of the grid plus a
*halo* of neighbouring cells read for focal operations (slope needs 1 cell, a 500 m buffer at
30 m needs 17). The tile size is chosen so that a tile's working set, ``bytes_per_cell`` for
each cell of the core plus halo, stays within the memory budget passed in.

Inputs: a :class:`~sxplan.layers.grid.GridSpec`, a memory budget in MB, bytes per cell, halo cells.
Outputs: :class:`Tile` objects and :func:`run_tiles`, which computes tiles (optionally on two
threads) and hands results to a writer in grid order.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rasterio.windows import Window

from sxplan.errors import ConfigError, MemoryBudgetError

from .budget import DEFAULT_MEM_LIMIT_MB, Budget
from .grid import GridSpec
from .heap import trim_free_heap

__all__ = [
    "Tile",
    "default_workers",
    "plan_tiles",
    "run_tiles",
    "use_scheduler",
]

# Tiles are multiples of this many cells on a side, matching 256x256 GeoTIFF blocks.
_BLOCK = 256


@dataclass(frozen=True)
class Tile:
    """A core window of the grid and the halo'd window read around it.

    Attributes
    ----------
    window : rasterio.windows.Window
        The core cells this tile computes and writes (grid coordinates).
    outer : rasterio.windows.Window
        ``window`` grown by ``halo`` cells on every side, clipped to the grid.
    halo : int
        Requested halo width in cells.
    """

    window: Window
    outer: Window
    halo: int

    @property
    def inner(self) -> tuple[slice, slice]:
        """Slices that select the core window from an array read over ``outer``."""
        r0 = self.window.row_off - self.outer.row_off
        c0 = self.window.col_off - self.outer.col_off
        return (slice(r0, r0 + self.window.height), slice(c0, c0 + self.window.width))

    @property
    def pad(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Cells by which ``outer`` falls short of a full halo on each side (grid edges).

        ``((top, bottom), (left, right))``, suitable for :func:`numpy.pad`.
        """
        w, o, h = self.window, self.outer, self.halo
        top = h - (w.row_off - o.row_off)
        left = h - (w.col_off - o.col_off)
        bottom = h - ((o.row_off + o.height) - (w.row_off + w.height))
        right = h - ((o.col_off + o.width) - (w.col_off + w.width))
        return ((top, bottom), (left, right))


def _tile_side(budget_bytes: float, bytes_per_cell: float, halo: int) -> int:
    """Largest tile side s (cells) with (s + 2 halo)^2 * bytes_per_cell <= budget."""
    return int(math.floor(math.sqrt(budget_bytes / bytes_per_cell) - 2 * halo))


def plan_tiles(
    grid: GridSpec,
    *,
    mem_limit_mb: float = DEFAULT_MEM_LIMIT_MB,
    bytes_per_cell: float = 8.0,
    halo: int = 0,
    n_workers: int = 1,
    tile_size: int | None = None,
    budget: Budget | None = None,
) -> list[Tile]:
    """Split ``grid`` into tiles whose working sets fit a memory budget.

    Parameters
    ----------
    grid : GridSpec
        The analysis grid.
    mem_limit_mb : float
        Memory budget in MB for all tiles in flight together (ignored when ``budget`` is
        given).
    bytes_per_cell : float
        Working-set bytes per cell of a tile (inputs, temporaries and outputs together).
    halo : int
        Cells of context needed on each side (0 for cell-wise operations).
    n_workers : int
        Tiles computed at the same time; the budget is shared between them.
    tile_size : int, optional
        Force a tile side in cells (tests use this to cut small grids into many tiles).
    budget : Budget, optional
        The run's memory budget (:class:`sxplan.layers.budget.Budget`); default one built from
        ``mem_limit_mb``.

    Returns
    -------
    list of Tile
        Row-major tiles covering the grid exactly once.

    Raises
    ------
    MemoryBudgetError
        If not even a minimal tile fits the budget.

    Examples
    --------
    >>> from sxplan.layers.grid import GridSpec
    >>> g = GridSpec.from_bounds((0, 0, 1000, 1000), 10)
    >>> [t.window.width for t in plan_tiles(g, tile_size=40)]
    [40, 40, 20, 40, 40, 20, 40, 40, 20]
    """
    if halo < 0:
        raise ConfigError(f"halo must be >= 0 cells, got {halo}")
    if bytes_per_cell <= 0:
        raise ConfigError(f"bytes_per_cell must be positive, got {bytes_per_cell}")
    height, width = grid.shape
    if tile_size is None:
        budget = Budget.of(mem_limit_mb if budget is None else budget)
        tile_bytes = budget.tile_bytes(n_workers)
        side = _tile_side(tile_bytes, bytes_per_cell, halo)
        if side >= max(height, width):
            side = max(height, width)
        else:
            side = (side // _BLOCK) * _BLOCK
            if side < _BLOCK:
                side = _tile_side(tile_bytes, bytes_per_cell, halo)
                if side < 16:
                    need = budget.min_mem_limit_mb(16 + 2 * halo, bytes_per_cell, n_workers)
                    raise MemoryBudgetError(
                        f"a memory budget of {budget.mem_limit_mb} MB cannot hold even a 16x16 "
                        f"tile with a halo of {halo} cells at {bytes_per_cell} bytes/cell; raise "
                        f"mem_limit_mb to at least {need} MB or coarsen the grid"
                    )
    else:
        side = int(tile_size)
        if side < 1:
            raise ConfigError(f"tile_size must be >= 1 cell, got {tile_size}")
    tiles = []
    for r0 in range(0, height, side):
        for c0 in range(0, width, side):
            h = min(side, height - r0)
            w = min(side, width - c0)
            orow = max(0, r0 - halo)
            ocol = max(0, c0 - halo)
            oh = min(height, r0 + h + halo) - orow
            ow = min(width, c0 + w + halo) - ocol
            tiles.append(Tile(Window(c0, r0, w, h), Window(ocol, orow, ow, oh), halo))
    return tiles


def default_workers() -> int:
    """Worker threads to use by default: the machine's cores, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def run_tiles(
    tiles: Iterable[Tile],
    compute: Callable[[Tile], object],
    write: Callable[[Tile, object], None] | None = None,
    *,
    scheduler=None,
    n_workers: int | None = None,
    progress: str | None = None,
) -> None:
    """Compute every tile and hand each result to ``write`` in tile order.

    ``compute`` must be a pure function of its tile (it reads inputs and returns arrays); all
    writing happens in the calling process and thread, so writers need no locks, and results
    are the same whatever the scheduler. At most ``2 * workers`` tiles are in flight, and
    after each write the heap's free pages are returned if it keeps more of them than the
    run allows (:func:`~sxplan.layers.heap.trim_free_heap`), so memory stays bounded by the
    tiles, not by how many tiles have been computed.

    Parameters
    ----------
    tiles : iterable of Tile
        Tiles from :func:`plan_tiles`.
    compute : callable
        ``compute(tile) -> result``. For Dask schedulers it must be picklable by cloudpickle
        (closures over arrays, layers and paths are; open file handles are not).
    write : callable, optional
        ``write(tile, result)``, called in tile order.
    scheduler : str or dask.distributed.Client, optional
        ``"sync"``, ``"threads"``, ``"processes"`` (a local Dask cluster), a ``"tcp://..."``
        address of a running dask.distributed scheduler, or a Client. Default: the scheduler
        of the enclosing :func:`use_scheduler` block, else ``"sync"``.
    n_workers : int, optional
        Threads for ``"threads"``; default :func:`default_workers`.
    progress : str, optional
        A label; when given, a progress bar is shown on stderr (tqdm).
    """
    tiles = list(tiles)
    scheduler = _ACTIVE.get()[0] if scheduler is None else scheduler
    bar = _progress(len(tiles), progress)
    try:
        if scheduler == "sync" or len(tiles) <= 1:
            results = map(compute, tiles)
        elif scheduler == "threads":
            workers = n_workers or default_workers()
            pool = ThreadPoolExecutor(max_workers=workers)
            results = _bounded_map(pool.submit, compute, tiles, 2 * workers, pool)
        else:
            client = _dask_client(scheduler)
            workers = max(1, len(client.scheduler_info().get("workers", {})))

            def submit(func, tile):
                return client.submit(func, tile, pure=False)

            results = _bounded_map(submit, compute, tiles, 2 * workers, None)
        # not zip(tiles, results): zip reuses its tuple and lets go of the last result only
        # once the next has come, so a tile's arrays, written, stayed alive while the next
        # tile was computed (25 MB at a time for the 30 m distance step, s38)
        results = iter(results)
        for tile in tiles:
            result = next(results)  # one result per tile (map, or _bounded_map in order)
            if write is not None:
                write(tile, result)
            del result  # the tile's arrays are freed here; the heap keeps at most its allowance
            trim_free_heap()
            bar.update(1)
    finally:
        bar.close()


def _bounded_map(submit, func, items, max_in_flight, pool) -> Iterator[object]:
    """Submit ``func(item)`` with at most ``max_in_flight`` pending; yield results in order."""
    from collections import deque

    pending = deque()
    try:
        for item in items:
            pending.append(submit(func, item))
            if len(pending) >= max_in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for fut in pending:
            fut.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# The scheduler of the enclosing use_scheduler() block: (spec, dask client or None).
_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("sxplan_scheduler", default=("sync", None))


@contextlib.contextmanager
def use_scheduler(
    scheduler: str = "sync", n_workers: int | None = None, connect_timeout_s: float = 10.0
):
    """Make ``scheduler`` the default for :func:`run_tiles` inside the block.

    ``"processes"`` starts a local Dask cluster (one single-threaded worker process per core,
    or ``n_workers``) for the block; ``"tcp://host:port"`` connects to a running
    dask.distributed scheduler. Workers must see the same file paths as this process.

    Parameters
    ----------
    scheduler : str
        ``"sync"``, ``"threads"``, ``"processes"`` or a ``"tcp://..."`` address.
    n_workers : int, optional
        Worker processes for ``"processes"``.
    connect_timeout_s : float
        How long to wait for a ``tcp://`` scheduler.

    Yields
    ------
    str or dask.distributed.Client
        What :func:`run_tiles` will use.
    """
    if scheduler in ("sync", "threads"):
        token = _ACTIVE.set((scheduler, None))
        try:
            yield scheduler
        finally:
            _ACTIVE.reset(token)
        return
    if scheduler != "processes" and not str(scheduler).startswith("tcp://"):
        raise ConfigError(
            f"scheduler {scheduler!r} is not known; use 'sync', 'threads', 'processes' or "
            "'tcp://host:port' of a running dask.distributed scheduler"
        )
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a default dependency
        raise ConfigError(
            f"scheduler {scheduler!r} needs dask.distributed: pip install 'sxplan[dask]'"
        ) from exc
    cluster = None
    if scheduler == "processes":
        cluster = LocalCluster(
            n_workers=n_workers or default_workers(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=f"{connect_timeout_s}s")
        except OSError as exc:
            raise ConfigError(
                f"cannot reach the dask scheduler at {scheduler} ({exc}); start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS`, or use 'threads'"
            ) from None
    token = _ACTIVE.set((client, client))
    try:
        yield client
    finally:
        _ACTIVE.reset(token)
        client.close()
        if cluster is not None:
            cluster.close()


def _dask_client(scheduler):
    """The Dask client for ``scheduler`` (a Client, or the active block's for a string)."""
    if hasattr(scheduler, "submit") and hasattr(scheduler, "scheduler_info"):
        return scheduler
    active = _ACTIVE.get()[1]
    if active is not None:
        return active
    raise ConfigError(
        f"scheduler {scheduler!r} needs a Dask client: run inside "
        f"`with sxplan.layers.windows.use_scheduler({scheduler!r}):` (sxplan runs do this for you)"
    )


def _progress(total: int, label: str | None):
    from .progress import progress_bar

    return progress_bar(total, label, unit="tile")
