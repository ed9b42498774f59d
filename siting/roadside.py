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
optional ``pv_yield`` (kWh/kWp/yr) and ``landcover`` (codes of ``landcover_scheme``), exclusion
polygons, counties (``adcode``, ``name``, ``prefecture``, ``prefecture_adcode``), all vectors in
the grid CRS. Outputs: ``roadside_pv_segments.gpkg`` (layer ``roadside_pv_segments``, one strip
polygon per segment and side, grid CRS, all attributes) and ``roadside_pv.csv`` (per road, per
county and province rows, UTF-8 with BOM), plus shortlist rows returned to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import Field, model_validator
from pyproj import Transformer

from sxplan.errors import ConfigError, CRSMismatchError, NoOverlapError
from sxplan.layers.specs import StrictModel
from sxplan.layers.tables import round_for_csv

from ._roadside_geom import (
    compass_label,
    cut_lines,
    flag_values,
    grid_north_azimuth_deg,
    side_strips,
    station_points,
)
from ._roadside_sample import sample_layer
from ._roadside_solar import optimal_tilt_deg, poa_ratio

__all__ = [
    "COUNTY_COLUMNS",
    "RoadsidePVConfig",
    "RoadsidePVResult",
    "RoadsideScoreWeights",
    "run_roadside_pv",
    "select_roads",
    "summarize_roadside",
]

#: County attributes carried by every output row (the run-folder contract).
COUNTY_COLUMNS = ["adcode", "name", "prefecture", "prefecture_adcode"]

SEGMENTS_FILE = "roadside_pv_segments.gpkg"
SEGMENTS_LAYER = "roadside_pv_segments"
SUMMARY_FILE = "roadside_pv.csv"
_RULES = ["tunnel", "bridge", "overlap"]


class RoadsideScoreWeights(StrictModel):
    """Weights of the score components (normalised over the components present)."""

    orientation: float = Field(0.4, ge=0)
    shading: float = Field(0.2, ge=0)
    resource: float = Field(0.25, ge=0)
    grid: float = Field(0.15, ge=0)


class RoadsidePVConfig(StrictModel):
    """The ``roadside_pv:`` section of a project config.

    Every length is in metres, every angle in degrees, densities in MW per km2 of panel area.
    See the module docstring for the model and the sources of the defaults.
    """

    road_classes: list[str] = Field(default_factory=lambda: ["motorway", "trunk"])
    class_fields: list[str] = Field(default_factory=lambda: ["class", "highway", "fclass"])
    segment_length_m: float = Field(1000.0, gt=0)
    offset_m: float = Field(15.0, ge=0)
    strip_width_m: float = Field(10.0, gt=0)
    oneway_outer_side_only: bool = True
    density_mw_per_km2: float = Field(150.0, gt=0)
    usable_share: float = Field(0.7, gt=0, le=1)
    min_strip_length_m: float = Field(100.0, ge=0)
    sample_spacing_m: float = Field(100.0, gt=0)
    flat_max_cross_slope_deg: float = Field(3.0, ge=0, lt=90)
    flat_facing: Literal["toward_road", "south"] = "toward_road"
    flat_panel_tilt_deg: float = Field(25.0, ge=0, le=90)
    slope_panel_tilt_deg: float | None = Field(None, ge=0, le=90)
    min_panel_tilt_deg: float = Field(5.0, ge=0, le=90)
    max_panel_tilt_deg: float = Field(40.0, ge=0, le=90)
    horizon_distance_m: float = Field(1000.0, ge=0)
    albedo: float = Field(0.2, ge=0, le=1)
    transposition: Literal["perez", "haydavies"] = "perez"
    performance_ratio: float = Field(0.80, gt=0, le=1)
    pv_yield_reference_tilt_deg: float | None = Field(None, ge=0, le=90)
    pv_yield_reference_azimuth_deg: float = Field(180.0, ge=0, lt=360)
    dem_layer: str = "dem"
    ghi_layer: str = "ghi"
    pv_yield_layer: str | None = "pv_yield"
    landcover_layer: str | None = "landcover"
    landcover_scheme: str = "igbp"
    excluded_landcover: list[str] = Field(default_factory=lambda: ["built", "water"])
    exclusion_layers: list[str] = Field(default_factory=lambda: ["redline_proxy", "water"])
    grid_points_layer: str | None = None
    grid_max_distance_km: float = Field(20.0, gt=0)
    ghi_score_range_kwh_m2_yr: tuple[float, float] = (1200.0, 1700.0)
    score_weights: RoadsideScoreWeights = Field(default_factory=RoadsideScoreWeights)
    shortlist_min_score: float = Field(0.5, ge=0, le=1)
    shortlist_min_capacity_mw: float = Field(0.5, ge=0)
    shortlist_max_rows: int = Field(200, ge=0)
    target_mw: float | None = Field(None, gt=0)
    target_year: int | None = None

    @model_validator(mode="after")
    def _check(self) -> RoadsidePVConfig:
        lo, hi = self.ghi_score_range_kwh_m2_yr
        if not hi > lo:
            raise ValueError(
                f"ghi_score_range_kwh_m2_yr must be (low, high) with high > low, got {(lo, hi)}"
            )
        if self.min_panel_tilt_deg > self.max_panel_tilt_deg:
            raise ValueError(
                f"min_panel_tilt_deg ({self.min_panel_tilt_deg}) exceeds max_panel_tilt_deg "
                f"({self.max_panel_tilt_deg})"
            )
        from sxplan.layers.landcover import COMMON_CLASSES, SCHEMES

        if self.landcover_scheme not in SCHEMES:
            raise ValueError(
                f"landcover_scheme '{self.landcover_scheme}' is not known; use one of "
                f"{sorted(SCHEMES)}"
            )
        bad = [c for c in self.excluded_landcover if c not in COMMON_CLASSES]
        if bad:
            raise ValueError(
                f"excluded_landcover names {bad}, which are not common classes; use names from "
                f"{list(COMMON_CLASSES)}"
            )
        return self


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


