"""Compact console reports of a finished run.

Inputs: a :class:`~sxplan.run.RunContext`. Outputs: lines passed to an ``echo`` callable.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["print_backtest", "print_run"]


def _table(rows: list[dict], columns: list[tuple[str, str, str]]) -> list[str]:
    """Format rows as a fixed-width table; columns are (key, header, format)."""
    cells = [[h for _, h, _ in columns]]
    for row in rows:
        cells.append(
            [format(row.get(k, ""), f) if row.get(k) is not None else "" for k, _, f in columns]
        )
    widths = [max(_width(r[i]) for r in cells) for i in range(len(columns))]
    return ["  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)) for r in cells]


def _width(s: str) -> int:
    """Display width: CJK characters take two columns."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(s))


def _lang(ctx) -> str:
    """The run's language (``--language`` / ``maps.language``) for table headers."""
    maps = getattr(ctx.config, "maps", None)
    return getattr(maps, "language", None) or "zh+en"


def _h(zh: str, en: str, language: str) -> str:
    """A table header in the run's language: ``zh``, ``en`` or ``en zh``."""
    return {"zh": zh, "en": en}.get(language, f"{en} {zh}")


def _pad(s: str, width: int) -> str:
    return str(s) + " " * (width - _width(s))


def print_run(ctx, echo: Callable[[str], None]) -> None:
    """Print what a run produced: layers, per-step summaries, output paths, timings."""
    g = ctx.grid
    echo("")
    echo(
        f"Grid: {g.shape[0]} x {g.shape[1]} cells at {g.res:g} m ({g.n_cells:,} cells), "
        "Albers equal-area"
        if g.is_equal_area
        else f"Grid: {g.shape} at {g.res:g} m"
    )
    rows = [
        {
            "name": r["name"],
            "type": r["type"],
            "how": r.get("resampling") or r.get("datum", ""),
            "n": r.get("features", ""),
            "s": r["seconds"],
        }
        for r in ctx.stack.provenance
    ]
    lang = _lang(ctx)
    echo("Layers on the grid (provenance in layers/provenance.csv):")
    for line in _table(
        rows,
        [
            ("name", _h("图层", "layer", lang), ""),
            ("type", _h("类型", "type", lang), ""),
            ("how", _h("重采样/基准", "resampling/datum", lang), ""),
            ("n", _h("要素数", "features", lang), ""),
            ("s", _h("耗时(秒)", "seconds", lang), ".2f"),
        ],
    ):
        echo("  " + line)
    for step in ("siting", "roadside_pv", "pumped_storage", "sinks", "maps"):
        result = ctx.results.get(step)
        if result is None:
            continue
        summary = getattr(result, "summary_lines", None)
        if lang == "zh" and step == "siting" and callable(getattr(result, "base_table", None)):
            echo("")
            _print_siting_zh(result, echo)
        elif callable(summary):
            echo("")
            for line in summary():
                echo(line)
        elif callable(getattr(result, "format_summary", None)):
            echo("")
            echo(result.format_summary())
        elif step == "roadside_pv":
            _print_roadside(result, echo, lang)
    echo("")
    echo(f"Outputs in {ctx.out}:")
    for sub in ("layers", "siting", "sinks", "maps"):
        folder = ctx.out / sub
        if folder.is_dir():
            names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
            echo(f"  {sub}/: " + ", ".join(names))
    t = ctx.timings_s
    echo("Timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in t.items()))
    from sxplan.layers.heap import helper_peak_mb

    for line in memory_lines(ctx.peak_mb, ctx.config.project.mem_limit_mb, helper_peak_mb()):
        echo(line)
    if "figures" in ctx.results and (ctx.out / "report.html").is_file():
        echo(f"{_h('报告', 'Report', lang)}: {ctx.out / 'report.html'}")
    maps = ctx.results.get("maps")
    if isinstance(maps, dict):
        for name, path in maps.items():
            final = ctx.out / "maps" / path.name  # the run was staged under another name
            size = final.stat().st_size / 1e6 if final.exists() else float("nan")
            echo(f"Map {name} ({size:.1f} MB, works offline): {final}")


def _frame_lines(frame, labels: list[str]) -> list[str]:
    """A DataFrame as a fixed-width table under the given header labels."""
    keys = [str(c) for c in frame.columns]
    rows = [
        {k: ("" if v != v else v) for k, v in zip(keys, r, strict=True)}  # NaN shows blank
        for r in frame.itertuples(index=False)
    ]
    return _table(rows, [(k, lab, "") for k, lab in zip(keys, labels, strict=True)])


def _print_siting_zh(result, echo: Callable[[str], None]) -> None:
    """The siting summary with Chinese table headers (``--language zh``)."""
    from .schema import dataset

    echo(result.format_summary().split("\n\n")[0])  # one line per technology, as in English
    bases = result.base_table().round(1)
    tech_zh = {"pv": "光伏(吉瓦)", "wind": "风电(吉瓦)", "pv+wind": "风光合计(吉瓦)"}
    ds = dataset("siting.bases")
    labels = [tech_zh.get(str(c)) or ds.header_labels([str(c)])[0] for c in bases.columns]
    echo("")
    for line in _frame_lines(bases, labels):
        echo(line)
    top = result.top_parcels(5).round(2)
    echo("")
    for line in _frame_lines(top, dataset("siting.shortlist").header_labels(top.columns)):
        echo(line)


def _print_roadside(result, echo: Callable[[str], None], lang: str = "zh+en") -> None:
    """Province totals and the top counties of a roadside PV run."""
    p = result.province
    echo("")
    echo(
        "Roadside PV 高速公路边坡光伏: "
        f"{p.get('road_km', 0):,.0f} km of road, {p.get('usable_strip_km', 0):,.0f} km of usable "
        f"strips, {p.get('capacity_mw', 0):,.0f} MW, {p.get('energy_gwh_per_yr', 0):,.0f} GWh/yr"
    )
    if p.get("target_mw"):
        echo(
            f"  against the target of {p['target_mw']:,.0f} MW: {p.get('target_share_pct', 0):.0f}%"
        )
    top = result.by_county.sort_values("capacity_mw", ascending=False).head(5)
    rows = top.to_dict("records")
    for line in _table(
        rows,
        [
            ("name", _h("县", "county", lang), ""),
            ("prefecture", _h("市", "prefecture", lang), ""),
            ("usable_strip_km", _h("可用带(千米)", "strip km", lang), ",.0f"),
            ("capacity_mw", _h("兆瓦", "MW", lang), ",.0f"),
            ("energy_gwh_per_yr", _h("吉瓦时/年", "GWh/yr", lang), ",.0f"),
        ],
    ):
        echo("  " + line)


def print_backtest(result, echo: Callable[[str], None]) -> None:
    """Print a backtest: per technology the AUCs, shares on eligible land, excluding rules."""
    for tech, summ in result.summary["technologies"].items():
        echo("")
        echo(
            f"Backtest {tech}: {summ['sites']} sites, {summ['scored']} scored "
            f"(background {result.summary['background_cells']:,} cells, seed "
            f"{result.summary['seed']})"
        )
        if summ["outside_study_area"]:
            ids = summ["outside_study_area"]
            echo(f"  outside the study area ({len(ids)}): {', '.join(ids[:10])}"
                 + (" ..." if len(ids) > 10 else ""))  # fmt: skip
        if summ["shared_coordinate_sites"]:
            echo(
                f"  {summ['shared_coordinate_sites']} sites share a coordinate with another "
                f"({summ['dropped_shared_coordinate']} dropped; --drop-shared-coordinates)"
            )
        share = summ["share_sites_eligible"]
        cap = summ["share_capacity_eligible"]
        if share is not None:
            echo(
                f"  on eligible land: {share:.0%} of sites"
                + (f", {cap:.0%} of capacity" if cap is not None else "")
            )
        for rule, v in summ["excluded_by_first_rule"].items():
            mw = f", {v['capacity_mw']:,.0f} MW" if v["capacity_mw"] is not None else ""
            echo(f"    excluded first by {rule}: {v['sites']} sites{mw}")
        rows = [
            {"m": m, "auc": a["auc"], "lo": a["p05"], "hi": a["p95"]}
            for m, a in summ["auc"].items()
        ]
        echo("  ROC AUC (0.5 = chance; > 0.5: sites score higher than the background):")
        for line in _table(
            rows, [("m", "measure", ""), ("auc", "AUC", ".2f"), ("lo", "p05", ".2f"),
                   ("hi", "p95", ".2f")]
        ):  # fmt: skip
            echo("    " + line)
        if not summ.get("criterion_rasters", True):
            echo(
                "    no AUC per criterion: the run wrote no criterion rasters "
                "(siting.criterion_rasters: false); run the siting with it true to get them"
            )
    echo("")
    echo("Outputs: " + ", ".join(str(p) for p in result.outputs.values()))
    echo("Draw the sites on the siting map: sxplan map RUN_DIR")


def memory_lines(peak_mb: dict, budget_mb: float, helper_mb: float = 0.0) -> list[str]:
    """The run's peak memory by step, and a warning when it outgrew its budget.

    ``peak_mb`` is the process's peak resident set by the end of each step (``ru_maxrss``,
    the whole process's since it started), or, where more, the peak of the county cover's
    helper process if one ran (``helper_mb``, :func:`sxplan.layers.heap.helper_peak_mb`)
    plus the process's peak by the time the helper ended
    (:func:`sxplan.layers.heap.peak_at_once_mb`): the two need not coincide, so that is an
    upper bound, and the line says so. The results do not depend on the budget, so passing
    it is a warning, not an error: it tells how much memory the run really needed.

    Examples
    --------
    >>> for line in memory_lines({"layers": 300.0, "siting": 369.2}, 320):
    ...     print(line[:80])
    Peak memory (MB, by the end of each step): layers 300, siting 369 (budget 320)
    WARNING: the run's memory peaked at 369 MB, over its budget of 320 MB (project.m
    >>> memory_lines({"sinks": 957.0}, 1024, 264.0)[0].split("; ")[1] == (
    ...     "an upper bound: the county cover's helper process is counted at its peak (264 MB) "
    ...     "beside this process's peak while it ran")
    True
    """
    if not peak_mb:
        return []
    lines = [
        "Peak memory (MB, by the end of each step): "
        + ", ".join(f"{k} {v:.0f}" for k, v in peak_mb.items())
        + f" (budget {budget_mb:,.0f})"
    ]
    if helper_mb > 0:
        lines[0] += (
            "; an upper bound: the county cover's helper process is counted at its peak "
            f"({helper_mb:,.0f} MB) beside this process's peak while it ran"
        )
    over = [k for k, v in peak_mb.items() if v > budget_mb]
    if over:
        peak = max(peak_mb.values())
        lines.append(
            f"WARNING: the run's memory peaked at {peak:,.0f} MB, over its budget of "
            f"{budget_mb:,.0f} MB (project.mem_limit_mb), first in step '{over[0]}': a budget "
            "below what a run needs is not kept. The results do not depend on it, but a "
            "machine with less free memory could have stopped the run. Set "
            f"project.mem_limit_mb to at least {_round_up(peak)} for this grid, or use a "
            "coarser res_m."
        )
    return lines


def _round_up(mb: float, step: int = 64) -> int:
    """``mb`` rounded up to a multiple of ``step`` MB.

    64 is chosen, not measured: a round figure to type into a config. The budget a run
    needed is its peak; this only rounds it up.
    """
    return int(-(-mb // step) * step)
