"""Atomic file writes and checksums: the light part of :mod:`sxplan.layers.io`.

Everything sxplan writes goes to a temporary name in the destination folder and is renamed into
place only when complete (:func:`atomic_path`). This module imports only the standard library,
so commands that write text (maps, fetch, ``sxplan init``) need no raster stack.

Inputs: paths and text. Outputs: files renamed into place; SHA-256 hex digests.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sxplan.errors import LayerIOError

__all__ = ["atomic_path", "file_sha256", "write_text"]


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
