"""Run the siting stage: exclusions -> scores -> parcels -> capacity/energy -> bases -> shortlist.

:func:`run_siting` is the only place the order of siting steps is written down. For each
technology it makes one windowed pass over the grid (exclusion codes and suitability written
tile by tile, parcel pieces and their statistics accumulated), resolves parcels across tiles,
makes a second light pass to draw parcel polygons, and then builds the tables.

Inputs: the run's grid, aligned rasters and vector layers by name, counties, bases, the
``siting:`` config, an output folder, a memory budget.
Outputs (in ``out_dir``): ``suitability_<tech>.tif``, ``excluded_by_rule_<tech>.tif`` and its
legend ``excluded_by_rule_<tech>.csv``, ``parcels_<tech>.gpkg``, ``shortlist.csv``,
``shortlist.gpkg``, ``bases.csv``, ``exclusions.csv``; and a :class:`SitingResult`.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import CRS

from sxplan.errors import ConfigError
from sxplan.layers.datum import wgs84_to_gcj02
from sxplan.layers.grid import GridSpec
from sxplan.layers.io import RasterTileWriter, write_csv, write_gpkg
from sxplan.layers.landcover import COMMON_CLASSES, to_common
from sxplan.layers.tables import round_for_csv
from sxplan.layers.windows import DEFAULT_MEM_LIMIT_MB, default_workers, plan_tiles, run_tiles

from ._context import LayerSet, TileContext
from .ahp import weights_from_config
from .bases import BasesTable, load_bases
from .capacity import HOURS_PER_YEAR, wind_cf_table
from .config import TECHNOLOGIES, SitingConfig, load_siting_config
from .exclusions import NO_DATA_CODE, OUTSIDE_CODE, compile_rules, study_area_tile
from .parcels import (
    ParcelAccumulator,
    ParcelSet,
    block_side_cells,
    empty_piece_tile,
    piece_parcel_ids,
    piece_tile,
)
from .suitability import CompiledCriteria, precompute_distances

__all__ = ["SitingResult", "TechResult", "run_siting"]

_TECH_ZH = {"pv": "光伏", "wind": "风电", "pv+wind": "风光合计"}


@dataclass
class TechResult:
    """Results of one technology.

    Attributes
    ----------
    tech : str
        ``pv`` or ``wind``.
    parcels : geopandas.GeoDataFrame
        Every parcel, ranked, in EPSG:4326 (the table written to ``parcels_<tech>.gpkg``).
    exclusions : pandas.DataFrame
        Per-rule accounting (rows of ``exclusions.csv`` for this technology).
    per_county : pandas.DataFrame
        By adcode: eligible_km2, candidate_km2, parcel_area_km2, potential_gw,
        energy_twh_per_yr, parcels.
    study_km2, eligible_km2, candidate_km2 : float
        Study area, eligible land, eligible land scoring at or above the threshold.
    weights : dict
        Normalised criterion weights.
    ahp : siting.ahp.AHPResult or None
        The AHP result when weights came from a matrix.
    timings : dict
        Seconds per step.
    """

    tech: str
    parcels: gpd.GeoDataFrame
    exclusions: pd.DataFrame
    per_county: pd.DataFrame
    study_km2: float
    eligible_km2: float
    candidate_km2: float
    weights: dict
    ahp: object = None
    timings: dict = field(default_factory=dict)


@dataclass
class SitingResult:
    """Everything the CLI needs to report a siting run.

    Attributes
    ----------
    techs : dict of str to TechResult
        Per technology.
    shortlist : pandas.DataFrame
        Ranked top parcels of every technology (``shortlist.csv``).
    bases : pandas.DataFrame
        Potential per base, bases union, prefecture and province (``bases.csv``).
    exclusions : pandas.DataFrame
        Rule x technology accounting (``exclusions.csv``).
    outputs : dict of str to pathlib.Path
        Files written, by short name.
    timings : dict of str to float
        Seconds per step.
    settings : dict
        The validated siting config (JSON-ready), for run.json.
    shortlist_geometry : geopandas.GeoSeries or None
        Outlines of the shortlist's rows (EPSG:4326, same order), so a caller can use them
        without reading ``shortlist.gpkg`` back.
    """

    techs: dict
    shortlist: pd.DataFrame
    bases: pd.DataFrame
    exclusions: pd.DataFrame
    outputs: dict
    timings: dict
    settings: dict
    shortlist_geometry: gpd.GeoSeries | None = None

    def summary(self) -> dict:
        """JSON-ready summary for run.json: areas, parcels, potential, weights, AHP, timings."""
        techs = {}
        for tech, tr in self.techs.items():
            techs[tech] = {
                "study_km2": tr.study_km2,
                "eligible_km2": tr.eligible_km2,
                "candidate_km2": tr.candidate_km2,
                "parcels": int(len(tr.parcels)),
                "parcel_area_km2": float(tr.parcels["area_km2"].sum()),
                "potential_gw": float(tr.parcels["capacity_mw"].sum() / 1000.0),
                "energy_twh_per_yr": float(tr.parcels["energy_gwh_per_yr"].sum() / 1000.0),
                "weights": tr.weights,
                "ahp": None
                if tr.ahp is None
                else {
                    "lambda_max": tr.ahp.lambda_max,
                    "consistency_index": tr.ahp.consistency_index,
                    "consistency_ratio": tr.ahp.consistency_ratio,
                },
                "timings_s": tr.timings,
            }
        return {
            "technologies": techs,
            "outputs": {k: str(v) for k, v in self.outputs.items()},
            "timings_s": self.timings,
        }

    def base_table(self) -> pd.DataFrame:
        """Compact table per base: potential GW by technology and the 2030 target."""
        df = self.bases[self.bases["level"].isin(["base", "all_bases", "province"])]
        wide = df.pivot_table(
            index=["level", "id", "name_zh"],
            columns="technology",
            values="potential_gw",
            sort=False,
        ).reset_index()
        both = df[df["technology"] == "pv+wind"].set_index("id")
        for col in ("target_gw_2025", "target_gw_2030"):
            wide[col] = wide["id"].map(both[col]) if len(both) else np.nan
        wide.columns.name = None
        return wide.drop(columns="level")

    def top_parcels(self, n: int = 10) -> pd.DataFrame:
        """The best ``n`` parcels of each technology (a few key columns)."""
        cols = [
            "parcel_id",
            "technology",
            "county",
            "prefecture",
            "area_km2",
            "capacity_mw",
            "energy_gwh_per_yr",
            "score_mean",
            "bases",
            "lon",
            "lat",
        ]
        sl = self.shortlist
        return sl[sl["rank"] <= n][[c for c in cols if c in sl.columns]]

    def format_summary(self, n_top: int = 5) -> str:
        """Plain-text summary: exclusions, a table per base, and the top parcels."""
        lines = []
        for tech, tr in self.techs.items():
            lines.append(
                f"{tech}: study area {tr.study_km2:,.0f} km2, eligible {tr.eligible_km2:,.0f} "
                f"km2, {len(tr.parcels)} parcels, "
                f"{tr.parcels['capacity_mw'].sum() / 1000:,.1f} GW"
            )
            if tr.weights:
                w = ", ".join(f"{k} {v:.2f}" for k, v in tr.weights.items())
                cr = f" (AHP CR {tr.ahp.consistency_ratio:.3f})" if tr.ahp is not None else ""
                lines.append(f"  weights: {w}{cr}")
        with pd.option_context("display.width", 140, "display.max_columns", 20):
            lines.append("")
            lines.append(self.base_table().round(1).to_string(index=False))
            lines.append("")
            lines.append(self.top_parcels(n_top).round(2).to_string(index=False))
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------
def run_siting(
    grid: GridSpec,
    rasters: Mapping,
    vectors: Mapping,
    counties: gpd.GeoDataFrame,
    bases: BasesTable | str | Path,
    config: SitingConfig | Mapping | None,
    out_dir: str | Path,
    *,
    techs: Sequence[str] = TECHNOLOGIES,
    mem_limit_mb: float = DEFAULT_MEM_LIMIT_MB,
    scheduler: str | None = None,
    installed: pd.DataFrame | None = None,
    tile_size: int | None = None,
    cog: bool = True,
) -> SitingResult:
    """Run the siting stage for one or more technologies and write its outputs.

    Parameters
    ----------
    grid : GridSpec
        The run's grid (equal-area CRS in metres).
    rasters : mapping of str to layers.io.AlignedLayer
        Aligned rasters by name (``dem``, ``landcover``, ``ghi``, ``pv_yield``,
        ``wind_proxy``, ``slope_deg``, ``slope_pct``, ...).
    vectors : mapping of str to geopandas.GeoDataFrame
        Vector layers by name (``redline_proxy``, ``water``, ``highways``, ...).
    counties : geopandas.GeoDataFrame
        Columns ``adcode``, ``name``, ``prefecture``, ``prefecture_adcode``; cells whose centre
        lies in a county form the study area.
    bases : BasesTable or path
        The bases (or a bases file, see :func:`sxplan.siting.bases.load_bases`).
    config : SitingConfig or mapping
        The ``siting:`` settings.
    out_dir : str or pathlib.Path
        Folder for outputs (created; files replaced atomically).
    techs : sequence of {"pv", "wind"}
        Technologies to run (disabled ones in the config are skipped).
    mem_limit_mb : float
        Memory budget for tiles in flight.
    scheduler : str, optional
        Tile scheduler for :func:`sxplan.layers.windows.run_tiles` (``"sync"``, ``"threads"``,
        a Dask scheduler); default: the one of an enclosing
        :func:`sxplan.layers.windows.use_scheduler` block, else ``"sync"``.
    installed : pandas.DataFrame, optional
        Installed capacity: ``adcode``, ``technology`` (pv|wind), ``capacity_mw``.
    tile_size : int, optional
        Force a tile side in cells (tests).
    cog : bool
        Write rasters as Cloud-Optimized GeoTIFF.

    Returns
    -------
    SitingResult
    """
    # GDAL's block cache defaults to 5 % of the machine's RAM (1.2 GB here) and fills with the
    # output rasters' blocks; bound it by the budget so the run's memory stays flat.
    cache_mb = int(min(256, max(32, mem_limit_mb / 8)))
    with rasterio.Env(GDAL_CACHEMAX=cache_mb * 1024 * 1024):  # bytes
        return _run_siting(
            grid, rasters, vectors, counties, bases, config, out_dir, techs=techs,
            mem_limit_mb=mem_limit_mb, scheduler=scheduler, installed=installed,
            tile_size=tile_size, cog=cog,
        )  # fmt: skip


def _run_siting(
    grid, rasters, vectors, counties, bases, config, out_dir, *, techs, mem_limit_mb, scheduler,
    installed, tile_size, cog,
) -> SitingResult:  # fmt: skip
    t_start = time.perf_counter()
    cfg = config if isinstance(config, SitingConfig) else load_siting_config(config)
    for t in techs:
        if t not in TECHNOLOGIES:
            raise ConfigError(f"unknown technology {t!r}; use one of {list(TECHNOLOGIES)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counties = _check_counties(counties, grid)
    if not isinstance(bases, BasesTable):
        bases = load_bases(bases)
    bases.check_counties(counties["adcode"], "counties layer")
    layers = LayerSet(grid, rasters, vectors)
    if installed is None and cfg.installed_capacity_path:
        installed = _read_installed(cfg.installed_capacity_path)
    if installed is not None:
        installed = _check_installed(installed)

    results: dict[str, TechResult] = {}
    outputs: dict[str, Path] = {}
    timings: dict[str, float] = {}
    enabled = [t for t in techs if cfg.technology(t).enabled]
    if enabled:
        with tempfile.TemporaryDirectory(prefix=".siting-work-", dir=out_dir) as work:
            t0 = time.perf_counter()
            for tech in enabled:  # rasters shared by technologies are computed once
                precompute_distances(
                    cfg.technology(tech).criteria, layers, work, mem_limit_mb=mem_limit_mb,
                    scheduler=scheduler, tile_size=tile_size,
                )  # fmt: skip
            timings["distances"] = round(time.perf_counter() - t0, 3)
            t0 = time.perf_counter()
            passes = [_TechPass(tech, cfg, grid, layers, counties) for tech in enabled]
            tiles = _shared_pass(
                passes, grid, layers, counties, out_dir, mem_limit_mb, scheduler, tile_size, cog
            )
            timings["score_and_pieces"] = round(time.perf_counter() - t0, 3)
            for tp in passes:
                t0 = time.perf_counter()
                tr, files = tp.finish(tiles, grid, layers, counties, bases, cfg, out_dir, scheduler)
                results[tp.tech] = tr
                outputs.update(files)
                timings[tp.tech] = round(time.perf_counter() - t0, 3)
    if not results:
        raise ConfigError(f"no technology to run: asked for {list(techs)}, none is enabled")

    t0 = time.perf_counter()
    exclusions = pd.concat([r.exclusions for r in results.values()], ignore_index=True)
    shortlist = _shortlist(results, cfg.shortlist_top_n)
    bases_df = _bases_table(results, bases, counties, cfg, installed)
    outputs["exclusions"] = write_csv(exclusions, out_dir / "exclusions.csv")
    outputs["shortlist"] = write_csv(
        round_for_csv(shortlist.drop(columns="geometry")), out_dir / "shortlist.csv"
    )
    outputs["shortlist_gpkg"] = write_gpkg(
        gpd.GeoDataFrame(shortlist, geometry="geometry", crs="EPSG:4326"),
        out_dir / "shortlist.gpkg",
        "shortlist",
    )
    outputs["bases"] = write_csv(round_for_csv(bases_df), out_dir / "bases.csv")
    timings["tables"] = round(time.perf_counter() - t0, 3)
    timings["total"] = round(time.perf_counter() - t_start, 3)
    return SitingResult(
        results,
        pd.DataFrame(shortlist.drop(columns="geometry")),
        bases_df,
        exclusions,
        outputs,
        timings,
        cfg.model_dump(mode="json"),
        gpd.GeoSeries(shortlist["geometry"], crs="EPSG:4326"),
    )


def _check_counties(counties: gpd.GeoDataFrame, grid: GridSpec) -> gpd.GeoDataFrame:
    need = ["adcode", "name", "prefecture", "prefecture_adcode"]
    missing = [c for c in need if c not in counties.columns]
    if missing:
        raise ConfigError(
            f"counties layer lacks columns {missing}; it needs {need} (adcode as a 6-digit int)"
        )
    if counties.crs is None:
        raise ConfigError("counties layer has no CRS; load it with sxplan.layers.load_vector")
    if CRS.from_user_input(counties.crs) != grid.pyproj_crs:
        counties = counties.to_crs(grid.pyproj_crs)
    counties = counties.reset_index(drop=True).copy()
    counties["adcode"] = counties["adcode"].astype("int64")
    dup = counties["adcode"][counties["adcode"].duplicated()].tolist()
    if dup:
        raise ConfigError(f"counties layer repeats adcodes {dup}; dissolve them first")
    return counties


def _read_installed(path) -> pd.DataFrame:
    from sxplan.errors import LayerIOError

    p = Path(path)
    if not p.is_file():
        raise LayerIOError(
            f"installed capacity file {p} does not exist; fix `siting.installed_capacity_path` "
            "(a CSV with columns adcode, technology, capacity_mw) or remove it"
        )
    try:
        return pd.read_csv(p, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise LayerIOError(f"installed capacity file {p} is not a readable CSV: {exc}") from exc


def _check_installed(df: pd.DataFrame) -> pd.DataFrame:
    need = ["adcode", "technology", "capacity_mw"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ConfigError(f"installed capacity table lacks columns {missing}; needs {need}")
    bad = sorted(set(df["technology"]) - set(TECHNOLOGIES))
    if bad:
        raise ConfigError(f"installed capacity: unknown technologies {bad}; use pv or wind")
    return df


# ------------------------------------------------------------------------------------------
def _units_suffix(units: str) -> str:
    special = {
        "m/s": "ms",
        "%": "pct",
        "percent": "pct",
        "degree": "deg",
        "degrees": "deg",
        "kWh/m2/yr": "kwh_m2_yr",
        "kWh/kWp/yr": "kwh_kwp_yr",
        "m": "m",
    }
    if units in special:
        return special[units]
    return "".join(ch if ch.isalnum() else "_" for ch in units.lower()).strip("_")


def _resource_column(name: str, units: str) -> str:
    suffix = _units_suffix(units)
    return name if not suffix or name.endswith(suffix) else f"{name}_{suffix}"


class _TechCompute:
    """What a tile task needs for one technology (picklable: no open files, no accumulators)."""

    def __init__(self, tech, cfg, grid, layers, n_counties):
        tcfg = cfg.technology(tech)
        self.tech = tech
        self.rules = compile_rules(cfg, tech, layers)
        self.weights, self.ahp = weights_from_config(tcfg)
        self.crit = CompiledCriteria(tcfg.criteria, self.weights, layers)
        self.resource = layers.raster(tcfg.resource_layer, f"{tech}.resource_layer")
        if tech == "pv":
            self.energy_layer = layers.raster(tcfg.energy.yield_layer, "pv.energy.yield_layer").name
            self.cf_table = None
        else:
            self.energy_layer = layers.raster(
                tcfg.energy.speed_layer, "wind.energy.speed_layer"
            ).name
            self.cf_table = wind_cf_table(tcfg.energy)
        self.slope_name = cfg.slope_layer if cfg.slope_layer in layers.rasters else None
        self.lc_name = cfg.landcover_layer if cfg.landcover_layer in layers.rasters else None
        self.lc_scheme = cfg.landcover_scheme
        self.lc_nodata = layers.rasters[self.lc_name].nodata if self.lc_name else None
        self.required = list(
            dict.fromkeys(self.rules.hard_rasters + [self.resource.name, self.energy_layer])
        )
        self.n_counties = n_counties
        cell_km2 = grid.cell_area_km2
        self.grid_width = grid.width
        self.block = block_side_cells(tcfg.max_parcel_area_km2, cell_km2)
        self.min_cells = tcfg.min_parcel_area_km2 / cell_km2
        self.max_cells = tcfg.max_parcel_area_km2 / cell_km2
        self.thr = float(tcfg.score_threshold)
        self.connectivity = tcfg.connectivity

    @property
    def halo(self) -> int:
        return max(self.rules.halo, self.crit.halo)

    @property
    def bytes_per_cell(self) -> int:
        # codes, score, factor, masks, county, parcel values (float64) and criteria arrays
        return 120 + 24 * len(self.crit.items)

    def compute(self, tile, ctx, county, study):
        """Codes, scores, counts and parcel pieces of one tile."""
        ex = self.rules.evaluate(ctx, study)
        code = ex.code
        if not study.any():
            return code, np.full(ctx.shape, np.nan, "float32"), None
        cr = self.crit.evaluate(ctx)
        missing = np.zeros(ctx.shape, dtype=bool)
        for name in self.required:
            missing |= ~ctx.read(name, what=f"{self.tech} inputs")[1]
        for arr in cr.raw.values():
            missing |= np.isnan(arr)
        code[(code == 0) & missing] = NO_DATA_CODE
        eligible = code == 0
        score = np.where(eligible, cr.combined * ex.score_factor, np.nan).astype("float32")
        candidate = eligible & (score >= self.thr)
        n = self.n_counties + 1
        counts = {
            "seq": np.bincount(code[study], minlength=256),
            "alone": ex.alone_cells,
            "soft_seq": np.array(
                [0 if m is None else int(np.count_nonzero(m & eligible)) for m in ex.soft_masks],
                dtype="int64",
            ),
            "nodata_alone": int(np.count_nonzero(missing & study)),
            "eligible_county": np.bincount(county[eligible], minlength=n),
            "candidate_county": np.bincount(county[candidate], minlength=n),
        }
        if not candidate.any():
            return code, score, (counts, None)
        values = {"score": score, "resource": ctx.read_float(self.resource.name)}
        energy_raw = ctx.read_float(self.energy_layer)
        values["energy"] = energy_raw if self.cf_table is None else self.cf_table(energy_raw)
        if self.slope_name:
            values["slope"] = ctx.read_float(self.slope_name)
        for name in self.crit.names:
            values[f"crit_{name}"] = cr.raw[name]
            values[f"score_{name}"] = cr.scores[name]
        lc = None
        if self.lc_name:
            lc = ctx.cached(
                ("common_landcover", self.lc_name),
                lambda: to_common(
                    ctx.read(self.lc_name)[0], self.lc_scheme, self.lc_nodata, what=self.lc_name
                ),
            )
        pt = piece_tile(
            candidate, row_off=int(tile.window.row_off), col_off=int(tile.window.col_off),
            grid_width=self.grid_width, block_cells=self.block,
            connectivity=self.connectivity, min_cells=self.min_cells, values=values,
            max_fields=("score",), landcover=lc, county=county,
        )  # fmt: skip
        return code, score, (counts, pt)


class _TechPass:
    """One technology's part of the shared pass: its compute spec, writers and accumulators."""

    def __init__(self, tech, cfg, grid, layers, counties):
        t0 = time.perf_counter()
        self.tech = tech
        self.tcfg = cfg.technology(tech)
        self.spec = _TechCompute(tech, cfg, grid, layers, len(counties))
        sp = self.spec
        self.acc = ParcelAccumulator(
            grid.shape, sp.block, sp.connectivity, sp.min_cells, sp.max_cells
        )
        n_rules = len(sp.rules.rules)
        n_counties = len(counties)
        self.totals = {
            "seq": np.zeros(256, dtype="int64"),
            "alone": np.zeros(n_rules, dtype="int64"),
            "soft_seq": np.zeros(n_rules, dtype="int64"),
            "nodata_alone": 0,
            "eligible_county": np.zeros(n_counties + 1, dtype="int64"),
            "candidate_county": np.zeros(n_counties + 1, dtype="int64"),
        }
        self.timings = {"compile": round(time.perf_counter() - t0, 3)}

    def open_writers(self, stack, out_dir, grid, cog):
        self.code_path = out_dir / f"excluded_by_rule_{self.tech}.tif"
        self.suit_path = out_dir / f"suitability_{self.tech}.tif"
        self.wcode = stack.enter_context(
            RasterTileWriter(
                self.code_path, grid, "uint8", OUTSIDE_CODE, cog=cog, kind="categorical",
                tags={"units": "rule code", "legend": self.code_path.with_suffix(".csv").name},
            )
        )  # fmt: skip
        self.wsuit = stack.enter_context(
            RasterTileWriter(
                self.suit_path, grid, "float32", float("nan"), cog=cog, kind="continuous",
                tags={"units": "score 0-1"},
            )
        )  # fmt: skip

    def write(self, tile, out):
        code, score, extra = out
        self.wcode.write(code, tile.window)
        self.wsuit.write(score, tile.window)
        pt = None
        if extra is not None:
            counts, pt = extra
            for k, v in counts.items():
                self.totals[k] = self.totals[k] + v
        if pt is None:
            pt = empty_piece_tile(int(tile.window.height), int(tile.window.width))
        self.acc.add(tile.window, pt)

    def finish(self, tiles, grid, layers, counties, bases, cfg, out_dir, scheduler):
        """Resolve parcels, draw them, and build this technology's tables and files."""
        tech, tcfg, sp, timings = self.tech, self.tcfg, self.spec, self.timings
        cell_km2 = grid.cell_area_km2
        t0 = time.perf_counter()
        parcels = self.acc.finish()
        timings["resolve_parcels"] = round(time.perf_counter() - t0, 3)

        t0 = time.perf_counter()
        geoms = _polygonize(
            parcels, tiles, self.suit_path, grid, sp.thr, sp.block, sp.connectivity, scheduler,
            progress=f"parcel outlines {tech}",
        )  # fmt: skip
        timings["polygons"] = round(time.perf_counter() - t0, 3)

        t0 = time.perf_counter()
        table = _parcel_table(
            tech, tcfg, parcels, geoms, grid, counties, bases, layers, sp.crit, cfg,
            sp.resource, sp.slope_name, sp.cf_table,
        )  # fmt: skip
        del geoms
        totals = self.totals
        excl = _exclusion_table(tech, cfg, sp.rules, totals, cell_km2)
        legend = _legend(cfg, sp.rules)
        code_path = self.code_path
        files = {
            f"suitability_{tech}": self.suit_path,
            f"excluded_by_rule_{tech}": code_path,
            f"excluded_by_rule_{tech}_legend": write_csv(legend, code_path.with_suffix(".csv")),
            f"parcels_{tech}": write_gpkg(
                table, out_dir / f"parcels_{tech}.gpkg", f"parcels_{tech}"
            ),
        }
        per_county = _per_county(tech, tcfg, parcels, table, counties, totals, cell_km2)
        timings["tables"] = round(time.perf_counter() - t0, 3)
        study_cells = int(totals["seq"][:OUTSIDE_CODE].sum())
        tr = TechResult(
            tech, table, excl, per_county, study_cells * cell_km2,
            int(totals["seq"][0]) * cell_km2, int(totals["candidate_county"][1:].sum()) * cell_km2,
            sp.weights, sp.ahp, timings,
        )  # fmt: skip
        return tr, files


