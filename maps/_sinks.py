"""The sinks map: county choropleths of forest cover, allocated gain and sequestration.

Every input is read through :mod:`sxplan.schema` by dataset key, with the exact column names the
schema defines; a present file that lacks one raises :class:`~sxplan.errors.RunFolderError`
naming the file and the column.

The choropleths are mutually exclusive (radio buttons); a headline panel gives the province's
forest cover now and in the target year and the sequestration of the mapped year with its 90%
range; county names show from zoom :data:`COUNTY_NAME_ZOOM` up; the offline base is the
hillshade of the run's DEM with prefecture names.

Inputs (run folder, schema keys): ``sinks.counties_gpkg`` (``sinks/counties.gpkg``, required;
one row per county; its optional ``net_tco2_per_yr`` column gives the net-carbon choice),
optional ``sinks.trajectory`` (the province sink's 90% range),
``sinks.eligible`` (``sinks/afforestation_eligible.tif``), ``layers.raster`` (``dem``) and the
prefectures layer of ``layers.vector`` named by the run's config.
Outputs: a ``folium.Map`` (the caller writes it).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from sxplan.errors import RunFolderError
from sxplan.maps._basemap import add_hillshade, add_place_names
from sxplan.maps._common import (
    MapContext,
    add_boundary_lines,
    add_raster,
    add_vector,
    class_breaks,
    class_colors,
    classes_legend,
    classify,
    read_optional_table,
    read_run_table,
    run_path,
    shared_features,
)
from sxplan.maps._context import context_layers
from sxplan.maps._elements import HtmlControl, add_base_layers, finish_map, new_map
from sxplan.maps._popups import COUNTY_POPUP, popup_frame, round_number
from sxplan.maps._siting import _bounds, _name_label
from sxplan.maps._text import esc
from sxplan.schema import dataset

__all__ = ["COUNTY_NAME_ZOOM", "build_sinks_map", "headline", "sink_metric_columns"]

#: Columns of ``sinks.counties_gpkg`` the map uses (the sequestration year comes on top).
_COUNTY_COLUMNS = (*COUNTY_POPUP, "adcode", "area_km2")
#: County names show from this zoom up.
COUNTY_NAME_ZOOM = 8
_COVER_FAMILY = "cover_{year}_pct"
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
    "forest": ("基线森林覆盖率 (%)", "Baseline forest cover (%)", "green"),
    "gain": ("分配新增造林面积 (ha)", "Allocated afforestation gain (ha)", "suitability"),
    "sink": ("{year}年固碳量 (tCO₂/年)", "Sequestration {year} (tCO₂/yr)", "wind"),
    "net": (
        "争议用地净碳效益 (tCO₂/年, 新能源减排-放弃的造林碳汇)",
        "Net carbon on contested land (tCO₂/yr, avoided minus forgone sink)",
        "suitability",
    ),
}
#: Optional county column of the net-carbon layer (present when the run had a shortlist).
NET_COLUMN = "net_tco2_per_yr"


def _year(col: str) -> str:
    return col.rsplit("_", 1)[-1]


def headline(ctx: MapContext, counties: pd.DataFrame, cols: dict[str, str]) -> dict:
    """The province's headline numbers, from the county table and the trajectory.

    Forest cover is the area-weighted mean of the county covers (``calibrated_forest_pct``
    now, ``cover_<year>_pct`` in the target year); the sequestration of the mapped year and
    its 5th-95th percentiles come from ``sinks/trajectory.csv`` (the Monte Carlo range of the
    province total; county percentiles do not add up to it). Without the trajectory the sink
    is the sum of the counties and has no range.

    Returns
    -------
    dict
        ``cover_now_pct``, ``cover_year``, ``cover_target_pct`` (None without a
        ``cover_<year>_pct`` column), ``sink_year``, ``sink_tco2_per_yr``, ``sink_p05``,
        ``sink_p95`` (None without the trajectory).
    """
    area = counties["area_km2"].to_numpy(dtype=float)
    weight = area / np.nansum(area)
    out: dict = {"cover_now_pct": float(np.nansum(weight * counties["calibrated_forest_pct"]))}
    covers = dataset("sinks.counties_gpkg").family(list(counties.columns), _COVER_FAMILY)
    out["cover_year"] = _year(covers[0].removesuffix("_pct")) if covers else None
    out["cover_target_pct"] = (
        float(np.nansum(weight * counties[covers[0]].to_numpy(dtype=float))) if covers else None
    )
    year = int(_year(cols["sink"]))
    out["sink_year"] = year
    out["sink_tco2_per_yr"] = float(np.nansum(counties[cols["sink"]].to_numpy(dtype=float)))
    out["sink_p05"] = out["sink_p95"] = None
    traj = read_optional_table(
        ctx,
        "sinks.trajectory",
        columns=["year", "sink_tco2_per_yr", "sink_tco2_per_yr_p05", "sink_tco2_per_yr_p95"],
        zh="固碳量逐年表",
        en="sink trajectory",
    )
    if traj is not None and (traj["year"] == year).any():
        row = traj[traj["year"] == year].iloc[0]
        out["sink_tco2_per_yr"] = float(row["sink_tco2_per_yr"])
        out["sink_p05"] = float(row["sink_tco2_per_yr_p05"])
        out["sink_p95"] = float(row["sink_tco2_per_yr_p95"])
    return out


def _panel(ctx: MapContext, counties: pd.DataFrame, cols: dict[str, str]) -> str:
    t, h = ctx.t, headline(ctx, counties, cols)
    title = t("山西县域森林碳汇", "Shanxi county forest sinks")
    parts = [f"<details open><summary>{esc(title)}</summary><div class='sx-headline'>"]
    cover = f"{h['cover_now_pct']:.2f}%"
    if h["cover_target_pct"] is not None:
        gain = h["cover_target_pct"] - h["cover_now_pct"]
        cover += f" → {h['cover_target_pct']:.2f}% (+{gain:.2f} pp, {h['cover_year']})"
    parts.append(
        f"<div class='sx-hl-k'>{esc(t('森林覆盖率', 'Forest cover'))}</div>"
        f'<div class="sx-hl-v sx-cover">{esc(cover)}</div>'
    )
    sink = f"{h['sink_tco2_per_yr'] / 1e6:.2f} MtCO₂/yr"
    if h["sink_p05"] is not None:
        sink += f" (90%: {h['sink_p05'] / 1e6:.2f}–{h['sink_p95'] / 1e6:.2f})"
    year = h["sink_year"]
    label = t(f"{year}年新增造林固碳", f"New-forest sink {year}")
    parts.append(
        f"<div class='sx-hl-k'>{esc(label)}</div><div class=\"sx-hl-v sx-sink\">{esc(sink)}</div>"
    )
    parts.append("</div><table>")
    gain_ha = float(np.nansum(counties[cols["gain"]].to_numpy(dtype=float)))
    elig_ha = float(np.nansum(counties["eligible_ha"].to_numpy(dtype=float)))
    for zh, en, value in (
        ("县(区)数", "Counties", f"{len(counties)}"),
        ("新增造林 (ha)", "Afforestation (ha)", round_number(gain_ha)),
        ("宜林地 (ha)", "Eligible land (ha)", round_number(elig_ha)),
    ):
        parts.append(f"<tr><th>{esc(t(zh, en))}</th><td>{esc(value)}</td></tr>")
    parts.append("</table>")
    for note in ctx.notes:
        parts.append(f'<div class="sx-note">{esc(note)}</div>')
    parts.append("</details>")
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
        If ``sinks/counties.gpkg`` is missing, holds no county, or lacks a column it uses.
    """
    from sxplan.maps._controls import ExclusiveGroup

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
    names = context_layers(ctx.run_dir)
    m = new_map(_bounds(ctx, counties), title=ctx.t("山西县域森林碳汇", "Shanxi forest sinks"))
    if not ctx.config.offline:
        ctx.notes.extend(
            add_base_layers(
                m, basemap=ctx.config.basemap or "osm", tianditu_key=ctx.config.tianditu_key
            )
        )
    add_hillshade(m, ctx, clip=counties)
    add_raster(
        m,
        ctx,
        run_path(ctx, "sinks.eligible"),
        key="afforestation_eligible",
        name=ctx.t("宜林地", "Afforestation-eligible land"),
        ramp="green",
        legend_title=ctx.t("宜林地占比 (0–1)", "Share of eligible land (0–1)"),
        show=False,
        positive_only=True,
    )
    sink = cols["sink"]
    covers = dataset(key).family(list(counties.columns), _COVER_FAMILY)
    ranged = [(sink, f"{sink}_p05", f"{sink}_p95")]
    shown, pcols, _ = popup_frame(
        counties, [*COUNTY_POPUP, *covers[:1]], language=ctx.language, ranged=ranged
    )
    shared = shared_features(m, ctx, shown, popup_columns=pcols)
    choices = []
    for metric, col in cols.items():
        zh, en, ramp = _METRICS[metric]
        name = ctx.t(zh.format(year=_year(col)), en.format(year=_year(col)))
        values = counties[col].to_numpy(dtype=float)
        edges = class_breaks(values, 5)
        colors = class_colors(ramp, max(len(edges) - 1, 1))
        layer = add_vector(
            m,
            ctx,
            shown,
            key=f"county_{metric}",
            name=name,
            style={"color": "#666666", "weight": 0.8, "fillOpacity": 0.75},
            colors=classify(values, edges, colors),
            popup_columns=pcols,
            tooltip=lambda r, _c=col: f"{_name_label(ctx, r)}: {r[_c]}",
            shared=shared,
            show=False,
            control=False,
        )
        HtmlControl(
            classes_legend(name, edges, colors), follows=layer, key=f"county_{metric}"
        ).add_to(m)
        choices.append((esc(name), layer))
    ExclusiveGroup(
        esc(ctx.t("县域专题图(单选)", "County map (choose one)")),
        choices,
        none_label=esc(ctx.t("不显示", "None")),
        checked=0,
        key="county_metric",
    ).add_to(m)
    if names.prefectures:
        add_boundary_lines(
            m, ctx, "layers.vector", name=names.prefectures, zh="市界",
            en="Prefecture boundaries", style={"color": "#333333", "weight": 1.8},
            layer_key="prefectures",
        )  # fmt: skip
    add_place_names(
        m, ctx, province=counties, prefectures=names.prefectures, county_zoom=COUNTY_NAME_ZOOM
    )
    HtmlControl(
        _panel(ctx, counties, cols), position="topleft", css_class="sx-panel", key="panel"
    ).add_to(m)
    finish_map(m)
    return m
