"""Roadside PV strips: roads selected and split, segments, verge strips and their terrain.

See :mod:`sxplan.siting.roadside` for the model (roads, strips, directions, terrain and panel
orientation).

Inputs: highway lines and counties in the grid CRS, the run grid, the DEM, a
:class:`~sxplan.siting.roadside_config.RoadsidePVConfig`.
Outputs: segments (one row per road segment) and strips (one row per segment and side) with
their bearing, cross slope, terrain form, panel tilt and azimuth, horizon; and the stations
(sample points) of every strip.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from sxplan.errors import ConfigError, CRSMismatchError, NoOverlapError

from ._roadside_geom import (
    compass_label,
    cut_lines,
    flag_values,
    grid_north_azimuth_deg,
    side_strips,
    station_points,
)
from ._roadside_sample import sample_layer
from .roadside_config import COUNTY_COLUMNS, RoadsidePVConfig

__all__ = [
    "group_mean",
    "make_segments",
    "make_strips",
    "require_crs",
    "select_roads",
    "strip_terrain",
]


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


def require_crs(gdf, grid, what: str) -> None:
    """Refuse a vector without a CRS or in another CRS than the grid (``what`` names it)."""
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


def make_segments(roads, counties, grid, cfg) -> gpd.GeoDataFrame:
    """Selected roads split at county lines and cut into segments, with bearing and midpoint."""
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


def make_strips(segs: gpd.GeoDataFrame, cfg) -> pd.DataFrame:
    """One verge strip per segment and side (outer side only for one-way carriageways)."""
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


def strip_terrain(strips: pd.DataFrame, segs, dem, cfg) -> tuple[pd.DataFrame, tuple]:
    """Cross slope, relief, elevation, terrain form, panel tilt/azimuth and horizon per strip.

    Returns the strips and their stations ``(strip_of, x, y)`` (sample points mid-strip).
    """
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
    strips["cross_slope_deg"] = np.degrees(np.arctan(group_mean(grad, strip_of, n)))
    zmax = _group_reduce(np.where(ok, z, -np.inf).max(axis=1), strip_of, n, np.maximum)
    zmin = _group_reduce(np.where(ok, z, np.inf).min(axis=1), strip_of, n, np.minimum)
    relief = zmax - zmin
    strips["relief_m"] = np.where(np.isfinite(relief), relief, np.nan)
    mid_off = cfg.offset_m + 0.5 * cfg.strip_width_m
    mx, my = px + nx * mid_off, py + ny * mid_off
    z0 = sample_layer(dem, mx, my)
    strips["elev_m"] = group_mean(z0, strip_of, n)

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
        strips["horizon_deg"] = group_mean(hz, strip_of, n)
    else:
        strips["horizon_deg"] = 0.0
    return strips, (strip_of, mx, my)


def group_mean(values, groups, n):
    """Mean of finite ``values`` per group ``0..n-1`` (NaN for a group with none)."""
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
