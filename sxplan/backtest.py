"""Backtest a siting run against existing installations: ``sxplan backtest RUN --sites FILE``.

:func:`run_backtest` is the only place the order of steps is written down:

1. read the sites (:func:`sxplan._backtest_sites.load_sites`) and find the cells each covers
   on the run's grid (points: their cell; polygons: exact area weights);
2. flag sites outside the study area and sites sharing one coordinate (listed, never silently
   dropped; shared ones are dropped only when asked);
3. draw a seeded random background of study-area cells;
4. per technology (:func:`_score_technology`): suitability (excluded land = 0), the first and
   every rule that applies, each criterion's score (where the run wrote criterion rasters),
   at sites and background; the ROC AUC of each with a bootstrap 90% interval; shares of
   sites and capacity on eligible land;
5. write ``RUN/backtest/`` (table, GeoPackage, AUC table, one PNG per technology) and the
   summary under ``backtest`` in ``run.json``.

Inputs: a run folder written by ``sxplan site``/``run``/``demo``; a site file.
Outputs: the files of the ``backtest.*`` datasets of :mod:`sxplan.schema`; a
:class:`BacktestResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sxplan.errors import RunFolderError
from sxplan.schema import dataset, read_json, read_table

from ._backtest_sites import SiteOptions, load_sites

__all__ = ["BacktestOptions", "BacktestResult", "run_backtest"]

OUTSIDE_CODE = 255  # siting.exclusions.OUTSIDE_CODE (kept literal: no siting import at load)


@dataclass(frozen=True)
class BacktestOptions:
    """Settings of one backtest.

    Attributes
    ----------
    techs : tuple of str
        Technologies to score (empty: every technology with a suitability raster in the run).
    sites : SiteOptions
        How to read the site file.
    drop_shared_coordinates : bool
        Leave out sites whose exact coordinate is shared by ``shared_min`` or more sites.
    shared_min : int
        Sites at one coordinate that make it a placeholder.
    seed : int
        Seed of the background draw and the bootstrap.
    background : int
        Background cells drawn from the study area.
    bootstrap : int
        Bootstrap resamples for the AUC interval.
    overwrite : bool
        Replace an existing ``RUN/backtest`` folder.
    """

    techs: tuple[str, ...] = ()
    sites: SiteOptions = field(default_factory=SiteOptions)
    drop_shared_coordinates: bool = False
    shared_min: int = 3
    seed: int = 0
    background: int = 10000
    bootstrap: int = 1000
    overwrite: bool = False


@dataclass
class BacktestResult:
    """What a backtest found.

    Attributes
    ----------
    sites : pandas.DataFrame
        One row per site and technology (``backtest.sites`` columns).
    auc : pandas.DataFrame
        One row per technology and measure (``backtest.summary`` columns).
    summary : dict
        Per technology: counts, shares on eligible land, rules, AUCs (also in ``run.json``).
    outputs : dict of str to pathlib.Path
        Files written.
    """

    sites: pd.DataFrame
    auc: pd.DataFrame
    summary: dict
    outputs: dict


def run_backtest(run_dir: str | Path, sites_path: str | Path, opts: BacktestOptions):
    """Score existing sites against a run's suitability and criteria, and write the results.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        A run folder with a siting step.
    sites_path : str or pathlib.Path
        The existing installations (CSV with longitude/latitude, or a vector file).
    opts : BacktestOptions
        Settings.

    Returns
    -------
    BacktestResult
    """
    import geopandas as gpd
    import rasterio

    from sxplan.siting.backtest import sample_study_cells, site_cells

    from .run_folder import output_folder, record_outputs, update_run_json

    run_dir = Path(run_dir)
    run = read_json(run_dir, "run.json")  # checked first: the summary goes there, after the files
    siting = (run.get("config") or {}).get("siting") or {}
    # a run with siting.criterion_rasters: false wrote none: no per-criterion AUCs, and said so
    criterion_rasters = bool(siting.get("criterion_rasters", True))
    techs = _technologies(run_dir, opts.techs)
    if criterion_rasters:
        _require_criterion_rasters(run_dir, techs, siting)
    sites = load_sites(sites_path, opts.sites)
    code0 = dataset("siting.excluded_by_rule").path_in(run_dir, tech=techs[0])
    with rasterio.open(code0) as src:
        transform, shape, crs = src.transform, (src.height, src.width), src.crs
    cells = site_cells(sites.to_crs(crs).geometry.to_numpy(), transform, shape)
    sites = sites.to_crs("EPSG:4326")
    shared = _shared_counts(sites)
    rng = np.random.default_rng(opts.seed)
    bg = sample_study_cells(code0, opts.background, rng, OUTSIDE_CODE)
    frames, aucs, summary, scores = [], [], {}, {}
    for tech in techs:
        frame, auc, summ, dist = _score_technology(
            run_dir, tech, sites, cells, bg, shared, opts, np.random.default_rng(opts.seed)
        )
        frames.append(frame)
        aucs.append(auc)
        summary[tech] = summ
        summ["criterion_rasters"] = criterion_rasters
        scores[tech] = dist
    table = pd.concat(frames, ignore_index=True)
    auc_table = pd.concat(aucs, ignore_index=True)
    outputs = {}
    with output_folder(run_dir / "backtest", opts.overwrite) as staging:
        outputs.update(_write(staging, run_dir, table, auc_table, scores, sites, gpd))
    summary = {
        "sites_file": str(Path(sites_path).resolve()),
        "seed": opts.seed,
        "background_cells": int(bg[0].size),
        "drop_shared_coordinates": opts.drop_shared_coordinates,
        "technologies": summary,
    }
    update_run_json(run_dir, "backtest", summary)
    record_outputs(run_dir, sorted((run_dir / "backtest").rglob("*")))  # checksums stay true
    return BacktestResult(table, auc_table, summary, outputs)


def _technologies(run_dir: Path, asked) -> list[str]:
    ds = dataset("siting.suitability")
    present = [
        p.name[len("suitability_") : -len(".tif")]
        for p in sorted((run_dir / Path(ds.path).parent).glob("suitability_*.tif"))
    ]
    if not present:
        raise RunFolderError(
            f"run folder {run_dir} has no {ds.relpath(tech='<tech>')}; run the siting step "
            "(sxplan site/run/demo) into it before a backtest"
        )
    for t in asked:
        if t not in present:
            raise RunFolderError(
                f"run folder {run_dir} has no suitability for technology {t!r}; it has "
                f"{present} (--technology)"
            )
    return list(asked) or present


def _shared_counts(sites) -> np.ndarray:
    """How many sites share each site's exact point coordinate (1e-6 deg; polygons: 1)."""
    pts = sites.geometry.geom_type == "Point"
    key = pd.Series(
        [f"{g.x:.6f},{g.y:.6f}" if p else f"poly{i}"
         for i, (g, p) in enumerate(zip(sites.geometry, pts, strict=True))]
    )  # fmt: skip
    return key.map(key.value_counts()).to_numpy(dtype="int64")


