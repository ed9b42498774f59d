"""Benchmark the full PV + wind siting run on the synthetic province, timed and measured.

Runs :func:`sxplan.siting.run_siting` (the code ``sxplan siting`` runs; nothing benchmark-specific)
on a dataset from ``generate.py`` with the config in ``siting_bench.yaml``: the exclusion job's
rules (urban + 500 m, protected areas + 1 km, highways + 200 m, slope > 25 %) plus water, forest
for PV and a soft cropland rule for wind; criteria GHI / wind speed, slope and distance to
highways (capped at 30 km); parcels; capacity and energy; bases; shortlist. Slope is derived
from the DEM on read (:func:`sxplan.layers.terrain.slope_pct_layer`), so its cost is inside the run.

The run happens in a fresh child process; wall time is the child's, peak RSS is that child's
own ``ru_maxrss`` (``os.wait4``), imports and data loading included. With ``--scheduler
processes`` the Dask worker processes are not the child and are reported separately
(``workers_peak_rss_mb``, from the workers themselves).

Usage::

    .venv/bin/python benchmarks/run.py --res 100 --data /work/bench-data/r100
    .venv/bin/python benchmarks/run.py --res 30 --data /work/bench-data/r30 --no-progress
    .venv/bin/python benchmarks/run.py --res 250 --data DIR --scheduler processes
    .venv/bin/python benchmarks/run.py --res 30 --data DIR --out OUT --check --ref REF

``--data`` is generated first (``generate.py --res R``) when it holds no ``manifest.json``.
Outputs go to ``--out`` (default ``DATA/results/siting``); ``<out>_run.json`` next to it
(``DATA/results/siting_run.json`` by default) keeps the figures, and the last line printed is
one JSON object: ``wall_s``, ``peak_rss_mb``,
``peak_rss_by_step_mb`` (the child's resident set sampled every 0.1 s, its highest sample in each
of the run's timed steps: which step set the peak; a spike shorter than a sample can be missed,
so these are at most ``peak_rss_mb``), ``cells``, ``cells_per_s``, ``eligible_km2`` /
``parcels`` / ``potential_gw`` per technology,
and the run's own step timings. With ``--check`` (and ``--ref REF``) the outputs are then checked
by ``check_outputs.py`` (``outputs_check`` in the JSON; exit 1 if any file differs), so a figure
is never quoted for a run whose outputs are wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import peaks_by_step, run_sampled  # noqa: E402

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "siting_bench.yaml"
N_BASES = 5
#: Seconds between two samples of the measured child's resident set (``peak_rss_by_step_mb``).
#: Chosen: a read of ``/proc/<pid>/statm`` took 12 us here (s33, 10,000 reads), so ten a second
#: cost the parent nothing measurable, and the shortest timed step of a 30 m run (tables,
#: 0.7 s) still gets several samples; a spike shorter than this can be missed.
RSS_SAMPLE_S = 0.1


def synthetic_bases(counties):
    """Five bases over the synthetic counties: prefectures grouped in adcode order."""
    from sxplan.siting.bases import Base, BasesTable

    prefs = sorted(counties["prefecture_adcode"].unique())
    groups = [prefs[i::N_BASES] for i in range(N_BASES)]
    bases = []
    for i, g in enumerate(groups):
        adcodes = sorted(int(a) for a in counties.loc[counties.prefecture_adcode.isin(g), "adcode"])
        bases.append(
            Base(
                id=f"base_{i + 1}",
                name_zh=f"合成基地{i + 1}",
                name_en=f"synthetic base {i + 1}",
                counties=adcodes,
                target_gw_2030=24.0,
            )
        )
    return BasesTable(tuple(bases), note="synthetic: prefectures grouped in adcode order")


# name -> (kind, units, scheme) of the generator's rasters
_RASTERS = {
    "dem": ("continuous", "m", None),
    "landcover": ("categorical", "IGBP class", "igbp"),
    "ghi": ("continuous", "kWh/m2/yr", None),
    "wind": ("continuous", "m/s", None),
}


def open_dataset(data: Path, names) -> tuple:
    """``(grid, {name: AlignedLayer}, counties)`` of a ``generate.py`` dataset (grid of the DEM)."""
    from sxplan.layers.counties import validate_counties
    from sxplan.layers.io import AlignedLayer, grid_of_raster, open_raster
    from sxplan.layers.vector import load_vector

    with open_raster(data / "dem.tif", "dem") as src:
        grid = grid_of_raster(src)
    rasters = {}
    for name in names:
        kind, units, scheme = _RASTERS[name]
        rasters[name] = AlignedLayer.open(
            data / f"{name}.tif", name, kind, units, grid, scheme=scheme
        )
    counties = validate_counties(load_vector(data / "counties.gpkg", grid), grid)
    return grid, rasters, counties


def worker(args) -> dict:
    """Load the dataset, run the siting, return the figures (runs in the measured child)."""
    import resource

    from sxplan.layers.terrain import slope_pct_layer
    from sxplan.layers.vector import load_vector
    from sxplan.layers.windows import use_scheduler
    from sxplan.siting import run_siting
    from sxplan.siting.config import load_siting_config

    t0 = time.perf_counter()
    data = args.data
    grid, rasters, counties = open_dataset(data, ("dem", "landcover", "ghi", "wind"))
    rasters["slope_pct"] = slope_pct_layer(rasters["dem"])
    vectors = {
        name: load_vector(data / f"{name}.gpkg", grid) for name in ("protected_areas", "highways")
    }
    bases = synthetic_bases(counties)
    cfg = load_siting_config(CONFIG)
    if args.no_criterion_rasters:
        cfg = cfg.model_copy(update={"criterion_rasters": False})
    t_load = time.perf_counter() - t0
    with use_scheduler(args.scheduler) as sched:
        # the clock of the parent's resident-set samples; run_siting's steps start here
        started = time.monotonic()
        res = run_siting(
            grid,
            rasters,
            vectors,
            counties,
            bases,
            cfg,
            args.out,
            mem_limit_mb=args.mem_limit_mb,
            tile_size=args.tile_size,
        )
        workers_rss = None
        if not isinstance(sched, str):  # a dask client: ask each worker for its peak RSS

            def _peak():
                import resource as r

                return r.getrusage(r.RUSAGE_SELF).ru_maxrss / 1024.0

            workers_rss = sched.run(_peak)
    techs = {}
    for tech, tr in res.techs.items():
        techs[tech] = {
            "eligible_km2": round(tr.eligible_km2, 3),
            "candidate_km2": round(tr.candidate_km2, 3),
            "parcels": int(len(tr.parcels)),
            "potential_gw": round(float(tr.parcels["capacity_mw"].sum()) / 1000.0, 3),
            "energy_twh_per_yr": round(float(tr.parcels["energy_gwh_per_yr"].sum()) / 1000.0, 3),
        }
    return {
        "res_m": grid.res,
        "cells": grid.n_cells,
        "scheduler": args.scheduler,
        "mem_limit_mb": args.mem_limit_mb,
        "tile_size": args.tile_size,
        "load_s": round(t_load, 3),
        "technologies": techs,
        "timings_s": res.timings,
        "run_started_monotonic": started,
        "tech_timings_s": {t: tr.timings for t, tr in res.techs.items()},
        "self_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "workers_peak_rss_mb": workers_rss,
    }


def ensure_data(data: Path, res: float) -> None:
    """Generate the dataset into ``data`` unless it already holds one at ``res``."""
    manifest = data / "manifest.json"
    if manifest.exists():
        have = json.loads(manifest.read_text(encoding="utf-8"))["res_m"]
        if abs(have - res) > 1e-9:
            raise SystemExit(f"{data} holds a {have:g} m dataset, not {res:g} m; pick another")
        return
    if data.exists() and any(p.name != "results" for p in data.iterdir()):
        raise SystemExit(f"{data} is not empty and has no manifest.json; use an empty folder")
    print(f"generating the {res:g} m dataset in {data} ...", file=sys.stderr)
    subprocess.run(
        [sys.executable, str(HERE / "generate.py"), "--res", str(res), "--out", str(data)],
        check=True,
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--res", type=float, required=True, help="cell size in metres")
    ap.add_argument("--data", type=Path, required=True, help="dataset folder (generated if empty)")
    ap.add_argument("--out", type=Path, help="output folder (default DATA/results/siting)")
    ap.add_argument(
        "--scheduler",
        default="threads",
        help="threads (default), sync, processes, or tcp://host:port of a dask scheduler",
    )
    ap.add_argument("--mem-limit-mb", type=float, default=1024.0, help="memory budget for tiles")
    ap.add_argument(
        "--tile-size",
        type=int,
        help="force a tile side in cells (default: from the budget; at 250 m the province is "
        "one tile, which leaves Dask workers nothing to share)",
    )
    ap.add_argument("--no-progress", action="store_true", help="hide progress bars")
    ap.add_argument(
        "--no-criterion-rasters",
        action="store_true",
        help="run with siting.criterion_rasters: false (no criterion_<tech>_<name>.tif)",
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help="after the run, check every float COG's overview levels against block means of "
        "its full band (check_outputs.py); not timed",
    )
    ap.add_argument(
        "--ref",
        type=Path,
        help="with --check, also compare every output with this reference run folder (values, "
        "every overview level bit for bit, GeoPackages by features, other files by sha256)",
    )
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.data = args.data.resolve()
    args.out = (args.out or args.data / "results" / "siting").resolve()
    if args.ref is not None and not args.check:
        ap.error("--ref needs --check")
    if args.ref is not None and not args.ref.is_dir():  # before the run, not after it
        ap.error(f"--ref {args.ref}: no such folder; give an earlier run's --out")
    if args.worker:
        print(json.dumps(worker(args)))
        return 0

    ensure_data(args.data, args.res)
    env = dict(os.environ)
    if args.no_progress:
        env["SXPLAN_NO_PROGRESS"] = "1"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--res", str(args.res)]
    cmd += ["--data", str(args.data), "--out", str(args.out), "--scheduler", args.scheduler]
    cmd += ["--mem-limit-mb", str(args.mem_limit_mb)]
    if args.tile_size:
        cmd += ["--tile-size", str(args.tile_size)]
    if args.no_criterion_rasters:
        cmd += ["--no-criterion-rasters"]
    out, wall, rss, samples = run_sampled(cmd, env, every_s=RSS_SAMPLE_S)
    figures = {
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(rss, 1),
        "peak_rss_by_step_mb": step_peaks(samples, out),
        "cells": out["cells"],
        "cells_per_s": round(out["cells"] / wall),
        "eligible_km2": {t: v["eligible_km2"] for t, v in out["technologies"].items()},
        "parcels": {t: v["parcels"] for t, v in out["technologies"].items()},
        "potential_gw": {t: v["potential_gw"] for t, v in out["technologies"].items()},
        "criterion_rasters": not args.no_criterion_rasters,
        **out,
    }
    if args.check:
        figures["outputs_check"] = check_run(args.out, args.ref)
    # the figures go next to the outputs (DATA/results/siting_run.json by default), so that a
    # run with --out writes nothing into a shared, read-only dataset folder
    args.out.parent.mkdir(parents=True, exist_ok=True)
    (args.out.parent / f"{args.out.name}_run.json").write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures))
    return 1 if figures.get("outputs_check", {}).get("with_differences") else 0


def step_peaks(samples: list[tuple[float, float]], out: dict) -> dict | None:
    """The sampled resident set's peak in each of the run's timed steps (``None``: no samples).

    The steps are the run's own ``timings_s`` (``total`` and nested timings aside) in the order
    they ran, laid end to end back from the end of ``total`` (``run_siting``'s start, the
    child's ``run_started_monotonic``, plus ``total``), not from its return, which follows
    the removal of its scratch folder (0.37 s at 30 m; laid back from it, ``before`` took the
    distance step's first samples, s41). ``before`` is the interpreter, imports, loading and
    the run's set-up, ``after`` the scratch folder's removal and the child's last lines.
    """
    if not samples:
        return None
    steps = [
        (k, float(v))
        for k, v in out["timings_s"].items()
        if k != "total" and isinstance(v, int | float)
    ]
    end = out["run_started_monotonic"] + float(out["timings_s"]["total"])
    return peaks_by_step(samples, steps, end)


def check_run(out: Path, ref: Path | None) -> dict:
    """:func:`check_outputs.check_folder` on a finished run, outside the measured child."""
    from check_outputs import check_folder

    t0 = time.perf_counter()
    found = check_folder(out, ref)
    bad = {name: problems for name, problems in found.items() if problems}
    for name, problems in bad.items():
        print(f"outputs check: {name}: {'; '.join(problems)}", file=sys.stderr)
    return {
        "files": len(found),
        "with_differences": len(bad),
        "ref": str(ref) if ref else None,
        "differences": bad,
        "check_s": round(time.perf_counter() - t0, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
