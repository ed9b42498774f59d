"""The bases panel of the siting map: potential per base and technology against the targets.

Compact by design (issue 15): GW without decimals from 100 up, headers in two short lines
(Chinese over English), base names in the configured language only (the other in a tooltip),
no column that forces a horizontal scroll at 1366 x 768; it folds away (``<details>``).

Inputs: the rows of ``siting.bases`` (levels base, all_bases, province). Outputs: HTML.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sxplan.maps._common import MapContext
from sxplan.maps._popups import round_number
from sxplan.maps._text import esc, format_value

__all__ = ["BASES_COLUMNS", "bases_panel"]

#: Columns of ``siting.bases`` the panel uses.
BASES_COLUMNS = (
    "level",
    "id",
    "name_zh",
    "name_en",
    "technology",
    "potential_gw",
    "target_gw_2025",
    "target_gw_2030",
)
_BASE_LEVELS = ("base", "all_bases", "province")
_TARGETS = ("target_gw_2025", "target_gw_2030")


def _head(ctx: MapContext, zh: str, en: str) -> str:
    """A header cell's HTML: Chinese over English for zh+en."""
    if ctx.language == "zh":
        return esc(zh)
    if ctx.language == "en":
        return esc(en)
    return f"{esc(zh)}<br><small>{esc(en)}</small>"


def _name_cell(ctx: MapContext, zh, en) -> str:
    zh, en = format_value(zh), format_value(en)
    shown, other = (en, zh) if ctx.language == "en" else (zh, en)
    return f'<td class="sx-name" title="{esc(other)}">{esc(shown)}</td>'


def _ratio_cell(potential_gw, target_gw) -> str:
    """Potential / target as a coloured percentage, or a dash without a positive target."""
    pot = float(potential_gw) if pd.notna(potential_gw) else np.nan
    tgt = float(target_gw) if pd.notna(target_gw) else np.nan
    if not (np.isfinite(pot) and np.isfinite(tgt) and tgt > 0):
        return '<td class="sx-num">—</td>'
    ratio = pot / tgt
    cls = "sx-ok" if ratio >= 1 else "sx-short"
    return f'<td class="sx-num"><span class="{cls}">{esc(f"{ratio:.0%}")}</span></td>'


def _num(value) -> str:
    v = float(value) if pd.notna(value) else np.nan
    return f'<td class="sx-num">{esc(round_number(v)) if np.isfinite(v) else "—"}</td>'


def _pivot_table(ctx: MapContext, df, techs: dict[str, tuple[str, str]], total: str) -> str:
    """One row per base (and all bases, province): GW of each technology and the total."""
    wide = df.pivot_table(index="id", columns="technology", values="potential_gw", aggfunc="first")
    first = df.drop_duplicates("id").set_index("id")
    for c in _TARGETS:  # targets sit on one technology row (pv+wind); take it per base
        first[c] = df.groupby("id")[c].max()
    techs = {k: v for k, v in techs.items() if k in wide.columns}
    head = [_head(ctx, "基地", "Base")]
    head += [_head(ctx, zh, en) for zh, en in techs.values()]
    head.append(_head(ctx, "合计", "Total"))
    head += [_head(ctx, f"{c[-4:]}目标", f"{c[-4:]} tgt") for c in _TARGETS]
    head.append(_head(ctx, "达成率", f"% of {_TARGETS[-1][-4:]}"))
    rows = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for bid in first.index:
        gw = [float(wide.loc[bid].get(tech, np.nan)) for tech in techs]
        tot = float(wide.loc[bid].get(total, np.nansum(gw)))
        cells = [_name_cell(ctx, first.loc[bid, "name_zh"], first.loc[bid, "name_en"])]
        cells += [_num(v) for v in gw]
        cells.append(_num(tot))
        for c in _TARGETS:
            tgt = float(first.loc[bid, c]) if pd.notna(first.loc[bid, c]) else np.nan
            if np.isfinite(tgt) and tgt > 0:
                cls = "sx-ok" if tot >= tgt else "sx-short"
                cells.append(
                    f'<td class="sx-num"><span class="{cls}">{esc(f"{tgt:,.0f}")}</span></td>'
                )
            else:
                cells.append('<td class="sx-num">—</td>')
        cells.append(_ratio_cell(tot, first.loc[bid, _TARGETS[-1]]))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</table>")
    return "".join(rows)


def _row_table(ctx: MapContext, df, techs: dict[str, tuple[str, str]]) -> str:
    """One row per base and technology (runs that sited only one of PV and wind)."""
    tgt_col = _TARGETS[-1]
    head = [_head(ctx, "基地", "Base"), _head(ctx, "技术", "Tech"), _head(ctx, "潜力", "Potential")]
    head += [_head(ctx, f"目标{tgt_col[-4:]}", f"Target {tgt_col[-4:]}")]
    head += [_head(ctx, "潜力/目标", "Pot./target")]
    parts = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for _, row in df.iterrows():
        zh, en = techs.get(str(row["technology"]), (row["technology"], row["technology"]))
        cells = [_name_cell(ctx, row["name_zh"], row["name_en"]), f"<td>{esc(ctx.t(zh, en))}</td>"]
        cells += [_num(row["potential_gw"]), _num(row[tgt_col])]
        cells.append(_ratio_cell(row["potential_gw"], row[tgt_col]))
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    return "".join(parts)


def bases_panel(ctx: MapContext, bases, techs: dict[str, tuple[str, str]], total: str) -> str:
    """HTML of the bases panel (every value escaped).

    Parameters
    ----------
    ctx : MapContext
        Language and the notes shown under the table.
    bases : pandas.DataFrame
        ``siting.bases`` rows with :data:`BASES_COLUMNS`.
    techs : dict
        Parcel technologies: key -> (Chinese, English) label.
    total : str
        The technology key of the all-technology rows (``pv+wind``).
    """
    df = bases[bases["level"].isin(_BASE_LEVELS)]  # siting also writes prefecture rows
    title = ctx.t("风光基地潜力与目标 (GW)", "Wind & PV bases: potential vs target (GW)")
    parts = [f"<details open><summary>{esc(title)}</summary>"]
    if total in set(df["technology"].astype(str)):  # more than one technology
        parts.append(_pivot_table(ctx, df, techs, total))
    else:
        parts.append(_row_table(ctx, df, techs))
    note = ctx.t(
        "技术潜力：排除后的候选地块装机；基地可能重叠，合计行已去重",
        "Technical potential of candidate parcels after exclusions; bases may overlap, the "
        "all-bases row counts each county once",
    )
    parts.append(f'<div class="sx-note">{esc(note)}</div>')
    for n in ctx.notes:
        parts.append(f'<div class="sx-note">{esc(n)}</div>')
    parts.append("</details>")
    return "".join(parts)
