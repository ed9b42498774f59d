"""Run the reference exclusion job with atlite 0.7's ExclusionContainer, and time it.

The job (same as ``exclusion_job.py``): exclude urban land (IGBP code 13) plus 500 m, protected
areas plus 1 km, highways plus 200 m, and slope above 25 %; report the eligible area inside the
province. atlite cannot derive slope, so its users compute a slope raster first; here that is done
the plain whole-array NumPy way (Horn's formula), as its own measured step.

Three steps, each in a fresh process of the atlite interpreter so that wall time and peak memory
(``os.wait4`` rusage of that child alone) are its own:

- ``slope``    whole-array Horn slope (%) of ``dem.tif`` -> ``_atlite/slope_pct.tif``
- ``diamond``  ExclusionContainer with atlite's default raster buffer (binary dilation, a diamond)
- ``circular`` the same with ``buffer_geometry="circular"`` (exact Euclidean distance transform)

Vector buffers are shapely ``buffer`` polygons in both variants (that is what atlite does), and
rasters are read whole, as atlite does. atlite lives in its own virtualenv (it pins packages the
project does not want)::

    python3.11 -m venv .venv-atlite && .venv-atlite/bin/pip install atlite==0.7.0

Usage::

    .venv/bin/python benchmarks/atlite_exclusion.py --data /work/bench-data/r100
    .venv/bin/python benchmarks/atlite_exclusion.py --data DIR --steps circular

Outputs: a table, ``DIR/results/atlite.json``, and as the last line one JSON object with the
figures (and the ratio to ``DIR/results/sxplan_exclusion.json`` when that exists).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run_measured  # noqa: E402

URBAN_CODES = [13]
URBAN_BUFFER_M = 500.0
PROTECTED_BUFFER_M = 1000.0
HIGHWAY_BUFFER_M = 200.0
MAX_SLOPE_PCT = 25.0
STEPS = ("slope", "diamond", "circular")
DEFAULT_ATLITE_PYTHON = Path(__file__).resolve().parents[1] / ".venv-atlite" / "bin" / "python"


# --------------------------------------------------------------------------------------------
# worker side (runs inside the atlite virtualenv; imports nothing from the project)
# --------------------------------------------------------------------------------------------
def steeper_than_limit(slope_pct):
    """Codes callable for atlite: True where slope exceeds the limit (atlite forbids lambdas)."""
    return slope_pct > MAX_SLOPE_PCT


def worker_slope(data: Path) -> dict:
    import numpy as np
    import rasterio

    out = data / "_atlite" / "slope_pct.tif"
    out.parent.mkdir(exist_ok=True)
    with rasterio.open(data / "dem.tif") as src:
        profile = src.profile
        z = src.read(1).astype("float64")
        res = src.res[0]
    zp = np.pad(z, 1, mode="edge")
    del z
    dzdx = (
        (zp[:-2, 2:] + 2 * zp[1:-1, 2:] + zp[2:, 2:])
        - (zp[:-2, :-2] + 2 * zp[1:-1, :-2] + zp[2:, :-2])
    ) / (8 * res)
    dzdy = (
        (zp[2:, :-2] + 2 * zp[2:, 1:-1] + zp[2:, 2:])
        - (zp[:-2, :-2] + 2 * zp[:-2, 1:-1] + zp[:-2, 2:])
    ) / (8 * res)
    del zp
    slope = (np.hypot(dzdx, dzdy) * 100.0).astype("float32")
    del dzdx, dzdy
    profile.update(dtype="float32", nodata=None, compress="deflate", predictor=1)
    tmp = out.with_suffix(".part.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(slope, 1)
    os.replace(tmp, out)
    return {"steep_share_of_grid": float((slope > MAX_SLOPE_PCT).mean())}


def worker_exclusion(data: Path, buffer_geometry: str, save_mask: bool) -> dict:
    import atlite
    import geopandas as gpd
    import numpy as np
    import rasterio
    from atlite.gis import ExclusionContainer

    with rasterio.open(data / "landcover.tif") as src:
        crs = src.crs
        res = src.res[0]
    slope_path = data / "_atlite" / "slope_pct.tif"
    if not slope_path.exists():
        raise SystemExit(f"{slope_path} is missing; run the 'slope' step first")
    t0 = time.perf_counter()
    excl = ExclusionContainer(crs=crs, res=res)
    excl.add_raster(
        str(data / "landcover.tif"),
        codes=URBAN_CODES,
        buffer=URBAN_BUFFER_M,
        buffer_geometry=buffer_geometry,
        nodata=255,
    )
    excl.add_raster(str(slope_path), codes=steeper_than_limit)
    excl.add_geometry(str(data / "protected_areas.gpkg"), buffer=PROTECTED_BUFFER_M)
    excl.add_geometry(str(data / "highways.gpkg"), buffer=HIGHWAY_BUFFER_M)
    province = gpd.read_file(data / "province.gpkg").to_crs(crs)
    eligible, transform = excl.compute_shape_availability(province)
    compute_s = time.perf_counter() - t0
    result = {
        "atlite_version": atlite.__version__,
        "compute_s": compute_s,
        "eligible_km2": float(eligible.sum()) * res * res / 1e6,
        "shape": list(eligible.shape),
        "transform": list(transform)[:6],
    }
    if save_mask:
        t1 = time.perf_counter()
        out = data / "_atlite" / f"eligible_{buffer_geometry}.tif"
        prof = {
            "driver": "GTiff",
            "height": eligible.shape[0],
            "width": eligible.shape[1],
            "count": 1,
            "dtype": "uint8",
            "crs": crs,
            "transform": transform,
            "tiled": True,
            "blockxsize": 512,
            "blockysize": 512,
            "compress": "deflate",
        }
        with rasterio.open(out, "w", **prof) as dst:
            dst.write(np.asarray(eligible, dtype="uint8"), 1)
        result["save_s"] = time.perf_counter() - t1
    return result


def worker_main(step: str, data: Path, save_mask: bool) -> None:
    t0 = time.perf_counter()
    if step == "slope":
        result = worker_slope(data)
    else:
        result = worker_exclusion(data, step, save_mask)
    result["worker_s"] = time.perf_counter() - t0
    print(json.dumps(result))


# --------------------------------------------------------------------------------------------
# driver side
# --------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder from generate.py")
    ap.add_argument("--steps", default=",".join(STEPS), help="comma list of slope,diamond,circular")
    ap.add_argument("--atlite-python", type=Path, default=DEFAULT_ATLITE_PYTHON)
    ap.add_argument("--no-save-mask", action="store_true", help="do not save eligible masks")
    ap.add_argument("--worker", choices=STEPS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    data = args.data.resolve()
    if args.worker:
        worker_main(args.worker, data, not args.no_save_mask)
        return 0

    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    if not args.atlite_python.exists():
        raise SystemExit(
            f"{args.atlite_python} not found; create it with: python3.11 -m venv .venv-atlite && "
            ".venv-atlite/bin/pip install atlite==0.7.0"
        )
    res = manifest["res_m"]
    results_path = data / "results" / "atlite.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    steps = [s for s in args.steps.split(",") if s]
    for step in steps:
        if step not in STEPS:
            raise SystemExit(f"unknown step {step!r}; use one of {', '.join(STEPS)}")
        cmd = [str(args.atlite_python), str(Path(__file__).resolve()), "--data", str(data)]
        cmd += ["--worker", step] + (["--no-save-mask"] if args.no_save_mask else [])
        print(f"atlite {step} at {res:g} m ...", file=sys.stderr, flush=True)
        out, wall, rss = run_measured(cmd)
        out["wall_s"] = wall - out.get("save_s", 0.0)  # saving the mask is not part of the job
        out["peak_rss_mb"] = rss
        results[step] = out
    results.update({"res_m": res, "cells": manifest["cells"], "tool": "atlite 0.7.0"})
    results_path.parent.mkdir(exist_ok=True)
    results_path.write_text(json.dumps(results, indent=1))

    print(f"{'step':10s} {'wall s':>8s} {'peak MB':>9s} {'eligible km2':>13s}")
    for step in STEPS:
        if step in results:
            r = results[step]
            elig = f"{r['eligible_km2']:13,.1f}" if "eligible_km2" in r else " " * 13
            print(f"{step:10s} {r['wall_s']:8.1f} {r['peak_rss_mb']:9.0f} {elig}")
    summary = {
        "tool": "atlite 0.7.0",
        "res_m": res,
        "cells": manifest["cells"],
        **{
            f"{s}_{k}": results[s][k]
            for s in STEPS
            if s in results
            for k in ("wall_s", "peak_rss_mb", "eligible_km2")
            if k in results[s]
        },
    }
    if "slope" in results and "circular" in results:
        summary["circular_plus_slope_wall_s"] = (
            results["circular"]["wall_s"] + results["slope"]["wall_s"]
        )
    ours_path = data / "results" / "sxplan_exclusion.json"
    if ours_path.exists() and "circular_plus_slope_wall_s" in summary:
        ours = json.loads(ours_path.read_text())
        summary["speedup_vs_sxplan"] = ours["wall_s"] and (
            summary["circular_plus_slope_wall_s"] / ours["wall_s"]
        )
        summary["memory_ratio_vs_sxplan"] = results["circular"]["peak_rss_mb"] / ours["peak_rss_mb"]
        summary["sxplan_eligible_km2"] = ours["eligible_km2"]
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
