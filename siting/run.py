"""Run the siting stage: exclusions -> scores -> parcels -> capacity/energy -> bases -> shortlist.

:func:`run_siting` is the only place the order of siting steps is written down:

1. validate the inputs once (:func:`~sxplan.siting._run_inputs.prepare_inputs`);
2. rasterise the distances criteria need (:func:`~sxplan.siting.suitability.precompute_distances`);
3. one windowed pass for every technology (:func:`~sxplan.siting._tile_pass.shared_pass`):
   exclusion codes and suitability written tile by tile, parcel pieces accumulated; the
   rasters are then converted to COG beside step 4 (each suitability after its outlines);
4. per technology (:func:`_finish_technology`): resolve parcels across tiles, draw their
   outlines (each kept on disk as soon as it is finished, :mod:`~sxplan.siting._outline_store`:
   a run never holds every outline), capacity and energy through the technology's own
   functions, the parcel table, the exclusion table and the per-county sums;
5. tables across technologies: exclusions, shortlist, bases against the targets.

Technologies come from :mod:`sxplan.siting.technology`; nothing here branches on a
technology's name. File names come from :mod:`sxplan.schema`.

Inputs: the run's grid, aligned rasters and vector layers by name, counties, bases, the
``siting:`` config, an output folder, a memory budget.
Outputs (in ``out_dir``): ``suitability_<tech>.tif``, ``excluded_by_rule_<tech>.tif`` and its
legend ``excluded_by_rule_<tech>.csv``, ``rules_applying_<tech>.tif``,
``criterion_<tech>_<name>.tif`` (unless ``criterion_rasters: false``), ``parcels_<tech>.gpkg``,
``shortlist.csv``, ``shortlist.gpkg``, ``bases.csv``, ``exclusions.csv``; and a
:class:`SitingResult`.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from sxplan.errors import ConfigError
from sxplan.layers.budget import DEFAULT_MEM_LIMIT_MB, Budget
from sxplan.layers.grid import GridSpec
from sxplan.layers.heap import release_free_memory, trim_free_heap
from sxplan.layers.io import write_csv, write_gpkg_blocks
from sxplan.layers.open_datasets import keep_datasets_open
from sxplan.layers.tables import round_for_csv
from sxplan.schema import dataset

from ._outline_store import OutlineStore
from ._run_inputs import SitingInputs, prepare_inputs
from ._tile_pass import TechPass, TileOptions, WriterStack, raster_paths, shared_pass
from .bases import BasesTable
from .bases_table import bases_table
from .config import TECHNOLOGIES, SitingConfig
from .economics_io import write_economics
from .exclusion_table import exclusion_table, rule_legend
from .exclusions import OUTSIDE_CODE
from .parcel_table import parcel_energy, parcel_table, per_county
from .polygonize import parcel_outlines
from .results import SitingResult, TechResult
from .shortlist import parcel_shortlist, write_shortlist
from .stability import add_rank_stability
from .suitability import precompute_distances
from .technology import get_technology, technology_names

__all__ = ["SitingResult", "TechResult", "run_siting"]


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
    mem_limit_mb: float | Budget = DEFAULT_MEM_LIMIT_MB,
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
    techs : sequence of str
        Parcel technologies to run (``pv``, ``wind``; disabled ones in the config are skipped).
    mem_limit_mb : float or sxplan.layers.budget.Budget
        Memory budget of the run's process, in MB (or the run's :class:`Budget`): GDAL's
        block cache is bounded by it, and tiles in flight get what the interpreter, the
        libraries and that cache leave (:meth:`~sxplan.layers.budget.Budget.run_tiles`).
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
    budget = Budget.of(mem_limit_mb)
    with budget.run_env():  # GDAL's block cache, the heap ceiling and allowance (Budget.run_env)
        t_start = time.perf_counter()
        inputs = prepare_inputs(grid, rasters, vectors, counties, bases, config, installed)
        # mem_limit_mb bounds the run's process: tiles get what the libraries leave
        tiling = TileOptions(budget.run_tiles(), scheduler, tile_size, budget.pieces_held_bytes)
        return _run_siting(inputs, techs, Path(out_dir), tiling, cog, t_start)


def _run_siting(inputs: SitingInputs, techs, out_dir: Path, tiling, cog, t_start) -> SitingResult:
    cfg = inputs.config
    technologies = [get_technology(t) for t in techs]  # unknown names raise, listing the known
    for tech in technologies:
        if tech.engine != "parcels":
            raise ConfigError(
                f"technology {tech.name!r} is not sited on raster parcels; run_siting takes "
                f"{technology_names(engine='parcels')} (roadside PV: run_roadside_pv)"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    enabled = [t for t in technologies if t.settings(cfg).enabled]
    # scratch: distance rasters, and the parcel outlines until the GeoPackages are written
    with tempfile.TemporaryDirectory(prefix=".siting-work-", dir=out_dir) as work:
        return _run_enabled(inputs, enabled, techs, out_dir, Path(work), tiling, cog, t_start)


def _run_enabled(inputs, enabled, techs, out_dir: Path, work: Path, tiling, cog, t_start):
    cfg = inputs.config
    results: dict[str, TechResult] = {}
    outputs: dict[str, Path] = {}
    timings: dict[str, float] = {}
    if enabled:
        t0 = time.perf_counter()
        for tech in enabled:  # rasters shared by technologies are computed once
            precompute_distances(
                tech.settings(cfg).criteria, inputs.layers, work,
                mem_limit_mb=tiling.budget, scheduler=tiling.scheduler,
                tile_size=tiling.tile_size,
            )  # fmt: skip
        timings["distances"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        held = None if tiling.pieces_bytes is None else tiling.pieces_bytes / len(enabled)
        passes = [
            TechPass(
                tech, cfg, inputs.grid, inputs.layers, inputs.counties,
                spill_dir=work / f"pieces-{tech.name}", spill_bytes=held,
            )
            for tech in enabled
        ]  # fmt: skip
        with WriterStack() as writers:  # the rasters go to COG beside the steps below
            with keep_datasets_open():  # inputs decoded once per block, not once per tile
                tiles = shared_pass(passes, inputs, lambda t: raster_paths(out_dir, t), tiling,
                                    cog, writers)  # fmt: skip
            timings["score_and_pieces"] = round(time.perf_counter() - t0, 3)
            # every technology's pieces are resolved first: a resolved set is far smaller
            # than the pieces it came from, which would otherwise stay in memory through the
            # earlier technologies' outlines and tables (a national run has millions)
            resolved = [_resolve(tp) for tp in passes]
            for i, tp in enumerate(passes):
                t0 = time.perf_counter()
                parcels, resolved[i] = resolved[i], None
                tr, files = _finish_technology(
                    tp, parcels, tiles, inputs, out_dir, work, tiling.scheduler
                )
                del parcels
                trim_free_heap()
                results[tp.tech] = tr
                outputs.update(files)
                took = time.perf_counter() - t0 + tp.timings["resolve_parcels"]
                timings[tp.tech] = round(took, 3)
            t0 = time.perf_counter()
        timings["rasters_wait"] = round(time.perf_counter() - t0, 3)
    if not results:
        raise ConfigError(f"no technology to run: asked for {list(techs)}, none is enabled")

    t0 = time.perf_counter()
    outputs.update(write_economics(results, inputs, out_dir, timings))
    for tech, tr in results.items():
        ds = dataset("siting.parcels")
        path = out_dir / ds.filename(tech=tech)
        blocks = tr.outlines.frames(ds.check(tr.parcels))  # bounded by rows and bytes
        outputs[f"parcels_{tech}"] = write_gpkg_blocks(blocks, path, ds.layer_name(tech=tech))
        tr.parcels_gpkg = path
    exclusions = pd.concat([r.exclusions for r in results.values()], ignore_index=True)
    shortlist = parcel_shortlist(results, cfg.shortlist_top_n, cfg.shortlist_rank_by)
    bases_df = bases_table(results, inputs)
    outputs["exclusions"] = _write_csv(exclusions, out_dir, "siting.exclusions")
    outputs.update(write_shortlist(shortlist, out_dir))
    outputs["bases"] = _write_csv(round_for_csv(bases_df), out_dir, "siting.bases")
    timings["tables"] = round(time.perf_counter() - t0, 3)
    timings["total"] = round(time.perf_counter() - t_start, 3)
    for tr in results.values():
        tr.outlines = None  # its scratch file goes with the work folder; parcels_gpkg stays
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


def _resolve(tp: TechPass):
    """Resolve one technology's tile pieces into parcels and release the pieces."""
    t0 = time.perf_counter()
    parcels = tp.acc.finish()
    tp.acc = None  # the tile pieces (millions on a national run) are not needed past here
    trim_free_heap()
    tp.timings["resolve_parcels"] = round(time.perf_counter() - t0, 3)
    return parcels


