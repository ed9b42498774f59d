"""The sinks map: county choropleths of forest cover, allocated gain and sequestration.

Inputs (run folder): ``sinks/counties.gpkg`` (required; one row per county), optional
``sinks/afforestation_eligible.tif`` and ``layers/vectors.gpkg`` (prefecture and province
outlines). Outputs: a ``folium.Map`` (the caller writes it).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sxplan.errors import LayerIOError
from sxplan.maps._common import (
    MapContext,
    add_raster,
    add_vector,
    class_breaks,
    class_colors,
    classes_legend,
    classify,
    popup_columns,
    read_optional_vector,
    require_file,
    shared_features,
)
from sxplan.maps._elements import HtmlControl, add_base_layers, finish_map, new_map
from sxplan.maps._geo import list_layers, read_vector
from sxplan.maps._siting import _bounds, _edges, _name_label
from sxplan.maps._text import esc, format_value

__all__ = ["build_sinks_map", "sink_metric_columns"]

_COUNTY_FIRST = ("name", "name_zh", "adcode", "prefecture", "prefecture_adcode", "area_km2")


def _first_match(columns, patterns) -> str | None:
    for pattern in patterns:
        rx = re.compile(pattern, re.I)
        for c in columns:
            if c != "geometry" and rx.search(c):
                return c
    return None


def sink_metric_columns(df: pd.DataFrame) -> dict[str, str | None]:
    """Pick the columns shown as choropleths: baseline forest %, allocated gain, sequestration.

    Parameters
    ----------
    df : pandas.DataFrame
        The county table (``sinks/counties.gpkg``).

    Returns
    -------
    dict
        ``{"forest": col, "gain": col, "sink": col}``; None where no column fits.

    Examples
    --------
    >>> cols = ["forest_baseline_pct", "allocated_gain_ha", "sink_tco2_per_yr_2030_p05",
    ...         "sink_tco2_per_yr_2030", "sink_tco2_per_yr_2060"]
    >>> sink_metric_columns(pd.DataFrame(columns=cols, dtype=float))["sink"]
    'sink_tco2_per_yr_2030'
    """
    numeric = [c for c in df.columns if c != "geometry" and pd.api.types.is_numeric_dtype(df[c])]
    forest = _first_match(
        numeric,
        (
            # the calibrated baseline (matched to official statistics) is what planners report;
            # the raw raster estimate stays in the popup
            r"calibrated.*forest.*pct|forest.*calibrated.*pct",
            r"^(forest_)?baseline(_forest)?(_cover)?_pct$",
            r"^forest(_cover)?_(baseline|2020)_pct$",
            r"forest.*(baseline|2020).*pct|(baseline|2020).*forest.*pct",
            r"forest.*pct",
        ),
    )
    gain = _first_match(numeric, (r"^allocated_gain_ha$", r"allocated.*gain.*ha", r"gain.*ha"))
    sink = _first_match(
        numeric,
        (
            r"^sink_tco2_per_yr_2030$",
            r"^sink_tco2_per_yr_20\d\d$",
            r"^sink_tco2_per_yr$",
            r"sink.*tco2(?!.*(p0?5|p95|lo|hi|low|high)$)",
        ),
    )
    return {"forest": forest, "gain": gain, "sink": sink}


_METRICS = {
    "forest": ("基线森林覆盖率", "Baseline forest cover", "green"),
    "gain": ("分配新增造林面积", "Allocated afforestation gain", "suitability"),
    "sink": ("年固碳量", "Annual sequestration", "wind"),
}


def _panel(ctx: MapContext, counties: pd.DataFrame, cols: dict[str, str | None]) -> str:
    t = ctx.t
    parts = [f"<h4>{esc(t('山西县域森林碳汇', 'Shanxi county forest sinks'))}</h4><table>"]
    parts.append(f"<tr><th>{esc(t('县(区)数', 'Counties'))}</th><td>{esc(len(counties))}</td></tr>")
    for key, col in cols.items():
        if col is None or key == "forest":
            continue
        total = float(np.nansum(counties[col].to_numpy(dtype=float)))
        zh, en, _ = _METRICS[key]
        parts.append(
            f"<tr><th>{esc(t(zh + '合计', en + ' total'))} ({esc(col)})</th>"
            f"<td>{esc(format_value(total))}</td></tr>"
        )
    for extra in ("eligible_ha",):
        if extra in counties.columns and pd.api.types.is_numeric_dtype(counties[extra]):
            total = float(np.nansum(counties[extra].to_numpy(dtype=float)))
            parts.append(
                f"<tr><th>{esc(t('宜林地合计 (ha)', 'Afforestation-eligible total (ha)'))}</th>"
                f"<td>{esc(format_value(total))}</td></tr>"
            )
    parts.append("</table>")
    for note in ctx.notes:
        parts.append(f'<div class="sx-note">{esc(note)}</div>')
    return "".join(parts)


def build_sinks_map(ctx: MapContext):
    """Build the sinks map from a run folder.

    Parameters
    ----------
    ctx : MapContext
        Run folder, settings; notes collect skipped optional layers.

    Returns
    -------
    folium.Map
        The map, ready to be written.

    Raises
    ------
    LayerIOError
        If ``sinks/counties.gpkg`` is missing or has none of the three metric columns.
    """
    run = ctx.run_dir
    path = require_file(
        run / "sinks" / "counties.gpkg",
        "county sink table",
        "run 'sxplan demo' or the sinks stage into this folder first",
    )
    counties = read_vector(path, None, what="sinks counties")
    if counties.empty:
        raise LayerIOError(f"maps: {path} holds no county; re-run the sinks stage")
    cols = sink_metric_columns(counties)
    if all(c is None for c in cols.values()):
        raise LayerIOError(
            f"maps: {path} has none of the columns the sinks map shows (a forest cover %, "
            "allocated_gain_ha, sink_tco2_per_yr_<year>); found "
            f"{[c for c in counties.columns if c != 'geometry']}; re-run the sinks stage"
        )
    m = new_map(_bounds(ctx, counties), title=ctx.t("山西县域森林碳汇", "Shanxi forest sinks"))
    if not ctx.config.offline:
        ctx.notes.extend(
            add_base_layers(
                m, basemap=ctx.config.basemap or "osm", tianditu_key=ctx.config.tianditu_key
            )
        )
    add_raster(
        m,
        ctx,
        run / "sinks" / "afforestation_eligible.tif",
        key="afforestation_eligible",
        name=ctx.t("宜林地", "Afforestation-eligible land"),
        ramp="green",
        legend_title=ctx.t("宜林地占比", "Share of eligible land"),
        show=False,
        positive_only=True,
    )
    first_shown = next(k for k, c in cols.items() if c is not None)
    # Geometry and popup values written once, drawn by the three choropleths.
    shared = shared_features(
        m, ctx, counties, popup_columns=popup_columns(counties.columns, first=_COUNTY_FIRST)
    )
    for key, col in cols.items():
        zh, en, ramp = _METRICS[key]
        name = ctx.t(zh, en)
        if col is None:
            ctx.notes.append(f"{ctx.t('缺少字段，已跳过', 'no column, skipped')}: {name}")
            continue
        values = counties[col].to_numpy(dtype=float)
        edges = class_breaks(values, 5)
        colors = class_colors(ramp, max(len(edges) - 1, 1))
        layer = add_vector(
            m,
            ctx,
            counties,
            key=f"county_{key}",
            name=f"{name} ({col})",
            style={"color": "#666666", "weight": 0.8, "fillOpacity": 0.75},
            colors=classify(values, edges, colors),
            popup_columns=popup_columns(counties.columns, first=_COUNTY_FIRST),
            tooltip=lambda r, _c=col: f"{_name_label(ctx, r)}: {format_value(r[_c])}",
            shared=shared,
            show=key == first_shown,
        )
        HtmlControl(
            classes_legend(f"{name} ({col})", edges, colors), follows=layer, key=f"county_{key}"
        ).add_to(m)
    vectors = run / "layers" / "vectors.gpkg"
    if "prefectures" in list_layers(vectors):
        prefectures = read_optional_vector(ctx, vectors, "prefectures", "市界", "Prefectures")
        if prefectures is not None:
            add_vector(
                m,
                ctx,
                _edges(prefectures),
                key="prefectures",
                name=ctx.t("市界", "Prefecture boundaries"),
                style={"color": "#333333", "weight": 1.8, "fill": False, "interactive": False},
            )
    else:
        ctx.missing(ctx.t("市界", "Prefecture boundaries"), vectors)
    HtmlControl(
        _panel(ctx, counties, cols), position="topleft", css_class="sx-panel", key="panel"
    ).add_to(m)
    finish_map(m)
    return m