def _score_technology(run_dir, tech, sites, cells, bg, shared, opts, rng):
    from sxplan.siting.backtest import bootstrap_auc, read_cells, roc_auc, weighted_site_means

    n = len(sites)

    def both(path):
        return read_cells(path, cells.rows, cells.cols), read_cells(path, *bg)

    code_s, code_b = both(dataset("siting.excluded_by_rule").path_in(run_dir, tech=tech))
    suit_s, suit_b = both(dataset("siting.suitability").path_in(run_dir, tech=tech))
    bits_s = _read_bits(dataset("siting.rules_applying").path_in(run_dir, tech=tech), cells)
    study_s = ~np.isnan(code_s) & (code_s != OUTSIDE_CODE)
    # cells outside the study area do not count in a site's means
    w_cells = type(cells)(cells.site, cells.rows, cells.cols, np.where(study_s, cells.weight, 0))
    elig_s = np.where(study_s, (code_s == 0).astype(float), np.nan)
    score_s = np.where(study_s, np.where(code_s == 0, suit_s, 0.0), np.nan)
    score_b = np.where(code_b == 0, suit_b, 0.0)
    frame = pd.DataFrame({
        "site_id": sites["site_id"], "technology": tech, "name": sites["name"],
        "lon": sites.geometry.representative_point().x.round(6),
        "lat": sites.geometry.representative_point().y.round(6),
        "geometry_type": sites.geometry.geom_type.str.replace("Multi", ""),
        "capacity_mw": sites["capacity_mw"], "accuracy": sites["accuracy"],
        "shared_coordinate_sites": shared,
    })  # fmt: skip
    inside = np.bincount(cells.site, weights=study_s.astype(float), minlength=n) > 0
    cover = np.bincount(cells.site, minlength=n)
    dropped = np.where(~inside, "outside_study_area", "")
    if opts.drop_shared_coordinates:
        dropped = np.where(inside & (shared >= opts.shared_min), "shared_coordinate", dropped)
    frame["dropped"] = dropped
    frame["inside_study_area"] = inside
    frame["cells"] = np.bincount(cells.site, weights=study_s.astype(float), minlength=n).astype(int)
    frame.loc[cover == 0, "cells"] = 0
    frame["eligible_share"] = weighted_site_means(w_cells, elig_s, n)
    frame["eligible"] = frame["eligible_share"] > 0.5
    frame["score"] = weighted_site_means(w_cells, score_s, n)
    frame["score_eligible"] = weighted_site_means(w_cells, np.where(code_s == 0, suit_s, np.nan), n)
    rules = read_table(run_dir, "siting.exclusions")
    rules = rules[(rules["technology"] == tech) & rules["type"].ne("total")]
    frame["first_rule"] = _first_rule(w_cells, code_s, rules, n)
    frame["all_rules"], frame["soft_rules"] = _all_rules(w_cells, bits_s, rules, n)
    frame.loc[~inside, ["first_rule", "all_rules", "soft_rules"]] = ""
    scored = frame["dropped"].eq("").to_numpy()
    measures = {
        "score": (frame["score"].to_numpy(), score_b),
        "score_eligible": (
            np.where(frame["eligible"], frame["score_eligible"], np.nan),
            np.where(code_b == 0, suit_b, np.nan),
        ),
    }
    for name, path in _criterion_paths(run_dir, tech).items():
        cs, cb = both(path)
        frame[f"score_{name}"] = weighted_site_means(w_cells, np.where(study_s, cs, np.nan), n)
        measures[name] = (frame[f"score_{name}"].to_numpy(), cb)
    rows = []
    for name, (s, b) in measures.items():
        s = s[scored]
        lo, hi = bootstrap_auc(s, b, rng, opts.bootstrap)
        rows.append({
            "technology": tech, "measure": name, "auc": roc_auc(s, b), "auc_p05": lo,
            "auc_p95": hi, "n_sites": int(np.count_nonzero(~np.isnan(s))),
            "n_background": int(np.count_nonzero(~np.isnan(b))),
            "site_median": float(np.nanmedian(s)) if np.isfinite(s).any() else np.nan,
            "background_median": float(np.nanmedian(b)) if np.isfinite(b).any() else np.nan,
        })  # fmt: skip
    auc = pd.DataFrame(rows)
    summ = _summary(frame, scored, auc)
    dist = (frame["score"].to_numpy()[scored], score_b, float(auc["auc"].iloc[0]))
    return frame, auc, summ, dist


