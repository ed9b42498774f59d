"""Give freed heap memory back to the operating system while a run holds too much of it.

A tile's arrays are freed when the tile is written, but the C allocator keeps much of that
memory for reuse: glibc serves blocks below its *dynamic* mmap threshold (which rises to 32 MiB
after the first large array is freed) from its heaps, and a heap can only shrink from its top.
Tile after tile the held memory grows: on the 30 m benchmark the process peaked at 1.16-1.23 GB
on a 1,024 MB budget, although one tile's working set is a fraction of that (``benchmarks/
README.md``, "Memory held by the allocator"). Asking glibc to return its free pages
(``malloc_trim(0)``) bounds the process by what is live, but costs the call itself and the
page faults of touching that memory again: after every tile it made the 30 m run 24 % slower.

So a run gives the heap an allowance (:func:`rss_ceiling`, ``held_mb``: a thirty-second of
its budget, from :meth:`sxplan.layers.budget.Budget.run_env`): :func:`trim_free_heap`, called
after every tile, returns the free pages only when the freed memory the heap keeps resident has
grown past it. That memory is measured, not guessed: the resident set less what the allocator has
handed out and not had back (glibc's ``mallinfo2``), less what the process held besides the
heap just after the last trim. ``mallinfo2`` walks every free block of every arena (3.3-3.8 s
of the 30 m benchmark's calls), so it is read again only once the resident set has grown by an
eighth of the allowance (:data:`RECHECK_SHARE`) above its lowest since the last reading: the
set cannot rise by more than that unmeasured. A run's peak is then its live data plus the
allowance, at any resolution: the 30 m benchmark's tile pass, whose live data are the same as
at 250 m, no longer climbs to a ceiling while the heap fills with freed tiles
(``benchmarks/README.md``, s34).
Where ``mallinfo2`` is missing (glibc before 2.33), the heap is trimmed instead whenever the
resident set is above the run's ceiling (half its budget), as before.

Fixing glibc's thresholds instead (``MALLOC_TRIM_THRESHOLD_`` or ``MALLOC_MMAP_THRESHOLD_``
in the environment) also bounds memory, but turns off the dynamic threshold, so every large
temporary is a fresh ``mmap``: 50 % more CPU on the same run. Fixing both (mmap at 32 MiB, trim
at 4 MiB) keeps the CPU but not the memory: the freed tiles are holes inside the heap, not at
its top (s34).

Elsewhere (macOS, Windows, musl) :func:`release_free_memory` does nothing and returns False.

Inputs: a ceiling and an allowance in MB. Outputs: :func:`release_free_memory`,
:func:`trim_free_heap`, :func:`rss_ceiling`, :func:`resident_mb`, :func:`heap_in_use_mb`,
:func:`headroom_mb`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import sys
import threading
from collections.abc import Iterator
from functools import cache

__all__ = [
    "heap_in_use_mb", "headroom_mb", "helper_peak_mb", "note_helper_peak", "peak_at_once_mb",
    "peak_resident_mb", "release_free_memory", "resident_mb", "rss_ceiling", "trim_free_heap",
]  # fmt: skip

# The resident-set ceiling (MB) of the enclosing rss_ceiling() block; process-wide, as the
# heap is (tiles are written, and conversions run, on other threads than the one that set it).
_CEILING_MB: float | None = None
# The resident set (MB) a trim above the ceiling left, while live data keep it above.
_FLOOR_MB: float | None = None
# The freed memory (MB) the heap may keep resident within the block; None: no allowance.
_HELD_MB: float | None = None
# What the process held resident besides the heap's blocks in use (MB), just after the last
# trim: the interpreter, libraries, thread stacks, Python's own arenas. None before the first.
_BESIDE_MB: float | None = None
# The resident set (MB) when the heap was last measured, or its lowest since (the module
# docstring: the heap is measured again once the set has grown RECHECK_SHARE of the
# allowance above it; 5.1 s of the 30 m demo's siting step went to those readings, s36).
_CHECKED_MB: float | None = None
#: Share of the allowance the resident set grows by before the heap is measured again (an
#: eighth, as REGROW_SHARE: chosen, not tuned; at 1,024 MB it cut the 30 m benchmark's
#: readings from 3,151-3,192 to 485-507 with the same peaks, s36).
RECHECK_SHARE = 0.125
# One thread measures and trims at a time; the others go on (their tile is not held up).
_TRIM_LOCK = threading.Lock()
#: Under the ceiling rule (no allowance), once live data alone exceed the ceiling, the next
#: trim waits until the resident set has grown by this share of the ceiling above what the
#: last trim left. Trimming after every tile there freed little each time: China at 250 m
#: made 2,142 trims (8.2 s in the calls alone) in its parcel phases, whose live data
#: (0.6-0.9 GB) exceed a 512 MB ceiling; with 1/8 (64 MB at that ceiling; chosen, not tuned)
#: 285 trims, 2.5 s, the same peak.
REGROW_SHARE = 0.125


class _MallInfo2(ctypes.Structure):
    # glibc's struct mallinfo2 (malloc.h, glibc 2.33+): every field a size_t
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


@cache
def _libc():
    """The C library (ctypes), or None where there is none to load or not Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


