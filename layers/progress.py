"""Progress bars for long work (tiles, layers, Monte Carlo years, roadside phases).

One place decides whether a bar is shown: only on a terminal (tqdm's ``disable=None`` hides it
when stderr is not a TTY), and never while ``SXPLAN_NO_PROGRESS`` is set (``--no-progress``,
``project.progress: false``; :func:`sxplan.run.run_project` sets it for the run).

Inputs: a count and a label. Outputs: a bar on stderr, or an object that does nothing.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["NO_PROGRESS_ENV", "progress_bar", "progress_setting"]

#: Environment variable that silences every bar while set.
NO_PROGRESS_ENV = "SXPLAN_NO_PROGRESS"


class _NoBar:
    """Stands in for a bar when none is shown."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc) -> None:
        pass


def progress_bar(total: int, label: str | None, unit: str = "it"):
    """A tqdm bar of ``total`` steps on stderr, or a silent stand-in.

    Parameters
    ----------
    total : int
        Number of steps.
    label : str or None
        Text before the bar; None (or ``total <= 1``) shows no bar.
    unit : str
        Name of one step (``tile``, ``layer``, ``year``).

    Returns
    -------
    tqdm.tqdm or a stand-in with ``update``, ``set_postfix_str`` and ``close``.

    Examples
    --------
    >>> bar = progress_bar(3, None)
    >>> bar.update(1); bar.close()
    """
    if not label or total <= 1 or os.environ.get(NO_PROGRESS_ENV):
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit=unit, leave=False, disable=None, dynamic_ncols=True)


@contextlib.contextmanager
def progress_setting(show: bool):
    """Silence every bar inside the block when ``show`` is false; restore the setting after.

    Examples
    --------
    >>> with progress_setting(False):
    ...     type(progress_bar(5, "x")).__name__
    '_NoBar'
    """
    before = os.environ.get(NO_PROGRESS_ENV)
    if not show:
        os.environ[NO_PROGRESS_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(NO_PROGRESS_ENV, None)
        else:
            os.environ[NO_PROGRESS_ENV] = before
