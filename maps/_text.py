"""Safe text for the maps: HTML escaping, bilingual labels, popup tables, JSON for scripts.

Every attribute value or key that reaches a popup, a tooltip, a legend or a panel goes through
:func:`esc` on the Python side. The browser then receives already-escaped HTML and inserts it
once (Leaflet's ``bindPopup``/``bindTooltip`` set ``innerHTML``), so markup in a county or
parcel name shows as text and never runs. Strings placed inside ``<script>`` go through
:func:`js_literal`, which also escapes ``<``, ``>`` and ``&`` so no value can close the script.

Inputs: Python values (attribute rows, labels). Outputs: HTML fragments and JavaScript literals.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from typing import Any, Literal

__all__ = [
    "LANGUAGES",
    "Language",
    "column_label",
    "esc",
    "format_value",
    "js_literal",
    "label",
    "popup_spec",
]

Language = Literal["zh+en", "zh", "en"]
LANGUAGES: tuple[str, ...] = ("zh+en", "zh", "en")

# Known column names -> (Chinese, English) display labels. Unknown columns show their own name.
_COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "id": ("编号", "ID"),
    "parcel_id": ("地块编号", "Parcel ID"),
    "name": ("名称", "Name"),
    "name_zh": ("名称", "Name"),
    "name_en": ("英文名称", "English name"),
    "technology": ("技术", "Technology"),
    "rank": ("排名", "Rank"),
    "area_km2": ("面积 (km²)", "Area (km²)"),
    "capacity_mw": ("装机容量 (MW)", "Capacity (MW)"),
    "energy_gwh_per_yr": ("年发电量 (GWh/年)", "Annual energy (GWh/yr)"),
    "adcode": ("行政区划代码", "Admin code"),
    "county": ("县(区)", "County"),
    "prefecture": ("地级市", "Prefecture"),
    "prefecture_adcode": ("地级市代码", "Prefecture code"),
    "bases": ("基地", "Bases"),
    "bases_zh": ("所在基地", "Bases (zh)"),
    "technology_zh": ("技术", "Technology"),
    "target_gw_2025": ("2025年目标 (GW)", "2025 target (GW)"),
    "target_gw_2030": ("2030年目标 (GW)", "2030 target (GW)"),
    "lon": ("经度 (WGS84)", "Longitude (WGS84)"),
    "lat": ("纬度 (WGS84)", "Latitude (WGS84)"),
    "score_mean": ("平均适宜性得分", "Mean suitability score"),
    "score_max": ("最高适宜性得分", "Max suitability score"),
    "mean_score": ("平均适宜性得分", "Mean suitability score"),
    "mean_slope_deg": ("平均坡度 (°)", "Mean slope (°)"),
    "ghi_kwh_m2_yr": ("水平总辐射 (kWh/m²/年)", "GHI (kWh/m²/yr)"),
    "dist_highway_km": ("距高速公路 (km)", "Distance to highway (km)"),
    "specific_yield_kwh_per_kwp": ("单位发电量 (kWh/kWp)", "Specific yield (kWh/kWp)"),
    "eligible_km2": ("可用面积 (km²)", "Eligible area (km²)"),
    "parcels": ("地块数", "Parcels"),
    "potential_gw": ("潜力 (GW)", "Potential (GW)"),
    "energy_twh_per_yr": ("发电量 (TWh/年)", "Energy (TWh/yr)"),
    "eligible_ha": ("宜林地 (ha)", "Afforestation-eligible (ha)"),
    "allocated_gain_ha": ("分配造林面积 (ha)", "Allocated gain (ha)"),
    "calibrated_forest_pct": ("森林覆盖率(校准) (%)", "Forest cover, calibrated (%)"),
    "strip_id": ("边坡编号", "Strip ID"),
    "road_name": ("道路", "Road"),
    "terrain_form": ("地形", "Terrain"),
    "facing_compass": ("朝向", "Facing"),
    "panel_tilt_deg": ("组件倾角 (°)", "Panel tilt (°)"),
    "usable_strip_km": ("可用长度 (km)", "Usable length (km)"),
    "excluded_by": ("排除原因", "Excluded by"),
}

#: Siting criteria (the ``{criterion}`` of ``crit_{criterion}``) -> labels with units.
_CRITERIA: dict[str, tuple[str, str]] = {
    "ghi_kwh_m2_yr": ("水平总辐射 (kWh/m²/年)", "GHI (kWh/m²/yr)"),
    "slope_pct": ("坡度 (%)", "Slope (%)"),
    "dist_highway_m": ("距高速公路 (m)", "Distance to highway (m)"),
    "wind_proxy_ms": ("风速代理 (m/s)", "Wind speed proxy (m/s)"),
}


def esc(value: Any) -> str:
    """HTML-escape any value for display as text (quotes included).

    Parameters
    ----------
    value : Any
        Value to show; converted with :func:`format_value` first.

    Returns
    -------
    str
        Escaped text, safe to insert as HTML.

    Examples
    --------
    >>> esc("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    """
    return html.escape(format_value(value), quote=True)


def format_value(value: Any) -> str:
    """Format an attribute value for a popup: readable floats, thousands separators, NaN as '—'.

    Parameters
    ----------
    value : Any
        Attribute value.

    Returns
    -------
    str
        Unescaped display text.
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        v = float(value)
        if math.isnan(v):
            return "—"
        if v != 0 and abs(v) < 0.01:
            return f"{v:.3g}"
        if abs(v) >= 1000:
            return f"{v:,.1f}".removesuffix(".0")
        return f"{v:,.3f}".rstrip("0").rstrip(".")
    if type(value).__name__.startswith("int"):
        return str(int(value))
    try:
        import pandas as pd

        if pd.isna(value):
            return "—"
    except (TypeError, ValueError):
        pass
    return str(value)


def label(zh: str, en: str, language: Language) -> str:
    """Return a bilingual label, Chinese first, as the language option asks (unescaped).

    Parameters
    ----------
    zh, en : str
        Chinese and English text.
    language : {"zh+en", "zh", "en"}
        Which languages to show.

    Returns
    -------
    str
        ``"zh / en"``, ``"zh"`` or ``"en"``.

    Examples
    --------
    >>> label("县", "County", "zh+en")
    '县 / County'
    """
    if language == "zh":
        return zh
    if language == "en":
        return en
    if zh == en:
        return zh
    return f"{zh} / {en}"


def column_label(column: str, language: Language) -> str:
    """Return the display label of a column (bilingual when known, else the column name).

    Parameters
    ----------
    column : str
        Column name as written in the run folder.
    language : {"zh+en", "zh", "en"}
        Which languages to show.

    Returns
    -------
    str
        Unescaped label.
    """
    known = _COLUMN_LABELS.get(column) or _family_label(column)
    if known is None:
        return column
    return label(*known, language)


def _family_label(column: str) -> tuple[str, str] | None:
    """Labels of column families: ``crit_<criterion>``, ``sink_tco2_per_yr_<year>``..."""
    import re

    if column.startswith("crit_"):
        zh, en = _CRITERIA.get(column[5:], (column[5:], column[5:]))
        return f"{zh} (得分)", f"{en} (score)"
    m = re.fullmatch(r"sink_tco2_per_yr_(\d{4})", column)
    if m:
        return f"{m[1]}年固碳量 (tCO₂/年)", f"Sequestration {m[1]} (tCO₂/yr)"
    m = re.fullmatch(r"cover_(\d{4})_pct", column)
    if m:
        return f"{m[1]}年森林覆盖率 (%)", f"Forest cover {m[1]} (%)"
    return None


def popup_spec(
    columns: Sequence[str],
    *,
    title: str | None = None,
    language: Language = "zh+en",
    section_columns: Sequence[str] = (),
    section_title: str | None = None,
) -> dict[str, Any]:
    """Describe a layer's popup table with every label escaped here.

    Each feature then carries only its values, escaped with :func:`esc`, in the order
    ``[*columns, *section_columns]``; the browser concatenates labels and values into a table
    and never parses a value as markup.

    Parameters
    ----------
    columns : sequence of str
        Attribute columns; known columns get bilingual labels.
    title : str, optional
        Popup heading (unescaped text; escaped here).
    language : {"zh+en", "zh", "en"}
        Label language.
    section_columns : sequence of str
        A second block (for example the criteria that drove a score).
    section_title : str, optional
        Heading of the second block.

    Returns
    -------
    dict
        ``{"title", "cols", "section_at", "section_title"}``.

    Examples
    --------
    >>> popup_spec(["area_km2", "<b>x</b>"], language="en")["cols"]
    ['Area (km²)', '&lt;b&gt;x&lt;/b&gt;']
    """
    cols = [esc(column_label(c, language)) for c in (*columns, *section_columns)]
    return {
        "title": esc(title) if title else "",
        "cols": cols,
        "section_at": len(columns) if section_columns else None,
        "section_title": esc(section_title or ""),
    }


def js_literal(value: Any) -> str:
    r"""Serialise a value as a JavaScript literal that is safe inside ``<script>``.

    Parameters
    ----------
    value : Any
        JSON-serialisable value (NaN is not allowed).

    Returns
    -------
    str
        JSON text with ``<``, ``>``, ``&`` and the JS line separators escaped.

    Examples
    --------
    >>> print(js_literal("</script>"))
    "\u003c/script\u003e"
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