@cache
def _mallinfo2():
    """The C library's ``mallinfo2`` if it is glibc 2.33+, else None (older, musl, not Linux)."""
    info = getattr(_libc(), "mallinfo2", None)  # absent before glibc 2.33 and from musl
    if info is None:
        return None
    info.argtypes = []
    info.restype = _MallInfo2
    return info


def heap_in_use_mb() -> float | None:
    """MB the C allocator has handed out and not had back (glibc ``mallinfo2``); else None.

    Blocks in use in every arena (``uordblks``) plus those mapped on their own (``hblkhd``,
    arrays above the mmap threshold): NumPy's arrays, GDAL's block cache and buffers, GEOS's
    geometries. Not Python's small objects (its own arenas), nor the libraries' code.
    """
    info = _mallinfo2()
    if info is None:
        return None
    m = info()
    return (m.uordblks + m.hblkhd) / (1024 * 1024)


@cache
def _malloc_trim():
    """The C library's ``malloc_trim`` if it is glibc's, else None (musl, not Linux)."""
    trim = getattr(_libc(), "malloc_trim", None)  # absent from musl
    if trim is None:
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


# The highest peak resident set (MB) of the helper processes this process ran, and the
# highest of a helper's peak plus this process's peak by the time it ended (updated in place).
_HELPER_PEAK_MB = [0.0]
_AT_ONCE_MB = [0.0]


def note_helper_peak(mb: float, beside_mb: float | None = None) -> None:
    """Record the peak resident set (MB) of a helper process that has just ended.

    A helper (the county cover's, :mod:`sxplan.layers._zone_extract`) reads its own peak
    (``VmHWM``) before it exits. ``beside_mb`` is this process's own peak (``ru_maxrss``,
    since it started) when the helper ended, read now if not given: while the helper ran the
    two held at most ``beside_mb + mb`` together, and before and after it this process alone
    (:func:`peak_at_once_mb`).
    """
    if beside_mb is None:
        beside_mb = peak_resident_mb() or 0.0
    _HELPER_PEAK_MB[0] = max(_HELPER_PEAK_MB[0], float(mb))
    _AT_ONCE_MB[0] = max(_AT_ONCE_MB[0], float(beside_mb) + float(mb))


