"""maps: interactive Folium maps of siting and sinks results that work offline.

``import maps`` is cheap: folium is imported only when a map is built.

Inputs: a run folder (``layers/vectors.gpkg``, ``siting/*``, ``sinks/*``).
Outputs: ``maps/siting.html`` and ``maps/sinks.html`` in the run folder.
"""

from maps.config import MapsConfig
from maps.run import MAP_NAMES, run_maps

__all__ = ["MAP_NAMES", "MapsConfig", "run_maps"]