def _read_bits(path, cells) -> np.ndarray:
    from sxplan.siting.backtest import read_cells

    # the stored integers: a uint64 record (33-64 rules) is not exact in float64 above 2**53
    return read_cells(path, cells.rows, cells.cols, raw=True)


def _first_rule(cells, code, rules, n) -> list[str]:
    """The first hard rule of the site's largest excluded area (code with most weight)."""
    names = dict(zip(rules["code"].astype(int), rules["rule"], strict=True))
    out = [""] * n
    excluded = ~np.isnan(code) & (code != 0) & (code != OUTSIDE_CODE) & (cells.weight > 0)
    if not excluded.any():
        return out
    df = pd.DataFrame({"s": cells.site[excluded], "c": code[excluded].astype(int),
                       "w": cells.weight[excluded]})  # fmt: skip
    tot = df.groupby(["s", "c"], sort=True)["w"].sum().reset_index()
    best = tot.sort_values(["s", "w", "c"], ascending=[True, False, True]).drop_duplicates("s")
    for s, c in zip(best["s"], best["c"], strict=True):
        out[int(s)] = names.get(int(c), f"code_{int(c)}")
    return out


def _all_rules(cells, bits, rules, n):
    """Every hard and every soft rule selecting any of the site's cells, in rule order."""
    acc = np.zeros(n, dtype="uint64")
    for s, b, w in zip(cells.site, bits.astype("uint64"), cells.weight, strict=True):
        if w > 0:
            acc[s] |= b
    hard, soft = [""] * n, [""] * n
    ordered = rules.dropna(subset=["order"]).sort_values("order")
    for i in range(n):
        h, so = [], []
        for order, name, mode in zip(ordered["order"], ordered["rule"], ordered["mode"],
                                     strict=True):  # fmt: skip
            if name == "no_data" or not (int(acc[i]) >> (int(order) - 1)) & 1:
                continue
            (h if mode == "hard" else so).append(name)
        hard[i], soft[i] = ";".join(h), ";".join(so)
    return hard, soft


