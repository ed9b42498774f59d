"""Steps 3-5 of the sinks stage on county sums: calibration, allocation, sinks, stock, net carbon.

Called by :func:`sxplan.sinks.run.run_sinks` only (which holds the order of the steps); kept here
so the orchestrator stays short.

Inputs: counties, county sums of the fraction rasters, zones, config, parameter table, official
table. Outputs: the county GeoDataFrame, the province summary, the trajectory and stock tables.
"""

from __future__ import annotations

import math

import numpy as np

from sxplan.errors import NoOverlapError
from sxplan.layers.counties import COUNTY_COLUMNS

from .allocation import allocate
from .baseline import calibrate_forest_cover, county_rows
from .sequestration import ZONES, cohort_exposure_ha, removal_factors, sink_trajectory
from .stock import existing_forest, stock_trajectory
from .urban import apply_plantable_override, urban_districts

__all__ = ["assemble"]


def _net_eligible(eligible_raster_ha, raw_pct, cal, area_ha, config, after_share):
    """Eligible land net of the forest the calibration added (it cannot be planted again).

    ``distributed`` counties: the cell-by-cell remainder (``after_share(share)``, see
    :func:`~sxplan.sinks.eligible.eligible_after_calibration`). Counties with an official
    figure: the added hectares are taken off eligible land (floored at 0).
    """
    if not config.deduct_calibrated_forest:
        return eligible_raster_ha.copy()
    added_ha = np.maximum(cal.forest_pct - raw_pct, 0.0) / 100 * area_ha
    net = np.maximum(eligible_raster_ha - added_ha, 0.0)
    distributed = cal.source == "distributed"
    if distributed.any() and cal.factor > 0 and after_share is not None:
        net[distributed] = np.minimum(after_share(cal.factor), eligible_raster_ha)[distributed]
    return net


def planting_mix(config, shrub_share) -> dict:
    """Per-county shares of broadleaf, conifer and shrub planting."""
    tree = 1.0 - shrub_share
    mix = {t: tree * float(v) for t, v in config.forest_mix.items()}
    mix["shrub"] = shrub_share
    return mix