def _finish_technology(
    tp: TechPass, parcels, tiles, inputs: SitingInputs, out_dir: Path, work, scheduler
):
    """Draw one technology's resolved parcels and build its tables and files."""
    tech, sp, timings, totals = tp.tech, tp.spec, tp.timings, tp.totals
    cell_km2 = inputs.grid.cell_area_km2
    t0 = time.perf_counter()
    hw = inputs.config.highways_layer
    lines = inputs.layers.vectors.get(hw) if hw else None
    store = OutlineStore(
        parcels.n, work / f"outlines_{tech}.wkb", inputs.grid.pyproj_crs,
        np.asarray(lines.geometry.values) if lines is not None and len(lines) else None,
    )  # fmt: skip
    try:
        parcel_outlines(
            parcels, tiles, tp.suitability_tiles(), inputs.grid, sp, scheduler, store.consume,
            progress=f"parcel outlines {tech}",
        )  # fmt: skip
    except BaseException:
        store.abort()
        raise
    store.close()
    tp.release_suitability()
    # what the outline pass freed goes back: the table is built from what is live
    release_free_memory()
    timings["polygons"] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    energy = parcel_energy(sp, parcels, cell_km2)  # capacity and energy, once per parcel
    table = parcel_table(sp, parcels, energy, store, inputs)
    trim_free_heap()
    table, stability = add_rank_stability(
        table, sp.crit.names, sp.weights, sp.settings, inputs.config
    )
    excl = exclusion_table(tech, sp.rules, totals, cell_km2)
    files = {
        f"suitability_{tech}": tp.suit_path,
        f"excluded_by_rule_{tech}": tp.code_path,
        f"rules_applying_{tech}": tp.record_paths["rules"],
        **{f"criterion_{tech}_{n}": p for n, p in tp.record_paths.items() if n != "rules"},
        f"excluded_by_rule_{tech}_legend": _write_csv(
            rule_legend(sp.rules), out_dir, "siting.rule_legend", tech=tech
        ),
    }  # parcels_<tech>.gpkg: written by _run_siting once the economics columns are in
    by_county = per_county(parcels, energy, inputs.counties, totals, cell_km2)
    timings["tables"] = round(time.perf_counter() - t0, 3)
    study_cells = int(totals["seq"][:OUTSIDE_CODE].sum())
    tr = TechResult(
        tech, table, excl, by_county, study_cells * cell_km2,
        int(totals["seq"][0]) * cell_km2, int(totals["candidate_county"][1:].sum()) * cell_km2,
        sp.weights, sp.ahp, timings, stability, store,
    )  # fmt: skip
    return tr, files


def _write_csv(frame: pd.DataFrame, out_dir: Path, key: str, **fields) -> Path:
    """Check a table against the schema and write it as CSV (UTF-8 with BOM)."""
    ds = dataset(key)
    return write_csv(ds.check(frame), out_dir / ds.filename(**fields))
