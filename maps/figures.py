"""Report figures of a run folder: PNG and SVG, bilingual, drawn with a CJK-capable font.

:func:`run_figures` draws every figure whose inputs the run folder holds and writes
``figures/<name>.png`` and ``figures/<name>.svg`` (schema keys ``figures.png``,
``figures.svg``). Each figure function returns the numbers it plotted as a
:class:`pandas.DataFrame`, so a test can compare them with the table they came from. The
files are byte-for-byte reproducible: no dates, no software version, a fixed SVG hash salt.

Chinese labels need a font with CJK glyphs. :func:`cjk_font` looks for one among the fonts
matplotlib knows (Noto Sans CJK, Source Han Sans, WenQuanYi, ...); when none is installed the
figures are drawn with English labels only and a :class:`UserWarning` says so, rather than
drawing empty boxes.

Inputs: a run folder, read through :mod:`sxplan.schema` (``siting.bases``,
``siting.exclusions``, ``siting.parcels``, ``sinks.trajectory``, ``sinks.counties``).
Outputs: ``figures/*.png``, ``figures/*.svg``; :data:`FIGURES` names them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

from sxplan.schema import dataset, read_table

__all__ = ["FIGURES", "cjk_font", "figure_label", "run_figures"]

#: Figure name -> (Chinese title, English title), in the order the report shows them.
FIGURES: dict[str, tuple[str, str]] = {
    "bases_vs_targets": ("各基地风光潜力与规划目标", "Potential per base against the targets"),
    "exclusions": ("各技术排除面积构成", "Land excluded per rule and technology"),
    "supply_by_score": ("地块累计装机与适宜性得分", "Supply of parcels by score"),
    "sink_trajectory": ("新造林碳汇轨迹 (90%区间)", "Afforestation sink with its 90% range"),
    "forest_cover": ("县域森林覆盖率 造林前后", "County forest cover before and after"),
}

#: Font families with CJK glyphs, most preferred first (matched against matplotlib's names).
_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Noto Sans CJK JP",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
)

_TECH_COLOURS = {"pv": "#e6a100", "wind": "#2b7bba", "roadside_pv": "#8a5a9e"}
_TECH_LABELS = {
    "pv": ("光伏", "PV"),
    "wind": ("风电", "Wind"),
    "roadside_pv": ("边坡光伏", "Roadside PV"),
}


def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, or None.

    Returns
    -------
    str or None
        A family from :data:`_CJK_FAMILIES` that matplotlib's font manager found.
    """
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((fam for fam in _CJK_FAMILIES if fam in names), None)


def figure_label(zh: str, en: str, language: str) -> str:
    """A label in the figure language: ``zh``, ``en`` or ``zh / en``.

    The maps' own rule (:func:`sxplan.maps._text.label`): equal texts are shown once.

    Examples
    --------
    >>> figure_label("光伏", "PV", "zh+en")
    '光伏 / PV'
    >>> figure_label("光伏", "PV", "en")
    'PV'
    >>> figure_label("agrivoltaic", "agrivoltaic", "zh+en")
    'agrivoltaic'
    """
    from ._text import label

    return label(zh, en, language)


def _lang(language: str) -> tuple[str, str | None]:
    """The language the figures can be drawn in, and the CJK font to draw them with."""
    if language == "en":
        return "en", None
    font = cjk_font()
    if font is None:
        warnings.warn(
            "figures: no font with Chinese glyphs is installed (looked for "
            f"{', '.join(_CJK_FAMILIES[:4])}, ...), so the figures use English labels only; "
            "install one (Debian/Ubuntu: apt-get install fonts-noto-cjk) and re-run",
            UserWarning,
            stacklevel=3,
        )
        return "en", None
    return language, font