def _require_criterion_rasters(run_dir: Path, techs, siting: dict) -> None:
    """Refuse a run folder missing criterion rasters its siting config says were written.

    Without this, a deleted or unfinished copy of ``criterion_<tech>_<name>.tif`` would only
    drop that criterion's AUC row. Run folders whose ``run.json`` holds no siting config
    (older or hand-made ones) are not checked.
    """
    ds = dataset("siting.criterion")
    for tech in techs:
        names = [c["name"] for c in (siting.get(tech) or {}).get("criteria") or []]
        missing = [
            p for p in (ds.path_in(run_dir, tech=tech, criterion=n) for n in names)
            if not p.is_file()
        ]  # fmt: skip
        if missing:
            raise RunFolderError(
                f"run folder {run_dir} lacks {', '.join(p.name for p in missing)}, which its "
                f"siting config (siting.{tech}.criteria, criterion_rasters: true) says were "
                "written; the folder is incomplete: run the siting into it again"
            )


def _criterion_paths(run_dir: Path, tech: str) -> dict:
    ds = dataset("siting.criterion")
    prefix = f"criterion_{tech}_"
    folder = ds.path_in(run_dir, tech=tech, criterion="x").parent
    return {p.stem[len(prefix) :]: p for p in sorted(folder.glob(f"{prefix}*.tif"))}


def _summary(frame, scored, auc) -> dict:
    s = frame[scored]
    cap = s["capacity_mw"].to_numpy(dtype="float64")
    has_cap = bool(np.isfinite(cap).any() and np.nansum(cap) > 0)
    excluded = s[~s["eligible"]]
    by_rule = excluded.groupby("first_rule").agg(
        sites=("site_id", "size"), capacity_mw=("capacity_mw", "sum")
    )
    return {
        "sites": int(len(frame)),
        "scored": int(scored.sum()),
        "outside_study_area": frame.loc[~frame["inside_study_area"], "site_id"].tolist(),
        "shared_coordinate_sites": int((frame["shared_coordinate_sites"] > 1).sum()),
        "dropped_shared_coordinate": int(frame["dropped"].eq("shared_coordinate").sum()),
        "share_sites_eligible": float(s["eligible"].mean()) if len(s) else None,
        "share_area_eligible": float(s["eligible_share"].mean()) if len(s) else None,
        "share_capacity_eligible": (
            float(np.nansum(cap * s["eligible_share"]) / np.nansum(cap)) if has_cap else None
        ),
        "by_accuracy": {
            str(k): {"sites": int(len(g)), "share_sites_eligible": float(g["eligible"].mean())}
            for k, g in s.groupby("accuracy")
        }
        if s["accuracy"].astype(str).ne("").any()
        else None,
        "excluded_by_first_rule": {
            str(k): {
                "sites": int(v.sites),
                "capacity_mw": float(v.capacity_mw) if has_cap else None,
            }
            for k, v in by_rule.iterrows()
        },  # fmt: skip
        "auc": {
            m: {"auc": _r(a), "p05": _r(lo), "p95": _r(hi)}
            for m, a, lo, hi in zip(
                auc["measure"], auc["auc"], auc["auc_p05"], auc["auc_p95"], strict=True
            )
        },  # fmt: skip
    }


def _r(x) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def _write(staging: Path, run_dir: Path, table, auc_table, scores, sites, gpd) -> dict:
    from sxplan.layers.io import write_csv, write_gpkg
    from sxplan.layers.tables import round_for_csv
    from sxplan.maps._backtest_plot import plot_score_distributions

    out = {}
    sites_ds, auc_ds, gpkg_ds = (
        dataset("backtest.sites"), dataset("backtest.summary"), dataset("backtest.sites_gpkg"),
    )  # fmt: skip
    out["backtest"] = write_csv(sites_ds.check(round_for_csv(table)), staging / sites_ds.filename())
    out["backtest_auc"] = write_csv(auc_ds.check(auc_table.round(4)), staging / auc_ds.filename())
    geom = pd.concat([sites.geometry] * (len(table) // max(len(sites), 1)), ignore_index=True)
    gdf = gpd.GeoDataFrame(table, geometry=geom.to_numpy(), crs="EPSG:4326")
    out["backtest_gpkg"] = write_gpkg(
        gpkg_ds.check(gdf), staging / gpkg_ds.filename(), gpkg_ds.layer_name()
    )
    plot_ds = dataset("backtest.plot")
    for tech, (site_scores, bg_scores, auc) in scores.items():
        path = staging / plot_ds.filename(tech=tech)
        plot_score_distributions(path, tech, site_scores, bg_scores, auc)
        out[f"score_distribution_{tech}"] = run_dir / plot_ds.relpath(tech=tech)
    return {k: run_dir / "backtest" / Path(v).name for k, v in out.items()}
