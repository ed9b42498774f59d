"""The pre-flight: everything a run needs, checked before anything is written.

``sxplan validate`` prints it; ``sxplan site``, ``sinks`` and ``layers`` (every
:func:`sxplan.run.run_project`) run it before creating the output folder, so "valid" means a
run will start. It opens every input and checks: files exist and open; CRS; overlap with the
study area and the share covered with data; dtype and values against the declared kind and
class scheme; undeclared nodata sentinels; geometry validity of the study area and counties;
every referenced field (``where:``, ``burn_field``, ``project.county_fields``); the siting
bases' counties; text encoding;
weights and AHP consistency; layers used as quantities that are declared as class codes; and
the grid size, with estimates of cells, disk and time (absurd grids are refused,
``project.max_cells`` overrides). Value checks read one decimated window per raster
(:mod:`sxplan._preflight_raster`), so a full-province 30 m pre-flight takes seconds.

Inputs: a :class:`~sxplan.config.ProjectConfig`. Outputs: :class:`PreflightReport`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sxplan.errors import ConfigError, LayerIOError

__all__ = ["PreflightReport", "preflight"]

#: Seconds per step for the time estimate: ``(fixed, per grid cell)``, fitted to the two ends
#: of the demo config's range on a 2-core machine (``sxplan demo`` at 1 km, 253,344 cells,
#: 28.1-29.3 s; at 30 m, 280.4 M cells, 448.3 s; benchmarks/README.md, issue 17, s25). The
#: layers step's per-cell part is per raster layer (the demo has 6), siting's per byte of
#: :func:`siting_bytes_per_cell` (the demo: 78), pumped storage's fixed part is its search
#: (:data:`PUMPED_SEARCH_SECONDS`). ``run`` is what lies outside the steps: start-up and the
#: pre-flight, and hashing the outputs into ``run.json`` at the end (wall time minus the steps'
#: total: 2.4-2.6 s at 1 km, 10.2 s at 30 m). Checked out of the fit: the demo at 250 m took
#: 38-39 s of wall time (estimate 36.9 s), at 100 m 68.5 s (estimate 69.2 s). Other configs,
#: other machines and more than 2 cores are not measured.
STEP_SECONDS = {
    "run": (2.5, 2.75e-8),
    "layers": (1.1, 4.74e-7 / 6),
    "siting": (5.3, 8.16e-7 / 78),
    "roadside_pv": (10.5, 3.6e-8),
    "pumped_storage": (0.0, 4.1e-8),
    "sinks": (0.9, 1.23e-7),
    "figures": (1.8, 0.0),
    "maps": (5.0, 7.0e-9),
}
#: The pumped-storage search: ``seconds * (search cells / cells) ** exponent``, through the
#: two searches measured: 3.6 s over the 1 km demo's 253,344 cells and 28.5 s over the demo at
#: 250 m, 4.04 M cells (benchmarks/README.md, issue 17, s25); its per-site loops grow more
#: slowly than the grid. Not measured beyond 4 M cells.
PUMPED_SEARCH_SECONDS = (3.6, 253_344, 0.747)
#: Cores the figures above were measured on; fewer scale the per-cell parts up, more are not
#: counted (their speed-up is not measured).
MEASURED_CORES = 2
#: Bytes per cell of derived rasters: slope_deg, slope_pct, aspect_deg (float32, 12) and
#: reserved/parcel rasters (uint8 and int32, 6): an uncompressed upper bound. The siting
#: rasters are counted per technology from the config (:func:`siting_bytes_per_cell`), the
#: sinks stage's eligible fraction (float32) as :data:`SINKS_BYTES_PER_CELL`.
DERIVED_BYTES_PER_CELL = 18
#: ``afforestation_eligible.tif`` (float32).
SINKS_BYTES_PER_CELL = 4


@dataclass
class PreflightReport:
    """What the pre-flight found.

    Attributes
    ----------
    grid : GridSpec
        The analysis grid the run will use.
    cells : int
        Cells of the grid.
    disk_bytes : int
        Rough upper bound of the rasters a run writes (uncompressed; DEFLATE writes less).
    time_s : float
        Rough run time on this machine, in seconds.
    layers : dict
        Facts per layer (dtype, coverage, features ...).
    warnings : list of str
        Things that do not stop a run but deserve a look.
    """

    grid: object
    cells: int
    disk_bytes: int
    time_s: float
    layers: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    def disk_warning(self, out_dir) -> str | None:
        """A warning when the disk holding ``out_dir`` has less free space than the estimate.

        Not a refusal: the estimate is an uncompressed upper bound (a measured 30 m siting run
        took 40 % of it at its peak), so a run short of it may still finish.
        """
        import shutil
        from pathlib import Path

        folder = Path(out_dir).absolute()
        while not folder.exists() and folder != folder.parent:  # not created yet
            folder = folder.parent
        free = shutil.disk_usage(folder).free
        if free >= self.disk_bytes:
            return None
        return (
            f"the disk holding {out_dir} has {free / 1e9:.2f} GB free; this run may need up to "
            f"{self.disk_bytes / 1e9:.2f} GB at its peak (uncompressed; compressed files take "
            "less). If it fills, the run stops and leaves nothing behind: free space there or "
            "choose --out on a larger disk"
        )

    def lines(self) -> list[str]:
        """The report as printable lines (estimates first, then warnings)."""
        g = self.grid
        out = [
            f"grid: {g.width:,} x {g.height:,} cells of {g.res:g} m = {self.cells:,} cells",
            f"estimate: about {self.disk_bytes / 1e9:.2f} GB of rasters at most, about "
            f"{_duration(self.time_s)} (rough)",
        ]
        for name, facts in self.layers.items():
            if "coverage" in facts:
                out.append(f"  {name}: {facts['dtype']}, data on {facts['coverage']:.0%} of area")
            else:
                out.append(f"  {name}: {facts.get('features', '?')} features")
        out += [f"WARNING: {w}" for w in self.warnings]
        return out


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def preflight(cfg, steps=None) -> PreflightReport:
    """Check every input of ``cfg`` and estimate the run; raise the first problem found.

    Parameters
    ----------
    cfg : ProjectConfig
        A loaded config (:func:`sxplan.config.load_config`).
    steps : sequence of str, optional
        The steps the run will take (default: all); a step's own limits are checked only
        when it runs (the pumped-storage search grid against the budget).

    Returns
    -------
    PreflightReport

    Raises
    ------
    SxplanError
        A subclass naming the file, the field and the fix.
    """
    from sxplan.layers.cog import predictor_setting

    from ._preflight_raster import check_raster
    from ._preflight_vector import check_vector

    predictor_setting()  # SXPLAN_FLOAT_PREDICTOR, refused before any work if misspelt
    _require_files(cfg)
    _check_rule_kinds(cfg)
    _check_weights(cfg)
    grid, study = _grid_and_study(cfg)
    counties = _check_counties(cfg, grid)
    _check_bases(cfg, counties)
    _check_pumped_storage(cfg, grid, steps)
    facts, warnings = {}, []
    for name, spec in cfg.layers.items():
        if spec.type == "raster":
            facts[name], found = check_raster(name, spec, grid, study)
        else:
            facts[name], found = check_vector(name, spec, grid)
        warnings += found
    report = _estimate(cfg, grid, steps)
    report.layers, report.warnings = facts, warnings
    return report


def _require_files(cfg) -> None:
    from pathlib import Path

    missing = [f"layers.{n}.path: {s.path}" for n, s in cfg.layers.items() if not s.path.exists()]
    others = {
        "siting.bases_path": cfg.siting and cfg.siting.bases_path,
        "siting.installed_capacity_path": cfg.siting and cfg.siting.installed_capacity_path,
        "sinks.official_csv": cfg.sinks and cfg.sinks.official_csv,
    }
    missing += [f"{k}: {v}" for k, v in others.items() if v and not Path(v).is_file()]
    if missing:
        raise LayerIOError(
            f"{cfg.path}: input files not found (relative paths are taken from the config "
            "file's folder); fix these settings:\n  " + "\n  ".join(missing)
        )


def _check_rule_kinds(cfg) -> None:
    """Refuse quantities read from layers declared as class codes (and the reverse)."""
    from sxplan.siting.config_rules import RangeSelector

    kinds = {n: s.kind for n, s in cfg.layers.items() if s.type == "raster"}
    bad = []
    if cfg.siting is not None:
        for tech in ("pv", "wind"):
            for c in cfg.siting.technology(tech).criteria:
                if c.layer and kinds.get(c.layer) == "categorical":
                    bad.append(f"siting.{tech}.criteria '{c.name}' scores layer '{c.layer}'")
        for rule in cfg.siting.exclusions:
            for part, sel in (("", rule), (".within", getattr(rule, "within", None))):
                if isinstance(sel, RangeSelector) and kinds.get(sel.layer) == "categorical":
                    bad.append(
                        f"siting.exclusions '{rule.name}'{part} compares layer '{sel.layer}'"
                    )
    if cfg.sinks is not None:
        for i, lim in enumerate(cfg.sinks.climate_limits):
            if kinds.get(lim.layer) == "categorical":
                bad.append(f"sinks.climate_limits[{i}] compares layer '{lim.layer}'")
    if bad:
        raise ConfigError(
            f"{cfg.path}: these settings read a layer as a quantity, but the layer is declared "
            "`kind: categorical` (class codes are labels, not amounts):\n  "
            + "\n  ".join(bad)
            + "\nSet `kind: continuous` on the layer if it holds a quantity, or select its "
            "classes with a `type: categorical` rule"
        )


def _check_weights(cfg) -> None:
    if cfg.siting is None:
        return
    from sxplan.siting.ahp import weights_from_config

    for tech in ("pv", "wind"):
        tcfg = cfg.siting.technology(tech)
        if tcfg.enabled and tcfg.criteria:
            try:
                weights_from_config(tcfg)
            except ConfigError as exc:
                raise ConfigError(f"{cfg.path}: siting.{tech}: {exc}") from None


def _grid_and_study(cfg):
    import shapely

    from sxplan.layers import load_vector

    from ._preflight_vector import check_geometry_validity

    proj = cfg.project
    spec = cfg.layer(proj.study_area, "vector")
    study = load_vector(spec, name=proj.study_area)
    check_geometry_validity(study, proj.study_area, spec.path)
    grid = cfg.analysis_grid(study)
    cells = grid.width * grid.height
    if cells > proj.max_cells:
        raise ConfigError(
            f"{cfg.path}: project.resolution_m: {proj.resolution_m:g} m makes a grid of "
            f"{grid.width:,} x {grid.height:,} = {cells:.3g} cells, more than "
            f"project.max_cells ({proj.max_cells:.3g}); at 4 bytes a cell one layer would take "
            f"{cells * 4 / 1e12:.3g} TB. Use a coarser `resolution_m` (30 m covers Shanxi in "
            "about 3e8 cells), or raise `project.max_cells` if you mean it"
        )
    geom = study.to_crs(grid.pyproj_crs).union_all()
    shapely.prepare(geom)
    return grid, geom


def _check_counties(cfg, grid) -> None:
    from sxplan.layers import load_vector
    from sxplan.layers.counties import validate_counties

    from ._preflight_vector import check_geometry_validity

    proj = cfg.project
    spec = cfg.layer(proj.counties, "vector")
    counties = load_vector(spec, grid, name=proj.counties)
    fields = proj.county_fields
    check_geometry_validity(counties, proj.counties, spec.path, (fields.name, fields.adcode))
    return validate_counties(
        counties, grid, fields=fields, source=str(spec.path), layer=proj.counties
    )


def _check_bases(cfg, counties) -> None:
    """The siting bases file (or the shipped one) must list counties of the county layer."""
    if cfg.siting is None:
        return
    from sxplan.siting.bases import load_bases

    from .demo_data import demo_file

    load_bases(cfg.siting.bases_path or demo_file("bases.yaml"), counties)


def _check_pumped_storage(cfg, grid, steps) -> None:
    """The pumped-storage search grid must fit the budget (it is held whole)."""
    ps = cfg.pumped_storage
    if ps is None or not ps.enabled or (steps is not None and "pumped_storage" not in steps):
        return
    from sxplan.siting._pumped_grid import check_search_fits

    check_search_fits(grid, ps, cfg.project.budget, where=f"{cfg.path}: pumped_storage")


def siting_bytes_per_cell(siting) -> int:
    """Disk bytes per cell a siting run needs at its peak, uncompressed (0 without siting).

    Per enabled technology the shared pass writes ``suitability`` (float32), ``excluded_by_rule``
    (uint8), ``rules_applying`` (1-8 bytes: one bit per rule) and one float32
    ``criterion_<tech>_<name>`` per criterion (none with ``criterion_rasters: false``). Their
    tile files are kept until the pass ends and are then copied to COG, so at the peak both
    exist: twice those bytes (the COG copies are compressed, so less in practice). Each
    distinct ``distance_to`` criterion (layer and cap) adds a float32 scratch raster of
    distances.

    Checked against ``benchmarks/run.py`` at 30 m (PV + wind, 6 rules and 3 criteria each, one
    shared distance): 76 bytes per cell by this count; the run's folder measured at most 30.2
    bytes per cell (7.49 GB for 248.3 M cells, sampled every second) and 11.3 once finished
    (``benchmarks/README.md``, issue 17, s24). Before, the estimate counted 10 bytes per cell
    for siting, a third of what the run took.

    Examples
    --------
    >>> from sxplan.siting.config import load_siting_config
    >>> siting_bytes_per_cell(load_siting_config({}))  # PV + wind, no rules, no criteria
    24
    """
    if siting is None:
        return 0
    from sxplan.siting.config import TECHNOLOGIES

    outputs, distances = 0, set()
    for tech in TECHNOLOGIES:
        tcfg = siting.technology(tech)
        if not tcfg.enabled:
            continue
        n_rules = len(siting.rules_for(tech))
        bits = 1 if n_rules <= 8 else 2 if n_rules <= 16 else 4 if n_rules <= 32 else 8
        outputs += 4 + 1 + bits + (4 * len(tcfg.criteria) if siting.criterion_rasters else 0)
        distances |= {
            (c.distance_to, c.max_distance_m) for c in tcfg.criteria if c.distance_to is not None
        }
    return 2 * outputs + 4 * len(distances)


def _estimate(cfg, grid, steps=None) -> PreflightReport:
    import numpy as np
    import rasterio

    cells = grid.width * grid.height
    per_cell = DERIVED_BYTES_PER_CELL + siting_bytes_per_cell(cfg.siting)
    per_cell += SINKS_BYTES_PER_CELL if cfg.sinks is not None else 0
    n_rasters = 0
    for spec in cfg.layers.values():
        if spec.type == "raster":
            n_rasters += 1
            with rasterio.open(spec.path) as src:
                per_cell += np.dtype(src.dtypes[min(spec.band, src.count) - 1]).itemsize
        else:
            per_cell += 1
    time_s = estimate_seconds(cfg, grid, n_rasters, steps)
    return PreflightReport(grid=grid, cells=cells, disk_bytes=cells * per_cell, time_s=time_s)


def estimate_seconds(cfg, grid, n_rasters: int, steps=None) -> float:
    """Run time of the steps ``cfg`` takes (all by default) from :data:`STEP_SECONDS`.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from sxplan.layers.grid import GridSpec
    >>> cfg = SimpleNamespace(siting=None, roadside_pv=None, pumped_storage=None, sinks=None)
    >>> g = GridSpec.from_bounds((0, 0, 100_000, 100_000), 100)  # 1e6 cells
    >>> # run 2.5 + 1e6 x 2.75e-8, layers 1.1 + 1e6 x 4.74e-7 (6 rasters x 7.9e-8)
    >>> round(estimate_seconds(cfg, g, 6, ("layers",)), 2)
    4.1
    >>> round(estimate_seconds(cfg, g, 6), 2)  # + figures 1.8 + maps 5.0 + 1e6 x 7e-9
    10.91
    """
    from sxplan.siting._pumped_grid import search_grid

    cells = grid.width * grid.height
    scale = MEASURED_CORES / max(1, min(os.cpu_count() or 1, MEASURED_CORES))
    ps = cfg.pumped_storage
    takes = {
        "run": True,
        "layers": True,
        "siting": cfg.siting is not None,
        "roadside_pv": cfg.roadside_pv is not None,
        "pumped_storage": ps is not None and ps.enabled,
        "sinks": cfg.sinks is not None,
        "figures": True,
        "maps": True,
    }
    # what a step's per-cell time is counted in (one cell, where not listed)
    units = {"layers": n_rasters, "siting": siting_bytes_per_cell(cfg.siting)}
    total = 0.0
    for step, (fixed, per_cell) in STEP_SECONDS.items():
        if not takes[step] or (steps is not None and step != "run" and step not in steps):
            continue
        if step == "pumped_storage":
            sgrid, _ = search_grid(grid, ps.resolution_m)
            t, n, e = PUMPED_SEARCH_SECONDS
            fixed = t * (sgrid.width * sgrid.height / n) ** e
        total += fixed + per_cell * units.get(step, 1) * cells * scale
    return total
