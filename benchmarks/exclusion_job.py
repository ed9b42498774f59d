"""The reference exclusion job done tile by tile with sxplan's layers/ engine, timed.

Same job as ``atlite_exclusion.py``: exclude urban land (IGBP 13) plus 500 m, protected areas plus
1 km, highways plus 200 m and slope above 25 %, all buffers exact circles; report the eligible area
inside the province (cell centres inside the outline, as atlite counts it).

Two engines:

- ``layers`` (default): the lead's functions as they are: :func:`layers.terrain.horn_slope_aspect`
  for slope, :func:`layers.distance.distance_tile` (capped Euclidean distance transform with a
  halo) for all three buffers, vectors burned per tile with :func:`layers.vector.burn_tile`.
- ``fast``: a prototype of the changes proposed to the lead (see README): slope tested as
  ``gx^2 + gy^2 > (0.25 * 8 * res)^2`` in integer arithmetic on the int16 DEM (no float64
  copies, no arctan, no aspect); vector buffers rasterized from shapely buffer polygons (exact
  circles around the true geometry, no distance transform); the urban buffer by distance
  transform only on 256-cell blocks that have urban cells within reach.

Each tile reads its window plus a halo (1 cell for slope, ``ceil(buffer / res)`` for buffers),
computes in a thread pool (SciPy, GDAL and NumPy release the GIL), and returns counts only.

Usage::

    .venv/bin/python benchmarks/exclusion_job.py --data /work/bench-data/r100
    .venv/bin/python benchmarks/exclusion_job.py --data DIR --engine fast --workers 2

The run is measured in a child process (wall time and peak RSS of that child alone, like the
atlite script). Outputs: a per-rule table, ``DIR/results/sxplan_exclusion[_fast].json``, and as
the last line one JSON object (with the ratio to ``DIR/results/atlite.json`` when present).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from atlite_exclusion import (  # noqa: E402
    HIGHWAY_BUFFER_M,
    MAX_SLOPE_PCT,
    PROTECTED_BUFFER_M,
    URBAN_BUFFER_M,
    URBAN_CODES,
    run_measured,
)

RULES = ("urban_500m", "protected_1km", "highway_200m", "slope_gt_25pct")
_BLOCK = 256


def _cap(buffer_m: float, res: float) -> float:
    # distances are capped at the max distance ("at least this far"), so measure one cell past
    # the buffer to tell "exactly buffer_m" (inside) from "farther" (outside)
    return buffer_m + res


class Job:
    """Inputs opened once; :meth:`compute` is a pure function of a tile."""

    def __init__(self, data: Path, engine: str, clip_sources: bool) -> None:
        import shapely

        from layers.io import AlignedLayer, open_raster
        from layers.io import grid_of_raster as _grid_of
        from layers.vector import load_vector

        with open_raster(data / "dem.tif", "dem") as src:
            self.grid = _grid_of(src)
        g = self.grid
        self.res = g.res
        self.engine = engine
        self.clip_sources = clip_sources
        self.dem = AlignedLayer.open(data / "dem.tif", "dem", "continuous", "m", g)
        self.lc = AlignedLayer.open(data / "landcover.tif", "landcover", "categorical", "", g)
        province = load_vector(data / "province.gpkg", g)
        self.province = np.asarray(province.geometry.values)
        self.province_tree = shapely.STRtree(self.province)
        pa = load_vector(data / "protected_areas.gpkg", g)
        hw = load_vector(data / "highways.gpkg", g)
        if engine == "fast":
            # exact circular buffers of the true geometry, rasterized by cell centre
            self.vec = {
                "protected_1km": np.asarray(pa.geometry.buffer(PROTECTED_BUFFER_M).values),
                "highway_200m": np.asarray(hw.geometry.buffer(HIGHWAY_BUFFER_M).values),
            }
            self.halo = max(1, math.ceil(_cap(URBAN_BUFFER_M, self.res) / self.res))
        else:
            self.vec = {
                "protected_1km": np.asarray(pa.geometry.values),
                "highway_200m": np.asarray(hw.geometry.values),
            }
            self.halo = max(
                math.ceil(_cap(b, self.res) / self.res - 1e-9)
                for b in (URBAN_BUFFER_M, PROTECTED_BUFFER_M, HIGHWAY_BUFFER_M)
            )
        self.trees = {k: shapely.STRtree(v) for k, v in self.vec.items()}
        self.step_s: dict[str, float] = {}  # thread-seconds per step, summed over tiles
        self._lock = threading.Lock()

    def _clock(self, step: str, t0: float) -> float:
        t1 = time.perf_counter()
        with self._lock:
            self.step_s[step] = self.step_s.get(step, 0.0) + (t1 - t0)
        return t1

    # -- pieces ---------------------------------------------------------------------------------
    def _burn(self, key, window, all_touched=False):
        from layers.vector import burn_tile

        geoms = self.province if key == "province" else self.vec[key]
        tree = self.province_tree if key == "province" else self.trees[key]
        return burn_tile(geoms, None, self.grid, window, all_touched=all_touched, tree=tree)

    def _within(self, features: np.ndarray, tile, buffer_m: float) -> np.ndarray:
        from layers.distance import distance_array

        dist = distance_array(features, self.res, _cap(buffer_m, self.res))[tile.inner]
        return dist <= buffer_m

    def _steep_layers(self, tile) -> np.ndarray:
        from layers.terrain import horn_slope_aspect

        values, valid = self.dem.read_valid(tile.outer)
        _, slope_pct, _ = horn_slope_aspect(values, self.res, valid)
        return slope_pct[tile.inner] > MAX_SLOPE_PCT

    def _steep_fast(self, tile, dem) -> np.ndarray:
        # Horn: 8 * res * dz/dx = (c + 2f + i) - (a + 2d + g); exact in int32 for int16 input.
        # At the grid's outer edge (outside the province by the 2 km margin) missing neighbours
        # repeat the edge row/column, where layers.terrain uses the centre value.
        z = np.pad(dem.astype(np.int32), 1, mode="edge")
        a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
        d, f = z[1:-1, :-2], z[1:-1, 2:]
        g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
        gx = (c + 2 * f + i) - (a + 2 * d + g)
        gy = (g + 2 * h + i) - (a + 2 * b + c)
        gx = gx.astype(np.float32)
        gy = gy.astype(np.float32)
        limit = np.float32((MAX_SLOPE_PCT / 100.0 * 8.0 * self.res) ** 2)
        steep = gx * gx + gy * gy > limit
        return steep[tile.inner]

    def _urban_blocks(self, urban: np.ndarray, tile) -> np.ndarray:
        """Urban buffer by EDT, only on blocks of the core that have urban cells within reach."""
        from scipy import ndimage

        h_in = tile.inner
        core_h = h_in[0].stop - h_in[0].start
        core_w = h_in[1].stop - h_in[1].start
        out = np.zeros((core_h, core_w), dtype=bool)
        if not urban.any():
            return out
        reach = math.ceil(_cap(URBAN_BUFFER_M, self.res) / self.res)
        r0, c0 = h_in[0].start, h_in[1].start
        for br in range(0, core_h, _BLOCK):
            for bc in range(0, core_w, _BLOCK):
                bh, bw = min(_BLOCK, core_h - br), min(_BLOCK, core_w - bc)
                rr0 = max(0, r0 + br - reach)
                cc0 = max(0, c0 + bc - reach)
                rr1 = min(urban.shape[0], r0 + br + bh + reach)
                cc1 = min(urban.shape[1], c0 + bc + bw + reach)
                sub = urban[rr0:rr1, cc0:cc1]
                if not sub.any():
                    continue
                ir, ic = r0 + br - rr0, c0 + bc - cc0
                core = sub[ir : ir + bh, ic : ic + bw]
                if core.all():
                    out[br : br + bh, bc : bc + bw] = True
                    continue
                dist = ndimage.distance_transform_edt(~sub, sampling=(self.res, self.res))
                out[br : br + bh, bc : bc + bw] = dist[ir : ir + bh, ic : ic + bw] <= URBAN_BUFFER_M
        return out

    # -- one tile -------------------------------------------------------------------------------
    def compute(self, tile) -> dict:
        t = time.perf_counter()
        inside = self._burn("province", tile.window).astype(bool)
        n_inside = int(inside.sum())
        t = self._clock("province_mask", t)
        if n_inside == 0:
            return {"inside": 0}
        lc, lc_valid = self.lc.read_valid(tile.outer)
        urban = np.isin(lc, URBAN_CODES) & lc_valid
        if self.clip_sources:  # atlite crops rasters to the province before buffering
            urban &= self._burn("province", tile.outer).astype(bool)
        t = self._clock("read_landcover", t)
        ex = {}
        if self.engine == "fast":
            ex["urban_500m"] = self._urban_blocks(urban, tile)
            t = self._clock("urban_buffer", t)
            ex["protected_1km"] = self._burn("protected_1km", tile.window).astype(bool)
            ex["highway_200m"] = self._burn("highway_200m", tile.window).astype(bool)
            t = self._clock("vector_buffers", t)
            dem, _ = self.dem.read_valid(tile.outer)
            t = self._clock("read_dem", t)
            ex["slope_gt_25pct"] = self._steep_fast(tile, dem)
            t = self._clock("slope", t)
        else:
            ex["urban_500m"] = self._within(urban, tile, URBAN_BUFFER_M)
            t = self._clock("urban_buffer", t)
            pa = self._burn("protected_1km", tile.outer).astype(bool)
            ex["protected_1km"] = self._within(pa, tile, PROTECTED_BUFFER_M)
            hw = self._burn("highway_200m", tile.outer, all_touched=False).astype(bool)
            ex["highway_200m"] = self._within(hw, tile, HIGHWAY_BUFFER_M)
            t = self._clock("vector_buffers", t)
            ex["slope_gt_25pct"] = self._steep_layers(tile)
            t = self._clock("read_dem+slope", t)
        excluded = np.zeros_like(inside)
        counts = {"inside": n_inside}
        for rule in RULES:
            counts[rule] = int((ex[rule] & inside).sum())
            excluded |= ex[rule]
        eligible = inside & ~excluded
        counts["eligible"] = int(eligible.sum())
        counts["_mask"] = eligible
        self._clock("combine", t)
        return counts


def worker(args) -> dict:
    import resource

    from layers.io import RasterTileWriter
    from layers.windows import plan_tiles, run_tiles

    t0 = time.perf_counter()
    job = Job(args.data, args.engine, args.clip_sources)
    t_setup = time.perf_counter() - t0
    # working set per cell of a tile: int16 dem + uint8 land cover + bool sources, and the
    # engine's temporaries (layers: ~14 float64 Horn arrays; fast: int32 Horn terms)
    bytes_per_cell = 140 if args.engine == "layers" else 48
    tiles = plan_tiles(
        job.grid,
        mem_limit_mb=args.mem_limit_mb,
        bytes_per_cell=bytes_per_cell,
        halo=job.halo,
        n_workers=args.workers,
    )
    totals = dict.fromkeys(("inside", "eligible", *RULES), 0)
    writer = None
    if args.write_mask:
        writer = RasterTileWriter(args.write_mask, job.grid, "uint8", None, cog=False)
        writer.__enter__()

    def write(tile, counts):
        mask = counts.pop("_mask", None)
        for k, v in counts.items():
            totals[k] += v
        if writer is not None:
            if mask is None:
                mask = np.zeros((tile.window.height, tile.window.width), dtype=bool)
            writer.write(mask.astype("uint8"), tile.window)

    t1 = time.perf_counter()
    run_tiles(
        tiles,
        job.compute,
        write,
        scheduler="threads" if args.workers > 1 else "sync",
        n_workers=args.workers,
        progress=None if args.no_progress else f"exclusion ({args.engine})",
    )
    if writer is not None:
        writer.__exit__(None, None, None)
    t_tiles = time.perf_counter() - t1
    km2 = job.grid.cell_area_km2
    return {
        "engine": args.engine,
        "res_m": job.res,
        "cells": job.grid.n_cells,
        "tiles": len(tiles),
        "tile_side": tiles[0].window.width,
        "halo_cells": job.halo,
        "workers": args.workers,
        "mem_limit_mb": args.mem_limit_mb,
        "setup_s": t_setup,
        "tiles_s": t_tiles,
        "province_km2": totals["inside"] * km2,
        "eligible_km2": totals["eligible"] * km2,
        "excluded_km2_by_rule": {r: totals[r] * km2 for r in RULES},
        "thread_s_by_step": {k: round(v, 2) for k, v in job.step_s.items()},
        "self_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def compare_masks(ours_path: Path, atlite_path: Path) -> dict:
    """Cell-by-cell agreement of two eligible masks on the same cell lattice (windowed)."""
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(ours_path) as a, rasterio.open(atlite_path) as b:
        res = a.res[0]
        col_off = round((b.transform.c - a.transform.c) / res)
        row_off = round((a.transform.f - b.transform.f) / res)
        both = only_ours = only_atlite = 0
        for r in range(0, b.height, 2048):
            h = min(2048, b.height - r)
            vb = b.read(1, window=Window(0, r, b.width, h)).astype(bool)
            va = a.read(1, window=Window(col_off, row_off + r, b.width, h)).astype(bool)
            both += int((va & vb).sum())
            only_ours += int((va & ~vb).sum())
            only_atlite += int((~va & vb).sum())
    km2 = res * res / 1e6
    return {
        "both_eligible_km2": both * km2,
        "only_sxplan_eligible_km2": only_ours * km2,
        "only_atlite_eligible_km2": only_atlite * km2,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder from generate.py")
    ap.add_argument("--engine", choices=["layers", "fast"], default="layers")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--mem-limit-mb", type=float, default=1024.0)
    ap.add_argument(
        "--clip-sources",
        action="store_true",
        help="ignore urban cells outside the province, as atlite's crop does",
    )
    ap.add_argument("--write-mask", type=Path, help="also write the eligible mask (uint8)")
    ap.add_argument("--compare", action="store_true", help="compare with atlite's circular mask")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.data = args.data.resolve()
    if args.worker:
        print(json.dumps(worker(args)))
        return 0

    if args.compare and not args.write_mask:
        args.write_mask = args.data / "results" / f"eligible_sxplan_{args.engine}.tif"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--data", str(args.data)]
    cmd += ["--engine", args.engine, "--workers", str(args.workers)]
    cmd += ["--mem-limit-mb", str(args.mem_limit_mb)]
    cmd += ["--clip-sources"] if args.clip_sources else []
    cmd += ["--write-mask", str(args.write_mask)] if args.write_mask else []
    cmd += ["--no-progress"] if args.no_progress else []
    out, wall, rss = run_measured(cmd)
    out["wall_s"] = wall
    out["peak_rss_mb"] = rss
    out["cells_per_s"] = out["cells"] / wall
    out["clip_sources"] = args.clip_sources
    atlite_path = args.data / "results" / "atlite.json"
    if atlite_path.exists():
        at = json.loads(atlite_path.read_text())
        if "circular" in at and "slope" in at and at.get("res_m") == out["res_m"]:
            base = at["circular"]["wall_s"] + at["slope"]["wall_s"]
            out["atlite_circular_plus_slope_wall_s"] = base
            out["speedup_vs_atlite"] = base / wall
            out["atlite_circular_peak_rss_mb"] = at["circular"]["peak_rss_mb"]
            out["memory_fraction_of_atlite"] = rss / at["circular"]["peak_rss_mb"]
            out["atlite_circular_eligible_km2"] = at["circular"]["eligible_km2"]
            out["eligible_diff_km2"] = out["eligible_km2"] - at["circular"]["eligible_km2"]
        mask = args.data / "_atlite" / "eligible_circular.tif"
        if args.compare and mask.exists():
            out["agreement"] = compare_masks(args.write_mask, mask)
    name = "sxplan_exclusion" + ("" if args.engine == "layers" else f"_{args.engine}")
    (args.data / "results").mkdir(exist_ok=True)
    (args.data / "results" / f"{name}.json").write_text(json.dumps(out, indent=1))
    print(f"{'rule':16s} {'excluded km2':>13s}  (inside the province, rules overlap)")
    for rule, v in out["excluded_km2_by_rule"].items():
        print(f"{rule:16s} {v:13,.1f}")
    print(f"{'eligible':16s} {out['eligible_km2']:13,.1f} of {out['province_km2']:,.1f}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
