"""The floor of a siting run: decode every input raster once, window by window, on 2 threads.

Reads ``dem``, ``landcover``, ``ghi`` and ``wind`` of a ``generate.py`` dataset with the same
tiling and thread pool the siting run uses (:func:`sxplan.layers.windows.run_tiles`), doing nothing
with the values, and prints seconds and cells per second per raster and in total as its last
line (JSON). Comparing this with ``run.py``'s wall time says how close the run is to "reading
the inputs once".

``--layers`` picks other rasters of the dataset, e.g. ``--layers landcover,dem`` for the floor of
the sinks stage (``sinks_run.py``).

Usage::

    .venv/bin/python benchmarks/read_once.py --data /work/bench-data/r30
    .venv/bin/python benchmarks/read_once.py --data /work/bench-data/r30 --layers landcover,dem
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

RASTERS = ("dem", "landcover", "ghi", "wind")


def main(argv=None) -> int:
    import rasterio

    from sxplan.layers.io import AlignedLayer, grid_of_raster, open_raster
    from sxplan.layers.windows import plan_tiles, run_tiles

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--tile", type=int, default=1024, help="tile side in cells")
    ap.add_argument(
        "--layers",
        default=",".join(RASTERS),
        help=f"comma-separated rasters to read (default {','.join(RASTERS)})",
    )
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.layers.split(",") if n.strip()]
    missing = [n for n in names if not (args.data / f"{n}.tif").is_file()]
    if not names or missing:
        ap.error(f"--layers: no {missing or 'layers'} .tif in {args.data}")
    with open_raster(args.data / "dem.tif", "dem") as src:
        grid = grid_of_raster(src)
    tiles = plan_tiles(grid, tile_size=args.tile)
    out = {"cells": grid.n_cells, "tile": args.tile, "layers": names}
    total = 0.0
    with rasterio.Env(GDAL_CACHEMAX=128 * 1024 * 1024):
        for name in names:
            layer = AlignedLayer.open(args.data / f"{name}.tif", name, "continuous", "", grid)
            t0 = time.perf_counter()
            run_tiles(tiles, lambda t, layer=layer: layer.read_valid(t.window)[1].sum(), None,
                      scheduler="threads", n_workers=2)  # fmt: skip
            dt = time.perf_counter() - t0
            out[f"{name}_s"] = round(dt, 2)
            total += dt
    out["total_s"] = round(total, 2)
    out["cells_per_s"] = round(grid.n_cells * len(names) / total)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
