"""Short, translated popups: at most :data:`MAX_POPUP_ROWS` rows, rounded numbers, named values.

A layer lists the columns its popup shows (:data:`PARCEL_POPUP`, :data:`ROADSIDE_POPUP`,
:data:`COUNTY_POPUP`); :func:`popup_frame` turns them into display strings: numbers rounded by
:func:`round_number`, technology keys shown as their names (光伏 / PV), category codes of the
roadside table translated, a value and its 0-1 score or its 90% range joined in one row. The
run folder keeps every column; the popup shows what a planner reads.

Inputs: a GeoDataFrame read through the schema. Outputs: a copy with string columns and the
list of popup columns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sxplan.maps._text import format_value, label

__all__ = [
    "COUNTY_POPUP",
    "MAX_POPUP_ROWS",
    "PARCEL_POPUP",
    "ROADSIDE_POPUP",
    "popup_frame",
    "round_number",
    "value_label",
]

#: Most rows a popup shows (issue 15: "at most about 12").
MAX_POPUP_ROWS = 12

#: Parcel popup: identity, size, output, place, score (criteria come after, one row each).
PARCEL_POPUP = (
    "parcel_id", "technology", "rank", "area_km2", "capacity_mw", "energy_gwh_per_yr",
    "county", "prefecture", "bases_zh", "score_mean",
)  # fmt: skip
#: Roadside strip popup.
ROADSIDE_POPUP = (
    "strip_id", "road_name", "name", "prefecture", "terrain_form", "facing_compass",
    "panel_tilt_deg", "usable_strip_km", "capacity_mw", "specific_yield_kwh_per_kwp",
    "energy_gwh_per_yr", "excluded_by",
)  # fmt: skip
#: County popup of the sinks map (the sink of the mapped year is added with its range).
COUNTY_POPUP = (
    "name", "prefecture", "area_km2", "calibrated_forest_pct", "eligible_ha", "allocated_gain_ha",
)  # fmt: skip

#: Category values shown by name: column -> value -> (Chinese, English).
_VALUES: dict[str, dict[str, tuple[str, str]]] = {
    "terrain_form": {
        "flat": ("平地", "flat"),
        "cut": ("路堑", "cut"),
        "embankment": ("路堤", "embankment"),
    },
    "facing_compass": {
        k: (zh, k)
        for k, zh in {
            "N": "北",
            "NE": "东北",
            "E": "东",
            "SE": "东南",
            "S": "南",
            "SW": "西南",
            "W": "西",
            "NW": "西北",
        }.items()
    },  # fmt: skip
    "excluded_by": {
        "": ("无(可用)", "none (usable)"),
        "landcover": ("地表覆盖", "land cover"),
        "overlap": ("与另一侧重叠", "overlap"),
        "redline_proxy": ("生态红线(近似)", "red line (proxy)"),
        "short": ("过短", "too short"),
        "water": ("水体", "water"),
        "tunnel": ("隧道", "tunnel"),
        "bridge": ("桥梁", "bridge"),
    },
}


def round_number(value: float) -> str:
    """A number rounded for reading: 3 significant digits, whole numbers from 100 up.

    Examples
    --------
    >>> [round_number(v) for v in (974.896, 1447.2, 40.26, 0.7034, 3.14159, 0.0)]
    ['975', '1,447', '40.3', '0.703', '3.14', '0']
    """
    v = float(value)
    if not math.isfinite(v):
        return "—"
    a = abs(v)
    if a >= 100 or a == 0:
        return f"{v:,.0f}"
    decimals = 2 - int(math.floor(math.log10(a)))
    text = f"{v:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def value_label(column: str, value, language: str) -> str:
    """Display text of a category value (technology keys by name, codes translated)."""
    text = format_value(value)
    if column == "technology" and isinstance(value, str):
        from sxplan.siting.technology import get_technology, technology_names

        names = technology_names()
        parts = []
        for key in value.split("+"):
            if key in names:
                tech = get_technology(key)
                parts.append(label(tech.label_zh, tech.label_en, language))  # type: ignore[arg-type]
            else:
                parts.append(key)
        return " + ".join(parts)
    known = _VALUES.get(column, {})
    if isinstance(value, str) and value in known:
        return label(*known[value], language)  # type: ignore[arg-type]
    return text


def _cell(column: str, value, language: str) -> str:
    if isinstance(value, (bool, np.bool_)):
        return format_value(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if column in ("rank", "adcode", "prefecture_adcode") or isinstance(value, np.integer):
            return format_value(value)
        return round_number(float(value))
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return value_label(column, value, language)


def popup_frame(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    language: str,
    scored: Sequence[tuple[str, str]] = (),
    ranged: Sequence[tuple[str, str, str]] = (),
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Display strings for a popup of at most :data:`MAX_POPUP_ROWS` rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        The layer's rows (geometry kept).
    columns : sequence of str
        Columns to show, in order (absent ones are skipped).
    language : {"zh+en", "zh", "en"}
        For category names.
    scored : sequence of (str, str)
        ``(value column, score column)`` pairs shown as one row ``value (score s)``, in a
        section after ``columns``.
    ranged : sequence of (str, str, str)
        ``(value, low, high)`` columns shown as one row ``value (90%: low–high)``.

    Returns
    -------
    frame : pandas.DataFrame
        A copy whose popup columns hold display strings.
    columns : list of str
        The main popup columns.
    section : list of str
        The section columns (value columns of ``scored``).

    Examples
    --------
    >>> df = pd.DataFrame({"technology": ["pv"], "area_km2": [40.26], "crit_x": [1540.3],
    ...                    "score_x": [0.7034]})
    >>> out, cols, sec = popup_frame(df, ["technology", "area_km2"], language="en",
    ...                              scored=[("crit_x", "score_x")])
    >>> out.loc[0, "technology"], out.loc[0, "area_km2"], out.loc[0, "crit_x"]
    ('PV', '40.3', '1,540 (0.703)')
    """
    out = frame.copy()
    cols = [c for c in columns if c in out.columns]
    for v, _, _ in ranged:
        if v in out.columns:
            cols.append(v)
    section = [v for v, s in scored if v in out.columns and s in out.columns]
    room = MAX_POPUP_ROWS - len(cols)
    section = section[: max(room, 0)]
    cols = cols[:MAX_POPUP_ROWS]
    for c in cols:
        out[c] = [_cell(c, x, language) for x in frame[c].tolist()]
    for v, lo, hi in ranged:
        if v in cols and lo in frame.columns and hi in frame.columns:
            out[v] = [
                f"{round_number(a)} (90%: {round_number(b)}–{round_number(c)})"
                for a, b, c in zip(frame[v], frame[lo], frame[hi], strict=True)
            ]
    for v, s in scored:
        if v in section:
            out[v] = [
                f"{_cell(v, a, language)} ({round_number(b)})"
                for a, b in zip(frame[v], frame[s], strict=True)
            ]
    return out, cols, section