# --------------------------------------------------------------------------------------------
# Roads
# --------------------------------------------------------------------------------------------
def _first_column(gdf, names):
    for n in names:
        if n in gdf.columns:
            return n
    return None


def select_roads(roads: gpd.GeoDataFrame, config: RoadsidePVConfig) -> gpd.GeoDataFrame:
    """Select highway lines and normalise their attributes.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame
        Road lines (OSM-style or any line layer); not modified.
    config : RoadsidePVConfig
        ``road_classes`` and ``class_fields`` choose the roads (an empty ``road_classes``
        keeps every line).

    Returns
    -------
    geopandas.GeoDataFrame
        Single-part lines with ``road_id`` (row of the input), ``road_ref``, ``road_name``,
        ``road_class``, ``tunnel``, ``bridge`` (bool) and ``oneway`` (+1, -1 or 0).

    Raises
    ------
    ConfigError
        When no class field is present, or no line has a selected class.
    """
    gdf = roads.reset_index(drop=True)
    geom_types = set(gdf.geometry.geom_type.dropna().unique())
    if not geom_types <= {"LineString", "MultiLineString"}:
        raise ConfigError(
            f"roadside_pv: the highway layer must hold lines, got geometry types "
            f"{sorted(geom_types)}; pass a line GeoPackage/Shapefile/GeoJSON"
        )
    class_col = _first_column(gdf, config.class_fields)
    if config.road_classes:
        if class_col is None:
            raise ConfigError(
                f"roadside_pv: the highway layer has none of the class fields "
                f"{config.class_fields} (its fields: "
                f"{sorted(c for c in gdf.columns if c != 'geometry')}); set "
                "`roadside_pv.class_fields` to the field holding road classes, or set "
                "`road_classes: []` to use every line"
            )
        values = gdf[class_col].astype("string").str.strip().str.lower()
        wanted = {c.lower() for c in config.road_classes}
        keep = values.isin(wanted).fillna(False).to_numpy(dtype=bool)
        if not keep.any():
            found = sorted(values.dropna().unique())[:15]
            raise ConfigError(
                f"roadside_pv: no line of the highway layer has {class_col} in "
                f"{config.road_classes}; values found: {found}; set `roadside_pv.road_classes`"
            )
    else:
        keep = np.ones(len(gdf), dtype=bool)
    n = len(gdf)

    def col(names, default):
        c = _first_column(gdf, names)
        return gdf[c] if c is not None else pd.Series([default] * n, index=gdf.index)

    ref = col(["ref", "road_ref"], None).astype("string")
    name = col(["name_zh", "name", "name_en"], None).astype("string")
    oneway_raw = col(["oneway"], "no").astype("string").fillna("").str.strip().str.lower()
    oneway = np.where(oneway_raw == "-1", -1, np.where(flag_values(oneway_raw), 1, 0))
    out = gpd.GeoDataFrame(
        {
            "road_id": np.arange(n),
            "road_ref": ref.fillna("").to_numpy(dtype=object),
            "road_name": name.fillna("").to_numpy(dtype=object),
            "road_class": (
                gdf[class_col].astype("string").fillna("").to_numpy(dtype=object)
                if class_col
                else np.full(n, "", dtype=object)
            ),
            "tunnel": flag_values(col(["tunnel"], "no")),
            "bridge": flag_values(col(["bridge"], "no")),
            "oneway": oneway.astype("int8"),
        },
        geometry=gdf.geometry.values,
        crs=gdf.crs,
    )[keep]
    out = out[~(out.geometry.isna() | out.geometry.is_empty)]
    out = out.explode(index_parts=False, ignore_index=True)
    return out[out.geometry.geom_type == "LineString"].reset_index(drop=True)


