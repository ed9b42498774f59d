"""sxplan.layers: load and validate inputs, align them to one analysis grid, derive layers.

One module per operation: ``specs`` (layer specs from the config), ``grid`` (the frozen
:class:`~sxplan.layers.grid.GridSpec`), ``io`` and ``align`` (aligned GeoTIFFs; a land-cover
layer carries the class scheme its spec declares, checked against its codes), ``vector``,
``datum`` (GCJ-02), ``terrain``, ``distance``, ``landcover`` (schemes to common classes),
``counties`` (the county layer, validated once per run), ``budget`` (the one
:class:`~sxplan.layers.budget.Budget` that turns ``mem_limit_mb`` into tile, warp and cache
sizes), ``windows`` (tiles within the budget, run sync, on threads or on Dask), ``stack`` and
``tables``. Errors come from :mod:`sxplan.errors`.

Importing ``sxplan.layers`` is cheap: each public name loads its module on first use.

Inputs: raster and vector files described by layer specs.
Outputs: :class:`~sxplan.layers.io.AlignedLayer` objects on one grid, written as tiled,
compressed GeoTIFFs; derived slope, aspect, distance and land-cover layers.
"""

from __future__ import annotations

from sxplan._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "align": ["align_raster", "choose_resampling"],
        "counties": ["require_validated_counties", "validate_counties"],
        "budget": ["DEFAULT_MEM_LIMIT_MB", "Budget"],
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
        "atomic": ["atomic_path", "file_sha256", "write_text"],
        "io": [
            "AlignedLayer",
            "RasterTileWriter",
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
            "slope_deg_layer",
            "slope_pct_layer",
            "steeper_than",
        ],
        "vector": ["burn_tile", "load_vector", "rasterize"],
        "windows": ["Tile", "plan_tiles", "run_tiles"],
    },
)
