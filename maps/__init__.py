"""maps: interactive Folium maps of siting and sinks results that work offline.

``import sxplan.maps`` is cheap: folium is imported only when a map is built.

Inputs: a run folder (``layers/vectors.gpkg``, ``siting/*``, ``sinks/*``), read only through
the run-folder contract :mod:`sxplan.schema`.
Outputs: ``maps/siting.html`` and ``maps/sinks.html`` in the run folder.
"""

from __future__ import annotations

from sxplan._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "config": ["MapsConfig"],
        "run": ["MAP_NAMES", "run_maps", "run_maps_config"],
    },
)