def _shared_pass(passes, grid, layers, counties, out_dir, mem_limit_mb, scheduler, tile_size, cog):
    """One windowed pass for every technology: each tile is read once and serves them all.

    Reads, the study area, exclusion rules shared by technologies (same code = same rule),
    the derived slope and land-cover classes are computed once per tile (cached in the
    :class:`TileContext`). Returns the tiles (the parcel outline pass re-uses them).
    """
    county_geoms = np.asarray(counties.geometry.values)
    county_tree = shapely.STRtree(county_geoms)
    halo = max(tp.spec.halo for tp in passes)
    n_workers = 1 if scheduler == "sync" else default_workers()
    bytes_per_cell = 48 + sum(tp.spec.bytes_per_cell for tp in passes) + 8 * len(layers.rasters)
    tiles = plan_tiles(
        grid,
        mem_limit_mb=mem_limit_mb,
        bytes_per_cell=bytes_per_cell,
        halo=halo,
        n_workers=n_workers,
        tile_size=tile_size,
    )
    specs = [tp.spec for tp in passes]

    def compute(tile):
        ctx = TileContext(layers, tile)
        county = study_area_tile(county_geoms, county_tree, grid, tile.window)
        study = county > 0
        return [sp.compute(tile, ctx, county, study) for sp in specs]

    def write(tile, outs):
        for tp, out in zip(passes, outs, strict=True):
            tp.write(tile, out)

    with contextlib.ExitStack() as stack:
        for tp in passes:
            tp.open_writers(stack, out_dir, grid, cog)
        label = "siting " + "+".join(tp.tech for tp in passes)
        run_tiles(tiles, compute, write, scheduler=scheduler, progress=label)
    return tiles


