"""The other floor of a siting run: write its output rasters once, as COGs, computing nothing.

Takes a finished ``run.py`` output folder and writes every one of its rasters again the way the
shared pass does (:class:`sxplan.layers.io.RasterTileWriter` with ``cog=True``: tile files
written tile by tile from two threads, then copied to COG two at a time), from tiles read out of
the run's own files. The same tiles are first read without writing; the difference is the cost
of writing: what any run that produces these files pays, however fast its computation. Prints
seconds and CPU seconds of both passes and of the difference as its last line (JSON).

Usage::

    .venv/bin/python benchmarks/write_once.py --run /work/bench-data/m21/o_A30 --out /tmp/w
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv=None) -> int:

    from check_outputs import reference_errors

    from sxplan.layers.budget import Budget
    from sxplan.layers.io import AlignedLayer, RasterTileWriter, grid_of_raster, open_raster
    from sxplan.layers.windows import plan_tiles, run_tiles
    from sxplan.siting._tile_pass import WriterStack

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="a run.py output folder")
    ap.add_argument("--out", type=Path, required=True, help="scratch folder (replaced)")
    ap.add_argument("--tile", type=int, default=1024, help="tile side in cells")
    args = ap.parse_args(argv)
    paths = sorted(args.run.glob("*.tif"))
    if not paths:
        ap.error(f"--run: no .tif in {args.run}")
    with open_raster(paths[0], paths[0].name) as src:
        grid = grid_of_raster(src)
    layers, specs = [], []
    for p in paths:
        with open_raster(p, p.name) as src:
            kind = src.tags().get("SXPLAN_KIND", "continuous")
            specs.append((p.name, src.dtypes[0], src.nodata, kind))
        layers.append(AlignedLayer.open(p, p.stem, kind, "", grid))
    tiles = plan_tiles(grid, tile_size=args.tile)

    def read(tile):
        return [layer.read_valid(tile.window)[0] for layer in layers]

    out = {"cells": grid.n_cells, "rasters": len(paths), "tile": args.tile}
    with Budget(1024).run_env():
        t0, c0 = time.perf_counter(), _cpu()
        run_tiles(tiles, read, None, scheduler="threads", n_workers=2)
        out["read_s"], out["read_cpu_s"] = time.perf_counter() - t0, _cpu() - c0

        shutil.rmtree(args.out, ignore_errors=True)
        args.out.mkdir(parents=True)
        t0, c0 = time.perf_counter(), _cpu()
        with WriterStack() as stack:
            writers = [
                stack.enter_context(
                    RasterTileWriter(args.out / n, grid, dt, nd, cog=True, kind=kind)
                )
                for n, dt, nd, kind in specs
            ]

            def write(tile, arrays):
                for w, a in zip(writers, arrays, strict=True):
                    w.write(a, tile.window)

            run_tiles(tiles, read, write, scheduler="threads", n_workers=2)
        out["read_write_s"], out["read_write_cpu_s"] = time.perf_counter() - t0, _cpu() - c0
    out["write_s"] = out["read_write_s"] - out["read_s"]
    out["write_cpu_s"] = out["read_write_cpu_s"] - out["read_cpu_s"]
    # the same values and the same overview levels, bit for bit, as the run's files
    out["same_as_run"] = not any(reference_errors(args.out / p.name, p) for p in paths)
    shutil.rmtree(args.out, ignore_errors=True)
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in out.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
