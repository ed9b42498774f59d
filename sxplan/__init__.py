"""sxplan: spatial planning for the Shanxi Carbon Peak Implementation Plan.

One import name holds the whole toolkit; each stage is a subpackage whose folder sits at the top
of the repository:

``sxplan.layers``
    Load and validate inputs, align them to one analysis grid, derive layers (``layers/``).
``sxplan.siting``
    Exclusions, scores, parcels, capacity and energy for each technology, bases and shortlist
    (``siting/``).
``sxplan.sinks``
    County forest baseline, plantable land, allocation of the cover target, sequestration
    (``sinks/``).
``sxplan.maps``
    Offline Folium maps from a run folder (``maps/``).
``sxplan`` itself
    The CLI (:mod:`sxplan.cli`), the project config (:mod:`sxplan.config`), run orchestration
    (:mod:`sxplan.run`), the run-folder schema (:mod:`sxplan.schema`), the error tree
    (:mod:`sxplan.errors`) and the embedded Shanxi demo data.

``import sxplan`` loads none of geopandas, rasterio, scipy or pandas (a test checks it): the
error classes and the version are all it defines.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import errors
from .errors import *  # noqa: F403 - the error tree is sxplan's public API

try:
    __version__ = version("sxplan")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [*errors.__all__, "__version__"]
