"""One error tree for sxplan.

Every error sxplan raises on purpose derives from :class:`SxplanError` and also from the
matching built-in, so ``except ValueError`` keeps working for callers who do not know sxplan.
Messages say what came in, what was expected, which item, and the fix. Callers branch on the
class, never on the message text.

Inputs: none. Outputs: exception classes.
"""

from __future__ import annotations

__all__ = [
    "CRSError",
    "CRSMismatchError",
    "ConfigError",
    "GridMismatchError",
    "LayerIOError",
    "LayerValueError",
    "MemoryBudgetError",
    "NoOverlapError",
    "OutputExistsError",
    "RunFolderError",
    "SxplanError",
    "UnknownCodeError",
]


class SxplanError(Exception):
    """Root of every error sxplan raises on purpose."""


class ConfigError(SxplanError, ValueError):
    """A project setting is missing, unknown or out of range."""


class CRSError(SxplanError, ValueError):
    """A layer has no coordinate reference system, or one that cannot be used here."""


class CRSMismatchError(CRSError):
    """Two things that must share a CRS do not."""


class GridMismatchError(SxplanError, ValueError):
    """An array or layer is not on the run's analysis grid."""


class LayerIOError(SxplanError, OSError):
    """A layer file is missing, unreadable, or not in a format we can read."""


class RunFolderError(LayerIOError):
    """A run folder lacks a file, layer or column that the run-folder schema promises."""


class NoOverlapError(SxplanError, ValueError):
    """A layer does not overlap the study area."""


class UnknownCodeError(SxplanError, ValueError):
    """A categorical raster holds codes its declared class scheme does not know."""


class MemoryBudgetError(SxplanError, MemoryError):
    """An operation cannot run within the memory budget it was given."""


class OutputExistsError(SxplanError, FileExistsError):
    """An output folder or file exists and overwriting was not asked for."""


class LayerValueError(SxplanError, ValueError):
    """A layer file reads, but its contents contradict its spec or cannot be used as they are.

    Undeclared nodata sentinels, too little coverage of the study area, garbled text, invalid
    geometries, values that do not fit the declared kind.
    """