def plot_bases_vs_targets(run_dir: Path, ax, language: str):
    """Stacked PV and wind potential per base, all bases and the province, with the targets.

    Returns the plotted table: ``id``, ``label``, ``pv_gw``, ``wind_gw``, ``target_gw_2025``,
    ``target_gw_2030`` (GW, straight from ``siting/bases.csv``).
    """
    import numpy as np
    import pandas as pd

    bases = read_table(run_dir, "siting.bases")
    units = bases[bases["level"].isin(["base", "all_bases", "province"])]
    ids = list(dict.fromkeys(units["id"]))
    rows = []
    for uid in ids:
        sel = units[units["id"] == uid]
        by_tech = dict(zip(sel["technology"], sel["potential_gw"], strict=True))
        both = sel[sel["technology"] == "pv+wind"]
        first = sel.iloc[0]
        if first["level"] == "base":  # the bases' short names (晋北, 忻朔, ...) fit an axis
            zh, en = str(first["name_zh"])[:2], str(uid)
        elif first["level"] == "all_bases":
            zh, en = "基地合计", "all bases"
        else:
            zh, en = str(first["name_zh"]), str(first["name_en"] or uid)
        name = figure_label(zh, en, language).replace(" / ", "\n")
        rows.append(
            {
                "id": uid,
                "label": str(name),
                "pv_gw": float(by_tech.get("pv", np.nan)),
                "wind_gw": float(by_tech.get("wind", np.nan)),
                "target_gw_2025": float(both["target_gw_2025"].iloc[0]) if len(both) else np.nan,
                "target_gw_2030": float(both["target_gw_2030"].iloc[0]) if len(both) else np.nan,
            }
        )
    data = pd.DataFrame(rows)
    x = np.arange(len(data))
    pv = data["pv_gw"].fillna(0).to_numpy()
    ax.bar(x, pv, color=_TECH_COLOURS["pv"], label=figure_label(*_TECH_LABELS["pv"], language))
    ax.bar(
        x, data["wind_gw"].fillna(0), bottom=pv, color=_TECH_COLOURS["wind"],
        label=figure_label(*_TECH_LABELS["wind"], language),
    )  # fmt: skip
    for year, colour in (("2025", "#c0392b"), ("2030", "#6c3483")):
        t = data[f"target_gw_{year}"]
        if t.notna().any():
            ax.hlines(
                t[t.notna()], x[t.notna()] - 0.45, x[t.notna()] + 0.45, linewidths=2.5,
                color=colour, zorder=3,
                label=figure_label(f"{year}年目标", f"{year} target", language),
            )  # fmt: skip
    ax.set_xticks(x, data["label"], rotation=0)
    ax.set_ylabel(figure_label("装机潜力 (GW)", "Potential (GW)", language))
    ax.legend(frameon=False, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return data


def plot_exclusions(run_dir: Path, ax, language: str):
    """Area each hard rule removes in sequence, per technology (horizontal bars, km²).

    Returns ``technology``, ``rule``, ``label``, ``km2_in_sequence`` as in
    ``siting/exclusions.csv`` (hard rules, in config order).
    """
    import numpy as np

    ex = read_table(run_dir, "siting.exclusions")
    rules = ex[(ex["type"] != "total") & (ex["mode"] == "hard")].copy()
    rules["label"] = [
        figure_label(str(z), str(r), language) if language != "en" else str(r)
        for z, r in zip(rules["label_zh"], rules["rule"], strict=True)
    ]
    techs = list(dict.fromkeys(rules["technology"]))
    labels = list(dict.fromkeys(rules["label"]))
    y = np.arange(len(labels))
    height = 0.8 / max(len(techs), 1)
    for i, tech in enumerate(techs):
        sel = rules[rules["technology"] == tech].set_index("label")["km2_in_sequence"]
        vals = [float(sel.get(lab, 0.0)) for lab in labels]
        ax.barh(
            y + i * height, vals, height=height, color=_TECH_COLOURS.get(tech, "#777777"),
            label=figure_label(*_TECH_LABELS.get(tech, (tech, tech)), language),
        )  # fmt: skip
    ax.set_yticks(y + height * (len(techs) - 1) / 2, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(figure_label("按顺序排除面积 (km²)", "Area removed in sequence (km²)", language))
    ax.legend(frameon=False, fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return rules[["technology", "rule", "label", "km2_in_sequence"]].reset_index(drop=True)


def plot_supply_by_score(run_dir: Path, ax, language: str):
    """Cumulative capacity of the parcels, best score first (a supply curve), per technology.

    Returns ``technology``, ``score_mean`` (descending) and ``cumulative_gw`` (running sum of
    ``capacity_mw`` / 1000 of ``siting/parcels_<tech>.gpkg``).
    """
    import pandas as pd

    frames = []
    for tech in ("pv", "wind"):
        ds = dataset("siting.parcels")
        if not ds.present_in(run_dir, tech=tech):
            continue
        p = read_table(run_dir, "siting.parcels", tech=tech, columns=["score_mean", "capacity_mw"])
        p = p.sort_values("score_mean", ascending=False, kind="mergesort")
        cum = p["capacity_mw"].cumsum().to_numpy() / 1000.0
        frames.append(
            pd.DataFrame(
                {"technology": tech, "score_mean": p["score_mean"].to_numpy(), "cumulative_gw": cum}
            )
        )
        ax.step(
            p["score_mean"], cum, where="post", color=_TECH_COLOURS[tech],
            label=figure_label(*_TECH_LABELS[tech], language),
        )  # fmt: skip
    ax.invert_xaxis()
    ax.set_xlabel(figure_label("地块平均适宜性得分", "Parcel mean suitability score", language))
    ax.set_ylabel(figure_label("累计装机 (GW)", "Cumulative capacity (GW)", language))
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def plot_sink_trajectory(run_dir: Path, ax, language: str):
    """Province sink of the new planting by year with its 5-95 % band (MtCO2/yr).

    Returns ``year``, ``sink_mt``, ``p05_mt``, ``p95_mt``: ``sinks/trajectory.csv`` / 1e6.
    """
    import pandas as pd

    t = read_table(run_dir, "sinks.trajectory")
    data = pd.DataFrame(
        {
            "year": t["year"].astype(int),
            "sink_mt": t["sink_tco2_per_yr"] / 1e6,
            "p05_mt": t["sink_tco2_per_yr_p05"] / 1e6,
            "p95_mt": t["sink_tco2_per_yr_p95"] / 1e6,
        }
    )
    ax.fill_between(
        data["year"], data["p05_mt"], data["p95_mt"], color="#27ae60", alpha=0.25,
        label=figure_label("90%区间", "90% range", language),
    )  # fmt: skip
    ax.plot(
        data["year"], data["sink_mt"], color="#1e8449",
        label=figure_label("中值估计", "Central estimate", language),
    )  # fmt: skip
    ax.set_xlabel(figure_label("年份", "Year", language))
    ax.set_ylabel(figure_label("年碳汇 (MtCO₂/年)", "Sink (MtCO₂/yr)", language))
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return data


def plot_forest_cover(run_dir: Path, ax, language: str):
    """Each county's calibrated forest cover before and after the allocated planting (%).

    Returns ``adcode``, ``name``, ``before_pct`` (``calibrated_forest_pct``), ``after_pct``
    (the first ``cover_<year>_pct`` column) and ``year``, sorted by cover before.
    """
    import numpy as np

    ds = dataset("sinks.counties")
    counties = read_table(run_dir, "sinks.counties")
    cover = ds.family(counties.columns, "cover_{year}_pct")
    if not cover:
        raise KeyError("sinks/counties.csv has no cover_<year>_pct column")
    col = cover[0]
    year = int(col.split("_")[1])
    data = counties[["adcode", "name", "calibrated_forest_pct", col]].rename(
        columns={"calibrated_forest_pct": "before_pct", col: "after_pct"}
    )
    data = data.sort_values(["before_pct", "adcode"], kind="mergesort").reset_index(drop=True)
    data["year"] = year
    x = np.arange(len(data))
    ax.vlines(x, data["before_pct"], data["after_pct"], color="#95a5a6", linewidth=1)
    ax.scatter(
        x, data["before_pct"], s=8, color="#a04000",
        label=figure_label("基准 (校准后)", "Baseline (calibrated)", language),
    )  # fmt: skip
    ax.scatter(
        x, data["after_pct"], s=8, color="#1e8449",
        label=figure_label(f"{year}年 造林后", f"{year} after planting", language),
    )  # fmt: skip
    ax.set_xlabel(figure_label("县(区), 按基准覆盖率排序", "Counties, by baseline cover", language))
    ax.set_ylabel(figure_label("森林覆盖率 (%)", "Forest cover (%)", language))
    ax.set_xticks([])
    ax.legend(frameon=False, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return data


#: Figure name -> (drawing function, dataset key whose presence it needs).
_DRAW: dict[str, tuple[Callable, str]] = {
    "bases_vs_targets": (plot_bases_vs_targets, "siting.bases"),
    "exclusions": (plot_exclusions, "siting.exclusions"),
    "supply_by_score": (plot_supply_by_score, "siting.bases"),
    "sink_trajectory": (plot_sink_trajectory, "sinks.trajectory"),
    "forest_cover": (plot_forest_cover, "sinks.counties"),
}


def draw_figure(run_dir: str | os.PathLike, name: str, language: str = "zh+en"):
    """Draw one figure; returns ``(matplotlib Figure, plotted DataFrame)``.

    Parameters
    ----------
    run_dir : str or os.PathLike
        The run folder.
    name : str
        A key of :data:`FIGURES`.
    language : {"zh+en", "zh", "en"}
        Label language (English only when no CJK font is installed).
    """
    from matplotlib.figure import Figure

    lang, font = _lang(language)
    func, _ = _DRAW[name]
    with _style(font):
        fig = Figure(figsize=(7.0, 4.2), dpi=110, layout="constrained")
        ax = fig.add_subplot()
        data = func(Path(run_dir), ax, lang)
        ax.set_title(figure_label(*FIGURES[name], lang), fontsize=11)
    return fig, data


def _style(font: str | None):
    import matplotlib

    rc = {"svg.hashsalt": "sxplan", "svg.fonttype": "path", "axes.unicode_minus": False}
    if font is not None:
        rc["font.family"] = [font, "DejaVu Sans"]
    return matplotlib.rc_context(rc)


def run_figures(
    run_dir: str | os.PathLike, *, language: str = "zh+en", out_dir: str | os.PathLike | None = None
) -> dict[str, dict]:
    """Write every figure the run folder has inputs for, as PNG and SVG.

    Parameters
    ----------
    run_dir : str or os.PathLike
        The run folder.
    language : {"zh+en", "zh", "en"}
        Label language.
    out_dir : str or os.PathLike, optional
        Default ``run_dir/figures``.

    Returns
    -------
    dict
        Figure name -> ``{"png": Path, "svg": Path, "data": DataFrame}``.
    """
    from sxplan.layers.io import atomic_path

    run = Path(run_dir)
    out = dataset("figures.png").path_in(run, name="_").parent if out_dir is None else Path(out_dir)
    written: dict[str, dict] = {}
    for name, (_, needs) in _DRAW.items():
        if not dataset(needs).present_in(run):
            continue
        fig, data = draw_figure(run, name, language)
        entry: dict = {"data": data}
        for ext in ("png", "svg"):
            path = out / dataset(f"figures.{ext}").filename(name=name)
            path.parent.mkdir(parents=True, exist_ok=True)
            meta = {"Software": None} if ext == "png" else {"Date": None, "Creator": None}
            with _style(None), atomic_path(path) as tmp:
                fig.savefig(tmp, format=ext, metadata=meta)
            entry[ext] = path
        written[name] = entry
    return written
