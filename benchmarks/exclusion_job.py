"""The reference exclusion job done tile by tile with sxplan's layers/ engine, timed.

Same job as ``atlite_exclusion.py``: exclude urban land (IGBP 13) plus 500 m, protected areas plus
1 km, highways plus 200 m and slope above 25 %, all buffers exact circles; report the eligible area
inside the province (cell centres inside the outline, as atlite counts it).

Engine: the public ``layers`` functions the siting engine uses, nothing benchmark-specific:

- slope: :func:`sxplan.layers.terrain.steeper_than` (float32 Horn gradient compared with the squared
  limit; no slope raster, no trigonometry) on the DEM read with a 1-cell halo;
- urban + 500 m: :func:`sxplan.layers.distance.within_distance` (exact ``<=`` circle, Euclidean
  distance transform only on 256-cell blocks with an urban cell within reach) on
  :func:`sxplan.layers.distance.features_from_codes`, halo ``ceil(500 / res)``;
- protected areas + 1 km, highways + 200 m: :func:`sxplan.layers.distance.features_from_vector`
  with ``buffer_m``
  (true geometry buffered once, cells selected by centre; no halo, no distance transform).

(An earlier ``--engine fast`` prototype of these pieces is gone: ``layers`` now does the same.)

Usage::

    .venv/bin/python benchmarks/exclusion_job.py --data /work/bench-data/r100
    .venv/bin/python benchmarks/exclusion_job.py --data DIR --workers 2 --compare

The run is measured in a child process (wall time and peak RSS of that child alone, like the
atlite script). Outputs: a per-rule table, ``DIR/results/sxplan_exclusion.json`` (or
``--json``), and as the last line one JSON object (with the ratio to
``DIR/results/atlite.json`` when present).

``--scheduler`` runs the tiles on ``sync``, ``threads`` (the default with ``--workers`` > 1),
``processes`` (a local Dask cluster of ``--workers`` processes) or a running dask.distributed
scheduler (``tcp://host:port``; ``scale_out.py --job exclusion`` starts one). Each task
carries only the data folder and the tile: a worker process opens the inputs once, on its first
tile, and keeps them for the next (:class:`TileTask`). The counts are integers summed in tile
order, so every scheduler gives the same totals, and ``--write-mask`` the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _measure import run_measured  # noqa: E402
from atlite_exclusion import (  # noqa: E402
    HIGHWAY_BUFFER_M,
    MAX_SLOPE_PCT,
    PROTECTED_BUFFER_M,
    URBAN_BUFFER_M,
    URBAN_CODES,
)

RULES = ("urban_500m", "protected_1km", "highway_200m", "slope_gt_25pct")


class Job:
    """Inputs opened once; :meth:`compute` is a pure function of a tile."""

    def __init__(self, data: Path, clip_sources: bool) -> None:
        import shapely

        from sxplan.layers.distance import features_from_codes, features_from_vector, halo_cells
        from sxplan.layers.io import AlignedLayer, open_raster
        from sxplan.layers.io import grid_of_raster as _grid_of
        from sxplan.layers.vector import load_vector

        with open_raster(data / "dem.tif", "dem") as src:
            self.grid = _grid_of(src)
        g = self.grid
        self.res = g.res
        self.clip_sources = clip_sources
        self.dem = AlignedLayer.open(data / "dem.tif", "dem", "continuous", "m", g)
        self.lc = AlignedLayer.open(data / "landcover.tif", "landcover", "categorical", "", g)
        province = load_vector(data / "province.gpkg", g)
        self.province = np.asarray(province.geometry.values)
        self.province_tree = shapely.STRtree(self.province)
        self.urban = features_from_codes(self.lc, URBAN_CODES)
        # exact circular buffers of the true geometry, rasterized by cell centre (no halo)
        self.vec = {
            "protected_1km": features_from_vector(
                load_vector(data / "protected_areas.gpkg", g), g, buffer_m=PROTECTED_BUFFER_M
            ),
            "highway_200m": features_from_vector(
                load_vector(data / "highways.gpkg", g), g, buffer_m=HIGHWAY_BUFFER_M
            ),
        }
        # the urban buffer is the only focal operation with reach beyond the 1-cell slope halo
        self.halo = max(1, halo_cells(URBAN_BUFFER_M, self.res))

    def _province(self, window) -> np.ndarray:
        from sxplan.layers.vector import burn_tile

        return burn_tile(
            self.province, None, self.grid, window, all_touched=False, tree=self.province_tree
        ).astype(bool)

    def _urban_features(self, window) -> np.ndarray:
        urban = self.urban(window)
        if self.clip_sources:  # atlite crops rasters to the province before buffering
            urban &= self._province(window)
        return urban

    # -- one tile -------------------------------------------------------------------------------
    def compute(self, tile, want_mask: bool = True) -> dict:
        """Integer counts of one tile; ``_steps`` its seconds per step, ``_mask`` the eligible
        cells when ``want_mask`` (left out otherwise, so a Dask task returns only the counts)."""
        from sxplan.layers.distance import within_distance
        from sxplan.layers.terrain import steeper_than

        steps: dict[str, float] = {}

        def clock(step: str, t0: float) -> float:
            t1 = time.perf_counter()
            steps[step] = t1 - t0
            return t1

        t = time.perf_counter()
        inside = self._province(tile.window)
        n_inside = int(inside.sum())
        t = clock("province_mask", t)
        if n_inside == 0:
            return {"inside": 0, "_steps": steps}
        ex = {}
        ex["urban_500m"] = within_distance(self._urban_features, self.grid, tile, URBAN_BUFFER_M)
        t = clock("read_landcover+urban_buffer", t)
        for key, reader in self.vec.items():
            ex[key] = reader(tile.window)
        t = clock("vector_buffers", t)
        dem, valid = self.dem.read_valid(tile.outer)
        t = clock("read_dem", t)
        ex["slope_gt_25pct"] = steeper_than(dem, self.res, MAX_SLOPE_PCT, valid)[tile.inner]
        t = clock("slope", t)
        excluded = np.zeros_like(inside)
        counts = {"inside": n_inside}
        for rule in RULES:
            counts[rule] = int((ex[rule] & inside).sum())
            excluded |= ex[rule]
        eligible = inside & ~excluded
        counts["eligible"] = int(eligible.sum())
        if want_mask:
            counts["_mask"] = eligible
        clock("combine", t)
        counts["_steps"] = steps
        return counts


#: Jobs opened in this process, by (data folder, clip_sources): a Dask worker opens its inputs
#: on its first tile and keeps them for the rest of the run.
_JOBS: dict[tuple[str, bool], Job] = {}


def open_job(data: Path, clip_sources: bool) -> Job:
    """The :class:`Job` of ``data`` in this process, opened on first use."""
    key = (str(data), bool(clip_sources))
    job = _JOBS.get(key)
    if job is None:
        job = _JOBS[key] = Job(Path(data), clip_sources)
    return job


class TileTask:
    """``Job.compute`` as a small picklable callable: a task carries the folder, not the inputs.

    The class lives in this module (imported as ``exclusion_job``, not ``__main__``), so Dask
    workers import it by name; ``scale_out.py`` starts them with this folder on ``PYTHONPATH``.
    """

    def __init__(self, data: Path, clip_sources: bool, want_mask: bool) -> None:
        self.data = str(data)
        self.clip_sources = bool(clip_sources)
        self.want_mask = bool(want_mask)

    def __call__(self, tile) -> dict:
        return open_job(Path(self.data), self.clip_sources).compute(tile, self.want_mask)


def worker(args) -> dict:
    import resource

    import exclusion_job as this  # by module name, so that Dask workers can import TileTask

    from sxplan.layers.io import RasterTileWriter
    from sxplan.layers.windows import plan_tiles, run_tiles, use_scheduler

    t0 = time.perf_counter()
    job = this.open_job(args.data, args.clip_sources)
    t_setup = time.perf_counter() - t0
    scheduler = args.scheduler or ("threads" if args.workers > 1 else "sync")
    # working set per cell of a tile: int16 dem + uint8 land cover + bool masks, and the
    # float32 Horn temporaries (copy, padded copy, gx, gy, sums)
    bytes_per_cell = 48
    tiles = plan_tiles(
        job.grid,
        mem_limit_mb=args.mem_limit_mb,
        bytes_per_cell=bytes_per_cell,
        halo=job.halo,
        n_workers=args.workers,
        tile_size=args.tile_size,
    )
    totals = dict.fromkeys(("inside", "eligible", *RULES), 0)
    step_s: dict[str, float] = {}  # thread-seconds per step, summed over tiles
    writer = None
    if args.write_mask:
        writer = RasterTileWriter(args.write_mask, job.grid, "uint8", None, cog=False)
        writer.__enter__()

    def write(tile, counts):
        mask = counts.pop("_mask", None)
        for k, v in counts.pop("_steps").items():
            step_s[k] = step_s.get(k, 0.0) + v
        for k, v in counts.items():
            totals[k] += v
        if writer is not None:
            if mask is None:
                mask = np.zeros((tile.window.height, tile.window.width), dtype=bool)
            writer.write(mask.astype("uint8"), tile.window)

    t1 = time.perf_counter()
    workers_rss = None
    with use_scheduler(scheduler, n_workers=args.workers) as sched:
        t_cluster = time.perf_counter() - t1  # starting a local cluster, or connecting
        run_tiles(
            tiles,
            this.TileTask(args.data, args.clip_sources, want_mask=writer is not None),
            write,
            n_workers=args.workers,
            progress=None if args.no_progress else "exclusion",
        )
        if not isinstance(sched, str):  # a dask client: each worker's own peak RSS
            workers_rss = sched.run(_peak_rss_mb)
    if writer is not None:
        writer.__exit__(None, None, None)
    t_tiles = time.perf_counter() - t1 - t_cluster
    km2 = job.grid.cell_area_km2
    return {
        "engine": "layers",
        "res_m": job.res,
        "cells": job.grid.n_cells,
        "tiles": len(tiles),
        "tile_side": tiles[0].window.width,
        "halo_cells": job.halo,
        "workers": args.workers,
        "scheduler": scheduler,
        "mem_limit_mb": args.mem_limit_mb,
        "setup_s": t_setup,
        "cluster_s": t_cluster,
        "tiles_s": t_tiles,
        "province_km2": totals["inside"] * km2,
        "eligible_km2": totals["eligible"] * km2,
        "excluded_km2_by_rule": {r: totals[r] * km2 for r in RULES},
        "thread_s_by_step": {k: round(v, 2) for k, v in step_s.items()},
        "self_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "workers_peak_rss_mb": workers_rss,
    }


def _peak_rss_mb() -> float:
    """This process's peak resident set in MB (run on each Dask worker)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


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
    ap.add_argument("--workers", type=int, default=2, help="threads or worker processes")
    ap.add_argument(
        "--scheduler",
        help="sync, threads, processes or tcp://host:port (default: threads, sync for 1 worker)",
    )
    ap.add_argument("--tile-size", type=int, help="force a tile side in cells (tests, small grids)")
    ap.add_argument("--json", type=Path, help="where to write the figures (default DATA/results)")
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
        args.write_mask = args.data / "results" / "eligible_sxplan.tif"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--data", str(args.data)]
    cmd += ["--workers", str(args.workers)]
    cmd += ["--scheduler", args.scheduler] if args.scheduler else []
    cmd += ["--tile-size", str(args.tile_size)] if args.tile_size else []
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
    dest = args.json or args.data / "results" / "sxplan_exclusion.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=1))
    print(f"{'rule':16s} {'excluded km2':>13s}  (inside the province, rules overlap)")
    for rule, v in out["excluded_km2_by_rule"].items():
        print(f"{rule:16s} {v:13,.1f}")
    print(f"{'eligible':16s} {out['eligible_km2']:13,.1f} of {out['province_km2']:,.1f}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
