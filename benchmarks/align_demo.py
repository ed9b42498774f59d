"""The layers step's alignments alone: every demo raster onto the demo grid, one at a time.

Aligns each raster layer of the demo config (``sxplan.layers.align.align_raster``, the code the
``layers`` step runs, as Cloud-Optimized GeoTIFFs) onto the demo grid at ``--res`` metres, one
after the other in this process, and prints per layer the wall and CPU seconds and the file's
sha256, then a JSON line of them all. With ``--compare DIR`` each output is also compared,
cell by cell, with the file of the same name in ``DIR`` (an earlier run of this script): the
cells whose values differ (NaN equal to NaN), the nodata cells that differ, and the largest
difference in units in the last place.

Usage::

    .venv/bin/python benchmarks/align_demo.py --res 30 --out /work/bench-data/al30
    .venv/bin/python benchmarks/align_demo.py --res 30 --out OUT2 --compare /work/bench-data/al30
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def compare(a_path: Path, b_path: Path) -> dict:
    """Cells of two rasters on one grid that differ, block by block (NaN equal to NaN)."""
    import numpy as np
    import rasterio

    out = {"cells_differ": 0, "nodata_differ": 0, "max_ulp": 0}
    with rasterio.open(a_path) as a, rasterio.open(b_path) as b:
        if (a.width, a.height, a.dtypes[0]) != (b.width, b.height, b.dtypes[0]):
            raise SystemExit(f"{a_path.name}: not the same grid and type as {b_path}")
        nd = a.nodata
        for _, w in a.block_windows(1):
            x, y = a.read(1, window=w), b.read(1, window=w)
            if x.dtype.kind == "f":
                mx = np.isnan(x) if nd is None or np.isnan(nd) else x == nd
                my = np.isnan(y) if nd is None or np.isnan(nd) else y == nd
                same = (x == y) | (np.isnan(x) & np.isnan(y))
            else:
                mx, my, same = x == nd, y == nd, x == y
            out["cells_differ"] += int((~same).sum())
            out["nodata_differ"] += int((mx != my).sum())
            both = ~(mx | my) & ~same
            if x.dtype.kind == "f" and both.any():
                ints = f"int{8 * x.dtype.itemsize}"
                ulp = np.abs(x[both].view(ints).astype("int64") - y[both].view(ints))
                out["max_ulp"] = max(out["max_ulp"], int(ulp.max()))
    return out


def main(argv=None) -> int:
    from sxplan.config import demo_config_path, load_config
    from sxplan.layers.align import align_raster
    from sxplan.layers.atomic import file_sha256
    from sxplan.layers.budget import Budget
    from sxplan.layers.specs import RasterLayerSpec

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--res", type=float, default=30.0, help="grid cell size in metres")
    ap.add_argument("--out", type=Path, required=True, help="folder for the aligned rasters")
    ap.add_argument("--layers", default="", help="comma-separated layers (default: every raster)")
    ap.add_argument("--compare", type=Path, help="folder of an earlier run to compare with")
    ap.add_argument("--mem-limit-mb", type=float, default=1024)
    args = ap.parse_args(argv)

    cfg = load_config(demo_config_path())
    proj = cfg.project
    rasters = [n for n, s in cfg.layers.items() if isinstance(s, RasterLayerSpec)]
    names = [n.strip() for n in args.layers.split(",") if n.strip()] or rasters
    unknown = sorted(set(names) - set(rasters))
    if unknown:
        ap.error(f"--layers: {unknown} are not raster layers of the demo ({rasters})")
    cfg = cfg.model_copy(update={"project": proj.model_copy(update={"resolution_m": args.res})})
    grid = cfg.analysis_grid()
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"res_m": args.res, "cells": grid.n_cells, "layers": {}}
    with Budget(args.mem_limit_mb).run_env():
        for name in names:
            path = args.out / f"{name}.tif"
            t0, c0 = time.perf_counter(), time.process_time()
            align_raster(cfg.layers[name], grid, path, name=name, cog=True)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            fig = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "sha256": file_sha256(path)}
            if args.compare is not None:
                fig.update(compare(path, args.compare / f"{name}.tif"))
            report["layers"][name] = fig
            print(name, fig, flush=True)
    report["wall_s"] = round(sum(f["wall_s"] for f in report["layers"].values()), 2)
    report["cpu_s"] = round(sum(f["cpu_s"] for f in report["layers"].values()), 2)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
