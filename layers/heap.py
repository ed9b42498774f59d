"""Give freed heap memory back to the operating system between tiles.

A tile's arrays are freed when the tile is written, but the C allocator keeps much of that
memory for reuse: glibc serves blocks below its *dynamic* mmap threshold (which rises to 32 MiB
after the first large array is freed) from its heaps, and a heap can only shrink from its top.
Tile after tile the held memory grows: on the 30 m benchmark the process peaked at 1.16-1.23 GB
on a 1,024 MB budget, although one tile's working set is a fraction of that (``benchmarks/
README.md``, "Memory held by the allocator"). Asking glibc to return its free pages after
each tile (``malloc_trim(0)``) bounds the process by what is live; it costs the page faults
of touching that memory again in the next tile, which measured as noise beside the tile's work.

Fixing glibc's thresholds instead (``MALLOC_TRIM_THRESHOLD_`` or ``MALLOC_MMAP_THRESHOLD_``
in the environment) also bounds memory, but turns off the dynamic threshold, so every large
temporary is a fresh ``mmap``: 50 % more CPU on the same run.

Elsewhere (macOS, Windows, musl) :func:`release_free_memory` does nothing and returns False.

Inputs: none. Outputs: :func:`release_free_memory`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache

__all__ = ["release_free_memory"]


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
