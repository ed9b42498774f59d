"""One step of a finished ``sxplan demo`` run again, alone, on that run's aligned layers.

Re-measures the ``siting``, ``roadside_pv``, ``pumped_storage`` or ``sinks`` step without the
whole demo (4-5 minutes at 30 m): it opens the rasters the run's layers step wrote
(``RUN/layers/*.tif``), loads the demo's vector layers and counties onto the run's grid as the
layers step does, runs the step's own function (:mod:`sxplan.run`) into ``--out``, and prints
the wall and CPU seconds, the process's peak resident set and each output file's sha256, then a
JSON line of them all. The sinks step takes the run's parcel reservation and shortlist (as
``sxplan sinks --siting RUN``); the roadside step has no parcel shortlist to merge with, so its
``shortlist.*`` holds the roadside rows alone. The siting step writes its reserved land into
``--out``'s ``layers/``, not the run's.

With ``--compare`` each output is also checked against the file of the same name in the run:
``same`` is true when the bytes are equal. A whole run afterwards adds Chinese header rows to
CSV files (``project.csv_header``) and QGIS styles to GeoPackages, which this script does not,
so only files those leave alone are expected to match (rasters, most CSVs of the steps).

Usage::

    .venv/bin/sxplan demo --res 30 --out /work/bench-data/d30
    .venv/bin/python benchmarks/demo_step.py --run /work/bench-data/d30 --step roadside_pv \\
        --out /tmp/roadside --compare
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

STEPS = ("siting", "roadside_pv", "pumped_storage", "sinks")
# the folder a step writes into, inside the run
_FOLDER = {
    "siting": "siting",
    "roadside_pv": "siting",
    "pumped_storage": "siting",
    "sinks": "sinks",
}


class NotADemoRun(ValueError):
    """The run folder's ``run.json`` names another config than the demo's."""


def context(run: Path, out: Path):
    """A :class:`sxplan.run.RunContext` on the run's grid, layers and counties, into ``out``."""
    from sxplan._run_helpers import load_run_bases
    from sxplan.config import demo_config_path, load_config
    from sxplan.layers.counties import validate_counties
    from sxplan.layers.io import AlignedLayer
    from sxplan.layers.specs import RasterLayerSpec
    from sxplan.layers.stack import LayerStack
    from sxplan.layers.terrain import SLOPE_ASPECT_UNITS
    from sxplan.layers.vector import load_vector
    from sxplan.run import RunContext

    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    config = record.get("config") or {}
    if Path(str(config.get("path"))).resolve() != demo_config_path().resolve():
        raise NotADemoRun(
            f"--run {run}: run.json names the config {config.get('path')!r}, not the demo's "
            f"({demo_config_path()}); this script re-runs steps of `sxplan demo` runs only"
        )
    res = float(config["project"]["resolution_m"])
    cfg = load_config(demo_config_path())
    cfg = cfg.model_copy(update={"project": cfg.project.model_copy(update={"resolution_m": res})})
    grid = cfg.analysis_grid()
    folder = run / "layers"
    stack = LayerStack(grid, folder)
    for name, spec in cfg.layers.items():
        if isinstance(spec, RasterLayerSpec):
            stack.rasters[name] = AlignedLayer.open(
                folder / f"{name}.tif", name, spec.kind, spec.units, grid, scheme=spec.scheme
            )
        else:
            stack.vectors[name] = load_vector(spec, grid, name=name)
    for name, units in SLOPE_ASPECT_UNITS.items():  # the layers step derives them from the DEM
        stack.rasters[name] = AlignedLayer.open(
            folder / f"{name}.tif", name, "continuous", units, grid
        )
    proj = cfg.project
    ctx = RunContext(config=cfg, out=out, grid=grid, stack=stack, log=lambda _m: None)
    ctx.counties = validate_counties(
        stack.vector(proj.counties), grid, fields=proj.county_fields, source=str(run),
        layer=proj.counties,
    )  # fmt: skip
    stack.vectors[proj.counties] = ctx.counties
    if cfg.siting is not None:
        ctx.bases = load_run_bases(ctx)
    return ctx


def main(argv=None) -> int:
    from sxplan._pumped_step import run_pumped_storage_step
    from sxplan.layers.atomic import file_sha256
    from sxplan.layers.windows import use_scheduler
    from sxplan.run import run_roadside_step, run_sinks_step, run_siting_step

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="folder of a finished sxplan demo")
    ap.add_argument("--step", choices=STEPS, required=True)
    ap.add_argument("--out", type=Path, required=True, help="new folder for the step's outputs")
    ap.add_argument("--compare", action="store_true", help="compare each output with the run's")
    args = ap.parse_args(argv)
    if args.out.exists():
        ap.error(f"--out {args.out} exists; give a new folder (nothing is replaced)")
    if not (args.run / "run.json").is_file():
        ap.error(f"--run {args.run}: no run.json; give the folder of a finished sxplan demo")

    try:
        ctx = context(args.run, args.out)
    except NotADemoRun as exc:
        ap.error(str(exc))  # exit code 2, nothing written
    (args.out / _FOLDER[args.step]).mkdir(parents=True)
    if args.step == "siting":
        (args.out / "layers").mkdir()  # the step writes its reserved land there
    step = {
        "siting": run_siting_step,
        "roadside_pv": run_roadside_step,
        "pumped_storage": run_pumped_storage_step,
        "sinks": run_sinks_step,
    }[args.step]
    if args.step == "sinks":
        ctx.options["siting_run"] = str(args.run)
    proj = ctx.config.project
    with use_scheduler(proj.scheduler), proj.budget.run_env():
        t0, c0 = time.perf_counter(), time.process_time()
        step(ctx)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    report = {
        "step": args.step, "res_m": ctx.grid.res, "cells": ctx.grid.n_cells,
        "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "outputs": {},
    }  # fmt: skip
    for path in sorted(p for p in (args.out / _FOLDER[args.step]).iterdir() if p.is_file()):
        fig = {"sha256": file_sha256(path)}
        if args.compare:
            theirs = args.run / _FOLDER[args.step] / path.name
            fig["same"] = theirs.is_file() and file_sha256(theirs) == fig["sha256"]
        report["outputs"][path.name] = fig
        print(path.name, fig, flush=True)
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
