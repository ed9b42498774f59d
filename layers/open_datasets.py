"""Raster datasets kept open for a windowed pass, so blocks decoded for one tile serve the next.

Closing a GDAL dataset drops its cached blocks. A windowed pass that opens an input for every
tile decodes each compressed block that the tile's window (and halo) touches, and decodes it
again for the neighbouring tile: with 768-cell tiles on 512-cell blocks and a one-cell halo,
up to four times the blocks of the raster. Inside :func:`keep_datasets_open`,
:meth:`sxplan.layers.io.AlignedLayer.read_valid` reads through one dataset per file, shared by
the pass's threads, so its decoded blocks stay in GDAL's block cache (bounded by
``GDAL_CACHEMAX``, the memory budget's share) for the next tile. Reads of one file take turns
(a lock per file: a GDAL dataset must not be read by two threads at once); different files are
read in parallel. Every dataset is closed when the outermost block exits, before anything
(e.g. a temporary folder) deletes the files; a file replaced meanwhile (another inode, size or
modification time) is opened afresh. The values read are the same either way.

Inputs: raster paths and windows. Outputs: band 1 of a window as a NumPy array.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["keep_datasets_open", "read_band_window"]

_LOCK = threading.Lock()
_DEPTH = 0  # nesting depth of keep_datasets_open blocks (process-wide)
_OPEN: dict[str, _Kept] = {}


@dataclass
class _Kept:
    signature: tuple
    dataset: object
    lock: threading.Lock


@contextlib.contextmanager
def keep_datasets_open() -> Iterator[None]:
    """Keep the rasters read by :meth:`AlignedLayer.read_valid` open until the block exits.

    Use it around a windowed pass over inputs that no one writes during the pass.

    Examples
    --------
    >>> with keep_datasets_open():
    ...     pass  # tiles read here share one open dataset per file
    """
    global _DEPTH
    with _LOCK:
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            drained = list(_OPEN.values()) if _DEPTH == 0 else []
            if _DEPTH == 0:
                _OPEN.clear()
        for kept in drained:
            with kept.lock:
                kept.dataset.close()


def read_band_window(path, window) -> np.ndarray:
    """Band 1 of the raster at ``path`` over ``window`` (a kept dataset inside the block)."""
    import rasterio

    if not _DEPTH:
        with rasterio.open(path) as src:
            return src.read(1, window=window)
    key = os.fspath(path)
    st = os.stat(key)
    signature = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    stale = None
    with _LOCK:
        kept = _OPEN.get(key)
        if kept is None or kept.signature != signature:
            stale = kept
            kept = _Kept(signature, rasterio.open(key), threading.Lock())
            _OPEN[key] = kept
    if stale is not None:
        with stale.lock:
            stale.dataset.close()
    with kept.lock:
        if not kept.dataset.closed:
            return kept.dataset.read(1, window=window)
    with rasterio.open(path) as src:  # the block exited meanwhile: read as outside it
        return src.read(1, window=window)
