"""The memory budget of a run: one object owns every rule that turns it into sizes.

A project states one number, ``project.mem_limit_mb``. Every size derived from it (how many
cells a tile may hold, how that is shared between workers, GDAL's warp buffers and block cache,
how many cells a zonal statistic holds at once) is computed here and nowhere else, with the unit
in each name.

Rules (``M`` = ``mem_limit_mb``):

==============================  ===========================================================
tiles in flight together        ``M`` MiB, shared equally by the tiles computed at once
GDAL warp buffers               64 MB whatever ``M`` (rasterio ``warp_mem_limit`` is in MB)
GDAL block cache                ``min(256, max(32, M / 32))`` MiB, given to GDAL in bytes
GDAL block cache, COG copies    8 MiB (:meth:`Budget.conversion_env`)
COG copies at once              two while the resident set is two copies below the heap
                                ceiling, else one (:meth:`Budget.copies_at_once`)
zonal statistics                ``max(10_000, M MiB / bytes per cell)`` cells in memory
tiles of a whole run            ``max(M / 4, M / 2 - block cache)`` MiB (``run_tiles``)
heap ceiling of a whole run     ``M / 2`` MiB resident (:meth:`Budget.run_env`)
freed heap kept resident        ``M / 32`` MiB (:attr:`Budget.heap_held_mb`)
parcel pieces of a run's pass   ``M / 16`` MiB in memory, the rest in scratch files
==============================  ===========================================================

:meth:`Budget.run_tiles` is for a whole run (``sxplan siting``, ``sxplan sinks``): there ``M``
bounds the process, and a run is planned to stay near half of it at any resolution. The other
half is for what does not shrink with the tiles: the interpreter and libraries (about 256 MB
for Python, NumPy, GDAL, GeoPandas and SciPy), the parcel pieces gathered across tiles, two COG
copies at once, and the freed memory the heap keeps (at most ``M / 32``, ``benchmarks/
README.md``, "memory flat from 250 m to 30 m" and "the heap's freed memory measured and
bounded"). Library functions given ``M`` directly spend all of it on tiles.

The block cache only holds copies of file blocks: its size changes speed and memory, never a
result.

Inputs: ``mem_limit_mb``. Outputs: :class:`Budget`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["DEFAULT_MEM_LIMIT_MB", "Budget"]

#: Default memory budget for one raster operation, in MB (MiB).
DEFAULT_MEM_LIMIT_MB = 512
#: GDAL's block cache while a pass's rasters are copied to COG, in MiB.
CONVERSION_CACHE_MB = 8
#: Memory one COG copy holds, in MiB, whatever the raster's width: its overview windows and
#: levels, one block per level, and the COG driver's compression. Measured (resident set added,
#: GDAL's block cache at 8 MiB, 2026-12-03, ``benchmarks/README.md`` s39): a float32 copy
#: 31-33 MB at 10,973 and at 163,840 columns, a uint8 categorical one 14-16 MB; rounded up.
#: (Before s38-s39 the overview levels held rows of blocks, and a copy grew with the width:
#: 56 MB at 10,973 columns, 5.4 KB a column.)
COPY_MB = 40

_MIB = 1024 * 1024


@dataclass(frozen=True)
class Budget:
    """A memory budget and the arithmetic that splits it.

    Attributes
    ----------
    mem_limit_mb : float
        The budget in MB (MiB) for the tiles of one raster operation in flight together.

    Examples
    --------
    >>> b = Budget(512)
    >>> b.tile_bytes(n_workers=2) == 256 * 1024 * 1024
    True
    >>> b.warp_mem_limit_mb, b.gdal_cache_bytes // (1024 * 1024), b.cells_in_memory(24)
    (64, 32, 22369621)
    """

    mem_limit_mb: float = DEFAULT_MEM_LIMIT_MB

    def __post_init__(self) -> None:
        mb = self.mem_limit_mb
        if isinstance(mb, bool) or not isinstance(mb, int | float) or not mb > 0:
            from sxplan.errors import ConfigError

            raise ConfigError(f"mem_limit_mb must be a positive number of MB, got {mb!r}")

    @classmethod
    def of(cls, mem: Budget | float | None = None) -> Budget:
        """A :class:`Budget` from a budget, a number of MB, or ``None`` (the default budget)."""
        if isinstance(mem, Budget):
            return mem
        return cls(DEFAULT_MEM_LIMIT_MB if mem is None else mem)

    @property
    def total_bytes(self) -> float:
        """The whole budget in bytes."""
        return self.mem_limit_mb * _MIB

    def run_tiles(self) -> Budget:
        """The budget left for tiles when ``mem_limit_mb`` bounds a whole run's process.

        ``max(M / 4, M / 2 - block cache)``: a 1,024 MB run gives its tiles 480 MB
        (512 - 32). More did not make a 30 m run faster (the 30 km highway distance took
        8.4-10.2 s with 640 MB of tiles and 9.0-10.2 s with 480, peaking 535 vs 397-422 MB).

        Examples
        --------
        >>> Budget(1024).run_tiles().mem_limit_mb, Budget(256).run_tiles().mem_limit_mb
        (480.0, 96.0)
        """
        m = float(self.mem_limit_mb)
        return Budget(max(m / 4, m / 2 - self.gdal_cache_bytes / _MIB))

    def tile_bytes(self, n_workers: int = 1) -> float:
        """Bytes one tile's working set may use when ``n_workers`` tiles are computed at once."""
        return self.total_bytes / max(1, int(n_workers))

    @staticmethod
    def workers(scheduler=None) -> int:
        """Tiles computed at once under ``scheduler`` (which share the budget).

        ``"sync"`` computes one tile at a time; any other scheduler (threads, Dask) computes
        :func:`sxplan.layers.windows.default_workers` at once. ``None`` means the scheduler of
        the enclosing :func:`sxplan.layers.windows.use_scheduler` block.
        """
        from .windows import _ACTIVE, default_workers

        active = _ACTIVE.get()[0] if scheduler is None else scheduler
        return 1 if active == "sync" else default_workers()

    def min_mem_limit_mb(self, side_cells: int, bytes_per_cell: float, n_workers: int = 1) -> int:
        """The smallest budget (MB) holding ``n_workers`` square tiles of ``side_cells``."""
        return math.ceil(side_cells * side_cells * bytes_per_cell * max(1, n_workers) / _MIB)

    @property
    def warp_mem_limit_mb(self) -> int:
        """GDAL warp buffer limit in MB (``rasterio.vrt.WarpedVRT(warp_mem_limit=...)``).

        The same for every budget: GDAL cuts a warp into chunks that fit this limit and fits
        its approximate transformer (error up to 0.125 source pixel) per chunk, so a limit that
        followed the budget would make aligned values depend on it (a 30 m DEM aligned from
        1 km data differed by up to 56 m between two budgets, ``benchmarks/README.md``, s24).
        """
        return 64

    @property
    def gdal_cache_bytes(self) -> int:
        """GDAL raster block cache (``GDAL_CACHEMAX``) in bytes: M/32, within 32-256 MiB.

        GDAL's default is 5 % of the machine's RAM and fills with output blocks; bounding it by
        the budget keeps a run's memory flat. A run reads its inputs tile by tile in row
        order, so a block is decoded again only where a tile's halo reaches into the next
        row of tiles: a 30 m province run was as fast with 32 MiB as with 128 MiB (M/8, the
        rule before), whose extra 96 MB only held blocks not read again.
        """
        return int(min(256.0, max(32.0, self.mem_limit_mb / 32)) * _MIB)

    def cells_in_memory(self, bytes_per_cell: float, minimum: int = 10_000) -> int:
        """Cells whose ``bytes_per_cell`` fit the budget (at least ``minimum``).

        Used for exactextract's ``max_cells_in_memory``.
        """
        return max(int(minimum), int(self.total_bytes / bytes_per_cell))

    @contextlib.contextmanager
    def gdal_env(self, **options) -> Iterator[None]:
        """A ``rasterio.Env`` with GDAL's block cache set to :attr:`gdal_cache_bytes`.

        Parameters
        ----------
        **options
            Further GDAL options for the environment.
        """
        import rasterio

        with rasterio.Env(GDAL_CACHEMAX=self.gdal_cache_bytes, **options):
            yield

    @staticmethod
    @contextlib.contextmanager
    def conversion_env() -> Iterator[None]:
        """GDAL's block cache at :data:`CONVERSION_CACHE_MB` during COG copies.

        A COG copy reads each block of its source once and writes each block once, so a
        large cache only fills with blocks that are not read again: on a 30 m float raster,
        two copies at once took the same CPU time with 8 MiB as with 128 MiB and 210 MB
        less memory (``benchmarks/README.md``). GDAL's cache size is process-wide: use this
        only where what else runs meanwhile reads each block once too (after a pass's tiles
        are written: the siting run's parcel outlines read the suitability tile files beside
        the copies, each tile's blocks once).
        """
        import rasterio

        with rasterio.Env(GDAL_CACHEMAX=CONVERSION_CACHE_MB * _MIB):
            yield

    @staticmethod
    def copies_at_once() -> int:
        """How many COG copies a pass runs at once: 1 or 2.

        Two while the resident set is at least two copies (:data:`COPY_MB`) below the heap
        ceiling of the run (:func:`sxplan.layers.heap.headroom_mb`), else one. A copy holds
        the same whatever the raster's width, so a national grid copies two at once as a
        province does. At 30 m a 1,024 MB run has that room and copies two at once (one at
        a time took 5-8 % longer); a 512 MB run is above its ceiling after the pass, and two
        copies at once made its sampled peak 410-440 MB against 384 one at a time
        (``ru_maxrss`` 405). Outside a run's ceiling: two. The files do not depend on it
        (each is copied by one thread; the 30 m runs at 512 and 1,024 MB wrote the same
        bytes).

        Examples
        --------
        >>> Budget.copies_at_once()  # no run's ceiling here
        2
        """
        from .heap import headroom_mb

        room = headroom_mb()
        return 2 if room is None or room >= 2 * COPY_MB else 1

    @property
    def pieces_held_bytes(self) -> float:
        """Parcel pieces a whole run's pass holds in memory, all technologies: ``M / 16``.

        Pieces, and each tile's border piece numbers, are gathered over the whole pass and
        resolved after it. Their arrays grow with the grid, so beyond this they go to scratch
        files until the pass ends (:class:`sxplan.siting._parcel_graph.ParcelAccumulator`).
        China at 90 m wrote 258 MB of pieces (the run had peaked at 1,067 MB with them held);
        the 30 m province holds about 7.8 MB of pieces and 0.5 MB of borders (7.9 MB before
        the borders were kept as runs, s40) and never reaches the limit at 1,024 MB
        (``benchmarks/README.md``). Chosen, not tuned: spilling costs one write and one read
        of each array.

        Examples
        --------
        >>> Budget(1024).pieces_held_bytes / (1024 * 1024)
        64.0
        """
        return self.total_bytes / 16

    @property
    def heap_ceiling_mb(self) -> float:
        """The resident set (MB) a run is planned to stay under: ``M / 2``.

        The room below it decides what may run beside the tiles (two COG copies at once,
        :meth:`copies_at_once`; the county cover's helper process). Where glibc cannot say
        what the heap holds in use (before 2.33), a run also returns the heap's free pages
        whenever it is above it (:func:`sxplan.layers.heap.trim_free_heap`).
        """
        return 0.5 * float(self.mem_limit_mb)

    @property
    def heap_held_mb(self) -> float:
        """Freed memory (MB) the heap may keep resident in a run: ``M / 32``.

        Freed tiles kept by the allocator are reused by the next tiles without page faults;
        beyond this, :func:`sxplan.layers.heap.trim_free_heap` returns them after a tile, so a
        run's peak is its live data plus this at any resolution. Measured on the benchmark at
        1,024 MB (``benchmarks/README.md``, s40; four runs of each, alternating):

        - ``M / 32`` (32 MB): the 30 m run peaked at 382-391 MB (mean 385.5) against 354-362
          at 250 m (mean 356.3), **x1.08**; its tile pass took 34.7-42.7 s, the whole run
          105.8-115.9 s.
        - ``M / 16`` (64 MB), the allowance before: 394-417 MB (mean 403.7) against 347-370
          (mean 361.9), x1.12; the tile pass 30.3-37.8 s, the whole run 96.5-116.5 s.

        The 250 m run has few tiles (18 in its pass): it returned free pages 16 times at
        ``M / 16`` and 21 at ``M / 32``, and its peak barely moves; the 30 m run's 990 tiles
        keep up to the allowance beside their live data. The price is the trims (about 4 s
        more in the 30 m tile pass, within the runs' spread for the whole run); ``M / 64``
        trimmed after nearly every tile (784 times, 5.5 s in the calls) and took the tile pass
        to 44-48 s for 377-384 MB (two runs). China at 250 m, whose parcel phases hold
        0.8 GB live: 265.4 s and 775.6 MB at ``M / 32`` against 274.4 s and 772.3 MB at
        ``M / 16`` (s40).

        Examples
        --------
        >>> Budget(1024).heap_held_mb
        32.0
        """
        return float(self.mem_limit_mb) / 32

    @contextlib.contextmanager
    def run_env(self, **options) -> Iterator[None]:
        """The environment of a whole run bounded by this budget (``M`` bounds the process).

        GDAL's block cache as :meth:`gdal_env`, the heap ceiling and the freed memory the
        heap may keep (:attr:`heap_ceiling_mb`, :attr:`heap_held_mb`,
        :func:`sxplan.layers.heap.rss_ceiling`).

        Parameters
        ----------
        **options
            Further GDAL options for the environment.
        """
        from .heap import rss_ceiling

        with self.gdal_env(**options), rss_ceiling(self.heap_ceiling_mb, self.heap_held_mb):
            yield
