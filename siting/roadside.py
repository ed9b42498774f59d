"""Roadside PV: candidate verge strips along highways, with capacity, energy and a score.

The Shanxi plan asks to "make full use of highway slopes and roadside land for distributed PV".
This module cuts the selected highways into segments, lays a verge strip on each side of each
segment, reads the terrain and solar resource along it, removes excluded land, and estimates
capacity, annual energy and a ranking score per segment and side.

Model
-----
*Roads.* Lines whose class attribute (first of ``class_fields`` present, e.g. OSM ``highway``
or a ``class`` column) is in ``road_classes`` (default ``motorway``, ``trunk``; OSM ``*_link``
ramps are not included unless listed). Roads are split at county boundaries, then cut into
equal segments no longer than ``segment_length_m``. Tunnels and bridges come from ``tunnel`` /
``bridge`` attributes (OSM ``yes``, ``viaduct``, ``building_passage`` ... all count). A one-way
line (OSM ``oneway=yes``) is one carriageway of a dual carriageway, so only its outer side, the
right of the direction of travel in China (left for ``oneway=-1``), gets a strip.

*Strips.* On each side, the strip runs from ``offset_m`` to ``offset_m + strip_width_m`` from
the centreline (single-sided buffers), so a straight segment gives a rectangle of area
``length x strip_width_m``. Strip area inside any other road's right-of-way (``offset_m``), or
already claimed by an earlier strip (parallel roads, junctions, inner sides of bends), is
removed so no land is counted twice.

*Directions.* Every azimuth is in degrees clockwise from *true* north: a bearing measured on the
grid is corrected by the meridian convergence (about -5 degrees at 114 E in the Albers grid).
``toward_road_azimuth_deg`` is the direction from the strip to the road, the segment bearing
+90 degrees for the left strip and -90 for the right strip, so on an east-west road the north
strip's is 180 (south) and the south strip's is 0 (north); on a north-south road the strips'
are 90 and 270.

*Terrain and panel orientation.* DEM cross-profiles at every station (about every
``sample_spacing_m``) run from the centreline (0 m) outward to the strip's outer edge, but at
least two DEM cells, and a least-squares fit gives the ``cross_slope_deg`` (positive when the
ground rises away from the road). With ``flat_max_cross_slope_deg`` as threshold:

- ``cut`` (ground rises away from the road): the slope faces the road; panels lie on it,
  facing ``toward_road_azimuth_deg``.
- ``embankment`` (ground falls away): the slope faces away from the road; panels face
  ``toward_road_azimuth_deg + 180``.
- ``flat`` (or no DEM data, ``unknown``): panels on low racks at ``flat_panel_tilt_deg``, facing
  the road by default (``flat_facing: toward_road``), the usual layout of verge and slope PV
  within the right-of-way and the convention of the known-answer tests (north strip of an
  east-west road faces south). ``flat_facing: south`` turns every flat strip due south.

On slopes the tilt is the DEM cross-slope clipped to ``[min_panel_tilt_deg,
max_panel_tilt_deg]``, or ``slope_panel_tilt_deg`` when set (DEMs of 30 m or coarser smooth a
10 m engineered slope of 1:1.5, i.e. 33.7 degrees, into a gentle one). ``relief_m`` is the
elevation range over the strip's profiles. ``horizon_deg`` is the highest terrain elevation
angle seen from the strip in the panel's facing direction out to ``horizon_distance_m``.

*Exclusions* (each strip keeps the area every rule removed, applied in this order): tunnel,
bridge, overlap (other roads' right-of-way, strips counted already), each vector layer of
``exclusion_layers`` (default ecological red lines and water), land-cover classes
``excluded_landcover`` (default built-up and water; the share of stations on those classes),
and strips whose remaining length is under ``min_strip_length_m`` (``short``).

*Capacity.* ``panel_area_km2 = usable_area_km2 x usable_share`` and ``capacity_mw =
panel_area_km2 x density_mw_per_km2``. Default density 150 MW per km2 of panel area: the
Guangxi highway-slope assessment (Sci. Rep. 16:3249, 2026) reports 155.93 MW on 0.989 km2 of
installable slope panel area (158 MW/km2), within the 100-160 MW/km2 reported for highway-slope
projects, and below the ~210 W/m2 STC power density of current 545 W, 2.56 m2 modules because
panels on slopes leave gaps. Default ``usable_share`` 0.7 (drainage ditches, berms, signs,
sight-distance zones and maintenance access; a planning assumption, calibrate locally).

*Energy.* ``ratio = POA / GHI`` for the strip's tilt, azimuth and horizon from
:mod:`sxplan.siting._roadside_solar` (pvlib clear-sky shape, Bendt daily-clearness mix, Erbs,
Perez).
With a ``pv_yield`` layer (specific yield in kWh/kWp/yr of a reference system, default south at
the optimal tilt), ``specific_yield = pv_yield x ratio(strip) / ratio(reference)``; without it
``specific_yield = GHI x ratio x performance_ratio`` (default 0.80: IEC 61724-1 performance
ratio; PVWatts default 14 % system losses plus temperature losses give 0.75-0.85).
``energy_gwh_per_yr = capacity_mw x specific_yield / 1000``.

*Score* in [0, 1], zero where no capacity: a weighted mean of orientation
(``ratio`` unshaded over that of the optimal south-facing tilt), shading (shaded over unshaded
ratio), resource (GHI mapped linearly over ``ghi_score_range_kwh_m2_yr``) and, when a layer of
grid connection points is configured, grid (1 at a point, 0 at ``grid_max_distance_km``).

Inputs: highway lines, the run grid, aligned rasters ``dem`` (m), ``ghi`` (kWh/m2/yr),
optional ``pv_yield`` (kWh/kWp/yr) and ``landcover`` (codes of the scheme declared on the
layer), exclusion polygons, counties validated by the layers step (``adcode``, ``name``,
``prefecture``, ``prefecture_adcode``), all vectors in the grid CRS. Outputs:
``roadside_pv_segments.gpkg`` (layer ``roadside_pv_segments``, one strip polygon per segment
and side, grid CRS, all attributes) and ``roadside_pv.csv`` (per road, per
county and province rows, UTF-8 with BOM), plus shortlist rows returned to the caller. File,
layer and column names are those of :mod:`sxplan.schema` (``roadside.segments``,
``roadside.summary``).

Code: settings in :mod:`~sxplan.siting.roadside_config`, roads, segments, strips and terrain in
:mod:`~sxplan.siting._roadside_strips`, exclusions, energy and score in
:mod:`~sxplan.siting._roadside_assess`, capacity and energy of the technology in
:mod:`~sxplan.siting.tech_roadside_pv`, summaries and shortlist rows in
:mod:`~sxplan.siting.roadside_summary`; this module states the order of the steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from sxplan.errors import ConfigError
from sxplan.layers.counties import require_validated_counties
from sxplan.layers.tables import round_for_csv
from sxplan.schema import dataset

from ._roadside_assess import apply_exclusions, resource_energy, score_strips
from ._roadside_solar import clear_caches
from ._roadside_strips import (
    make_segments,
    make_strips,
    require_crs,
    select_roads,
    strip_terrain,
)
from .economics_roadside import add_roadside_economics
from .roadside_config import COUNTY_COLUMNS, RoadsidePVConfig, RoadsideScoreWeights
from .roadside_summary import shortlist_rows, summarize_roadside, summary_table

__all__ = [
    "COUNTY_COLUMNS",
    "RoadsidePVConfig",
    "RoadsidePVResult",
    "RoadsideScoreWeights",
    "run_roadside_pv",
    "select_roads",
    "summarize_roadside",
]

_SEGMENTS = dataset("roadside.segments")
_SUMMARY = dataset("roadside.summary")
SEGMENTS_FILE = Path(_SEGMENTS.relpath()).name  # roadside_pv_segments.gpkg
SEGMENTS_LAYER = _SEGMENTS.layer_name()  # roadside_pv_segments
SUMMARY_FILE = Path(_SUMMARY.relpath()).name  # roadside_pv.csv


@dataclass
class RoadsidePVResult:
    """What :func:`run_roadside_pv` returns.

    Attributes
    ----------
    segments : geopandas.GeoDataFrame
        One strip polygon per segment and side, grid CRS, all attributes.
    by_road, by_county : pandas.DataFrame
        Summaries (``road_km``, ``usable_strip_km``, ``capacity_mw``, ``energy_gwh_per_yr``).
    province : dict
        Province totals and the target comparison (``target_mw``, ``target_share_pct``).
    shortlist : geopandas.GeoDataFrame
        Rows for the siting shortlist (tech ``roadside_pv``) with county columns.
    paths : dict
        ``{"segments": Path, "summary": Path}``.
    """

    segments: gpd.GeoDataFrame
    by_road: pd.DataFrame
    by_county: pd.DataFrame
    province: dict
    shortlist: gpd.GeoDataFrame
    paths: dict = field(default_factory=dict)


def run_roadside_pv(
    roads: gpd.GeoDataFrame,
    *,
    grid,
    rasters: dict,
    vectors: dict,
    counties: gpd.GeoDataFrame,
    config: RoadsidePVConfig,
    out_dir,
    economics=None,
) -> RoadsidePVResult:
    """Find roadside PV strips, estimate capacity and energy, write the outputs.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame
        Highway lines in the grid CRS (OSM-style attributes welcome); not modified.
    grid : layers.grid.GridSpec
        The run's analysis grid.
    rasters : dict of str to layers.io.AlignedLayer
        Needs ``config.dem_layer`` and ``config.ghi_layer``; uses ``pv_yield_layer`` and
        ``landcover_layer`` when present.
    vectors : dict of str to geopandas.GeoDataFrame
        Exclusion polygons named in ``config.exclusion_layers`` and, optionally, the grid
        connection points of ``config.grid_points_layer``; grid CRS.
    counties : geopandas.GeoDataFrame
        County polygons with ``adcode``, ``name``, ``prefecture``, ``prefecture_adcode``.
    config : RoadsidePVConfig
        The ``roadside_pv:`` section.
    out_dir : str or pathlib.Path
        Folder for ``roadside_pv_segments.gpkg`` and ``roadside_pv.csv`` (created if needed).
    economics : sxplan.siting.economics_roadside.EconomicsInputs, optional
        Grid, layers and ``siting:`` config: with ``siting.economics`` set, strips get grid
        connection and LCOE columns and ``supply_curves_roadside_pv.csv`` is written.

    Returns
    -------
    RoadsidePVResult

    Raises
    ------
    ConfigError
        A required layer is missing or a field is wrong.
    CRSMismatchError
        A vector is not in the grid CRS.
    GridMismatchError
        A raster is not on the run grid.
    NoOverlapError
        No selected road lies in the counties.
    """
    from sxplan.layers.io import write_csv, write_gpkg

    cfg = config
    _check_inputs(roads, grid, rasters, vectors, counties, cfg)
    from sxplan.layers.progress import progress_bar

    bar = progress_bar(6, "roadside PV", unit="phase")
    bar.set_postfix_str("segments")
    segs = make_segments(roads, counties, grid, cfg)
    bar.update(1)
    bar.set_postfix_str("strips")
    strips = make_strips(segs, cfg)
    bar.update(1)
    bar.set_postfix_str("terrain")
    strips, stations = strip_terrain(strips, segs, rasters[cfg.dem_layer], cfg)
    bar.update(1)
    seg_geoms = np.asarray(segs.geometry.values)
    bar.set_postfix_str("exclusions")
    strips = apply_exclusions(strips, seg_geoms, stations, rasters, vectors, cfg)
    bar.update(1)
    bar.set_postfix_str("resource")
    try:
        strips = resource_energy(strips, stations, rasters, vectors, cfg)
    finally:  # the solar caches serve these strips only
        clear_caches()
    bar.update(1)
    strips = score_strips(strips, cfg, has_grid=cfg.grid_points_layer is not None)
    bar.update(1)
    bar.close()
    gdf = gpd.GeoDataFrame(strips.drop(columns=["usable_geom"]), geometry="geometry", crs=grid.crs)
    gdf = gdf.set_crs(grid.pyproj_crs, allow_override=True)
    by_road, by_county, province = summarize_roadside(gdf, cfg)
    shortlist = shortlist_rows(gdf, cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gdf, shortlist, econ_paths = add_roadside_economics(gdf, shortlist, economics, out)
    table = _SUMMARY.check(summary_table(by_road, by_county, province))
    seg_path = write_gpkg(_SEGMENTS.check(gdf), out / SEGMENTS_FILE, SEGMENTS_LAYER)
    csv_path = write_csv(round_for_csv(table), out / SUMMARY_FILE)
    paths = {"segments": seg_path, "summary": csv_path, **econ_paths}
    return RoadsidePVResult(gdf, by_road, by_county, province, shortlist, paths)


def _check_inputs(roads, grid, rasters, vectors, counties, cfg) -> None:
    require_crs(roads, grid, "the highway layer")
    require_validated_counties(counties, grid, who="roadside_pv")
    for name, what in [(cfg.dem_layer, "dem_layer"), (cfg.ghi_layer, "ghi_layer")]:
        if name not in rasters:
            raise ConfigError(
                f"roadside_pv: raster '{name}' (`roadside_pv.{what}`) is not among the run's "
                f"layers {sorted(rasters)}; add it to `layers:` or set `{what}`"
            )
    for name, layer in rasters.items():
        grid.require_same(layer.grid, f"layer '{name}' ({layer.path})")
    for name in cfg.exclusion_layers:
        if name not in vectors:
            raise ConfigError(
                f"roadside_pv: exclusion layer '{name}' is not among the run's vectors "
                f"{sorted(vectors)}; add it or remove it from `roadside_pv.exclusion_layers`"
            )
        require_crs(vectors[name], grid, f"vector '{name}'")
    if cfg.grid_points_layer is not None:
        if cfg.grid_points_layer not in vectors:
            raise ConfigError(
                f"roadside_pv: grid points layer '{cfg.grid_points_layer}' is not among the run's "
                f"vectors {sorted(vectors)}; add it or set `grid_points_layer: null`"
            )
        require_crs(vectors[cfg.grid_points_layer], grid, f"vector '{cfg.grid_points_layer}'")