def _polygonize(
    parcels: ParcelSet, tiles, suit_path, grid, thr, block, connectivity, scheduler, progress=None
):
    """Parcel polygons (grid CRS) by re-labelling each tile from the written suitability."""
    from rasterio import features as rio_features

    from sxplan.layers.io import AlignedLayer

    suit = AlignedLayer(
        Path(suit_path).stem, Path(suit_path), grid, "continuous", "", float("nan"), "float32"
    )
    parts: dict[int, list] = {}
    if parcels.n == 0:
        return []
    # Per tile: its kept piece labels and their parcel ids (small; travels with the task when
    # the scheduler is a Dask cluster, so no task needs the whole ParcelSet).
    per_tile = {}
    for i, t in enumerate(tiles):
        kept = parcels.tile_kept[i]
        if kept.size:
            off = parcels.tile_offsets[i]
            key = (int(t.window.row_off), int(t.window.col_off))
            per_tile[key] = (kept, parcels.node_parcel[off + 1 : off + 1 + kept.size])

    def compute(tile):
        key = (int(tile.window.row_off), int(tile.window.col_off))
        if key not in per_tile:
            return None
        score = suit.read(tile.window, masked=False)
        candidate = np.isfinite(score) & (score >= thr)
        kept, parcel_of_kept = per_tile[key]
        pid = piece_parcel_ids(candidate, key[0], key[1], block, connectivity, kept, parcel_of_kept)
        if not pid.any():
            return None
        shapes = rio_features.shapes(
            pid, mask=pid > 0, connectivity=connectivity,
            transform=grid.window_transform(tile.window),
        )  # fmt: skip
        return _shapes_to_polygons(shapes)

    def write(tile, out):
        if out is not None:
            values, polys = out
            for v, g in zip(values.tolist(), polys, strict=True):
                parts.setdefault(v, []).append(g)

    run_tiles(tiles, compute, write, scheduler=scheduler, progress=progress)
    geoms = []
    for pid in range(1, parcels.n + 1):
        ps = parts.get(pid, [])
        if not ps:
            raise RuntimeError(f"parcel {pid} has no cells on re-reading; please report")
        if len(ps) == 1:
            geom = ps[0]
        else:
            # Drop vertices left on straight edges where tiles met (GDAL's own outlines have
            # none), so the geometry does not depend on the tiling.
            geom = shapely.simplify(shapely.union_all(ps), 0.0)
        geoms.append(shapely.normalize(geom))
    return geoms


