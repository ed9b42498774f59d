"""Benchmark the sinks stage on the synthetic province, timed and measured.

Runs :func:`sxplan.sinks.run_sinks` (the function ``sxplan sinks`` calls; nothing
benchmark-specific) on a dataset from ``generate.py`` with the config in ``sinks_bench.yaml``:
land cover (IGBP), DEM, slope in degrees derived from the DEM on read
(:func:`sxplan.layers.terrain.slope_deg_layer`, so its cost is inside the run; ``sxplan sinks``
writes ``layers/slope_deg.tif`` in its layers step instead) and the 117 synthetic counties. As in
``sxplan run``, GDAL's block cache is bounded by the budget and tiles run on the ``threads``
scheduler (the project default).

The run happens in a fresh child process; wall time is the child's, peak RSS is that child's own
``ru_maxrss`` (``os.wait4``), imports and data loading included. On a large grid the county
cover shares its zones with a helper process (:func:`sxplan.layers.zonal.zone_cover`): its CPU
time is in ``cpu_s``, its own peak in ``helper_peak_rss_mb`` (the memory used at once is at
most the sum of the two peaks).

Usage::

    .venv/bin/python benchmarks/sinks_run.py --data /work/bench-data/r30 --out DIR/sinks30
    .venv/bin/python benchmarks/read_once.py --data /work/bench-data/r30 --layers dem,landcover

``--out`` (required; it must not be inside ``--data``) receives the stage's files
(``counties.csv``, ``counties.gpkg``, ``afforestation_eligible.tif``, ``trajectory.csv``,
``stock.csv``); the figures go to ``<out>.json`` and, as one JSON object, to the last line
printed: ``wall_s``, ``peak_rss_mb``, ``cells``, ``cells_per_s``, the province summary and the
output files' sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run_measured  # noqa: E402

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "sinks_bench.yaml"
#: The rasters the sinks stage reads with this config (the floor: read_once.py --layers).
READS = ("landcover", "dem")


def load_config(path: Path):
    """The ``sinks:`` section of ``path``, with ``official_csv`` resolved next to the file."""
    from sxplan._yaml import read_yaml
    from sxplan.sinks.config import SinksConfig

    cfg = SinksConfig.model_validate(read_yaml(path)["sinks"])
    if cfg.official_csv is not None and not cfg.official_csv.is_absolute():
        cfg = cfg.model_copy(update={"official_csv": (path.parent / cfg.official_csv).resolve()})
    return cfg


def sha256_of(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` by relative path."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def worker(args) -> dict:
    """Load the dataset, run the sinks stage, return the figures (runs in the measured child)."""
    import resource

    from run import open_dataset

    from sxplan.layers.budget import Budget
    from sxplan.layers.heap import helper_peak_mb
    from sxplan.layers.terrain import slope_deg_layer
    from sxplan.layers.windows import use_scheduler
    from sxplan.sinks import run_sinks

    t0 = time.perf_counter()
    grid, rasters, counties = open_dataset(args.data, ("dem", "landcover"))
    rasters["slope_deg"] = slope_deg_layer(rasters["dem"])
    cfg = load_config(args.config)
    t_load = time.perf_counter() - t0
    with use_scheduler(args.scheduler), Budget.of(args.mem_limit_mb).run_env():
        res = run_sinks(
            grid=grid,
            rasters=rasters,
            counties=counties,
            config=cfg,
            out_dir=args.out,
            mem_limit_mb=args.mem_limit_mb,
            official=cfg.official_csv,
        )
    p = res.province
    keys = (
        "baseline_raw_pct",
        "baseline_calibrated_pct",
        "eligible_ha",
        "allocated_gain_ha",
        "forest_stock_m3",
        "existing_sink_tco2_per_yr",
    )
    return {
        "res_m": grid.res,
        "cells": grid.n_cells,
        "scheduler": args.scheduler,
        "mem_limit_mb": args.mem_limit_mb,
        "load_s": round(t_load, 3),
        "province": {k: p[k] for k in keys}
        | {f"sink_tco2_per_yr_{y}": p[f"sink_tco2_per_yr_{y}"] for y in p["report_years"]},
        "self_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        # the county cover's helper process (large grids, two cores): its own peak (VmHWM)
        "helper_peak_rss_mb": round(helper_peak_mb(), 1),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="a generate.py dataset")
    ap.add_argument("--out", type=Path, required=True, help="output folder (outside --data)")
    ap.add_argument("--config", type=Path, default=CONFIG, help="YAML with a sinks: section")
    ap.add_argument("--scheduler", default="threads", help="threads (default), sync, processes")
    ap.add_argument("--mem-limit-mb", type=float, default=1024.0, help="memory budget")
    ap.add_argument("--no-progress", action="store_true", help="hide progress bars")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.data, args.out, args.config = (p.resolve() for p in (args.data, args.out, args.config))
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    if not (args.data / "manifest.json").exists():
        raise SystemExit(f"{args.data} holds no generate.py dataset (manifest.json)")
    if args.out.is_relative_to(args.data):
        raise SystemExit(f"--out {args.out} is inside --data {args.data}; pick another folder")
    if args.out.exists() and any(args.out.iterdir()):
        raise SystemExit(f"--out {args.out} is not empty; pick a new folder")
    env = dict(os.environ)
    if args.no_progress:
        env["SXPLAN_NO_PROGRESS"] = "1"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker"]
    cmd += ["--data", str(args.data), "--out", str(args.out), "--config", str(args.config)]
    cmd += ["--scheduler", args.scheduler, "--mem-limit-mb", str(args.mem_limit_mb)]
    out, wall, rss = run_measured(cmd, env)
    figures = {
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(rss, 1),
        "cells_per_s": round(out["cells"] / wall),
        **out,
        "sha256": sha256_of(args.out),
    }
    args.out.with_name(args.out.name + ".json").write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
