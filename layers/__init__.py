"""layers: load and validate inputs, align them to one analysis grid, derive layers.

Inputs: raster and vector files described by layer specs.
Outputs: :class:`~sxplan.layers.io.AlignedLayer` objects on one
:class:`~sxplan.layers.grid.GridSpec`,
written as tiled, compressed GeoTIFFs; derived slope, aspect, distance and land-cover layers.
"""

from __future__ import annotations

from sxplan._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "align": ["align_raster", "choose_resampling"],
        "counties": ["require_validated_counties", "validate_counties"],
        "budget": ["Budget"],
        "datum": [
            "gcj02_to_wgs84",
            "gdf_gcj02_to_wgs84",
            "geometry_gcj02_to_wgs84",
            "geometry_wgs84_to_gcj02",
            "wgs84_to_gcj02",
        ],
        "distance": [
            "default_all_touched",
            "distance_array",
            "distance_tile",
            "distance_to",
            "features_from_codes",
            "features_from_vector",
            "halo_cells",
            "within_distance",
        ],
        "grid": ["ALBERS_CHINA", "GridSpec"],
        "io": [
            "AlignedLayer",
            "RasterTileWriter",
            "atomic_path",
            "file_sha256",
            "write_csv",
            "write_gpkg",
            "write_gpkg_layers",
            "write_raster",
        ],
        "landcover": ["COMMON_CLASSES", "SCHEMES", "scheme_of", "to_common"],
        "specs": ["RasterLayerSpec", "VectorLayerSpec", "parse_layer_spec"],
        "stack": ["LayerStack", "build_stack"],
        "terrain": [
            "DerivedSlopeLayer",
            "grid_north_offset_deg",
            "horn_gradient",
            "horn_slope_aspect",
            "slope_aspect",
            "slope_pct_layer",
            "steeper_than",
        ],
        "vector": ["burn_tile", "load_vector", "rasterize"],
        "windows": ["DEFAULT_MEM_LIMIT_MB", "Tile", "plan_tiles", "run_tiles"],
    },
)
