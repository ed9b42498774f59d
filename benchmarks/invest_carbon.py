"""InVEST's carbon model on the synthetic land cover, against the sinks stage's forest stock.

InVEST (natcap.invest 3.20, ``natcap.invest.carbon``) maps each land-cover class to four carbon
densities (above/below ground, soil, dead matter; t C/ha) and sums them per cell. sxplan has no
per-class carbon pool model; its like-for-like figure is the existing-forest growing stock of
the sinks stage before calibration: per county, the land-cover forest credit (``forest_credit``,
e.g. IGBP forests 1.0, woody savanna 0.5) summed over the county's cells with exact coverage
fractions, times ``stock_m3_per_ha`` (34.49 m3/ha). The pool table given to InVEST is built from
the same factors, so that both compute the same thing:

    c_above(class) = forest_credit(class) x V x sum_t mix_t BCEF_S,t              x CF
    c_below(class) = forest_credit(class) x V x sum_t mix_t BCEF_S,t x R_t        x CF
    c_soil = c_dead = 0      (sxplan has no soil or dead-wood pool)

with V = ``stock_m3_per_ha``, the ``existing_forest_mix`` shares, BCEF_S of the existing-stock
class (21-40 m3/ha), the root-to-shoot ratios of older stands and CF = 0.47 from
``sinks/data/ipcc_tier1.csv`` (the rows the stage uses for existing forest). Dividing InVEST's
carbon by the constant ``V x sum mix BCEF_S (1 + R) x CF / V`` gives m3 again, so the comparison
checks the area accounting (classes, cells, county coverage), not carbon science.

Checks printed: (1) InVEST's own grid total (``raster_values_summary.csv``) against a hand
count of land-cover classes over the whole grid x the table; (2) per county, InVEST's
``c_storage_bas.tif`` summed with exact coverage fractions against the sinks run's raw forest
hectares (``counties.gpkg``: baseline_forest_pct x land-cover coverage x area) x the density.

InVEST lives in its own virtualenv (it needs GDAL's Python bindings built against the system
GDAL; commands in benchmarks/README.md, section "Issue 17: sinks at 30 m and InVEST"). The model
runs in a fresh child process of that interpreter (wall time and ``ru_maxrss`` of the child).

Usage::

    .venv/bin/python benchmarks/sinks_run.py --data /work/bench-data/r30 --out OUT/sinks30
    .venv/bin/python benchmarks/invest_carbon.py --data /work/bench-data/r30 \\
        --sinks-out OUT/sinks30 --out OUT/invest30

The last line printed is one JSON object with the figures (also written to ``<out>.json``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run_measured  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_INVEST_PYTHON = HERE.parent / ".venv-invest" / "bin" / "python"
IGBP_CODES = range(0, 18)  # 0 water ... 17; every code present needs a row in InVEST's table


def forest_carbon_t_per_ha(cfg, table) -> tuple[float, float]:
    """(above, below) ground carbon of one hectare of existing forest, t C/ha."""
    from sxplan.sinks.stock import STOCK_CLASS_EXISTING

    cf = table.row("carbon_fraction")["value"]
    above = below = 0.0
    for t, share in cfg.existing_forest_mix.items():
        bcef = table.row("bcef_s", "*", t, STOCK_CLASS_EXISTING)["value"]
        r = table.row("root_to_shoot", "*", t, "older")["value"]
        above += share * cfg.stock_m3_per_ha * bcef * cf
        below += share * cfg.stock_m3_per_ha * bcef * r * cf
    return above, below


def pool_rows(cfg, table) -> list[dict]:
    """InVEST carbon pool rows (``lucode, c_above, c_below, c_soil, c_dead``) per IGBP code."""
    from sxplan.sinks.eligible import credit_lookups

    forest_lut, _ = credit_lookups(cfg, "igbp")
    above, below = forest_carbon_t_per_ha(cfg, table)
    return [
        {
            "lucode": code,
            "c_above": float(forest_lut[code]) * above,
            "c_below": float(forest_lut[code]) * below,
            "c_soil": 0.0,
            "c_dead": 0.0,
        }
        for code in IGBP_CODES
    ]


def class_counts(landcover: Path) -> dict[int, int]:
    """Cells per land-cover code over the whole grid, read window by window."""
    import numpy as np
    import rasterio

    counts = np.zeros(256, dtype="int64")
    with rasterio.open(landcover) as src:
        for _, win in src.block_windows(1):
            counts += np.bincount(src.read(1, window=win).ravel(), minlength=256)
        nodata = src.nodata
    return {c: int(n) for c, n in enumerate(counts) if n and c != nodata}


def worker_invest(args) -> dict:
    """Run natcap.invest.carbon (in the InVEST interpreter); return its summary total."""
    import logging

    import natcap.invest
    from natcap.invest.carbon import carbon

    logging.basicConfig(level=logging.WARNING)  # a script, not the library: fine here
    t0 = time.perf_counter()
    carbon.execute(
        {
            "workspace_dir": str(args.out),
            "results_suffix": "",
            "n_workers": args.n_workers,
            "lulc_bas_path": str(args.data / "landcover.tif"),
            "carbon_pools_path": str(args.out / "carbon_pools.csv"),
            "calc_sequestration": False,
            "do_valuation": False,
        }
    )
    wall = time.perf_counter() - t0
    with open(args.out / "raster_values_summary.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    total = next(float(r[1]) for r in rows[1:] if r[3] == "c_storage_bas.tif")
    return {"invest_version": natcap.invest.__version__, "execute_s": wall, "total_tc": total}


def compare_counties(
    sinks_out: Path, invest_raster: Path, density: float, cell_ha: float, stock_m3_per_ha: float
):
    """Per county: InVEST carbon (exact coverage sums) and the sinks run's raw forest x density."""
    import geopandas as gpd
    import numpy as np
    import rasterio
    from exactextract import exact_extract

    counties = gpd.read_file(sinks_out / "counties.gpkg")
    with rasterio.open(invest_raster) as src:
        crs = src.crs
    counties = counties.to_crs(crs)
    area_ha = counties["area_km2"].to_numpy() * 100
    valid_ha = counties["landcover_coverage_pct"].to_numpy() / 100 * area_ha
    forest_raw_ha = counties["baseline_forest_pct"].to_numpy() / 100 * valid_ha
    ours = forest_raw_ha * density
    res = exact_extract(
        str(invest_raster), counties[["adcode", "geometry"]], ["sum"], output="pandas"
    )
    theirs = res["sum"].to_numpy(dtype="float64") * cell_ha
    rel = np.abs(theirs - ours) / np.maximum(np.abs(ours), 1e-9)
    return {
        "counties": len(counties),
        "sxplan_raw_forest_ha": float(forest_raw_ha.sum()),
        "sxplan_raw_stock_m3": float(forest_raw_ha.sum()) * stock_m3_per_ha,
        "sxplan_counties_tc": float(ours.sum()),
        "invest_counties_tc": float(theirs.sum()),
        "counties_total_rel_diff": float(abs(theirs.sum() - ours.sum()) / ours.sum()),
        "county_max_rel_diff": float(rel.max()),
        "sxplan_calibrated_stock_m3": float(counties["forest_stock_m3"].sum()),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="a generate.py dataset")
    ap.add_argument("--out", type=Path, required=True, help="InVEST workspace (new folder)")
    ap.add_argument("--sinks-out", type=Path, help="a sinks_run.py --out folder to compare with")
    ap.add_argument("--config", type=Path, default=HERE / "sinks_bench.yaml")
    ap.add_argument("--invest-python", type=Path, default=DEFAULT_INVEST_PYTHON)
    ap.add_argument("--n-workers", type=int, default=-1, help="taskgraph workers (-1: in process)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.data, args.out = args.data.resolve(), args.out.resolve()
    if args.worker:
        print(json.dumps(worker_invest(args)))
        return 0

    from sinks_run import load_config

    from sxplan.sinks.sequestration import load_tier1_table

    if not args.invest_python.exists():
        raise SystemExit(f"{args.invest_python} not found; see benchmarks/README.md (Issue 17)")
    if args.out.exists() and any(args.out.iterdir()):
        raise SystemExit(f"--out {args.out} is not empty; pick a new folder")
    args.out.mkdir(parents=True, exist_ok=True)
    cfg = load_config(args.config.resolve())
    table = load_tier1_table(cfg.parameter_table)
    rows = pool_rows(cfg, table)
    with open(args.out / "carbon_pools.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    above, below = forest_carbon_t_per_ha(cfg, table)
    density = above + below  # t C per hectare of forest credit
    cmd = [str(args.invest_python), str(Path(__file__).resolve()), "--worker"]
    cmd += ["--data", str(args.data), "--out", str(args.out), "--n-workers", str(args.n_workers)]
    inv, wall, rss = run_measured(cmd)

    manifest = json.loads((args.data / "manifest.json").read_text(encoding="utf-8"))
    cell_ha = manifest["res_m"] ** 2 / 1e4
    counts = class_counts(args.data / "landcover.tif")
    by_code = {r["lucode"]: r["c_above"] + r["c_below"] for r in rows}
    hand_tc = sum(n * cell_ha * by_code[c] for c, n in counts.items())
    figures = {
        "invest_wall_s": round(wall, 2),
        "invest_peak_rss_mb": round(rss, 1),
        **inv,
        "n_workers": args.n_workers,
        "cells": manifest["cells"],
        "forest_tc_per_ha": {"above": above, "below": below, "total": density},
        "m3_per_tc": cfg.stock_m3_per_ha / density,
        "hand_grid_total_tc": hand_tc,
        "grid_total_rel_diff": abs(inv["total_tc"] - hand_tc) / hand_tc,
    }
    if args.sinks_out is not None:
        figures.update(
            compare_counties(
                args.sinks_out.resolve(),
                args.out / "c_storage_bas.tif",
                density,
                cell_ha,
                cfg.stock_m3_per_ha,
            )
        )
        sinks_json = args.sinks_out.resolve().with_name(args.sinks_out.name + ".json")
        if sinks_json.exists():
            s = json.loads(sinks_json.read_text(encoding="utf-8"))
            figures["sxplan_sinks_wall_s"] = s["wall_s"]
            figures["sxplan_sinks_peak_rss_mb"] = s["peak_rss_mb"]
    args.out.with_name(args.out.name + ".json").write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
