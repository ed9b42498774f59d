"""layers: load and validate inputs, align them to one analysis grid, derive layers.

Inputs: raster and vector files described by layer specs.
Outputs: :class:`~layers.io.AlignedLayer` objects on one :class:`~layers.grid.GridSpec`,
written as tiled, compressed GeoTIFFs; derived slope, aspect, distance and land-cover layers.
"""

from .align import align_raster, choose_resampling
from .datum import (
    gcj02_to_wgs84,
    gdf_gcj02_to_wgs84,
    geometry_gcj02_to_wgs84,
    geometry_wgs84_to_gcj02,
    wgs84_to_gcj02,
)
from .distance import (
    default_all_touched,
    distance_array,
    distance_tile,
    distance_to,
    features_from_codes,
    features_from_vector,
    halo_cells,
    within_distance,
)
from .errors import (
    ConfigError,
    CRSError,
    CRSMismatchError,
    GridMismatchError,
    LayerIOError,
    MemoryBudgetError,
    NoOverlapError,
    OutputExistsError,
    SxplanError,
    UnknownCodeError,
)
from .grid import ALBERS_CHINA, GridSpec
from .io import (
    AlignedLayer,
    RasterTileWriter,
    atomic_path,
    file_sha256,
    write_csv,
    write_gpkg,
    write_gpkg_layers,
    write_raster,
)
from .landcover import COMMON_CLASSES, SCHEMES, to_common
from .specs import RasterLayerSpec, VectorLayerSpec, parse_layer_spec
from .stack import LayerStack, build_stack
from .terrain import (
    DerivedSlopeLayer,
    grid_north_offset_deg,
    horn_gradient,
    horn_slope_aspect,
    slope_aspect,
    slope_pct_layer,
    steeper_than,
)
from .vector import burn_tile, load_vector, rasterize
from .windows import DEFAULT_MEM_LIMIT_MB, Tile, plan_tiles, run_tiles

__all__ = [
    "ALBERS_CHINA",
    "COMMON_CLASSES",
    "CRSError",
    "CRSMismatchError",
    "ConfigError",
    "DEFAULT_MEM_LIMIT_MB",
    "DerivedSlopeLayer",
    "AlignedLayer",
    "GridMismatchError",
    "GridSpec",
    "LayerIOError",
    "LayerStack",
    "MemoryBudgetError",
    "NoOverlapError",
    "OutputExistsError",
    "RasterLayerSpec",
    "RasterTileWriter",
    "SCHEMES",
    "SxplanError",
    "Tile",
    "UnknownCodeError",
    "VectorLayerSpec",
    "align_raster",
    "atomic_path",
    "build_stack",
    "burn_tile",
    "choose_resampling",
    "default_all_touched",
    "distance_array",
    "distance_tile",
    "distance_to",
    "features_from_codes",
    "features_from_vector",
    "file_sha256",
    "gcj02_to_wgs84",
    "gdf_gcj02_to_wgs84",
    "geometry_gcj02_to_wgs84",
    "geometry_wgs84_to_gcj02",
    "grid_north_offset_deg",
    "halo_cells",
    "horn_gradient",
    "horn_slope_aspect",
    "load_vector",
    "parse_layer_spec",
    "plan_tiles",
    "rasterize",
    "run_tiles",
    "slope_aspect",
    "slope_pct_layer",
    "steeper_than",
    "to_common",
    "wgs84_to_gcj02",
    "within_distance",
    "write_csv",
    "write_gpkg",
    "write_gpkg_layers",
    "write_raster",
]
