"""The sinks stage: the one place its order of steps is written down.

1. forest-credit and eligible-fraction rasters on the grid (windowed);
2. exact county sums (coverage fractions) -> raw forest cover, eligible hectares;
3. calibration to official statistics;
4. the province target (+``target_gain_points`` over the calibrated baseline) and its
   allocation to counties;
5. planting schedule and IPCC Tier-1 sink trajectory with Monte Carlo ranges;
6. ``counties.csv`` (UTF-8 with BOM), ``counties.gpkg``, ``afforestation_eligible.tif`` and
   ``trajectory.csv`` (province sink per year) in ``out_dir``.

Inputs: the run grid, aligned rasters, county polygons in the grid CRS, :class:`SinksConfig`,
optional renewables reservation raster and official statistics.
Outputs: :class:`SinksResult` and the files above, each written atomically.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sxplan.errors import ConfigError, NoOverlapError
from sxplan.layers.counties import COUNTY_COLUMNS
from sxplan.layers.grid import GridSpec
from sxplan.layers.io import AlignedLayer, write_csv, write_gpkg
from sxplan.layers.tables import round_for_csv
from sxplan.schema import dataset

from .allocation import allocate
from .baseline import (
    OFFICIAL_CSV,
    calibrate_forest_cover,
    county_means,
    county_sums_ha,
    read_official,
    require_counties_on_grid,
)
from .config import SinksConfig
from .eligible import compute_land_rasters
from .sequestration import ZONES, load_tier1_table, sink_trajectory

__all__ = ["SinksResult", "run_sinks"]


@dataclass(frozen=True)
class SinksResult:
    """What the sinks stage produced.

    Attributes
    ----------
    counties : geopandas.GeoDataFrame
        One row per county (columns as in ``counties.csv``), geometry in the grid CRS.
    province : dict
        Province summary (see :meth:`summary_lines` for the printed form).
    trajectory : pandas.DataFrame
        Province sink per year with 5-95 % range.
    paths : dict of str to pathlib.Path
        Files written.
    """

    counties: object
    province: dict
    trajectory: pd.DataFrame
    paths: dict[str, Path] = field(default_factory=dict)

    def summary_lines(self) -> list[str]:
        """Human-readable province summary, one line per fact (for the CLI)."""
        p = self.province
        lines = [
            f"counties: {p['n_counties']}",
            f"forest cover {p['baseline_year']}: raster {p['baseline_raw_pct']:.2f}%, "
            f"calibrated {p['baseline_calibrated_pct']:.2f}%"
            + (
                f" (official {p['official_province_pct']:.2f}%)"
                if p["official_province_pct"] is not None
                else ""
            ),
            f"target {p['target_year']}: {p['target_pct']:.2f}% (+{p['target_gain_points']} "
            f"points) = {p['required_gain_ha']:,.0f} ha of new forest",
            f"eligible land: {p['eligible_ha']:,.0f} ha; allocated ({p['strategy']}): "
            f"{p['allocated_gain_ha']:,.0f} ha -> "
            + (
                "target feasible"
                if p["feasible"]
                else f"INFEASIBLE, shortfall {p['shortfall_ha']:,.0f} ha"
            ),
        ]
        for y in p["report_years"]:
            lines.append(
                f"afforestation sink {y}: {p[f'sink_tco2_per_yr_{y}'] / 1e6:.3f} MtCO2/yr "
                f"(90% range {p[f'sink_tco2_per_yr_{y}_p05'] / 1e6:.3f}-"
                f"{p[f'sink_tco2_per_yr_{y}_p95'] / 1e6:.3f})"
            )
        return lines


def run_sinks(
    *,
    grid: GridSpec,
    rasters: dict[str, AlignedLayer],
    counties,
    config: SinksConfig,
    out_dir: str | Path,
    mem_limit_mb: float,
    reserved: AlignedLayer | None = None,
    official: str | Path | None = None,
    tile_size: int | None = None,
) -> SinksResult:
    """Estimate county forest baseline, afforestation toward the target, and sinks.

    Parameters
    ----------
    grid : GridSpec
        The run's (equal-area) grid.
    rasters : dict of str to AlignedLayer
        Aligned layers by name: land cover (``config.landcover_layer``), slope, DEM and any
        climate layers the config names.
    counties : geopandas.GeoDataFrame
        Counties from :func:`sxplan.layers.counties.validate_counties` (``adcode, name,
        prefecture, prefecture_adcode``, in the grid CRS).
    config : SinksConfig
        The ``sinks:`` section.
    out_dir : str or pathlib.Path
        Output folder (created if missing), e.g. ``RUN/sinks``.
    mem_limit_mb : float
        Memory budget for raster work.
    reserved : AlignedLayer, optional
        Cells reserved for renewables (value above ``config.reserved_min_value``).
    official : str or pathlib.Path, optional
        Official forest-cover CSV; default ``config.official_csv``, else the packaged Shanxi
        figure when calibration is not ``none``.
    tile_size : int, optional
        Force tile side in cells (tests).

    Returns
    -------
    SinksResult
    """
    require_counties_on_grid(counties, grid)  # validated once, by the layers step
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counties = counties.reset_index(drop=True)
    table = load_tier1_table(config.parameter_table)
    official_path = official or config.official_csv
    if official_path is None and config.calibration != "none":
        official_path = OFFICIAL_CSV
    official_df = read_official(official_path) if official_path is not None else None

    work = Path(tempfile.mkdtemp(prefix=".sinks_work_", dir=out_dir))
    paths: dict[str, Path] = {}
    try:
        # 1. fraction rasters (the eligible one goes straight to its final name, atomically)
        eligible_tmp = work / "afforestation_eligible.tif"
        land = compute_land_rasters(
            grid,
            rasters,
            config,
            work,
            mem_limit_mb=mem_limit_mb,
            reserved=reserved,
            eligible_path=eligible_tmp,
            tile_size=tile_size,
        )
        # 2. county sums
        zonal = {"forest": land.forest, "eligible": land.eligible}
        zonal["eligible_landcover"] = land.eligible_landcover
        for rule, layer in land.removed.items():
            zonal[f"removed_{rule}"] = layer
        sums = county_sums_ha(counties, zonal, grid, mem_limit_mb=mem_limit_mb)
        zone_index, mean_elev = _zones(counties, rasters, config, grid, mem_limit_mb)
        score = _priority_score(counties, rasters, config, grid, mem_limit_mb, land, sums)
        result = _assemble(
            counties, sums, zone_index, mean_elev, score, config, table, official_df, official_path
        )
        # 6. write, each table checked against the run-folder schema (sxplan/schema.py)
        gdf, province, trajectory = result
        csv, gpkg, traj = (
            dataset(k) for k in ("sinks.counties", "sinks.counties_gpkg", "sinks.trajectory")
        )
        paths["counties_csv"] = write_csv(
            csv.check(round_for_csv(pd.DataFrame(gdf.drop(columns="geometry")))),
            out_dir / csv.filename(),
        )
        paths["counties_gpkg"] = write_gpkg(
            gpkg.check(gdf.to_crs("EPSG:4326")), out_dir / gpkg.filename(), gpkg.layer_name()
        )
        paths["trajectory_csv"] = write_csv(
            traj.check(round_for_csv(trajectory)), out_dir / traj.filename()
        )
        final_tif = out_dir / dataset("sinks.eligible").filename()
        eligible_tmp.replace(final_tif)
        paths["afforestation_eligible_tif"] = final_tif
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return SinksResult(gdf, province, trajectory, paths)


def _zones(counties, rasters, config, grid, mem_limit_mb):
    n = len(counties)
    if config.ecological_zone != "by_elevation":
        return np.full(n, ZONES.index(config.ecological_zone)), np.full(n, np.nan)
    if not config.dem_layer or config.dem_layer not in rasters:
        raise ConfigError(
            "sinks.ecological_zone: by_elevation needs the DEM layer "
            f"'{config.dem_layer}' among the run's rasters {sorted(rasters)}; add it or set "
            "ecological_zone: temperate_continental / temperate_mountain"
        )
    elev = county_means(counties, rasters[config.dem_layer], grid, mem_limit_mb=mem_limit_mb)
    if np.isnan(elev).any():
        bad = counties.loc[np.isnan(elev), "adcode"].tolist()
        raise NoOverlapError(
            f"DEM '{config.dem_layer}' has no data over counties {bad[:10]}; the DEM must "
            "cover every county"
        )
    mountain = elev >= config.mountain_min_elevation_m
    zone = np.where(
        mountain, ZONES.index("temperate_mountain"), ZONES.index("temperate_continental")
    )
    return zone, elev


def _priority_score(counties, rasters, config, grid, mem_limit_mb, land, sums):
    if config.allocation != "priority":
        return None
    if config.priority_score == "eligible_share":
        area_ha = counties.geometry.area.to_numpy() / 1e4
        return sums["eligible_ha"].to_numpy() / area_ha
    name = config.priority_score
    if name not in rasters:
        raise ConfigError(
            f"sinks.priority_score '{name}' is neither 'eligible_share' nor a raster among "
            f"{sorted(rasters)}"
        )
    return county_means(
        counties, rasters[name], grid, mem_limit_mb=mem_limit_mb, weights=land.eligible
    )


def _net_eligible(eligible_raster_ha, raw_pct, cal, area_ha, config):
    """Eligible land minus the forest calibration added that the raster called open land.

    ``distributed`` counties: the added forest lies uniformly on the pool land, so eligible
    land shrinks by the same share. Other counties: the added forest hectares are taken off
    eligible land (floored at 0).
    """
    if not config.deduct_calibrated_forest:
        return eligible_raster_ha.copy()
    added_ha = np.maximum(cal.forest_pct - raw_pct, 0.0) / 100 * area_ha
    net = np.maximum(eligible_raster_ha - added_ha, 0.0)
    distributed = cal.source == "distributed"
    net[distributed] = eligible_raster_ha[distributed] * (1.0 - cal.factor)
    return net


def _assemble(
    counties, sums, zone_index, mean_elev, score, config, table, official_df, official_path
):
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
    forest_raw_ha = sums["forest_ha"].to_numpy()
    raw_pct = forest_raw_ha / valid_ha * 100
    # 3. calibration
    cal = calibrate_forest_cover(
        counties["adcode"].to_numpy(),
        area_ha,
        raw_pct,
        official_df,
        mode=config.calibration,
        year=config.baseline_year,
        province_adcode=config.province_adcode,
        where=str(official_path),
        pool_ha=sums["eligible_landcover_ha"].to_numpy(),
    )
    total_area = math.fsum(area_ha.tolist())
    prov_raw_pct = math.fsum((raw_pct * area_ha).tolist()) / total_area
    prov_cal_pct = math.fsum((cal.forest_pct * area_ha).tolist()) / total_area
    # 4. eligible land net of forest the calibration added, target and allocation
    eligible_raster_ha = sums["eligible_ha"].to_numpy()
    eligible_ha = _net_eligible(eligible_raster_ha, raw_pct, cal, area_ha, config)
    required_ha = config.target_gain_points / 100 * total_area
    alloc = allocate(config.allocation, required_ha, eligible_ha, area_ha=area_ha, score=score)
    # 5. planting schedule (even over the planting years) and sinks
    planting_years = np.arange(config.planting_start_year, config.planting_end_year + 1)
    planted = np.outer(alloc.allocated_ha, np.full(planting_years.size, 1 / planting_years.size))
    years = np.arange(config.planting_start_year, config.trajectory_end_year + 1)
    traj = sink_trajectory(
        planted,
        planting_years,
        years,
        zone_index,
        dict(config.forest_mix),
        table,
        n_draws=config.monte_carlo_draws,
        seed=config.seed,
    )
    county_required_ha = config.target_gain_points / 100 * area_ha
    cols = {c: counties[c].to_numpy() for c in COUNTY_COLUMNS}
    cols.update(
        {
            "area_km2": area_ha / 100,
            "landcover_coverage_pct": valid_ha / area_ha * 100,
            "baseline_forest_pct": raw_pct,
            "calibrated_forest_pct": cal.forest_pct,
            "calibration_source": cal.source,
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
            "eligible_ha": eligible_ha,
            "required_gain_ha": county_required_ha,
            "required_gain_points": np.full(len(area_ha), config.target_gain_points),
            "feasible_locally": eligible_ha >= county_required_ha,
            "allocated_gain_ha": alloc.allocated_ha,
            "allocated_gain_points": gain_points,
            f"cover_{config.target_year}_pct": cal.forest_pct + gain_points,
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
        "calibration": config.calibration,
        "calibration_factor": cal.factor,
        "target_gain_points": config.target_gain_points,
        "target_pct": prov_cal_pct + config.target_gain_points,
        "required_gain_ha": required_ha,
        "eligible_raster_ha": math.fsum(eligible_raster_ha.tolist()),
        "eligible_ha": math.fsum(eligible_ha.tolist()),
        "allocated_gain_ha": alloc.allocated_total_ha,
        "feasible": alloc.feasible,
        "shortfall_ha": alloc.shortfall_ha,
        "strategy": alloc.strategy,
        "cover_target_year_pct": prov_cal_pct + alloc.allocated_total_ha / total_area * 100,
        "report_years": list(config.report_years),
        "parameter_table": table.path,
    }
    for y in config.report_years:
        j = traj.at(y)
        province[f"sink_tco2_per_yr_{y}"] = float(traj.province_tco2_per_yr[j])
        province[f"sink_tco2_per_yr_{y}_p05"] = float(traj.province_p05[j])
        province[f"sink_tco2_per_yr_{y}_p95"] = float(traj.province_p95[j])
    return gdf, province, traj.province_frame()
