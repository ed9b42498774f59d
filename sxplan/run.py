"""Run orchestration: the only place the order of a whole run is written down.

A run builds everything in a hidden staging folder beside the output folder and renames it into
place only when every step succeeded, so a failed run leaves no half-written output, and an
existing output folder is replaced only with ``overwrite=True``
(:func:`sxplan.run_folder.output_folder`, which also writes ``run.json``).

Steps: ``layers`` (grid, aligned stack, slope/aspect, vectors, provenance) -> ``siting`` (PV and
wind) -> ``roadside_pv`` -> ``pumped_storage`` -> ``sinks`` -> ``figures`` (report figures
and ``report.html``) -> ``maps``; then ``run.json``.

The run folder is the contract of :mod:`sxplan.schema`: the tables written here are checked
against it (:meth:`~sxplan.schema.Dataset.check`) and their file names come from it. A step
never reads back what an earlier step wrote: results pass in memory (the siting step reserves
the shortlisted parcels from the :class:`~sxplan.siting.run.SitingResult`). The figures and
maps steps are the readers, and they read the folder only through :mod:`sxplan.schema`.
``run.json`` records output paths relative to the run folder (never the staging folder's).

Inputs: a :class:`~sxplan.config.ProjectConfig`. Outputs: the run folder described in
:mod:`sxplan.schema` and README.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

from sxplan.errors import ConfigError
from sxplan.layers import (
    GridSpec,
    LayerStack,
    build_stack,
    load_vector,
    slope_aspect,
    write_gpkg_layers,
)
from sxplan.layers.counties import validate_counties
from sxplan.layers.gpkg_style import style_run_geopackages
from sxplan.layers.heap import peak_at_once_mb, peak_resident_mb
from sxplan.layers.progress import progress_setting
from sxplan.layers.windows import use_scheduler
from sxplan.siting.technology import get_technology, technology_names

from ._out_guard import check_out_is_safe, refuse_live_lock
from ._pumped_step import run_pumped_storage_step
from ._run_checks import empty_rasters, input_paths
from ._run_helpers import load_run_bases, run_figures_step
from ._siting_reservation import load_siting_reservation
from .config import ProjectConfig
from .csv_header import apply_csv_header
from .run_folder import output_folder, write_provenance, write_run_json
from .schema import dataset

__all__ = ["RunContext", "output_folder", "run_layers", "run_project"]

STEPS = ("layers", "siting", "roadside_pv", "pumped_storage", "sinks", "figures", "maps")


@dataclass
class RunContext:
    """What the steps of a run share.

    Attributes
    ----------
    config : ProjectConfig
        The validated config.
    out : pathlib.Path
        The folder being written (the staging folder during the run).
    grid : GridSpec
        The analysis grid.
    stack : LayerStack
        Aligned and derived layers.
    counties : geopandas.GeoDataFrame
        Counties validated once by the layers step
        (:func:`sxplan.layers.counties.validate_counties`): in the grid CRS with columns
        adcode, name, prefecture, prefecture_adcode.
    results : dict
        Each step's result object, by step name.
    timings_s : dict
        Seconds per step.
    peak_mb : dict
        Peak resident set (MB) by the end of each step: the process's, or with a county-cover
        helper the bound of :func:`sxplan.layers.heap.peak_at_once_mb`.
    options : dict
        Step options from the command line (``techs``, ``roads_path``).
    bases : siting.bases.BasesTable or None
        The regional bases, loaded once by the layers step when siting is configured.
    warnings : list of str
        Warnings of the run (empty results and what emptied them), recorded in ``run.json``.
    """

    config: ProjectConfig
    out: Path
    grid: GridSpec | None = None
    stack: LayerStack | None = None
    counties: gpd.GeoDataFrame | None = None
    results: dict = field(default_factory=dict)
    timings_s: dict = field(default_factory=dict)
    peak_mb: dict = field(default_factory=dict)
    log: Callable[[str], None] = print
    options: dict = field(default_factory=dict)
    bases: object = None
    warnings: list = field(default_factory=list)

    def warn(self, message: str) -> None:
        """Log a warning and keep it for ``run.json`` (``warnings``)."""
        self.warnings.append(message)
        self.log(f"WARNING: {message}")


def run_layers(ctx: RunContext) -> LayerStack:
    """Build the grid and the aligned stack, derive slope/aspect, write vectors and provenance.

    Writes ``layers/<name>.tif``, ``layers/slope_*.tif``, ``layers/aspect_deg.tif``,
    ``layers/vectors.gpkg`` (EPSG:4326, with the bases' outlines when the config has a
    ``siting:`` section), ``layers/grid.json`` and ``layers/provenance.csv``.
    """
    cfg, proj = ctx.config, ctx.config.project
    grid = cfg.analysis_grid()
    ctx.grid = grid
    folder = ctx.out / "layers"
    # the process's budget bounds the whole run: tiles get what the rest leaves (run_tiles)
    tiles_budget = proj.budget.run_tiles()
    stack = build_stack(cfg.layers, grid, folder, mem_limit_mb=tiles_budget)
    ctx.stack = stack
    if "dem" in stack.rasters:
        for layer in slope_aspect(
            stack.raster("dem"), folder, mem_limit_mb=tiles_budget, cog=True
        ).values():
            stack.add(layer)
    counties_spec = cfg.layer(proj.counties, "vector")
    ctx.counties = validate_counties(
        stack.vector(proj.counties),
        grid,
        fields=proj.county_fields,
        source=str(counties_spec.path),
        layer=proj.counties,
    )  # the one check of the counties; later steps call require_validated_counties
    stack.vectors[proj.counties] = ctx.counties
    for name in empty_rasters(stack):
        ctx.warn(
            f"layer '{name}' ({cfg.layers[name].path}) is all nodata on the analysis grid; "
            "every rule and criterion reading it finds no data, so results that need it are "
            "empty. Check the file covers the study area and its declared nodata"
        )
    extra = {}
    if cfg.siting is not None:  # the maps draw the bases' outlines; load the bases once here
        ctx.bases = load_run_bases(ctx)
        extra[dataset("layers.bases").layer_name()] = ctx.bases.outlines(ctx.counties)
    write_vectors(ctx, extra)
    stack.write_grid_json()
    write_provenance(stack.provenance, ctx.out)
    return stack


def write_vectors(ctx: RunContext, extra: dict[str, gpd.GeoDataFrame] | None = None) -> Path:
    """Write every vector layer (and ``extra`` ones) to ``layers/vectors.gpkg`` in EPSG:4326."""
    frames = {name: gdf.to_crs("EPSG:4326") for name, gdf in ctx.stack.vectors.items()}
    for name, gdf in (extra or {}).items():
        frames[name] = gdf.to_crs("EPSG:4326")
    bases = dataset("layers.bases")
    if bases.layer_name() in (extra or {}):
        bases.check(frames[bases.layer_name()], where=f"{bases.path} layer '{bases.layer}'")
    return write_gpkg_layers(frames, dataset("layers.vectors").path_in(ctx.out))


StepFn = Callable[[RunContext], object]


def run_project(
    config: ProjectConfig,
    out_dir: str | Path,
    *,
    steps: tuple[str, ...] = STEPS,
    overwrite: bool = False,
    log: Callable[[str], None] = print,
    step_functions: dict[str, StepFn] | None = None,
    options: dict | None = None,
    check: bool = True,
) -> RunContext:
    """Run the listed steps of a project into ``out_dir``.

    Parameters
    ----------
    config : ProjectConfig
        Validated config.
    out_dir : str or pathlib.Path
        Output folder (replaced atomically at the end).
    steps : tuple of str
        Subset of :data:`STEPS`, run in :data:`STEPS` order; ``layers`` always runs.
    overwrite : bool
        Replace an existing output folder.
    log : callable
        Receives one-line progress messages.
    step_functions : dict, optional
        Step implementations by name (default: :data:`STEP_FUNCTIONS`).
    options : dict, optional
        Step options, e.g. ``{"techs": ["pv"]}`` to site one technology.
    check : bool
        Run the pre-flight (:func:`sxplan.preflight.preflight`) before writing anything
        (default); its warnings and estimates go to ``log``.

    Returns
    -------
    RunContext
        With ``out`` pointing at the final folder and each step's result.
    """
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        raise ConfigError(f"unknown steps {unknown}; steps are {list(STEPS)}")
    funcs = {**STEP_FUNCTIONS, **(step_functions or {})}
    final = Path(out_dir).resolve()
    check_out_is_safe(final, input_paths(config, options), config.path)
    refuse_live_lock(final)  # before the pre-flight: a run that cannot start should not wait
    if check:
        from .preflight import preflight

        report = preflight(config, steps)
        for line in report.lines():
            log(line)
        short = report.disk_warning(final)
        if short:
            log(f"WARNING: {short}")
    # GDAL's block cache defaults to 5% of RAM; the budget bounds it and the heap (Budget.run_env)
    with (
        output_folder(final, overwrite, log) as staging,
        progress_setting(config.project.progress),
        use_scheduler(config.project.scheduler),
        config.project.budget.run_env(),
    ):
        ctx = RunContext(config=config, out=staging, log=log, options=dict(options or {}))
        ctx.options.setdefault("steps", tuple(steps))
        t_all = time.perf_counter()
        for step in STEPS:
            if step != "layers" and step not in steps:
                continue
            if step not in funcs:
                raise ConfigError(f"step '{step}' is not available in this version of sxplan")
            log(f"[{step}] ...")
            t0 = time.perf_counter()
            ctx.results[step] = funcs[step](ctx)
            ctx.timings_s[step] = round(time.perf_counter() - t0, 3)
            if (peak := peak_resident_mb()) is not None:  # with the county cover's helper
                ctx.peak_mb[step] = round(peak_at_once_mb(peak), 1)
        ctx.timings_s["total"] = round(time.perf_counter() - t_all, 3)
        style_run_geopackages(staging)  # default QGIS styles in every GeoPackage written
        apply_csv_header(staging, config.project.csv_header)  # Chinese header rows if asked
        write_run_json(ctx)
    ctx.out = final
    return ctx


def run_sinks_step(ctx: RunContext):
    """Sinks: county baseline, eligible land, allocation, sequestration -> ``sinks/``."""
    from sxplan.sinks import run_sinks

    cfg = ctx.config.sinks
    if cfg is None:
        raise ConfigError(f"{ctx.config.path}: the sinks step needs a `sinks:` section")
    reserved = ctx.stack.rasters.get("reserved_for_renewables")
    shortlist = None
    siting = ctx.results.get("siting")
    if siting is not None and siting.shortlist_geometry is not None:
        shortlist = siting.shortlist_frame()
    elif ctx.options.get("siting_run"):
        reserved, shortlist = load_siting_reservation(ctx, Path(ctx.options["siting_run"]))
    res = run_sinks(
        grid=ctx.grid,
        rasters=ctx.stack.rasters,
        counties=ctx.counties,
        config=cfg,
        out_dir=ctx.out / "sinks",
        mem_limit_mb=ctx.config.project.budget,
        reserved=reserved,
        official=cfg.official_csv,
        vectors=ctx.stack.vectors,
        shortlist=shortlist,
    )
    if not res.province["eligible_ha"] and res.province["required_gain_ha"]:
        ctx.warn(
            f"sinks: no land is eligible for afforestation, so none of the "
            f"{res.province['required_gain_ha']:,.0f} ha target can be allocated; no cell of "
            f"the classes in sinks.eligible_credit ({list(cfg.eligible_credit)}) "
            f"lies below sinks.max_slope_deg = {cfg.max_slope_deg} outside the reserved "
            "renewables land. Check the land-cover layer or widen those settings; the tables "
            "are written with zero allocation"
        )
    return res


def run_siting_step(ctx: RunContext):
    """Siting: exclusions, scores, parcels, bases -> ``siting/``; reserves parcel land.

    Also writes ``layers/reserved_for_renewables.tif`` (1 inside every shortlisted PV or wind
    parcel), which the sinks step uses so afforestation and the proposed renewables never
    claim the same cells. Only shortlisted parcels are reserved: the full technical potential is
    far larger than the plan's targets need.
    """
    from sxplan.layers import rasterize
    from sxplan.siting import run_siting

    cfg = ctx.config.siting
    if cfg is None:
        raise ConfigError(f"{ctx.config.path}: the siting step needs a `siting:` section")
    bases = ctx.bases if ctx.bases is not None else load_run_bases(ctx)
    res = run_siting(
        ctx.grid,
        ctx.stack.rasters,
        ctx.stack.vectors,
        ctx.counties,
        bases,
        cfg,
        ctx.out / "siting",
        techs=tuple(ctx.options.get("techs") or technology_names(engine="parcels")),
        mem_limit_mb=ctx.config.project.budget,
    )
    for tech, tr in res.techs.items():  # an empty result is a result, with its reason
        if (reason := tr.empty_reason(get_technology(tech).settings(cfg))) is not None:
            ctx.warn(reason + "; its files are written with zero rows")
    # The shortlist's outlines come from the result in memory, not from shortlist.gpkg.
    if res.shortlist_geometry is None:
        raise RuntimeError("run_siting returned no shortlist geometry; please report")
    shortlisted = gpd.GeoDataFrame(geometry=res.shortlist_geometry)
    if len(shortlisted):
        target = dataset("layers.reserved")
        reserved = rasterize(
            shortlisted, ctx.grid, target.path_in(ctx.out), all_touched=False,
            name="reserved_for_renewables", units=target.unit,
            mem_limit_mb=ctx.config.project.budget.run_tiles(), cog=True,
        )  # fmt: skip
        ctx.stack.add(reserved)
    return res


def run_roadside_step(ctx: RunContext):
    """Roadside PV: strips along highway slopes and verges -> ``siting/roadside_pv*``."""
    from sxplan.siting.economics_roadside import economics_inputs
    from sxplan.siting.roadside import run_roadside_pv

    cfg = ctx.config.roadside_pv
    if cfg is None:
        raise ConfigError(f"{ctx.config.path}: the roadside_pv step needs a `roadside_pv:` section")
    if ctx.options.get("roads_path"):
        from sxplan.layers import VectorLayerSpec

        roads = load_vector(
            VectorLayerSpec(path=ctx.options["roads_path"], all_touched=True), ctx.grid,
            name="roads",
        )  # fmt: skip
    else:
        roads = ctx.stack.vector(ctx.options.get("roads_layer") or "highways")
    stack = ctx.stack
    res = run_roadside_pv(
        roads,
        grid=ctx.grid,
        rasters=stack.rasters,
        vectors=stack.vectors,
        counties=ctx.counties,
        config=cfg,
        out_dir=ctx.out / "siting",
        economics=economics_inputs(  # grid connection and LCOE of the strips (siting.economics)
            ctx.grid, stack.rasters, stack.vectors, ctx.config.siting, ctx.bases
        ),
    )
    from sxplan.siting.shortlist import merge_roadside_shortlist

    siting = ctx.results.get("siting")  # this run's parcel shortlist, kept in memory
    parcels = siting.shortlist_frame() if siting is not None else None
    merge_roadside_shortlist(ctx.out / "siting", res.shortlist, parcels=parcels)
    return res


def run_maps_step(ctx: RunContext) -> dict[str, Path]:
    """Maps: ``maps/siting.html`` and ``maps/sinks.html`` from the run folder.

    Drawn with the config's ``maps:`` section as a whole (language, base map, offline, ...),
    the same settings ``sxplan map RUN`` later reads back from ``run.json``. The maps read the
    folder through :mod:`sxplan.schema`, like any other reader.
    """
    from sxplan.maps import run_maps

    return run_maps(ctx.out, config=ctx.config.maps)


STEP_FUNCTIONS: dict[str, StepFn] = {
    "layers": run_layers,
    "siting": run_siting_step,
    "roadside_pv": run_roadside_step,
    "pumped_storage": run_pumped_storage_step,
    "sinks": run_sinks_step,
    "figures": run_figures_step,
    "maps": run_maps_step,
}
