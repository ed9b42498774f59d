"""``sxplan data fetch``: public layers for a study area, clipped and ready for ``sxplan site``.

Modules: :mod:`.catalog` (the source catalog, ``sources.yaml``), :mod:`.tiles` (which tiles
cover an area), :mod:`.download` (HTTP with resume, retries, checksums and a cache),
:mod:`.area` (the study area), :mod:`.rasters` (mosaic and clip to COG), :mod:`.osm` (OSM
roads to GeoPackage), :mod:`.outputs` (``sources.md``), :mod:`.project_yaml` (the generated
project) and :mod:`.run` (``run_fetch``, the order of steps).

Inputs: an area, layer names, a destination folder. Outputs: COGs, GeoPackages, sources.md and
project.yaml in that folder.
"""

from __future__ import annotations

from sxplan._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__, {"catalog": ["LAYER_NAMES", "load_catalog"], "run": ["run_fetch"]}
)
