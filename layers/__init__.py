"""layers: load and validate inputs, align them to one analysis grid, derive layers.

Inputs: raster and vector files described by layer specs.
Outputs: :class:`~layers.io.AlignedLayer` objects on one :class:`~layers.grid.GridSpec`,
written as tiled, compressed GeoTIFFs; derived slope, aspect, distance and land-cover layers.
"""

from .datum import gcj02_to_wgs84, geometry_gcj02_to_wgs84, geometry_wgs84_to_gcj02, wgs84_to_gcj02
from .errors import (
    ConfigError,
    CRSError,
    CRSMismatchError,
    GridMismatchError,
    LayerIOError,
    MemoryBudgetError,
    NoOverlapError,
    SxplanError,
    UnknownCodeError,
)
from .grid import ALBERS_CHINA, GridSpec
from .windows import DEFAULT_MEM_LIMIT_MB, Tile, plan_tiles, run_tiles

__all__ = [
    "ALBERS_CHINA",
    "CRSError",
    "CRSMismatchError",
    "ConfigError",
    "DEFAULT_MEM_LIMIT_MB",
    "GridMismatchError",
    "GridSpec",
    "LayerIOError",
    "MemoryBudgetError",
    "NoOverlapError",
    "SxplanError",
    "Tile",
    "UnknownCodeError",
    "gcj02_to_wgs84",
    "geometry_gcj02_to_wgs84",
    "geometry_wgs84_to_gcj02",
    "plan_tiles",
    "run_tiles",
    "wgs84_to_gcj02",
]
