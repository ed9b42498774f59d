"""Atomic file writes and checksums: the light part of :mod:`sxplan.layers.io`.

Everything sxplan writes goes to a temporary name in the destination folder and is renamed into
place only when complete (:func:`atomic_path`). This module imports only the standard library,
so commands that write text (maps, fetch, ``sxplan init``) need no raster stack.

Inputs: paths and text. Outputs: files renamed into place; SHA-256 hex digests.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sxplan.errors import LayerIOError

__all__ = ["atomic_path", "disk_full", "disk_full_error", "file_sha256", "write_text"]


#: A failed write whose folder cannot take this many bytes more was a full disk.
FULL_DISK_PROBE_BYTES = 1 << 20


def disk_full(folder: str | os.PathLike) -> bool:
    """Whether the file system holding ``folder`` has (almost) no space left.

    GDAL does not always report a failed write as such: a GeoTIFF cut short by a full disk may
    surface only when it is read back, or as "Write failed" or "TIFFRewriteDirectory". So
    after a failure a 1 MiB probe file is written there (and removed).
    """
    probe = Path(folder) / ".sxplan-space-probe"
    try:
        with open(probe, "wb") as fh:  # can 1 MiB more be written there?
            fh.write(bytes(FULL_DISK_PROBE_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return False


def disk_full_error(exc: BaseException | None, folder: str | os.PathLike) -> OSError | None:
    """An ``ENOSPC`` :class:`OSError` standing for ``exc`` if ``folder``'s disk is full, else None.

    Call it before removing what the failed write left (a tile file frees the space it took,
    and the disk no longer looks full): GDAL errors carry no errno, and on a full disk a COG
    copy can fail as "Write failed" or "TIFFRewriteDirectory: Error fetching directory count"
    without the words "No space left" (seen at 30 m, 2026-12-02).
    """
    if not isinstance(exc, Exception) or getattr(exc, "errno", None) in (
        errno.ENOSPC,
        errno.EDQUOT,
    ):
        return None
    if not disk_full(folder):
        return None
    return OSError(errno.ENOSPC, f"No space left on device ({exc})", str(folder))


def _remove_quietly(p: Path) -> None:
    with contextlib.suppress(OSError):
        if p.is_dir():
            import shutil

            shutil.rmtree(p)
        else:
            p.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success.

    On any exception the temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        Final destination. Its folder is created if needed.

    Yields
    ------
    pathlib.Path
        Where to write. It does not exist yet; keep its suffix (drivers pick formats by it).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "a.txt").read_text()
    'done'
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}", dir=final.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        if not tmp.exists():
            raise LayerIOError(f"nothing was written for {final}")
        os.replace(tmp, final)
    except BaseException:
        _remove_quietly(tmp)
        for side in tmp.parent.glob(tmp.name + "*"):  # e.g. .aux.xml, -wal/-shm sidecars
            _remove_quietly(side)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically (:func:`atomic_path`); return the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_text(pathlib.Path(tempfile.mkdtemp()) / "a" / "b.txt", "山西")
    >>> p.read_text(encoding="utf-8")
    '山西'
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def file_sha256(path: str | os.PathLike) -> str:
    """Return the SHA-256 hex digest of a file, read in chunks (:func:`hashlib.file_digest`).

    Parameters
    ----------
    path : str or os.PathLike
        File to hash.

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
