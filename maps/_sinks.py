"""The sinks map: county choropleths of forest cover, allocated gain and sequestration.

Every input is read through :mod:`sxplan.schema` by dataset key, with the exact column names the
schema defines; a present file that lacks one raises :class:`~sxplan.errors.RunFolderError`
naming the file and the column.

Inputs (run folder, schema keys): ``sinks.counties_gpkg`` (``sinks/counties.gpkg``, required;
one row per county; its optional ``net_tco2_per_yr`` column gives the net-carbon layer),
optional ``sinks.eligible`` (``sinks/afforestation_eligible.tif``) and the
``prefectures`` layer of ``layers.vector`` (``layers/vectors.gpkg``).
Outputs: a ``folium.Map`` (the caller writes it).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from sxplan.errors import RunFolderError
from sxplan.maps._common import (
    MapContext,
    add_boundary_lines,
    add_raster,
    add_vector,
    class_breaks,
    class_colors,
    classes_legend,
    classify,
    popup_columns,
    read_run_table,
    run_path,
    shared_features,
)
from sxplan.maps._elements import HtmlControl, add_base_layers, finish_map, new_map
from sxplan.maps._siting import _bounds, _name_label
from sxplan.maps._text import esc, format_value
from sxplan.schema import dataset

__all__ = ["build_sinks_map", "sink_metric_columns"]

#: Columns of ``sinks.counties_gpkg`` the popup leads with, in this order.
_COUNTY_FIRST = ("name", "adcode", "prefecture", "prefecture_adcode", "area_km2")
#: Columns of ``sinks.counties_gpkg`` the map uses (the sequestration year comes on top).
_COUNTY_COLUMNS = (*_COUNTY_FIRST, "calibrated_forest_pct", "allocated_gain_ha", "eligible_ha")
#: The sequestration column family; the map shows one year of it.
_SINK_FAMILY = "sink_tco2_per_yr_{year}"
#: The year whose sequestration is drawn: 2030, the plan's carbon-peak year, when the run
#: reports it; otherwise the first report year in the table.
SINK_MAP_YEAR = 2030


def sink_metric_columns(columns: Iterable[str]) -> dict[str, str]:
    """The columns drawn as choropleths: calibrated forest %, allocated gain, sequestration.

    All three are ``sinks.counties`` columns of :mod:`sxplan.schema`: the calibrated baseline
    (matched to official statistics, what planners report; the raw raster estimate stays in
    the popup), the allocated gain, and ``sink_tco2_per_yr_<year>`` for :data:`SINK_MAP_YEAR`
    (else the first year the table reports).

    Parameters
    ----------
    columns : iterable of str
        Columns of the county table (``sinks/counties.gpkg``).

    Returns
    -------
    dict
        ``{"forest": col, "gain": col, "sink": col}``.

    Raises
    ------
    RunFolderError
        If the table has no ``sink_tco2_per_yr_<year>`` column.

    Examples
    --------
    >>> cols = ["calibrated_forest_pct", "allocated_gain_ha", "sink_tco2_per_yr_2025",
    ...         "sink_tco2_per_yr_2030_p05", "sink_tco2_per_yr_2030"]
    >>> sink_metric_columns(cols)["sink"]
    'sink_tco2_per_yr_2030'
    """
    ds = dataset("sinks.counties_gpkg")
    years = ds.family(list(columns), _SINK_FAMILY)
    preferred = _SINK_FAMILY.format(year=SINK_MAP_YEAR)
    if not years:
        raise RunFolderError(
            f"maps: {ds.path} has no {_SINK_FAMILY.format(year='<year>')} column (e.g. "
            f"{preferred}); re-run the 'sinks' step of sxplan into this folder"
        )
    sink = preferred if preferred in years else years[0]
    return {"forest": "calibrated_forest_pct", "gain": "allocated_gain_ha", "sink": sink}


_METRICS = {
    "forest": ("基线森林覆盖率", "Baseline forest cover", "green"),
    "gain": ("分配新增造林面积", "Allocated afforestation gain", "suitability"),
    "sink": ("年固碳量", "Annual sequestration", "wind"),
    "net": (
        "争议用地净碳效益(新能源减排-放弃的造林碳汇)",
        "Net carbon on contested land (avoided minus forgone sink)",
        "suitability",
    ),
}
#: Optional county column of the net-carbon layer (present when the run had a shortlist).
NET_COLUMN = "net_tco2_per_yr"


def _panel(ctx: MapContext, counties: pd.DataFrame, cols: dict[str, str]) -> str:
    t = ctx.t
    parts = [f"<h4>{esc(t('山西县域森林碳汇', 'Shanxi county forest sinks'))}</h4><table>"]
    parts.append(f"<tr><th>{esc(t('县(区)数', 'Counties'))}</th><td>{esc(len(counties))}</td></tr>")
    for key, col in cols.items():
        if key == "forest":
            continue
        total = float(np.nansum(counties[col].to_numpy(dtype=float)))
        zh, en, _ = _METRICS[key]
        parts.append(
            f"<tr><th>{esc(t(zh + '合计', en + ' total'))} ({esc(col)})</th>"
            f"<td>{esc(format_value(total))}</td></tr>"
        )
    total = float(np.nansum(counties["eligible_ha"].to_numpy(dtype=float)))
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
    RunFolderError
        If ``sinks/counties.gpkg`` is missing, holds no county, or lacks a column the map
        uses.
    """
    key = "sinks.counties_gpkg"
    counties = read_run_table(ctx, key, columns=_COUNTY_COLUMNS)
    if counties.empty:
        raise RunFolderError(
            f"maps: {dataset(key).path_in(ctx.run_dir)} holds no county; re-run the sinks stage"
        )
    cols = sink_metric_columns(counties.columns)
    if NET_COLUMN in counties.columns:
        cols["net"] = NET_COLUMN
    else:
        ctx.notes.append(
            ctx.t(
                "无新能源候选地块, 未绘制净碳效益图层",
                "no shortlisted renewables in this run: net-carbon layer not drawn",
            )
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
        run_path(ctx, "sinks.eligible"),
        key="afforestation_eligible",
        name=ctx.t("宜林地", "Afforestation-eligible land"),
        ramp="green",
        legend_title=ctx.t("宜林地占比", "Share of eligible land"),
        show=False,
        positive_only=True,
    )
    first_shown = "forest"
    # Geometry and popup values written once, drawn by the three choropleths.
    shared = shared_features(
        m, ctx, counties, popup_columns=popup_columns(counties.columns, first=_COUNTY_FIRST)
    )
    for key, col in cols.items():
        zh, en, ramp = _METRICS[key]
        name = ctx.t(zh, en)
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
    add_boundary_lines(
        m, ctx, "layers.vector", name="prefectures", zh="市界", en="Prefecture boundaries",
        style={"color": "#333333", "weight": 1.8},
    )  # fmt: skip
    HtmlControl(
        _panel(ctx, counties, cols), position="topleft", css_class="sx-panel", key="panel"
    ).add_to(m)
    finish_map(m)
    return m