def assemble(
    counties,
    sums,
    zone_index,
    mean_elev,
    score,
    config,
    table,
    official_df,
    official_path,
    after_share=None,
):
    """County table, province summary, trajectory and stock frames (see module docstring)."""
    import geopandas as gpd

    area_ha = counties.geometry.area.to_numpy() / 1e4
    valid_ha = sums["valid_ha"].to_numpy()
    no_data = valid_ha <= 0
    if no_data.any():
        bad = counties.loc[no_data, "adcode"].tolist()
        raise NoOverlapError(
            f"land cover has no data over counties {bad[:10]}; the land-cover layer must "
            "cover every county (check its extent and nodata)"
        )
    adcodes = counties["adcode"].to_numpy()
    forest_raw_ha = sums["forest_ha"].to_numpy()
    raw_pct = forest_raw_ha / valid_ha * 100
    urban = urban_districts(
        counties["name"].to_numpy(),
        adcodes,
        sums["builtup_ha"].to_numpy(),
        valid_ha,
        config.urban_districts,
    )
    # 3. calibration (unmapped forest by likelihood, never in urban districts)
    likely_ha = np.where(urban, 0.0, sums["likely_forest_ha"].to_numpy())
    cal = calibrate_forest_cover(
        adcodes,
        area_ha,
        raw_pct,
        official_df,
        mode=config.calibration,
        year=config.baseline_year,
        province_adcode=config.province_adcode,
        where=str(official_path),
        pool_ha=likely_ha,
        max_cell_share=config.calibration_max_cell_share,
    )
    total_area = math.fsum(area_ha.tolist())
    prov_raw_pct = math.fsum((raw_pct * area_ha).tolist()) / total_area
    prov_cal_pct = math.fsum((cal.forest_pct * area_ha).tolist()) / total_area
    # 4. plantable land net of calibrated forest, urban rule, official plantable_ha; allocation
    eligible_raster_ha = sums["eligible_ha"].to_numpy()
    net_ha = _net_eligible(eligible_raster_ha, raw_pct, cal, area_ha, config, after_share)
    chosen = (
        county_rows(official_df, config.baseline_year, config.province_adcode)
        if official_df is not None
        else None
    )
    eligible_ha, eligible_source = apply_plantable_override(net_ha, urban, adcodes, chosen)
    shrub_raster = sums["eligible_shrub_ha"].to_numpy()
    shrub_share = np.divide(
        shrub_raster, eligible_raster_ha, out=np.zeros(len(area_ha)), where=eligible_raster_ha > 0
    ).clip(0.0, 1.0)
    required_ha = config.target_gain_points / 100 * total_area
    alloc = allocate(config.allocation, required_ha, eligible_ha, area_ha=area_ha, score=score)
    # 5. planting schedule (even over the planting years), sinks, stock
    planting_years = np.arange(config.planting_start_year, config.planting_end_year + 1)
    planted = np.outer(alloc.allocated_ha, np.full(planting_years.size, 1 / planting_years.size))
    years = np.arange(config.planting_start_year, config.trajectory_end_year + 1)
    mix = planting_mix(config, shrub_share)
    traj = sink_trajectory(
        planted,
        planting_years,
        years,
        zone_index,
        mix,
        table,
        n_draws=config.monte_carlo_draws,
        seed=config.seed,
    )
    forest_ha = cal.forest_pct / 100 * area_ha
    existing = existing_forest(
        forest_ha, zone_index, dict(config.existing_forest_mix), table, config.stock_m3_per_ha
    )
    exposure = cohort_exposure_ha(planted, planting_years, years, mix)
    stock = stock_trajectory(
        existing["stock_m3"],
        existing["growth_m3_per_yr"],
        exposure,
        zone_index,
        years,
        config.baseline_year,
        table,
    )
    county_required_ha = config.target_gain_points / 100 * area_ha
    cols = {c: counties[c].to_numpy() for c in COUNTY_COLUMNS}
    cols.update(
        {
            "area_km2": area_ha / 100,
            "landcover_coverage_pct": valid_ha / area_ha * 100,
            "builtup_pct": sums["builtup_ha"].to_numpy() / valid_ha * 100,
            "urban_district": urban,
            "baseline_forest_pct": raw_pct,
            "calibrated_forest_pct": cal.forest_pct,
            "calibration_source": cal.source,
            "official_year": cal.official_year
            if cal.official_year is not None
            else np.zeros(len(area_ha), dtype="int64"),
            "likely_forest_ha": likely_ha,
            "ecological_zone": np.array([ZONES[z] for z in zone_index], dtype=object),
            "mean_elevation_m": mean_elev,
            "eligible_landcover_ha": sums["eligible_landcover_ha"].to_numpy(),
        }
    )
    for c in sums.columns:
        if c.startswith("removed_"):
            cols[c] = sums[c].to_numpy()
    gain_points = alloc.allocated_ha / area_ha * 100
    cols.update(
        {
            "eligible_raster_ha": eligible_raster_ha,
            "eligible_shrub_zone_ha": shrub_raster,
            "eligible_ha": eligible_ha,
            "eligible_source": eligible_source,
            "required_gain_ha": county_required_ha,
            "required_gain_points": np.full(len(area_ha), config.target_gain_points),
            "feasible_locally": eligible_ha >= county_required_ha,
            "local_shortfall_ha": np.maximum(county_required_ha - eligible_ha, 0.0),
            "allocated_gain_ha": alloc.allocated_ha,
            "allocated_shrub_ha": alloc.allocated_ha * shrub_share,
            "allocated_gain_points": gain_points,
            f"cover_{config.target_year}_pct": cal.forest_pct + gain_points,
            "forest_stock_m3": existing["stock_m3"],
            "existing_growth_m3_per_yr": existing["growth_m3_per_yr"],
            "existing_sink_tco2_per_yr": existing["sink_tco2_per_yr"],
        }
    )
    if score is not None:
        cols["priority_score"] = score
    for y in config.report_years:
        j = traj.at(y)
        cols[f"sink_tco2_per_yr_{y}"] = traj.county_tco2_per_yr[:, j]
        cols[f"sink_tco2_per_yr_{y}_p05"] = traj.county_p05[:, j]
        cols[f"sink_tco2_per_yr_{y}_p95"] = traj.county_p95[:, j]
    gdf = gpd.GeoDataFrame(cols, geometry=counties.geometry.to_numpy(), crs=counties.crs)
    province = {
        "n_counties": len(gdf),
        "province_adcode": config.province_adcode,
        "area_km2": total_area / 100,
        "baseline_year": config.baseline_year,
        "target_year": config.target_year,
        "baseline_raw_pct": prov_raw_pct,
        "baseline_calibrated_pct": prov_cal_pct,
        "official_province_pct": cal.official_province_pct,
        "official_province_year": cal.official_province_year,
        "calibration": config.calibration,
        "calibration_factor": cal.factor,
        "calibration_shortfall_ha": cal.shortfall_ha,
        "target_gain_points": config.target_gain_points,
        "target_pct": prov_cal_pct + config.target_gain_points,
        "required_gain_ha": required_ha,
        "eligible_raster_ha": math.fsum(eligible_raster_ha.tolist()),
        "eligible_ha": math.fsum(eligible_ha.tolist()),
        "eligible_shrub_zone_ha": math.fsum(shrub_raster.tolist()),
        "allocated_gain_ha": alloc.allocated_total_ha,
        "allocated_shrub_ha": math.fsum((alloc.allocated_ha * shrub_share).tolist()),
        "urban_districts": int(urban.sum()),
        "urban_allocated_ha": math.fsum(alloc.allocated_ha[urban].tolist()),
        "feasible": alloc.feasible,
        "shortfall_ha": alloc.shortfall_ha,
        "strategy": alloc.strategy,
        "cover_target_year_pct": prov_cal_pct + alloc.allocated_total_ha / total_area * 100,
        "report_years": list(config.report_years),
        "parameter_table": table.path,
        "forest_stock_m3": math.fsum(existing["stock_m3"].tolist()),
        "existing_growth_m3_per_yr": math.fsum(existing["growth_m3_per_yr"].tolist()),
        "existing_sink_tco2_per_yr": math.fsum(existing["sink_tco2_per_yr"].tolist()),
        "stock_targets_m3": {int(k): float(v) for k, v in config.stock_targets_m3.items()},
    }
    for y in config.report_years:
        j = traj.at(y)
        province[f"sink_tco2_per_yr_{y}"] = float(traj.province_tco2_per_yr[j])
        province[f"sink_tco2_per_yr_{y}_p05"] = float(traj.province_p05[j])
        province[f"sink_tco2_per_yr_{y}_p95"] = float(traj.province_p95[j])
    for y in config.stock_targets_m3:
        hit = stock.loc[stock["year"] == int(y), "stock_m3"]
        province[f"stock_m3_{int(y)}"] = float(hit.iloc[0]) if len(hit) else None
    factors = removal_factors(table)
    return gdf, province, traj.province_frame(), stock, (factors, zone_index, mix)
