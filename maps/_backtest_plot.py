"""Figure of a backtest: score distributions at existing sites and at random background cells.

matplotlib runs on its file-only Agg backend (no display needed). Labels are Chinese and
English when a CJK font is installed, else English only (no box glyphs).

Inputs: score arrays. Outputs: a PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["cjk_font", "plot_score_distributions"]

#: CJK font families tried in order (the first installed one is used). The Noto CJK
#: collections hold every Han glyph whichever face matplotlib names (SC, JP, ...).
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
    "SimHei", "Microsoft YaHei", "PingFang SC", "Noto Sans CJK JP", "Noto Sans CJK TC",
    "Noto Serif CJK SC", "Noto Serif CJK JP",
)  # fmt: skip

_TECH_ZH = {"pv": "光伏", "wind": "风电"}


def cjk_font() -> str | None:
    """The first installed family of :data:`CJK_FAMILIES`, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in CJK_FAMILIES if f in installed), None)


def plot_score_distributions(
    path: str | Path, tech: str, sites: np.ndarray, background: np.ndarray, auc: float
) -> Path:
    """Write a PNG of the score histograms (densities) at sites and at background cells.

    Parameters
    ----------
    path : str or pathlib.Path
        PNG to write.
    tech : str
        Technology key (title).
    sites, background : numpy.ndarray
        Scores 0-1 (excluded land counted as 0); NaN left out.
    auc : float
        ROC AUC shown in the title.

    Returns
    -------
    pathlib.Path
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    font = cjk_font()
    zh = font is not None
    fig = Figure(figsize=(7, 4.2), dpi=110)
    ax = fig.subplots()
    fam = {"family": [font, "DejaVu Sans"]} if zh else {}
    bins = np.linspace(0, 1, 26)
    s = np.asarray(sites, float)
    b = np.asarray(background, float)
    s, b = s[~np.isnan(s)], b[~np.isnan(b)]
    lab_b = f"{'随机背景 ' if zh else ''}background (n={b.size})"
    lab_s = f"{'现有场站 ' if zh else ''}existing sites (n={s.size})"
    ax.hist(b, bins=bins, density=True, alpha=0.5, color="0.5", label=lab_b)
    ax.hist(s, bins=bins, density=True, alpha=0.6, color="tab:red", label=lab_s)
    name = f"{_TECH_ZH.get(tech, tech)} {tech}" if zh else tech
    ax.set_title(f"{name}: ROC AUC = {auc:.2f} (0.5 = chance)", fontdict=fam)
    ax.set_xlabel(("适宜性得分(排除=0) " if zh else "") + "suitability score (excluded = 0)",
                  fontdict=fam)  # fmt: skip
    ax.set_ylabel(("密度 " if zh else "") + "density", fontdict=fam)
    ax.legend(prop=fam or None)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, format="png")
    return path