def _distance_to_features(polys: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Exact distance (grid units) from each (multi)polygon to the nearest feature.

    Parcels cut by exclusions carry thousands of holes, which make GEOS distance slow. A
    feature outside a polygon's outer ring is as far from the polygon as from the filled ring,
    so distances are taken to the filled outer rings, and only parts whose filled ring a
    feature reaches (distance 0) are measured again with their holes.
    """
    tree = shapely.STRtree(features)
    parts, owner = shapely.get_parts(polys, return_index=True)
    filled = shapely.polygons(shapely.get_exterior_ring(parts))
    _, d = tree.query_nearest(filled, return_distance=True, all_matches=False)
    d = np.asarray(d, dtype="float64")
    recheck = np.nonzero(d == 0)[0]
    if recheck.size:
        _, d2 = tree.query_nearest(parts[recheck], return_distance=True, all_matches=False)
        d[recheck] = d2
    out = np.full(len(polys), np.inf)
    np.minimum.at(out, owner, d)
    return out


def _shapes_to_polygons(shapes) -> tuple[np.ndarray, np.ndarray]:
    """Values and polygons from :func:`rasterio.features.shapes`, built in bulk (fast)."""
    values, rings, poly_of_ring = [], [], []
    for p, (geom, value) in enumerate(shapes):
        values.append(value)
        for ring in geom["coordinates"]:
            rings.append(np.asarray(ring, dtype="float64"))
            poly_of_ring.append(p)
    if not values:
        return np.zeros(0, dtype="int64"), np.zeros(0, dtype=object)
    lengths = np.fromiter((len(r) for r in rings), dtype="int64", count=len(rings))
    ring_geoms = shapely.linearrings(
        np.concatenate(rings), indices=np.repeat(np.arange(len(rings)), lengths)
    )
    polys = shapely.polygons(ring_geoms, indices=np.asarray(poly_of_ring))
    return np.asarray(values, dtype="int64"), polys


def _parcel_table(
    tech,
    tcfg,
    parcels: ParcelSet,
    geoms,
    grid,
    counties,
    bases,
    layers,
    crit,
    cfg,
    resource,
    slope_name,
    cf_table,
) -> gpd.GeoDataFrame:
    n = parcels.n
    cell_km2 = grid.cell_area_km2
    st = parcels.stats
    df = pd.DataFrame(index=np.arange(n))
    df["technology"] = tech
    df["area_km2"] = st["cells"] * cell_km2 if n else np.zeros(0)
    cap = tcfg.capacity
    df["capacity_mw"] = df["area_km2"] * cap.density_mw_per_km2 * cap.usable_share
    if n:
        energy_mean = parcels.mean("energy")
        if tech == "pv":
            df["yield_kwh_per_kwp_yr"] = energy_mean
            df["energy_gwh_per_yr"] = (
                df["capacity_mw"] * energy_mean / 1000.0 * (1 - tcfg.energy.extra_losses_share)
            )
        else:
            df["capacity_factor"] = energy_mean
            df["energy_gwh_per_yr"] = df["capacity_mw"] * energy_mean * HOURS_PER_YEAR / 1000.0
            df["turbines"] = df["capacity_mw"] * 1e6 / cf_table.turbine.nominal_power_w
        df["score_mean"] = parcels.mean("score")
        df["score_max"] = st["score_max"]
        if slope_name:
            df[f"mean_{_resource_column(slope_name, layers.rasters[slope_name].units)}"] = (
                parcels.mean("slope")
            )
        df[f"mean_{_resource_column(resource.name, resource.units)}"] = parcels.mean("resource")
        for name, code in COMMON_CLASSES.items():
            df[f"lc_{name}_share"] = parcels.lc_cells[:, code] / st["cells"]
        # Counties: main county, its share, all counties.
        cc = parcels.county_cells
        cdf = pd.DataFrame(cc, columns=["parcel", "county", "cells"])
        cdf["adcode"] = counties["adcode"].to_numpy()[cdf["county"].to_numpy() - 1]
        main = cdf.sort_values(["parcel", "cells", "adcode"], ascending=[True, False, True])
        main = main.drop_duplicates("parcel").set_index("parcel")
        ci = counties.set_index("adcode")
        adc = main.reindex(np.arange(1, n + 1))["adcode"].to_numpy()
        df["adcode"] = adc.astype("int64")
        df["county"] = ci.loc[adc, "name"].to_numpy()
        df["prefecture"] = ci.loc[adc, "prefecture"].to_numpy()
        df["prefecture_adcode"] = ci.loc[adc, "prefecture_adcode"].to_numpy().astype("int64")
        df["county_share"] = main.reindex(np.arange(1, n + 1))["cells"].to_numpy() / st["cells"]
        allc = cdf.sort_values(["parcel", "cells"], ascending=[True, False]).groupby("parcel")
        df["counties"] = (
            allc["adcode"]
            .apply(lambda s: ";".join(str(a) for a in s))
            .reindex(np.arange(1, n + 1))
            .to_numpy()
        )
        # Bases by share of cells in their counties.
        b_of_c = bases.bases_of_county()
        share_rows = []
        for b in bases.bases:
            inb = cdf["adcode"].isin(b.counties)
            s = cdf[inb].groupby("parcel")["cells"].sum().reindex(np.arange(1, n + 1)).fillna(0)
            share_rows.append(s.to_numpy() / st["cells"])
        shares = np.array(share_rows).T if share_rows else np.zeros((n, 0))
        names_zh = {b.id: b.name_zh for b in bases.bases}
        ids = [b.id for b in bases.bases]
        blist = []
        for row in shares:
            order = [ids[j] for j in np.argsort(-row, kind="stable") if row[j] > 0]
            blist.append(order)
        df["bases"] = [";".join(b) for b in blist]
        df["bases_zh"] = [";".join(names_zh[x] for x in b) for b in blist]
        df["bases_share"] = [
            float(row.max()) if row.size else 0.0 for row in shares
        ]  # share in the main base
        del b_of_c
        for name in crit.names:
            df[f"crit_{name}"] = parcels.mean(f"crit_{name}")
            df[f"score_{name}"] = parcels.mean(f"score_{name}")
        df["first_index"] = st["first_index"]
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=grid.pyproj_crs))
    if n:
        hw = cfg.highways_layer
        if hw and hw in layers.vectors and len(layers.vectors[hw]):
            hgeoms = np.asarray(layers.vectors[hw].geometry.values)
            dist = _distance_to_features(np.asarray(gdf.geometry.values), hgeoms)
            gdf["dist_highway_km"] = dist / 1000.0
        pts = gpd.GeoSeries(
            shapely.point_on_surface(np.asarray(gdf.geometry.values)), crs=grid.pyproj_crs
        ).to_crs("EPSG:4326")
        gdf["lon"] = pts.x.to_numpy()
        gdf["lat"] = pts.y.to_numpy()
        glon, glat = wgs84_to_gcj02(gdf["lon"].to_numpy(), gdf["lat"].to_numpy())
        gdf["lon_gcj02"] = np.asarray(glon)
        gdf["lat_gcj02"] = np.asarray(glat)
        gdf = gdf.sort_values(
            ["score_mean", "area_km2", "first_index"], ascending=[False, False, True]
        ).reset_index(drop=True)
    gdf.insert(0, "rank", np.arange(1, len(gdf) + 1))
    gdf.insert(0, "parcel_id", [f"{tech.upper()}-{i:05d}" for i in range(1, len(gdf) + 1)])
    gdf = gdf.drop(columns=[c for c in ["first_index"] if c in gdf.columns])
    return gdf.to_crs("EPSG:4326")


def _exclusion_table(tech, cfg, rules, totals, cell_km2) -> pd.DataFrame:
    rows = []
    study = int(totals["seq"][:OUTSIDE_CODE].sum())
    for i, r in enumerate(rules.rules):
        rule = r.rule
        seq = int(totals["seq"][r.code]) if rule.mode == "hard" else int(totals["soft_seq"][i])
        rows.append({
            "technology": tech, "order": i + 1, "code": r.code, "rule": rule.name,
            "label_zh": rule.label_zh or "", "mode": rule.mode, "type": rule.type,
            "layer": rule.layer, "km2_alone": totals["alone"][i] * cell_km2,
            "km2_in_sequence": seq * cell_km2,
            "share_of_study_area": seq / study if study else 0.0, "note": rule.note or "",
        })  # fmt: skip
    nd = int(totals["seq"][NO_DATA_CODE])
    rows.append({
        "technology": tech, "order": len(rules.rules) + 1, "code": NO_DATA_CODE, "rule": "no_data",
        "label_zh": "缺少数据", "mode": "hard", "type": "implicit", "layer": "",
        "km2_alone": totals["nodata_alone"] * cell_km2, "km2_in_sequence": nd * cell_km2,
        "share_of_study_area": nd / study if study else 0.0,
        "note": "eligible by every rule but an input layer has no data here",
    })  # fmt: skip
    excluded = study - int(totals["seq"][0])
    for name, zh, cells in [
        ("total_excluded", "排除合计", excluded),
        ("eligible", "可用土地", int(totals["seq"][0])),
        ("study_area", "研究区", study),
    ]:
        rows.append({
            "technology": tech, "order": None, "code": None, "rule": name, "label_zh": zh,
            "mode": "", "type": "total", "layer": "", "km2_alone": None,
            "km2_in_sequence": cells * cell_km2,
            "share_of_study_area": cells / study if study else 0.0, "note": "",
        })  # fmt: skip
    df = pd.DataFrame(rows)
    for col in ("order", "code"):
        df[col] = df[col].astype("Int64")
    return df


def _legend(cfg, rules) -> pd.DataFrame:
    rows = [{"code": 0, "rule": "eligible", "label_zh": "可用", "mode": ""}]
    for r in rules.rules:
        if r.rule.mode == "hard":
            rows.append(
                {
                    "code": r.code,
                    "rule": r.rule.name,
                    "label_zh": r.rule.label_zh or "",
                    "mode": "hard",
                }
            )
    rows.append({"code": NO_DATA_CODE, "rule": "no_data", "label_zh": "缺少数据", "mode": "hard"})
    rows.append(
        {
            "code": OUTSIDE_CODE,
            "rule": "outside_study_area (nodata)",
            "label_zh": "研究区外",
            "mode": "",
        }
    )
    return pd.DataFrame(rows)


def _per_county(tech, tcfg, parcels, table, counties, totals, cell_km2) -> pd.DataFrame:
    adcodes = counties["adcode"].to_numpy()
    df = pd.DataFrame(index=pd.Index(adcodes, name="adcode"))
    df["eligible_km2"] = totals["eligible_county"][1:] * cell_km2
    df["candidate_km2"] = totals["candidate_county"][1:] * cell_km2
    df["parcel_area_km2"] = 0.0
    df["potential_gw"] = 0.0
    df["energy_twh_per_yr"] = 0.0
    df["parcels"] = 0
    if parcels.n:
        # parcel number (1..n before ranking) -> capacity, energy: table is ranked, so map by
        # recomputing per original parcel from stats.
        st = parcels.stats
        area = st["cells"] * cell_km2
        capmw = area * tcfg.capacity.density_mw_per_km2 * tcfg.capacity.usable_share
        energy_mean = parcels.mean("energy")
        if tech == "pv":
            egwh = capmw * energy_mean / 1000.0 * (1 - tcfg.energy.extra_losses_share)
        else:
            egwh = capmw * energy_mean * HOURS_PER_YEAR / 1000.0
        cc = parcels.county_cells
        p = cc[:, 0] - 1
        share = cc[:, 2] / st["cells"][p]
        cidx = cc[:, 1] - 1
        k = len(adcodes)
        df["parcel_area_km2"] = np.bincount(cidx, weights=cc[:, 2] * cell_km2, minlength=k)
        df["potential_gw"] = np.bincount(cidx, weights=capmw[p] * share, minlength=k) / 1000.0
        df["energy_twh_per_yr"] = np.bincount(cidx, weights=egwh[p] * share, minlength=k) / 1000
        df["parcels"] = np.bincount(cidx, minlength=k)
    return df


def _shortlist(results: dict, top_n: int) -> gpd.GeoDataFrame:
    frames = []
    for tr in results.values():
        frames.append(tr.parcels[tr.parcels["rank"] <= top_n])
    sl = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    first = [
        "rank",
        "parcel_id",
        "technology",
        "county",
        "adcode",
        "prefecture",
        "prefecture_adcode",
        "bases",
        "bases_zh",
        "lon",
        "lat",
        "lon_gcj02",
        "lat_gcj02",
        "area_km2",
        "capacity_mw",
        "energy_gwh_per_yr",
        "score_mean",
        "score_max",
    ]
    cols = [c for c in first if c in sl.columns]
    cols += [c for c in sl.columns if c not in cols and c != "geometry"] + ["geometry"]
    sl = sl[cols]
    sl.insert(3, "technology_zh", sl["technology"].map(_TECH_ZH))
    return sl


def _bases_table(results, bases: BasesTable, counties, cfg, installed) -> pd.DataFrame:
    rows = []
    cols = ["eligible_km2", "candidate_km2", "parcel_area_km2", "potential_gw", "energy_twh_per_yr"]
    inst = None
    if installed is not None:
        inst = installed.pivot_table(
            index="adcode", columns="technology", values="capacity_mw", aggfunc="sum"
        ).fillna(0.0)
    pref = counties[["adcode", "prefecture", "prefecture_adcode"]].set_index("adcode")
    units = []  # (level, id, name_zh, name_en, adcodes, t25, t30)
    for b in bases.bases:
        units.append(
            (
                "base",
                b.id,
                b.name_zh,
                b.name_en,
                list(b.counties),
                b.target_gw_2025,
                b.target_gw_2030,
            )
        )
    units.append(
        (
            "all_bases",
            "all_bases",
            "五大基地合计(去重)",
            "all bases (union, no double count)",
            sorted(bases.union_counties()),
            None,
            None,
        )
    )
    for (pname, padc), grp in pref.reset_index().groupby(
        ["prefecture", "prefecture_adcode"], sort=True
    ):
        units.append(("prefecture", str(int(padc)), pname, "", grp["adcode"].tolist(), None, None))
    units.append(
        (
            "province",
            "province",
            "全省",
            "province",
            counties["adcode"].tolist(),
            cfg.targets.wind_pv_gw_2025,
            cfg.targets.wind_pv_gw_2030,
        )
    )
    for level, uid, zh, en, adcodes, t25, t30 in units:
        tot = {c: 0.0 for c in cols}
        tot_parcels = 0
        tot_inst = 0.0
        for tech, tr in results.items():
            sub = tr.per_county.reindex(adcodes).fillna(0)
            vals = {c: float(sub[c].sum()) for c in cols}
            parcels = _parcels_in(tr.parcels, adcodes)
            inst_gw = None
            if inst is not None and tech in inst.columns:
                inst_gw = float(inst[tech].reindex(adcodes).fillna(0).sum()) / 1000.0
                tot_inst += inst_gw
            rows.append(
                {
                    "level": level,
                    "id": uid,
                    "name_zh": zh,
                    "name_en": en,
                    "technology": tech,
                    "technology_zh": _TECH_ZH[tech],
                    **vals,
                    "parcels": parcels,
                    "target_gw_2025": None,
                    "target_gw_2030": None,
                    "installed_gw": inst_gw,
                    "note": "",
                }
            )
            for c in cols:
                tot[c] += vals[c]
            tot_parcels += parcels
        if len(results) > 1:
            rows.append({
                "level": level, "id": uid, "name_zh": zh, "name_en": en, "technology": "pv+wind",
                "technology_zh": _TECH_ZH["pv+wind"], **tot, "parcels": tot_parcels,
                "target_gw_2025": t25, "target_gw_2030": t30,
                "installed_gw": tot_inst if inst is not None else None,
                "note": "PV and wind parcels may share land; the sum is an upper bound",
            })  # fmt: skip
    df = pd.DataFrame(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["potential_to_target_2030"] = df["potential_gw"] / df["target_gw_2030"].astype(float)
    return df


def _parcels_in(parcels: gpd.GeoDataFrame, adcodes) -> int:
    if parcels.empty:
        return 0
    wanted = {str(a) for a in adcodes}
    return int(parcels["counties"].map(lambda s: bool(wanted & set(s.split(";")))).sum())