def _require_crs(gdf, grid, what: str) -> None:
    if gdf.crs is None:
        raise CRSMismatchError(
            f"roadside_pv: {what} has no CRS; load it with sxplan.layers.load_vector(..., grid)"
        )
    if not gdf.crs.equals(grid.pyproj_crs):
        raise CRSMismatchError(
            f"roadside_pv: {what} is in {gdf.crs.name!r} but the run grid is in "
            f"{grid.pyproj_crs.name!r}; reproject it to the grid CRS first "
            "(sxplan.layers.load_vector(..., grid) does this)"
        )


def _split_by_county(roads: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    cty = counties[COUNTY_COLUMNS + ["geometry"]].copy()
    cty["geometry"] = shapely.make_valid(cty.geometry.values)
    pieces = gpd.overlay(roads, cty, how="intersection", keep_geom_type=True)
    if pieces.empty:
        raise NoOverlapError(
            "roadside_pv: no selected highway lies inside the counties layer; check both are in "
            "the grid CRS and cover the same area"
        )
    pieces = pieces.explode(index_parts=False, ignore_index=True)
    pieces = pieces[pieces.geometry.geom_type == "LineString"]
    pieces["geometry"] = shapely.line_merge(pieces.geometry.values)
    pieces = pieces.explode(index_parts=False, ignore_index=True)
    return pieces.sort_values(["road_id", "adcode"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Exclusions
# --------------------------------------------------------------------------------------------
def _subtract(usable: np.ndarray, others: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Remove from each ``usable[i]`` the union of ``others[j]`` for pairs ``(i, j)``."""
    out = usable.copy()
    if pairs.shape[1] == 0:
        return out
    order = np.argsort(pairs[0], kind="stable")
    si, oj = pairs[0][order], pairs[1][order]
    pieces = shapely.intersection(usable[si], others[oj])
    bounds = np.flatnonzero(np.diff(np.concatenate([[-1], si, [si.size and si[-1] + 1]])))
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        i = si[a]
        cut = shapely.union_all(pieces[a:b])
        if not shapely.is_empty(cut) and shapely.area(cut) > 0:
            out[i] = shapely.difference(out[i], cut)
    return out


def _vector_exclusion(usable, gdf, name):
    geoms = shapely.make_valid(np.asarray(gdf.geometry.values))
    polys = geoms[np.isin(shapely.get_type_id(geoms), [3, 6, 7])]
    if polys.size == 0:
        return usable
    tree = shapely.STRtree(polys)
    pairs = tree.query(usable, predicate="intersects")
    return _subtract(usable, polys, pairs)


# --------------------------------------------------------------------------------------------
# The stage
# --------------------------------------------------------------------------------------------
def run_roadside_pv(
    roads: gpd.GeoDataFrame,
    *,
    grid,
    rasters: dict,
    vectors: dict,
    counties: gpd.GeoDataFrame,
    config: RoadsidePVConfig,
    out_dir,
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
    segs = _segments(roads, counties, grid, cfg)
    strips = _strips(segs, cfg)
    strips, stations = _terrain(strips, segs, rasters[cfg.dem_layer], cfg)
    strips = _exclusions(strips, np.asarray(segs.geometry.values), stations, rasters, vectors, cfg)
    strips = _resource_energy(strips, stations, rasters, vectors, cfg)
    strips = _score(strips, cfg, has_grid=cfg.grid_points_layer is not None)
    gdf = gpd.GeoDataFrame(strips.drop(columns=["usable_geom"]), geometry="geometry", crs=grid.crs)
    gdf = gdf.set_crs(grid.pyproj_crs, allow_override=True)
    by_road, by_county, province = summarize_roadside(gdf, cfg)
    shortlist = _shortlist(gdf, cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = _summary_table(by_road, by_county, province)
    seg_path = write_gpkg(gdf, out / SEGMENTS_FILE, SEGMENTS_LAYER)
    csv_path = write_csv(round_for_csv(table), out / SUMMARY_FILE)
    return RoadsidePVResult(
        gdf, by_road, by_county, province, shortlist, {"segments": seg_path, "summary": csv_path}
    )


def _check_inputs(roads, grid, rasters, vectors, counties, cfg) -> None:
    _require_crs(roads, grid, "the highway layer")
    _require_crs(counties, grid, "the counties layer")
    missing = [c for c in COUNTY_COLUMNS if c not in counties.columns]
    if missing:
        raise ConfigError(
            f"roadside_pv: the counties layer lacks columns {missing}; it needs "
            f"{COUNTY_COLUMNS} (adcode as 6-digit int, Chinese names)"
        )
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
        _require_crs(vectors[name], grid, f"vector '{name}'")
    if cfg.grid_points_layer is not None:
        if cfg.grid_points_layer not in vectors:
            raise ConfigError(
                f"roadside_pv: grid points layer '{cfg.grid_points_layer}' is not among the run's "
                f"vectors {sorted(vectors)}; add it or set `grid_points_layer: null`"
            )
        _require_crs(vectors[cfg.grid_points_layer], grid, f"vector '{cfg.grid_points_layer}'")


def _segments(roads, counties, grid, cfg) -> gpd.GeoDataFrame:
    sel = select_roads(roads, cfg)
    pieces = _split_by_county(sel, counties)
    lines = np.asarray(pieces.geometry.values)
    seg_geoms, parent, number = cut_lines(lines, cfg.segment_length_m)
    segs = pieces.drop(columns="geometry").iloc[parent].reset_index(drop=True)
    segs["piece"] = parent
    segs["segment_no"] = number
    segs = gpd.GeoDataFrame(segs, geometry=seg_geoms, crs=pieces.crs)
    start = shapely.get_coordinates(shapely.get_point(seg_geoms, 0))
    end = shapely.get_coordinates(shapely.get_point(seg_geoms, -1))
    mid = shapely.get_coordinates(shapely.line_interpolate_point(seg_geoms, 0.5, normalized=True))
    gn = grid_north_azimuth_deg(mid[:, 0], mid[:, 1], grid.pyproj_crs)
    grid_bearing = np.degrees(np.arctan2(end[:, 0] - start[:, 0], end[:, 1] - start[:, 1]))
    segs["segment_length_m"] = shapely.length(seg_geoms)
    segs["bearing_deg"] = np.mod(grid_bearing - gn, 360.0)
    segs["grid_north_deg"] = gn
    lon, lat = Transformer.from_crs(grid.pyproj_crs, "EPSG:4326", always_xy=True).transform(
        mid[:, 0], mid[:, 1]
    )
    segs["lon"], segs["lat"] = lon, lat
    return segs


def _strips(segs: gpd.GeoDataFrame, cfg) -> pd.DataFrame:
    geoms = np.asarray(segs.geometry.values)
    frames = []
    for side, name in [(1, "left"), (-1, "right")]:
        df = pd.DataFrame(segs.drop(columns="geometry"))
        df["seg_index"] = np.arange(len(segs))
        df["side"] = name
        df["side_sign"] = side
        df["geometry"] = side_strips(geoms, cfg.offset_m, cfg.strip_width_m, side)
        # Direction from the strip to the road: bearing + 90 on the left, - 90 on the right.
        df["toward_road_azimuth_deg"] = np.mod(df["bearing_deg"] + 90.0 * side, 360.0)
        df["side_compass"] = compass_label(df["toward_road_azimuth_deg"] + 180.0)
        if cfg.oneway_outer_side_only:
            # Outer verge of a one-way carriageway: right of travel (left when oneway=-1).
            outer = np.where(df["oneway"] == 0, True, df["oneway"] == -side)
            df = df[outer]
        frames.append(df)
    strips = pd.concat(frames, ignore_index=True)
    strips = strips.sort_values(["seg_index", "side_sign"], ascending=[True, False], kind="stable")
    strips = strips.reset_index(drop=True)
    strips["strip_width_m"] = cfg.strip_width_m
    strips["strip_area_km2"] = shapely.area(strips["geometry"].to_numpy()) / 1e6
    ref = strips["road_ref"].where(strips["road_ref"] != "", "road" + strips["road_id"].astype(str))
    strips["strip_id"] = (
        ref
        + "-"
        + strips["adcode"].astype(str)
        + "-"
        + strips["piece"].astype(str)
        + "."
        + strips["segment_no"].astype(str).str.zfill(3)
        + "-"
        + strips["side_compass"]
    )
    return strips


def _terrain(strips: pd.DataFrame, segs, dem, cfg) -> pd.DataFrame:
    seg_geoms = np.asarray(segs.geometry.values)
    st_seg, sx, sy, ux, uy = station_points(seg_geoms, cfg.sample_spacing_m)
    # Stations of each strip: stations of its segment, on its side.
    counts = np.bincount(st_seg, minlength=len(segs))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    seg_idx = strips["seg_index"].to_numpy()
    side = strips["side_sign"].to_numpy().astype(float)
    n_st = counts[seg_idx]
    strip_of = np.repeat(np.arange(len(strips)), n_st)
    st = np.repeat(starts[seg_idx], n_st) + (
        np.arange(n_st.sum()) - np.repeat(np.cumsum(n_st) - n_st, n_st)
    )
    s = side[strip_of]
    nx, ny = -uy[st] * s, ux[st] * s  # unit normal from the road toward the strip (grid)
    px, py = sx[st], sy[st]
    res = dem.grid.res
    d_out = max(cfg.offset_m + cfg.strip_width_m, 2.0 * res)
    dists = np.linspace(0.0, d_out, 5)
    z = sample_layer(
        dem,
        (px[:, None] + nx[:, None] * dists).ravel(),
        (py[:, None] + ny[:, None] * dists).ravel(),
    ).reshape(-1, dists.size)
    ok = np.isfinite(z)
    cnt = ok.sum(axis=1)
    dd = np.where(ok, dists[None, :], 0.0)
    zz = np.where(ok, z, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        dmean = dd.sum(axis=1, keepdims=True) / cnt[:, None]
        zmean = zz.sum(axis=1, keepdims=True) / cnt[:, None]
        cov = np.where(ok, (dd - dmean) * (zz - zmean), 0.0).sum(axis=1)
        var = np.where(ok, (dd - dmean) ** 2, 0.0).sum(axis=1)
        grad = np.where((cnt >= 2) & (var > 0), cov / var, np.nan)
    n = len(strips)
    strips["cross_slope_deg"] = np.degrees(np.arctan(_group_mean(grad, strip_of, n)))
    zmax = _group_reduce(np.where(ok, z, -np.inf).max(axis=1), strip_of, n, np.maximum)
    zmin = _group_reduce(np.where(ok, z, np.inf).min(axis=1), strip_of, n, np.minimum)
    relief = zmax - zmin
    strips["relief_m"] = np.where(np.isfinite(relief), relief, np.nan)
    mid_off = cfg.offset_m + 0.5 * cfg.strip_width_m
    mx, my = px + nx * mid_off, py + ny * mid_off
    z0 = sample_layer(dem, mx, my)
    strips["elev_m"] = _group_mean(z0, strip_of, n)

    slope = strips["cross_slope_deg"].to_numpy()
    thr = cfg.flat_max_cross_slope_deg
    form = np.where(
        ~np.isfinite(slope),
        "unknown",
        np.where(slope >= thr, "cut", np.where(slope <= -thr, "embankment", "flat")),
    ).astype(object)
    if thr == 0:  # a zero threshold still calls an exactly level profile flat
        form = np.where(np.isfinite(slope) & (slope == 0), "flat", form).astype(object)
    toward = strips["toward_road_azimuth_deg"].to_numpy()
    on_slope = (form == "cut") | (form == "embankment")
    slope_tilt = (
        np.full(n, cfg.slope_panel_tilt_deg)
        if cfg.slope_panel_tilt_deg is not None
        else np.clip(np.abs(slope), cfg.min_panel_tilt_deg, cfg.max_panel_tilt_deg)
    )
    flat_az = toward if cfg.flat_facing == "toward_road" else np.full(n, 180.0)
    az = np.where(form == "cut", toward, np.where(form == "embankment", toward + 180.0, flat_az))
    strips["terrain_form"] = form
    strips["panel_tilt_deg"] = np.where(on_slope, slope_tilt, cfg.flat_panel_tilt_deg)
    strips["panel_azimuth_deg"] = np.mod(az, 360.0)
    strips["facing_compass"] = compass_label(strips["panel_azimuth_deg"])

    # Terrain horizon in the panel's facing direction, mean over the strip's stations.
    if cfg.horizon_distance_m > 0:
        hd = np.unique(
            np.clip(
                np.array([50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0]),
                res,
                cfg.horizon_distance_m,
            )
        )
        hd = hd[hd <= cfg.horizon_distance_m]
        if hd.size == 0:
            hd = np.array([cfg.horizon_distance_m])
        gaz = np.radians(
            strips["panel_azimuth_deg"].to_numpy()[strip_of]
            + segs["grid_north_deg"].to_numpy()[seg_idx][strip_of]
        )
        hx = mx[:, None] + np.sin(gaz)[:, None] * hd
        hy = my[:, None] + np.cos(gaz)[:, None] * hd
        zh = sample_layer(dem, hx.ravel(), hy.ravel()).reshape(-1, hd.size)
        with np.errstate(invalid="ignore"):
            ang = np.degrees(np.arctan((zh - z0[:, None]) / hd[None, :]))
        ang = np.where(np.isfinite(ang), ang, -90.0)
        hz = np.maximum(ang.max(axis=1), 0.0)
        hz = np.where(np.isfinite(z0), hz, np.nan)
        strips["horizon_deg"] = _group_mean(hz, strip_of, n)
    else:
        strips["horizon_deg"] = 0.0
    return strips, (strip_of, mx, my)


def _group_mean(values, groups, n):
    v = np.asarray(values, dtype="float64")
    ok = np.isfinite(v)
    s = np.bincount(groups[ok], weights=v[ok], minlength=n)
    c = np.bincount(groups[ok], minlength=n)
    with np.errstate(invalid="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1), np.nan)


def _group_reduce(values, groups, n, ufunc):
    init = -np.inf if ufunc is np.maximum else np.inf
    out = np.full(n, init)
    ufunc.at(out, groups, values)
    return np.where(np.isfinite(out), out, np.nan)


def _exclusions(strips: pd.DataFrame, seg_geoms, stations, rasters, vectors, cfg) -> pd.DataFrame:
    from sxplan.layers.landcover import COMMON_CLASSES, to_common

    geoms = strips["geometry"].to_numpy()
    usable = geoms.copy()
    area = shapely.area
    n = len(strips)
    tunnel = strips["tunnel"].to_numpy(dtype=bool)
    bridge = strips["bridge"].to_numpy(dtype=bool) & ~tunnel
    strips["excluded_tunnel_km2"] = np.where(tunnel, area(usable) / 1e6, 0.0)
    usable = np.where(tunnel, shapely.Polygon(), usable)
    strips["excluded_bridge_km2"] = np.where(bridge, area(usable) / 1e6, 0.0)
    usable = np.where(bridge, shapely.Polygon(), usable)

    # Overlap: other roads' right-of-way, and land an earlier strip already holds.
    before = area(usable)
    on_ground = ~(tunnel | strips["bridge"].to_numpy(dtype=bool))
    seg_idx = strips["seg_index"].to_numpy()
    # Right-of-way of every above-ground segment (buffer a hair inside the offset so a strip
    # does not lose slivers along its own inner edge).
    ground_seg = np.unique(seg_idx[on_ground])
    row = shapely.buffer(seg_geoms[ground_seg], max(cfg.offset_m - 0.01, 0.0))
    if cfg.offset_m > 0.01 and row.size:
        tree = shapely.STRtree(row)
        pairs = tree.query(usable, predicate="intersects")
        usable = _subtract(usable, row, pairs)
    claim_idx = np.flatnonzero(on_ground)
    if claim_idx.size:
        tree = shapely.STRtree(geoms[claim_idx])
        pairs = tree.query(usable, predicate="intersects")
        earlier = claim_idx[pairs[1]] < pairs[0]
        pairs = np.vstack([pairs[0][earlier], pairs[1][earlier]])
        usable = _subtract(usable, geoms[claim_idx], pairs)
    strips["excluded_overlap_km2"] = (before - area(usable)) / 1e6

    rule_cols = ["excluded_tunnel_km2", "excluded_bridge_km2", "excluded_overlap_km2"]
    for name in cfg.exclusion_layers:
        before = area(usable)
        usable = _vector_exclusion(usable, vectors[name], name)
        col = f"excluded_{name}_km2"
        strips[col] = np.maximum(before - area(usable), 0.0) / 1e6
        rule_cols.append(col)

    usable_km2 = area(usable) / 1e6
    share = np.zeros(n)
    lc_name = cfg.landcover_layer
    if lc_name is not None and lc_name in rasters and cfg.excluded_landcover:
        layer = rasters[lc_name]
        strip_of, mx, my = stations
        codes = sample_layer(layer, mx, my, method="nearest")
        valid = np.isfinite(codes)
        nodata = -1
        common = to_common(
            np.where(valid, codes, nodata).astype("int64"),
            cfg.landcover_scheme,
            nodata=nodata,
            what=f"layer '{lc_name}' ({layer.path})",
        )
        bad = np.isin(common, [COMMON_CLASSES[c] for c in cfg.excluded_landcover]) & valid
        nvalid = np.bincount(strip_of, weights=valid, minlength=n)
        nbad = np.bincount(strip_of, weights=bad, minlength=n)
        share = np.where(nvalid > 0, nbad / np.maximum(nvalid, 1), 0.0)
    strips["excluded_landcover_km2"] = usable_km2 * share
    rule_cols.append("excluded_landcover_km2")
    usable_km2 = usable_km2 * (1.0 - share)

    usable_km = usable_km2 * 1e6 / cfg.strip_width_m / 1000.0
    short = (usable_km * 1000.0 < cfg.min_strip_length_m) & (usable_km2 > 0)
    strips["excluded_short_km2"] = np.where(short, usable_km2, 0.0)
    rule_cols.append("excluded_short_km2")
    usable_km2 = np.where(short, 0.0, usable_km2)
    strips["usable_geom"] = usable
    strips["usable_area_km2"] = usable_km2
    strips["usable_strip_km"] = np.where(short, 0.0, usable_km)
    strips["excluded_by"] = _main_rule(strips[rule_cols].to_numpy(), rule_cols)
    strips["panel_area_km2"] = usable_km2 * cfg.usable_share
    strips["capacity_mw"] = strips["panel_area_km2"] * cfg.density_mw_per_km2
    return strips


def _main_rule(excluded: np.ndarray, cols: list[str]) -> np.ndarray:
    names = np.array([c[len("excluded_") : -len("_km2")] for c in cols] + [""], dtype=object)
    idx = np.where(excluded.max(axis=1) > 0, excluded.argmax(axis=1), len(cols))
    return names[idx]


def _resource_energy(strips: pd.DataFrame, stations, rasters, vectors, cfg) -> pd.DataFrame:
    n = len(strips)
    strip_of, mx, my = stations
    ghi = _group_mean(sample_layer(rasters[cfg.ghi_layer], mx, my), strip_of, n)
    strips["ghi_kwh_m2_yr"] = ghi
    lat, lon = strips["lat"].to_numpy(), strips["lon"].to_numpy()
    tilt = strips["panel_tilt_deg"].to_numpy()
    az = strips["panel_azimuth_deg"].to_numpy()
    hz = np.nan_to_num(strips["horizon_deg"].to_numpy(), nan=0.0)
    kw = {"albedo": cfg.albedo, "model": cfg.transposition}
    ratio = poa_ratio(lat, lon, ghi, tilt, az, hz, **kw)
    ratio_open = poa_ratio(lat, lon, ghi, tilt, az, 0.0, **kw)
    best = np.full(n, np.nan)
    best_tilt = np.full(n, np.nan)
    keys = pd.DataFrame(
        {
            "lat": np.round(lat / 0.5) * 0.5,
            "lon": np.round(lon / 0.5) * 0.5,
            "ghi": np.round(ghi / 25.0) * 25.0,
        }
    )
    for key, idx in keys.groupby(["lat", "lon", "ghi"]).indices.items():
        if not np.all(np.isfinite(key)):
            continue
        best_tilt[idx], best[idx] = optimal_tilt_deg(*key, **kw)
    strips["poa_ratio"] = ratio
    strips["poa_ratio_optimal"] = best
    strips["optimal_tilt_deg"] = best_tilt
    yl = cfg.pv_yield_layer
    if yl is not None and yl in rasters:
        pv_yield = _group_mean(sample_layer(rasters[yl], mx, my), strip_of, n)
        if cfg.pv_yield_reference_tilt_deg is None:
            ref = best
        else:
            ref = poa_ratio(
                lat,
                lon,
                ghi,
                cfg.pv_yield_reference_tilt_deg,
                cfg.pv_yield_reference_azimuth_deg,
                0.0,
                **kw,
            )
        strips["yield_correction"] = ratio / ref
        strips["specific_yield_kwh_per_kwp"] = pv_yield * ratio / ref
        strips["yield_source"] = yl
    else:
        strips["yield_correction"] = np.nan
        strips["specific_yield_kwh_per_kwp"] = ghi * ratio * cfg.performance_ratio
        strips["yield_source"] = f"{cfg.ghi_layer} x performance_ratio"
    strips["energy_gwh_per_yr"] = (
        strips["capacity_mw"] * strips["specific_yield_kwh_per_kwp"] / 1000.0
    )
    strips["shading_factor"] = ratio / ratio_open
    strips["orientation_factor"] = ratio_open / best
    if cfg.grid_points_layer is not None:
        pts = vectors[cfg.grid_points_layer]
        geoms = np.asarray(pts.geometry.values)
        tree = shapely.STRtree(geoms)
        centres = shapely.centroid(strips["geometry"].to_numpy())
        _, dist = tree.query_nearest(centres, return_distance=True, all_matches=False)
        strips["dist_grid_km"] = dist / 1000.0
    return strips


def _score(strips: pd.DataFrame, cfg, *, has_grid: bool) -> pd.DataFrame:
    w = cfg.score_weights
    lo, hi = cfg.ghi_score_range_kwh_m2_yr
    comps = {
        "orientation": (w.orientation, np.clip(strips["orientation_factor"], 0, 1)),
        "shading": (w.shading, np.clip(strips["shading_factor"], 0, 1)),
        "resource": (w.resource, np.clip((strips["ghi_kwh_m2_yr"] - lo) / (hi - lo), 0, 1)),
    }
    if has_grid:
        comps["grid"] = (
            w.grid,
            np.clip(1.0 - strips["dist_grid_km"] / cfg.grid_max_distance_km, 0, 1),
        )
    total_w = sum(v[0] for v in comps.values())
    if total_w <= 0:
        raise ConfigError("roadside_pv.score_weights: at least one used weight must be > 0")
    score = sum(v[0] * np.asarray(v[1], dtype="float64") for v in comps.values()) / total_w
    for k, (_, v) in comps.items():
        strips[f"score_{k}"] = np.asarray(v, dtype="float64")
    strips["score"] = np.where(strips["capacity_mw"] > 0, np.nan_to_num(score, nan=0.0), 0.0)
    return strips


# --------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------
_SUM_COLS = [
    "usable_strip_km",
    "usable_area_km2",
    "panel_area_km2",
    "capacity_mw",
    "energy_gwh_per_yr",
]


def summarize_roadside(segments: pd.DataFrame, config: RoadsidePVConfig):
    """Per-road, per-county and province totals of roadside PV strips.

    Parameters
    ----------
    segments : pandas.DataFrame
        Strips as produced by :func:`run_roadside_pv` (one row per segment and side).
    config : RoadsidePVConfig
        For the target comparison.

    Returns
    -------
    tuple
        ``(by_road, by_county, province)``: two DataFrames and a dict. ``road_km`` counts each
        segment's centreline once; ``usable_strip_km`` sums both sides.
    """
    df = pd.DataFrame(segments).copy()
    once = df.drop_duplicates("seg_index")
    road_key = df["road_ref"].where(df["road_ref"] != "", "road" + df["road_id"].astype(str))
    df["road_key"] = road_key
    once = once.assign(road_key=road_key.loc[once.index])

    def agg(keys):
        sums = df.groupby(keys, dropna=False)[_SUM_COLS].sum(min_count=1)
        km = once.groupby(keys, dropna=False)["segment_length_m"].sum() / 1000.0
        nseg = once.groupby(keys, dropna=False).size()
        out = sums.join(km.rename("road_km")).join(nseg.rename("n_segments")).reset_index()
        return out

    by_road = agg(["road_key"])
    names = df.drop_duplicates("road_key").set_index("road_key")["road_name"]
    by_road.insert(1, "road_name", by_road["road_key"].map(names))
    by_road = by_road.rename(columns={"road_key": "road_ref"})
    by_county = agg(COUNTY_COLUMNS)
    by_county["adcode"] = by_county["adcode"].astype("int64")
    by_county["prefecture_adcode"] = by_county["prefecture_adcode"].astype("int64")
    by_county = by_county.sort_values("adcode").reset_index(drop=True)
    province = {
        "road_km": float(once["segment_length_m"].sum() / 1000.0),
        "n_segments": int(len(once)),
        **{c: float(df[c].sum()) for c in _SUM_COLS},
        # Strips with capacity but no energy (GHI or pv_yield nodata there): their energy is
        # missing from the totals, so say how many.
        "n_strips_missing_energy": int(
            ((df["capacity_mw"] > 0) & ~np.isfinite(df["energy_gwh_per_yr"])).sum()
        ),
        "target_mw": config.target_mw,
        "target_year": config.target_year,
    }
    province["target_share_pct"] = (
        100.0 * province["capacity_mw"] / config.target_mw if config.target_mw else None
    )
    return by_road, by_county, province


def _summary_table(by_road, by_county, province) -> pd.DataFrame:
    cols = (
        ["level", "road_ref", "road_name"]
        + COUNTY_COLUMNS
        + ["n_segments", "road_km"]
        + _SUM_COLS
        + ["target_mw", "target_year", "target_share_pct"]
    )
    prov = pd.DataFrame([{**province, "level": "province"}])
    table = pd.concat(
        [by_road.assign(level="road"), by_county.assign(level="county"), prov], ignore_index=True
    )
    for c in cols:
        if c not in table.columns:
            table[c] = pd.NA
    table = table[cols]
    for c in ["adcode", "prefecture_adcode", "n_segments", "target_year"]:
        table[c] = pd.array(table[c], dtype="Int64")
    return table


def _shortlist(gdf: gpd.GeoDataFrame, cfg) -> gpd.GeoDataFrame:
    ok = (
        (gdf["capacity_mw"] > 0)
        & (gdf["capacity_mw"] >= cfg.shortlist_min_capacity_mw)
        & (gdf["score"] >= cfg.shortlist_min_score)
    )
    top = gdf[ok].sort_values("score", ascending=False, kind="stable").head(cfg.shortlist_max_rows)
    cen = shapely.centroid(np.asarray(top.geometry.values))
    if len(top):
        lon, lat = Transformer.from_crs(gdf.crs, "EPSG:4326", always_xy=True).transform(
            shapely.get_x(cen), shapely.get_y(cen)
        )
    else:
        lon = lat = np.array([])
    out = gpd.GeoDataFrame(
        {
            "site_id": top["strip_id"].to_numpy(),
            "tech": "roadside_pv",
            **{c: top[c].to_numpy() for c in COUNTY_COLUMNS},
            "road_ref": top["road_ref"].to_numpy(),
            "side_compass": top["side_compass"].to_numpy(),
            "facing_compass": top["facing_compass"].to_numpy(),
            "area_km2": top["usable_area_km2"].to_numpy(),
            "capacity_mw": top["capacity_mw"].to_numpy(),
            "energy_gwh_per_yr": top["energy_gwh_per_yr"].to_numpy(),
            "ghi_kwh_m2_yr": top["ghi_kwh_m2_yr"].to_numpy(),
            "score": top["score"].to_numpy(),
            "lon": np.asarray(lon),
            "lat": np.asarray(lat),
        },
        geometry=np.asarray(top.geometry.values),
        crs=gdf.crs,
    )
    return out.reset_index(drop=True)