def peak_at_once_mb(peak_mb: float) -> float:
    """At most the memory (MB) this process and its helpers held at once, by now.

    ``peak_mb`` is this process's peak (``ru_maxrss``) by now. Each helper counts with the
    process's peak by the time it ended (:func:`note_helper_peak`), not with a peak the
    process reached after it: in the 30 m demo's sinks step (s36) the helper peaked at 173 MB
    and ended while the process's peak was 680 MB; the process then reached 815 MB alone. At
    most 853 MB were held at once, where the sum of the two peaks says 988.

    Examples
    --------
    >>> saved = _HELPER_PEAK_MB[0], _AT_ONCE_MB[0]
    >>> _HELPER_PEAK_MB[0] = _AT_ONCE_MB[0] = 0.0
    >>> note_helper_peak(194.0, beside_mb=636.0)
    >>> peak_at_once_mb(841.0), peak_at_once_mb(700.0), helper_peak_mb()
    (841.0, 830.0, 194.0)
    >>> _HELPER_PEAK_MB[0], _AT_ONCE_MB[0] = saved
    """
    return max(float(peak_mb), _AT_ONCE_MB[0])


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
def rss_ceiling(mb: float | None, held_mb: float | None = None) -> Iterator[None]:
    """Within the block the run's memory is bounded by a ceiling and the heap's allowance.

    :func:`trim_free_heap` trims when the heap keeps more than ``held_mb`` of freed memory
    resident, or, without ``held_mb`` or where glibc cannot say what is in use, when the
    resident set exceeds ``mb``. The ceiling is also the room :func:`headroom_mb` reports.

    Parameters
    ----------
    mb : float or None
        Ceiling in MB (MiB); None turns trimming off within the block.
    held_mb : float, optional
        The freed memory (MB) the heap may keep resident.
    """
    global _CEILING_MB, _FLOOR_MB, _HELD_MB, _BESIDE_MB, _CHECKED_MB
    previous = _CEILING_MB, _HELD_MB
    _CEILING_MB, _FLOOR_MB = mb, None
    _HELD_MB, _BESIDE_MB, _CHECKED_MB = (held_mb if mb is not None else None), None, None
    try:
        yield
    finally:
        (_CEILING_MB, _HELD_MB), _FLOOR_MB, _BESIDE_MB, _CHECKED_MB = previous, None, None, None


def headroom_mb() -> float | None:
    """MB between the resident set and the :func:`rss_ceiling` (negative above it).

    None outside an :func:`rss_ceiling` block, or where the resident set is unknown: there
    nothing bounds the process, and callers may use what they need.
    """
    rss = resident_mb()
    return None if _CEILING_MB is None or rss is None else _CEILING_MB - rss


def trim_free_heap() -> bool:
    """:func:`release_free_memory` if the heap holds more freed memory than the run allows.

    Within an :func:`rss_ceiling` block with an allowance (``held_mb``) on glibc 2.33+: the
    freed memory the heap keeps resident is the resident set less the heap's blocks in use
    (:func:`heap_in_use_mb`) less what the process held besides them just after the last trim
    (the first call trims, to measure it; when that share shrinks, it is measured again from
    the smaller figure). Above the allowance, the heap's free pages are returned.

    Otherwise (no allowance, or an older glibc): trimmed when the resident set is above the
    ceiling; when a trim leaves it above (live data exceed it), the next trim waits until the
    set has grown :data:`REGROW_SHARE` of the ceiling above what that trim left. Outside an
    :func:`rss_ceiling` block (library use without a run's budget) it does nothing.

    Safe from any thread: while one thread measures or trims, the others return False.

    Returns
    -------
    bool
        True when memory was returned.
    """
    if _CEILING_MB is None or not _TRIM_LOCK.acquire(blocking=False):
        return False
    try:
        if _HELD_MB is not None and _mallinfo2() is not None:
            return _trim_held(_HELD_MB)
        return _trim_ceiling(_CEILING_MB)
    finally:
        _TRIM_LOCK.release()


def _trim_held(allowance: float) -> bool:
    global _BESIDE_MB, _CHECKED_MB
    rss = resident_mb()
    if rss is None:
        return False
    checked = _CHECKED_MB
    if checked is not None and rss < checked + RECHECK_SHARE * allowance:
        _CHECKED_MB = min(checked, rss)  # growth is counted from the lowest set since
        return False
    _CHECKED_MB = rss
    used = heap_in_use_mb()
    if used is None:
        return False
    beside = _BESIDE_MB
    if beside is not None:
        if rss - used < beside:  # the memory beside the heap shrank: measured again
            _BESIDE_MB = rss - used
            return False
        if rss - used - beside <= allowance:
            return False
    done = release_free_memory()
    rss, used = resident_mb(), heap_in_use_mb()
    _BESIDE_MB = None if rss is None or used is None else rss - used
    _CHECKED_MB = rss
    return done


def _trim_ceiling(ceiling: float) -> bool:
    global _FLOOR_MB
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
