"""The sinks stage: the one place its order of steps is written down.

1. exact coverage of the grid's cells by the counties (exactextract, once per run);
2. one tile pass over land cover and limits: the eligible-fraction raster, and exact county
   sums (coverage fractions) of every land fraction formed inside the pass -> raw forest
   cover, eligible hectares (no other raster is written or read again);
3. calibration to official statistics;
4. the province target (+``target_gain_points`` over the calibrated baseline) and its
   allocation to counties;
5. planting schedule and IPCC Tier-1 sink trajectory with Monte Carlo ranges;
6. existing forest: growth, growing stock, its sink, the stock trajectory (``stock.csv``);
7. net carbon of the shortlisted PV/wind parcels against planting their land (``net_carbon.csv``);
8. ``counties.csv`` (UTF-8 with BOM), ``counties.gpkg``, ``afforestation_eligible.tif`` and
   ``trajectory.csv`` (province sink per year) in ``out_dir``.

Inputs: the run grid, aligned rasters, county polygons in the grid CRS, :class:`SinksConfig`,
optional renewables reservation raster and official statistics.
Outputs: :class:`SinksResult` and the files above, each written atomically.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sxplan.errors import ConfigError, NoOverlapError
from sxplan.layers.grid import GridSpec
from sxplan.layers.io import AlignedLayer, write_csv, write_gpkg
from sxplan.layers.tables import round_for_csv
from sxplan.layers.zonal import zone_cover
from sxplan.schema import dataset

from ._assemble import assemble
from ._land_pass import sum_land_by_county
from .baseline import (
    OFFICIAL_CSV,
    county_means,
    read_official,
    require_counties_on_grid,
)
from .config import SinksConfig
from .net_carbon import county_net_carbon, parcel_net_carbon, young_removal_factor
from .sequestration import ZONES, load_tier1_table

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
                f" (official {p['official_province_pct']:.2f}%"
                + (
                    f", {p['official_province_year']})"
                    if p.get("official_province_year") is not None
                    else ")"
                )
                if p["official_province_pct"] is not None
                else ""
            ),
            f"urban districts: {p['urban_districts']}, allocated {p['urban_allocated_ha']:,.0f} ha"
            + (
                f"; calibration SHORT of the official figure by "
                f"{p['calibration_shortfall_ha']:,.0f} ha (per-cell cap)"
                if p["calibration_shortfall_ha"] > 0
                else ""
            ),
            f"target {p['target_year']}: {p['target_pct']:.2f}% (+{p['target_gain_points']} "
            f"points) = {p['required_gain_ha']:,.0f} ha of new forest",
            f"plantable land: {p['eligible_ha']:,.0f} ha (of it {p['eligible_shrub_zone_ha']:,.0f}"
            f" ha shrubs only); allocated ({p['strategy']}): "
            f"{p['allocated_gain_ha']:,.0f} ha -> "
            + (
                "target feasible"
                if p["feasible"]
                else f"INFEASIBLE, shortfall {p['shortfall_ha']:,.0f} ha"
            ),
        ]
        lines.append(
            f"existing forest: stock {p['forest_stock_m3'] / 1e8:.3f} 亿m3, growth "
            f"{p['existing_growth_m3_per_yr'] / 1e4:,.0f} 万m3/yr, sink "
            f"{p['existing_sink_tco2_per_yr'] / 1e6:.2f} MtCO2/yr (Tier 1, no harvest)"
        )
        for y, target in p["stock_targets_m3"].items():
            est = p.get(f"stock_m3_{y}")
            if est is not None:
                lines.append(
                    f"forest stock {y}: {est / 1e8:.3f} 亿m3 estimated vs target "
                    f"{target / 1e8:.2f} 亿m3 ({(est - target) / 1e8:+.3f})"
                )
        if p.get("net_carbon_parcels"):
            lines.append(
                f"contested land ({p['net_carbon_parcels']} PV/wind parcels): avoided "
                f"{p['avoided_tco2_per_yr'] / 1e6:.3f} MtCO2/yr vs forgone sink "
                f"{p['forgone_sink_tco2_per_yr'] / 1e6:.3f} MtCO2/yr on "
                f"{p['contested_plantable_ha']:,.0f} ha plantable"
            )
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
    vectors: dict | None = None,
    shortlist=None,
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
    vectors : dict of str to geopandas.GeoDataFrame, optional
        Vector layers by name (a polygon ``farmland_layer``).
    shortlist : geopandas.GeoDataFrame, optional
        The siting shortlist (parcels reserved in ``reserved``); gives ``net_carbon.csv``.

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

    dem_for_zones = _dem_for_zones(config, rasters)
    work = Path(tempfile.mkdtemp(prefix=".sinks_work_", dir=out_dir))
    paths: dict[str, Path] = {}
    try:
        # 1-2. county coverage, then one tile pass: eligible raster + county sums
        cover = zone_cover(counties, grid, mem_limit_mb=mem_limit_mb)
        eligible_tmp = work / "afforestation_eligible.tif"
        land = sum_land_by_county(
            grid,
            rasters,
            config,
            cover,
            eligible_path=eligible_tmp,
            mem_limit_mb=mem_limit_mb,
            reserved=reserved,
            removed_reserved_path=work / "removed_reserved.tif",
            mean_layer=dem_for_zones,
            tile_size=tile_size,
            vectors=vectors,
        )
        del cover
        sums = land.sums
        zone_index, mean_elev = _zones(counties, config, land.mean)
        score = _priority_score(counties, rasters, config, grid, mem_limit_mb, land, sums)
        after_share = land.eligible_after_calibration_ha

        gdf, province, trajectory, stock, (factors, zones, mix) = assemble(
            counties, sums, zone_index, mean_elev, score, config, table, official_df,
            official_path, after_share,
        )  # fmt: skip
        net = None
        if shortlist is not None:  # 7. net carbon on the reserved parcels
            per_ha = young_removal_factor(factors, zones, mix)
            net = parcel_net_carbon(
                shortlist,
                land.removed_reserved,
                grid,
                counties["adcode"].to_numpy(),
                per_ha,
                config.grid_emission_factor_tco2_per_mwh,
                mem_limit_mb=mem_limit_mb,
            )
            by_county = county_net_carbon(net, counties["adcode"].to_numpy())
            for c in by_county.columns:
                gdf[c] = by_county[c].to_numpy()
                province[c] = float(by_county[c].sum())
            province["net_carbon_parcels"] = len(net)
        # 8. write, each table checked against the run-folder schema (sxplan/schema.py)
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
        st = dataset("sinks.stock")
        paths["stock_csv"] = write_csv(st.check(round_for_csv(stock)), out_dir / st.filename())
        if net is not None:
            nc = dataset("sinks.net_carbon")
            rounded = round_for_csv(net)
            for c in ("grid_emission_factor_tco2_per_mwh", "forgone_sink_tco2_per_ha_yr"):
                rounded[c] = net[c].round(4)  # factors: tonnes rounding (2 dp) is too coarse
            paths["net_carbon_csv"] = write_csv(nc.check(rounded), out_dir / nc.filename())
        final_tif = out_dir / dataset("sinks.eligible").filename()
        eligible_tmp.replace(final_tif)
        paths["afforestation_eligible_tif"] = final_tif
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return SinksResult(gdf, province, trajectory, paths)


def _dem_for_zones(config, rasters):
    """The DEM whose county means set the ecological zones, or None (zones not by elevation)."""
    if config.ecological_zone != "by_elevation":
        return None
    if not config.dem_layer or config.dem_layer not in rasters:
        raise ConfigError(
            "sinks.ecological_zone: by_elevation needs the DEM layer "
            f"'{config.dem_layer}' among the run's rasters {sorted(rasters)}; add it or set "
            "ecological_zone: temperate_continental / temperate_mountain"
        )
    return rasters[config.dem_layer]


def _zones(counties, config, elev):
    n = len(counties)
    if config.ecological_zone != "by_elevation":
        return np.full(n, ZONES.index(config.ecological_zone)), np.full(n, np.nan)
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
