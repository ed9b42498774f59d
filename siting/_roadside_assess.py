"""Roadside PV strips assessed: exclusions, capacity, resource, energy and score.

See :mod:`sxplan.siting.roadside` for the model. Capacity and energy go through the roadside
PV technology (:mod:`sxplan.siting.tech_roadside_pv`), hence through
:mod:`sxplan.siting.capacity`.

Inputs: strips and stations from :mod:`sxplan.siting._roadside_strips`, the run's rasters and
vectors, a :class:`~sxplan.siting.roadside_config.RoadsidePVConfig`.
Outputs: the strips with ``excluded_<rule>_km2``, ``usable_area_km2``, ``capacity_mw``,
``specific_yield_kwh_per_kwp``, ``energy_gwh_per_yr`` and ``score`` columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from sxplan.errors import ConfigError

from ._roadside_sample import sample_layer
from ._roadside_solar import optimal_tilt_deg, poa_ratio, weather_keys
from ._roadside_strips import group_mean
from .tech_roadside_pv import ROADSIDE_PV

__all__ = ["apply_exclusions", "resource_energy", "score_strips"]


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


def apply_exclusions(strips: pd.DataFrame, seg_geoms, stations, rasters, vectors, cfg):
    """Remove excluded land from each strip, in rule order; add usable area and capacity."""
    from sxplan.layers.landcover import COMMON_CLASSES, scheme_of, to_common

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
            scheme_of(layer, needed_by="roadside_pv.landcover_layer"),
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
    strips["panel_area_km2"] = ROADSIDE_PV.panel_area_km2(usable_km2, cfg)
    strips["capacity_mw"] = ROADSIDE_PV.capacity_mw(usable_km2, cfg)
    return strips


def _main_rule(excluded: np.ndarray, cols: list[str]) -> np.ndarray:
    names = np.array([c[len("excluded_") : -len("_km2")] for c in cols] + [""], dtype=object)
    idx = np.where(excluded.max(axis=1) > 0, excluded.argmax(axis=1), len(cols))
    return names[idx]


def strip_ratios(lat, lon, ghi, tilt, az, hz, ref_orient=None, **kw):
    """Each strip's plane-of-array ratios: ``(ratio, open, reference, best tilt, best)``.

    ``ratio`` with the strip's horizon ``hz``, ``open`` without it, ``reference`` for the
    ``(tilt, azimuth)`` of ``ref_orient`` (NaN when None), and the best tilt and its ratio for
    a south-facing panel at the strip's location (0.5 degree) and GHI (25 kWh/m2/yr;
    :func:`optimal_tilt_deg`). ``kw``: ``albedo``, ``model``. NaN where an input is not finite.

    Every ratio is computed weather by weather (the synthetic year a location and GHI give,
    :func:`weather_keys`; 32 are kept): asked kind by kind, each weather was built up to four
    times (30 m demo: 263 builds of 116 weathers, now 116; 1 km: 246 of 117; 20-30 ms each;
    s37). The ratios are the numbers :func:`poa_ratio` gives for each kind called on all strips.
    """
    n = len(lat)
    keys = pd.DataFrame(
        {
            "lat": np.round(lat / 0.5) * 0.5,
            "lon": np.round(lon / 0.5) * 0.5,
            "ghi": np.round(ghi / 25.0) * 25.0,
        }
    )
    optimal = dict(keys.groupby(["lat", "lon", "ghi"]).indices)
    okeys = list(optimal)
    ratio, ratio_open, ref, best_tilt, best = (np.full(n, np.nan) for _ in range(5))
    strip_w = weather_keys(lat, lon, ghi)
    opt_w = weather_keys(*(np.array([k[i] for k in okeys], dtype="float64") for i in range(3)))
    for w in np.unique(np.concatenate([strip_w, opt_w]), axis=0):
        if not np.all(np.isfinite(w)):
            continue
        sel = np.flatnonzero((strip_w == w).all(axis=1))
        if sel.size:
            args = (lat[sel], lon[sel], ghi[sel])
            ratio[sel] = poa_ratio(*args, tilt[sel], az[sel], hz[sel], **kw)
            ratio_open[sel] = poa_ratio(*args, tilt[sel], az[sel], 0.0, **kw)
            if ref_orient is not None:
                ref[sel] = poa_ratio(*args, *ref_orient, 0.0, **kw)
        for j in np.flatnonzero((opt_w == w).all(axis=1)):
            idx = optimal[okeys[j]]
            best_tilt[idx], best[idx] = optimal_tilt_deg(*okeys[j], **kw)
    return ratio, ratio_open, ref, best_tilt, best


def resource_energy(strips: pd.DataFrame, stations, rasters, vectors, cfg) -> pd.DataFrame:
    """Add GHI, POA ratios, specific yield, energy, shading/orientation factors, grid distance."""
    n = len(strips)
    strip_of, mx, my = stations
    ghi = group_mean(sample_layer(rasters[cfg.ghi_layer], mx, my), strip_of, n)
    strips["ghi_kwh_m2_yr"] = ghi
    lat, lon = strips["lat"].to_numpy(), strips["lon"].to_numpy()
    tilt = strips["panel_tilt_deg"].to_numpy()
    az = strips["panel_azimuth_deg"].to_numpy()
    hz = np.nan_to_num(strips["horizon_deg"].to_numpy(), nan=0.0)
    kw = {"albedo": cfg.albedo, "model": cfg.transposition}
    yl = cfg.pv_yield_layer
    has_yield = yl is not None and yl in rasters
    ref_tilt = cfg.pv_yield_reference_tilt_deg
    ref_orient = None
    if has_yield and ref_tilt is not None:
        ref_orient = (ref_tilt, cfg.pv_yield_reference_azimuth_deg)
    ratio, ratio_open, ref, best_tilt, best = strip_ratios(
        lat, lon, ghi, tilt, az, hz, ref_orient, **kw
    )
    strips["poa_ratio"] = ratio
    strips["poa_ratio_optimal"] = best
    strips["optimal_tilt_deg"] = best_tilt
    if has_yield:
        pv_yield = group_mean(sample_layer(rasters[yl], mx, my), strip_of, n)
        if ref_orient is None:
            ref = best
        strips["yield_correction"] = ratio / ref
        strips["specific_yield_kwh_per_kwp"] = pv_yield * ratio / ref
        strips["yield_source"] = yl
    else:
        strips["yield_correction"] = np.nan
        strips["specific_yield_kwh_per_kwp"] = ghi * ratio * cfg.performance_ratio
        strips["yield_source"] = f"{cfg.ghi_layer} x performance_ratio"
    specific = strips["specific_yield_kwh_per_kwp"].to_numpy()
    capacity = strips["capacity_mw"].to_numpy()
    for name, values in ROADSIDE_PV.columns(capacity, specific, cfg).items():
        strips[name] = values  # the specific yield stays in place, energy follows yield_source
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


def score_strips(strips: pd.DataFrame, cfg, *, has_grid: bool) -> pd.DataFrame:
    """Add the score components and the weighted ``score`` (0 where no capacity)."""
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
