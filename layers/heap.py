"""Give freed heap memory back to the operating system when a run nears its memory budget.

A tile's arrays are freed when the tile is written, but the C allocator keeps much of that
memory for reuse: glibc serves blocks below its *dynamic* mmap threshold (which rises to 32 MiB
after the first large array is freed) from its heaps, and a heap can only shrink from its top.
Tile after tile the held memory grows: on the 30 m benchmark the process peaked at 1.16-1.23 GB
on a 1,024 MB budget, although one tile's working set is a fraction of that (``benchmarks/
README.md``, "Memory held by the allocator"). Asking glibc to return its free pages
(``malloc_trim(0)``) bounds the process by what is live, but costs the call itself and the
page faults of touching that memory again: after every tile it made the 30 m run 24 % slower.
So a run sets a ceiling (:func:`rss_ceiling`, half its budget, from
:meth:`sxplan.layers.budget.Budget.run_env`) and :func:`trim_above_ceiling`, called after
every tile, returns the free pages only when the resident set is above it: a run that fits its
budget pays nothing, one that would outgrow it stays near the ceiling.

Fixing glibc's thresholds instead (``MALLOC_TRIM_THRESHOLD_`` or ``MALLOC_MMAP_THRESHOLD_``
in the environment) also bounds memory, but turns off the dynamic threshold, so every large
temporary is a fresh ``mmap``: 50 % more CPU on the same run.

Elsewhere (macOS, Windows, musl) :func:`release_free_memory` does nothing and returns False.

Inputs: a ceiling in MB. Outputs: :func:`release_free_memory`, :func:`trim_above_ceiling`,
:func:`rss_ceiling`, :func:`resident_mb`, :func:`headroom_mb`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterator
from functools import cache

__all__ = [
    "headroom_mb", "helper_peak_mb", "note_helper_peak", "peak_resident_mb",
    "release_free_memory", "resident_mb", "rss_ceiling", "trim_above_ceiling",
]  # fmt: skip

# The resident-set ceiling (MB) of the enclosing rss_ceiling() block; process-wide, as the
# heap is (tiles are written, and conversions run, on other threads than the one that set it).
_CEILING_MB: float | None = None
# The resident set (MB) a trim above the ceiling left, while live data keep it above.
_FLOOR_MB: float | None = None
#: Once live data alone exceed the ceiling, the next trim waits until the resident set has
#: grown by this share of the ceiling above what the last trim left. Trimming after every
#: tile there freed little each time: China at 250 m made 2,142 trims (8.2 s in the calls
#: alone) in its parcel phases, whose live data (0.6-0.9 GB) exceed a 512 MB ceiling; with
#: 1/8 (64 MB at that ceiling; chosen, not tuned) 285 trims, 2.5 s, the same peak.
REGROW_SHARE = 0.125


@cache
def _malloc_trim():
    """The C library's ``malloc_trim`` if it is glibc's, else None (musl, not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim  # absent from musl: AttributeError
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return the C heap's free pages to the operating system (glibc ``malloc_trim(0)``).

    Safe from any thread at any time: it frees nothing that is in use, and values are never
    affected. Call it where a large working set has just been freed (after a tile is written).

    Returns
    -------
    bool
        True when glibc returned memory; False when nothing was returned or the platform's
        allocator has no such call.
    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


def resident_mb() -> float | None:
    """The process's resident set in MB (MiB), from ``/proc/self/statm``; None elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


# The highest peak resident set (MB) of the helper processes this process ran (updated in place).
_HELPER_PEAK_MB = [0.0]


def note_helper_peak(mb: float) -> None:
    """Record the peak resident set (MB) of a helper process that has just ended.

    A helper (the county cover's, :mod:`sxplan.layers._zone_extract`) reads its own peak
    (``VmHWM``) before it exits; the memory a run used at once is at most its own peak plus
    the helpers' (:func:`helper_peak_mb`).
    """
    _HELPER_PEAK_MB[0] = max(_HELPER_PEAK_MB[0], float(mb))


def helper_peak_mb() -> float:
    """The highest peak resident set (MB) of any helper process this process ran; 0 if none.

    Like ``ru_maxrss``, it counts since the process started.
    """
    return _HELPER_PEAK_MB[0]


def peak_resident_mb() -> float | None:
    """The process's highest resident set since it started, in MB (MiB); None where unknown.

    ``getrusage``'s ``ru_maxrss`` (KiB on Linux, bytes on macOS): what the benchmarks report
    as a run's peak, read here from inside the process.
    """
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@contextlib.contextmanager
def rss_ceiling(mb: float | None) -> Iterator[None]:
    """Within the block, :func:`trim_above_ceiling` trims when the resident set exceeds ``mb``.

    Parameters
    ----------
    mb : float or None
        Ceiling in MB (MiB); None turns trimming off within the block.
    """
    global _CEILING_MB, _FLOOR_MB
    previous, _CEILING_MB, _FLOOR_MB = _CEILING_MB, mb, None
    try:
        yield
    finally:
        _CEILING_MB, _FLOOR_MB = previous, None


def headroom_mb() -> float | None:
    """MB between the resident set and the :func:`rss_ceiling` (negative above it).

    None outside an :func:`rss_ceiling` block, or where the resident set is unknown: there
    nothing bounds the process, and callers may use what they need.
    """
    rss = resident_mb()
    return None if _CEILING_MB is None or rss is None else _CEILING_MB - rss


def trim_above_ceiling() -> bool:
    """:func:`release_free_memory` if the resident set is above the :func:`rss_ceiling`.

    When a trim leaves the resident set above the ceiling (live data exceed it), the next
    trim waits until the set has grown :data:`REGROW_SHARE` of the ceiling above what that
    trim left; once it is back under the ceiling, every tile above it is trimmed again.
    Outside an :func:`rss_ceiling` block (library use without a run's budget) it does nothing.

    Returns
    -------
    bool
        True when memory was returned.
    """
    global _FLOOR_MB
    ceiling = _CEILING_MB
    if ceiling is None:
        return False
    rss = resident_mb()
    if rss is None:
        return False
    if rss <= ceiling:
        _FLOOR_MB = None
        return False
    floor = _FLOOR_MB
    if floor is not None and rss <= floor + REGROW_SHARE * ceiling:
        return False  # live data hold the heap above the ceiling: a trim now frees little
    done = release_free_memory()
    after = resident_mb()
    _FLOOR_MB = after if after is not None and after > ceiling else None
    return done
