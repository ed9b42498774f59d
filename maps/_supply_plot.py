"""Figure of the supply curves: cumulative GW against LCOE, targets and cost sensitivity.

One panel per technology: PV, wind, wind+PV together (the technology of the plan's targets)
and roadside PV projects when the run has them. Each panel draws the province curve of the
base case (solid), the low/high discount-rate cases (dashed) and the low/high capex cases
(dotted); the wind+PV panel also draws each base's base-case curve. The 2025 and 2030 wind+PV
targets (province rows of ``siting/bases.csv``) are vertical lines. matplotlib runs on its
file-only Agg backend; the PNG carries no software or date metadata, so the same curves give
the same bytes.

Inputs: ``siting/supply_curves.csv`` (and ``supply_curves_roadside_pv.csv``) and
``siting/bases.csv`` of a run folder, through :mod:`sxplan.schema`.
Outputs: ``maps/supply_curves.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sxplan.schema import dataset, read_table

from ._backtest_plot import cjk_font

__all__ = ["plot_supply_curves", "write_supply_figure"]

_PANELS = (
    ("pv", "光伏", "PV"),
    ("wind", "风电", "wind"),
    ("wind_pv", "风光合计", "wind + PV"),
    ("roadside_pv", "高速公路边坡光伏", "roadside PV (road projects)"),
)
_CASES = (
    ("base", "-", 1.8, "base"),
    ("discount_low", "--", 1.0, "discount rate low"),
    ("discount_high", "--", 1.0, "discount rate high"),
    ("capex_low", ":", 1.2, "capex low"),
    ("capex_high", ":", 1.2, "capex high"),
)
_CASE_COLORS = {"base": "black", "discount_low": "tab:blue", "discount_high": "tab:red",
                "capex_low": "tab:green", "capex_high": "tab:orange"}  # fmt: skip


def _step(ax, df, **kw):
    x = np.r_[0.0, df["cumulative_gw"].to_numpy(dtype=float)]
    y = df["lcoe_cny_per_kwh"].to_numpy(dtype=float)
    if len(y):
        ax.step(x, np.r_[y[0], y], where="pre", **kw)


def plot_supply_curves(curves, targets: dict, path) -> Path:
    """Draw the curves (rows of ``supply_curves.csv``) with ``targets`` {label: GW} into a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    font = cjk_font()
    fam = {"family": [font, "DejaVu Sans"]} if font else {}
    panels = [p for p in _PANELS if (curves["technology"] == p[0]).any()]
    fig = Figure(figsize=(4.4 * len(panels), 4.6), dpi=100)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    prov = curves[curves["level"] == "province"]
    for ax, (tech, zh, en) in zip(axes, panels, strict=True):
        sub = prov[prov["technology"] == tech]
        if tech == "wind_pv":
            bases = curves[(curves["level"] == "base") & (curves["technology"] == tech)]
            for i, (_, b) in enumerate(bases.groupby("id", sort=True)):
                _step(ax, b, color=f"C{i % 10}", lw=0.8, alpha=0.7, label=f"base {b['id'].iloc[0]}")
        for case, ls, lw, label in _CASES:
            _step(ax, sub[sub["case"] == case], color=_CASE_COLORS[case], ls=ls, lw=lw,
                  label=label)  # fmt: skip
        total = float(sub["cumulative_gw"].max()) if len(sub) else 0.0
        for i, (label, gw) in enumerate(targets.items() if tech != "roadside_pv" else ()):
            ax.axvline(gw, color="0.3", lw=1, ls=(0, (4, 2)) if i else "-", alpha=0.8)
            ax.annotate(label, (gw, 1.0), xycoords=("data", "axes fraction"), rotation=90,
                        va="top", ha="right", fontsize=8)  # fmt: skip
        limit = 3 * max(targets.values(), default=0) if tech != "roadside_pv" else 0
        if limit and total > limit:
            ax.set_xlim(0, limit)
            en = f"{en} (x axis cut at {limit:g} GW of {total:,.0f})"
        ax.set_title(f"{zh} {en}" if font else en, fontdict=fam, fontsize=10)
        ax.set_xlabel(("累计装机 " if font else "") + "cumulative capacity, GW", fontdict=fam)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(("度电成本 " if font else "") + "LCOE, CNY/kWh", fontdict=fam)
    names = [p[0] for p in panels]
    legend_ax = axes[names.index("wind_pv")] if "wind_pv" in names else axes[-1]
    legend_ax.legend(fontsize=7, loc="lower right", prop=fam or None)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    from sxplan.layers.io import atomic_path

    with atomic_path(path) as tmp:  # a failed write leaves no half-written figure
        fig.savefig(tmp, format="png", metadata={"Software": None})
    return path


def write_supply_figure(run_dir, out_dir) -> dict[str, Path]:
    """Write ``supply_curves.png`` when the run has supply curves; ``{}`` otherwise."""
    ds = dataset("siting.supply_curves")
    if not ds.path_in(run_dir).is_file():
        return {}
    curves = read_table(
        run_dir, "siting.supply_curves",
        columns=["case", "technology", "level", "id", "lcoe_cny_per_kwh", "cumulative_gw"],
    )  # fmt: skip
    road = dataset("siting.supply_curves_roadside")
    if road.path_in(run_dir).is_file():  # roadside PV projects, written by the roadside step
        import pandas as pd

        more = read_table(run_dir, road.key, columns=list(curves.columns))
        curves = pd.concat([curves, more], ignore_index=True)
    if curves.empty:  # no parcel has an LCOE (no parcels, or none within reach of the grid)
        return {}
    bases = read_table(
        run_dir, "siting.bases", columns=["level", "target_gw_2025", "target_gw_2030"]
    )
    prov = bases[bases["level"] == "province"]
    targets = {}
    for year in (2025, 2030):
        gw = prov[f"target_gw_{year}"].dropna()
        if len(gw):  # the province rows (pv+wind) carry the plan's wind+PV target
            targets[f"{year}: {float(gw.iloc[0]):g} GW"] = float(gw.iloc[0])
    fig = dataset("maps.supply_curves")
    return {"supply_curves": plot_supply_curves(curves, targets, Path(out_dir) / fig.filename())}
