"""Scale a run out over a real local Dask cluster: the full siting, or the exclusion job.

Starts a ``dask scheduler`` process on 127.0.0.1 and ``dask worker`` processes (one thread
each, no nanny: each worker is one process), then runs ``benchmarks/run.py --scheduler
tcp://127.0.0.1:PORT`` once per worker count (fresh workers for each count, so that each
worker's peak RSS belongs to that run), plus one run with the default threads scheduler
for reference. Every output file of each cluster run is compared by sha256 with the threads
run's; any difference is listed (the run is not failed: the report says which files differ).

``--job exclusion`` runs ``benchmarks/exclusion_job.py --scheduler tcp://...`` instead: its
tasks return integer counts only (the client just adds them up), so the workers do the whole
job and the speed-up per worker measures the cluster, not the client. Its results (area inside
the outline, eligible area, area excluded by each rule) must be equal to the threads run's.

Usage::

    .venv/bin/python benchmarks/scale_out.py --res 250 --data /work/bench-data/r250 \\
        --out /work/bench-data/natl/scale250 --workers 1 2
    .venv/bin/python benchmarks/scale_out.py --job exclusion --res 90 \\
        --data /work/bench-data/natl/c90 --out /work/bench-data/natl/so-ex90 --workers 1 2

Inputs: a dataset folder from ``generate.py`` at ``--res``.

Outputs: ``OUT/threads``, ``OUT/tcp-1``, ``OUT/tcp-2``... (run folders of ``run.py``; with
``--job exclusion`` the job's figures ``OUT/threads.json``, ``OUT/tcp-1.json``...) and
``OUT/scale_out.json``; the last line printed is that JSON object: per run ``wall_s``,
``peak_rss_mb`` (the client, i.e. ``run.py``'s measured child), ``workers_peak_rss_mb`` (each
worker's own ``ru_maxrss``), ``load_start`` / ``load_end`` (1-min load average), ``same_bytes``
and ``differing_files``; per worker count ``speedup_vs_1_worker`` and ``speedup_per_worker``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def load1() -> float:
    """The 1-minute load average."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def sha256_tree(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            out[str(p.relative_to(folder))] = h.hexdigest()
    return out


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs: list[subprocess.Popen]) -> None:
    """Stop the processes this script started (by their own handles), then reap them."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wait_for_workers(address: str, n: int, timeout_s: float = 60.0) -> None:
    """Block until the scheduler at ``address`` has ``n`` workers."""
    from distributed import Client

    with Client(address, timeout=timeout_s) as client:
        client.wait_for_workers(n, timeout=timeout_s)
        have = len(client.scheduler_info()["workers"])
    if have != n:
        raise SystemExit(f"scheduler {address} has {have} workers, expected {n}")


def _run_script(cmd: list[str], scheduler: str) -> tuple[dict, dict]:
    """Run a benchmark script; return its last-line JSON and the common figures around it."""
    start = load1()
    t0 = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    fig = json.loads(proc.stdout.strip().splitlines()[-1])
    common = {
        "scheduler": scheduler,
        "started_utc": t0,
        "load_start": start,
        "load_end": load1(),
        "wall_s": fig["wall_s"],
        "peak_rss_mb": fig["peak_rss_mb"],
        "workers_peak_rss_mb": fig.get("workers_peak_rss_mb"),
        "s_per_m_cells": round(fig["wall_s"] / (fig["cells"] / 1e6), 4),
    }
    return fig, common


def _tile_size_args(args) -> list[str]:
    return ["--tile-size", str(args.tile_size)] if args.tile_size else []


def run_siting(args, out: Path, scheduler: str) -> dict:
    """One ``run.py`` run; returns its figures plus the load average around it."""
    cmd = [sys.executable, str(HERE / "run.py"), "--res", str(args.res), "--data", str(args.data)]
    cmd += ["--out", str(out), "--scheduler", scheduler, "--no-progress"]
    cmd += ["--mem-limit-mb", str(args.mem_limit_mb), *_tile_size_args(args)]
    fig, common = _run_script(cmd, scheduler)
    return {
        **common,
        "cells": fig["cells"],
        "parcels": fig["parcels"],
        "eligible_km2": fig["eligible_km2"],
    }


#: What the exclusion job reports that must not depend on the scheduler.
EXCLUSION_RESULTS = ("cells", "tiles", "province_km2", "eligible_km2", "excluded_km2_by_rule")


def run_exclusion(args, out: Path, scheduler: str) -> dict:
    """One ``exclusion_job.py`` run (figures to ``out``.json); its figures plus the load.

    Every run is planned for the largest worker count (``--workers max``, also the threads
    run's thread count), so that all runs compute the same tiles.
    """
    cmd = [sys.executable, str(HERE / "exclusion_job.py"), "--data", str(args.data)]
    cmd += ["--scheduler", scheduler, "--workers", str(max(args.workers)), "--no-progress"]
    cmd += ["--mem-limit-mb", str(args.mem_limit_mb), "--json", str(out.with_suffix(".json"))]
    cmd += _tile_size_args(args)
    fig, common = _run_script(cmd, scheduler)
    return {
        **common,
        "tiles_s": fig["tiles_s"],
        "cluster_s": fig["cluster_s"],
        "cpu_s": fig["cpu_s"],
        "results": {k: fig[k] for k in EXCLUSION_RESULTS},
    }


def run_cluster(args, n_workers: int, out: Path) -> dict:
    """Start a scheduler and ``n_workers`` single-thread workers, run, stop them."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    # the workers import the exclusion job's task class by module name, from this folder
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=path)
    logs = args.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen] = []
    try:
        sched_log = open(logs / f"scheduler-{n_workers}.log", "w")  # noqa: SIM115
        procs.append(
            subprocess.Popen(
                [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port)]
                + ["--no-dashboard"],
                stdout=sched_log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        )
        for i in range(n_workers):
            wlog = open(logs / f"worker-{n_workers}-{i + 1}.log", "w")  # noqa: SIM115
            procs.append(
                subprocess.Popen(
                    [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-nanny"]
                    + ["--no-dashboard", "--name", f"w{i + 1}", "--memory-limit", "0"],
                    stdout=wlog,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )
        wait_for_workers(address, n_workers)
        if args.job == "exclusion":
            fig = run_exclusion(args, out, address)
        else:
            fig = run_siting(args, out, address)
    finally:
        _stop(procs[1:])
        _stop(procs[:1])
    fig["n_workers"] = n_workers
    return fig


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--res", type=float, required=True, help="cell size of the dataset (m)")
    ap.add_argument("--data", type=Path, required=True, help="dataset folder (generate.py)")
    ap.add_argument("--out", type=Path, required=True, help="folder for the runs (created)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts")
    ap.add_argument("--mem-limit-mb", type=float, default=1024.0)
    ap.add_argument(
        "--job",
        choices=("siting", "exclusion"),
        default="siting",
        help="run.py (default) or exclusion_job.py",
    )
    ap.add_argument(
        "--tile-size",
        type=int,
        help="force a tile side in cells for every run (run.py --tile-size); a grid that is one "
        "tile runs on the client whatever the scheduler",
    )
    args = ap.parse_args(argv)
    args.data = args.data.resolve()
    args.out = args.out.resolve()
    if not (args.data / "manifest.json").exists():
        raise SystemExit(f"{args.data} has no manifest.json; generate it first (generate.py)")
    if args.out.exists() and any(args.out.iterdir()):
        raise SystemExit(f"{args.out} is not empty; pick a new folder")
    args.out.mkdir(parents=True, exist_ok=True)

    if args.job == "exclusion":
        runs = [run_exclusion(args, args.out / "threads", "threads")]
    else:
        runs = [run_siting(args, args.out / "threads", "threads")]
        ref = sha256_tree(args.out / "threads")
    runs[0]["n_workers"] = None
    for n in args.workers:
        fig = run_cluster(args, n, args.out / f"tcp-{n}")
        if args.job == "exclusion":
            fig["same_bytes"] = fig["results"] == runs[0]["results"]
            fig["differing_files"] = [] if fig["same_bytes"] else ["results"]
        else:
            got = sha256_tree(args.out / f"tcp-{n}")
            differ = sorted(k for k in set(ref) | set(got) if ref.get(k) != got.get(k))
            fig["files"] = len(got)
            fig["same_bytes"] = not differ
            fig["differing_files"] = differ
        runs.append(fig)
    one = next((r for r in runs if r["n_workers"] == 1), None)
    for r in runs:
        if one is not None and r["n_workers"]:
            r["speedup_vs_1_worker"] = round(one["wall_s"] / r["wall_s"], 3)
            r["speedup_per_worker"] = round(r["speedup_vs_1_worker"] / r["n_workers"], 3)
    for r in runs:
        w = r.get("workers_peak_rss_mb") or {}
        print(
            f"{r['scheduler']:28s} workers {r['n_workers'] or '-'!s:>2}  wall {r['wall_s']:8.2f} s"
            f"  client {r['peak_rss_mb']:7.1f} MB  workers "
            f"{'/'.join(f'{v:.0f}' for v in w.values()) or '-':>12} MB"
            f"  load {r['load_start']:.2f}->{r['load_end']:.2f}"
            f"  same bytes: {r.get('same_bytes', 'ref')}",
            flush=True,
        )
    summary = {
        "job": args.job,
        "res_m": args.res,
        "data": str(args.data),
        "tile_size": args.tile_size,
        "runs": runs,
    }
    (args.out / "scale_out.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
