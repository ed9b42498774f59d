"""Memory and time of the pumped-storage terrain search per cell of its grid.

The figure behind :data:`sxplan.siting._pumped_grid.SEARCH_BYTES_PER_CELL`: the embedded demo
DEM (30 arc-seconds, ``sxplan/data/shanxi/dem.tif``) resampled by ``--factors`` (1 = its own
cells, 2 = four cells each ...; bilinear), searched with the default
:class:`~sxplan.siting.pumped_config.PumpedStorageConfig` and nothing excluded, as
:func:`~sxplan.siting._pumped_reservoirs.find_reservoirs` on ``res_m = 1000 / factor``.

Per factor, two fresh child processes: one traces Python's allocations (``tracemalloc``,
numpy's included) and prints the peak per cell (the inputs handed in, float32 elevation and
two masks, 6 bytes a cell, come on top); the other runs untraced for wall time and
``ru_maxrss`` (tracing slows the search several times).

Usage::

    .venv/bin/python benchmarks/pumped_search.py --factors 1 2 4

Prints one JSON line per run and, last, one JSON object with all of them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys


def _child(factor: float, trace: bool) -> dict:
    import resource
    import time
    import tracemalloc

    import numpy as np
    import rasterio
    from rasterio.enums import Resampling

    from sxplan.config import demo_config_path
    from sxplan.siting._pumped_reservoirs import find_reservoirs
    from sxplan.siting.pumped_config import PumpedStorageConfig

    path = demo_config_path().parent / "shanxi" / "dem.tif"
    with rasterio.open(path) as src:
        shape = (round(src.height * factor), round(src.width * factor))
        z = src.read(1, out_shape=shape, resampling=Resampling.bilinear, masked=True)
    valid = ~np.ma.getmaskarray(z)
    z = np.asarray(z.filled(0), dtype="float32")
    excluded = np.zeros_like(valid)
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    res = find_reservoirs(z, valid, excluded, 1000.0 / factor, PumpedStorageConfig())
    wall = time.perf_counter() - t0
    out = {"factor": factor, "res_m": 1000.0 / factor, "cells": int(z.size), "traced": trace}
    out["reservoirs"] = len(res)
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        out |= {"traced_peak_mb": round(peak / 1e6, 1), "bytes_per_cell": round(peak / z.size, 1)}
    else:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out |= {"wall_s": round(wall, 2), "maxrss_mb": round(rss, 1)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--factors", type=float, nargs="+", default=[1.0, 2.0])
    ap.add_argument("--child", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        print(json.dumps(_child(args.child, args.trace)))
        return 0
    runs = []
    for f in args.factors:
        for trace in (True, False):
            cmd = [sys.executable, __file__, "--child", str(f)] + (["--trace"] if trace else [])
            line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(line.strip().splitlines()[-1]))
            print(json.dumps(runs[-1]), flush=True)
    print(json.dumps({"runs": runs}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
