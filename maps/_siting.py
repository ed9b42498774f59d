"""The siting map: suitability, parcels, roadside PV, bases, boundaries, exclusions, highways.

Every input is read through :mod:`sxplan.schema` by dataset key, with the exact column names the
schema defines (the columns each layer uses are listed below as ``_*_COLUMNS``); a present file
that lacks one raises :class:`~sxplan.errors.RunFolderError` naming the file and the column.

Layers come in groups (base map, constraints, results, boundaries); each group is a list of
layer builders ``builder(m, ctx, data)`` in :data:`LAYER_GROUPS`, so a new layer is one function
and one list entry. Only the essentials are on when the map opens (hillshade, place names,
parcels, roadside PV, boundaries, bases).

Inputs (run folder, schema keys): ``run.json`` (the layer names of the config, see
:mod:`sxplan.maps._context`), ``layers.vector`` (``layers/vectors.gpkg``; the study-area layer
required; prefectures, highways and the layers of vector exclusion rules optional),
``layers.counties``, ``layers.bases``, ``layers.raster`` (``dem``), ``siting.bases``
(``siting/bases.csv``, required), ``siting.parcels`` (``siting/parcels_<tech>.gpkg``, at least one
technology), ``siting.suitability``, ``siting.excluded_by_rule`` + ``siting.rule_legend``,
``roadside.segments`` and ``backtest.sites_gpkg`` (optional; written by ``sxplan backtest``,
then ``sxplan map`` draws it).
Outputs: a ``folium.Map`` (the caller writes it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sxplan.errors import RunFolderError
from sxplan.maps._backtest_layer import add_backtest_sites
from sxplan.maps._basemap import add_hillshade, add_place_names
from sxplan.maps._common import (
    MapContext,
    add_boundary_lines,
    add_raster,
    add_vector,
    continuous_legend,
    ramp_colors,
    read_optional_table,
    read_run_table,
    run_path,
    swatch_legend,
)
from sxplan.maps._context import ContextLayers, context_layers
from sxplan.maps._elements import HtmlControl, add_base_layers, finish_map, new_map
from sxplan.maps._exclusions import add_exclusion_layer
from sxplan.maps._grid import add_grid_connections
from sxplan.maps._popups import PARCEL_POPUP, ROADSIDE_POPUP, popup_frame
from sxplan.maps._pumped import add_pumped_storage
from sxplan.maps._siting_panel import BASES_COLUMNS, bases_panel
from sxplan.maps._text import esc, format_value
from sxplan.schema import dataset
from sxplan.siting.technology import TOTAL_TECHNOLOGY, get_technology, technology_names

__all__ = ["LAYER_GROUPS", "SitingData", "build_siting_map"]

#: Palette of each technology: suitability ramp and parcel colour (one hue per technology;
#: roadside PV has its own ramp). A technology not listed gets the default.
_STYLE = {"pv": ("suitability", "#d94801", 0.7), "wind": ("wind", "#2166ac", 0.4)}
_DEFAULT_STYLE = ("suitability", "#555555", 0.5)


def _parcel_technologies() -> dict[str, tuple[str, str]]:
    """Parcel technologies of the registry: name -> (Chinese label, English label)."""
    return {
        name: (get_technology(name).label_zh, get_technology(name).label_en)
        for name in technology_names(engine="parcels")
    }


#: Columns of ``siting.parcels`` the map reads (the popup shows :data:`PARCEL_POPUP`).
_PARCEL_COLUMNS = (*PARCEL_POPUP, "bases", "score_max")
#: Parcel ordering (best drawn first when capped): the mean suitability score (0-1).
_PARCEL_SCORE = "score_mean"
#: Criterion values and their 0-1 scores: one popup row per criterion.
_CRITERIA_FAMILIES = ("crit_{criterion}", "score_{criterion}")


class SitingData:
    """What the layer builders share: province outline, config layer names, technologies."""

    def __init__(self, ctx: MapContext):
        self.names: ContextLayers = context_layers(ctx.run_dir)
        self.province = read_run_table(ctx, "layers.vector", name=self.names.study_area, columns=[])
        self.known = _parcel_technologies()
        parcels = dataset("siting.parcels")
        self.techs = [t for t in self.known if parcels.path_in(ctx.run_dir, tech=t).is_file()]
        #: Label boxes placed so far (metric), so later labels avoid earlier ones.
        self.placed: list = []


def _bounds(ctx: MapContext, gdf) -> list:
    west, south, east, north = (float(v) for v in gdf.total_bounds)
    if ctx.to_gcj02:
        from sxplan.layers.datum import wgs84_to_gcj02

        lon, lat = wgs84_to_gcj02(np.array([west, east]), np.array([south, north]))
        west, east, south, north = float(lon[0]), float(lon[1]), float(lat[0]), float(lat[1])
    return [[south, west], [north, east]]


def _name_label(ctx: MapContext, row: pd.Series) -> str:
    """Label from the schema's name columns: ``name_zh`` (else ``name``) and ``name_en``."""
    zh_col = "name_zh" if "name_zh" in row.index else "name" if "name" in row.index else None
    zh = format_value(row[zh_col]) if zh_col else ""
    en = format_value(row["name_en"]) if "name_en" in row.index else ""
    if zh and en:
        return ctx.t(zh, en)
    return zh or en


# --- base map ---------------------------------------------------------------------------------


def _hillshade(m, ctx: MapContext, data: SitingData) -> None:
    add_hillshade(m, ctx, clip=data.province)


def _place_names(m, ctx: MapContext, data: SitingData) -> None:
    add_place_names(
        m, ctx, province=data.province, prefectures=data.names.prefectures, county_zoom=9,
        placed=data.placed,
    )  # fmt: skip


# --- constraints ------------------------------------------------------------------------------


def _exclusions(m, ctx: MapContext, data: SitingData) -> None:
    for tech in data.techs:
        zh, en = data.known[tech]
        add_exclusion_layer(m, ctx, data.names, tech, zh, en)


def _constraint_vectors(m, ctx: MapContext, data: SitingData) -> None:
    for c in data.names.constraints:
        name = ctx.t(c.label_zh, c.rule.replace("_", " ").capitalize())
        gdf = read_optional_table(ctx, "layers.vector", name=c.layer, columns=[], zh=name, en="")
        if gdf is None:
            continue
        style = {"color": c.color, "weight": 1.2, "fillColor": c.color, "fillOpacity": 0.3,
                 "interactive": False}  # fmt: skip
        layer = add_vector(m, ctx, gdf, key=f"context_{c.layer}", name=name, style=style,
                           show=False)  # fmt: skip
        legend = swatch_legend(ctx.t("硬性排除图层", "Hard exclusion layer"),
                               [(c.color, name, "fill")])  # fmt: skip
        HtmlControl(legend, follows=layer, key=f"context_{c.layer}").add_to(m)


def _highways(m, ctx: MapContext, data: SitingData) -> None:
    if not data.names.highways:
        return
    name = ctx.t("高速公路", "Highways")
    gdf = read_optional_table(
        ctx, "layers.vector", name=data.names.highways, columns=[], zh="高速公路", en="Highways"
    )
    if gdf is None:
        return
    color = "#b35806"
    layer = add_vector(
        m, ctx, gdf, key="highways", name=name, style={"color": color, "weight": 1.8},
        tooltip=lambda r: _name_label(ctx, r), show=False,
    )  # fmt: skip
    HtmlControl(swatch_legend(name, [(color, name, "line")]), follows=layer, key="highways").add_to(
        m
    )


# --- results ----------------------------------------------------------------------------------


def _suitability(m, ctx: MapContext, data: SitingData) -> None:
    for tech, (zh, en) in data.known.items():
        add_raster(
            m,
            ctx,
            run_path(ctx, "siting.suitability", tech=tech),
            key=f"suitability_{tech}",
            name=ctx.t(f"{zh}适宜性", f"{en} suitability"),
            ramp=_STYLE.get(tech, _DEFAULT_STYLE)[0],
            legend_title=ctx.t(f"{zh}适宜性得分 (0–1)", f"{en} suitability score (0–1)"),
            show=False,
        )


def _parcels(m, ctx: MapContext, data: SitingData) -> None:
    # Later layers draw on top: the first technology of the registry (PV) last.
    for tech, (zh, en) in reversed(list(data.known.items())):
        if tech in data.techs:
            _add_parcels(m, ctx, tech, zh, en)
        else:
            ctx.missing(
                ctx.t(f"{zh}候选地块", f"{en} parcels"),
                dataset("siting.parcels").path_in(ctx.run_dir, tech=tech),
            )


def _add_parcels(m, ctx: MapContext, tech: str, zh: str, en: str) -> None:
    name = ctx.t(f"{zh}候选地块", f"{en} parcels")
    parcels = read_run_table(ctx, "siting.parcels", columns=_PARCEL_COLUMNS, tech=tech)
    if parcels.empty:
        ctx.notes.append(f"{ctx.t('图层为空', 'empty layer')}: {name}")
        return
    parcels = parcels.sort_values(_PARCEL_SCORE, ascending=False, kind="stable")
    cap = ctx.config.max_parcels_per_tech
    if len(parcels) > cap:
        ctx.notes.append(
            ctx.t(
                f"{zh}地块仅显示得分最高的 {cap} 个(共 {len(parcels)} 个)",
                f"{en}: only the best {cap} of {len(parcels)} parcels are drawn",
            )
        )
        parcels = parcels.iloc[:cap]
    # One row per criterion: its value and its 0-1 score (schema column families).
    pd_ = dataset("siting.parcels")
    crit = pd_.family(parcels.columns, _CRITERIA_FAMILIES[0])
    scores = set(pd_.family(parcels.columns, _CRITERIA_FAMILIES[1]))
    scored = [(c, "score_" + c[5:]) for c in crit if "score_" + c[5:] in scores]
    shown, cols, section = popup_frame(parcels, PARCEL_POPUP, language=ctx.language,
                                       scored=scored)  # fmt: skip
    _, color, opacity = _STYLE.get(tech, _DEFAULT_STYLE)

    def _tooltip(row: pd.Series) -> str:
        return f"{name} {row['parcel_id']} · {row[_PARCEL_SCORE]}"

    # One colour per technology and no outline: adjacent blocks of a large region read as
    # one area (per-block score colours and outlines drew a checkerboard).
    layer = add_vector(
        m,
        ctx,
        shown,
        key=f"parcels_{tech}",
        name=name,
        style={"stroke": False, "fillColor": color, "fillOpacity": opacity},
        popup_columns=cols,
        section_columns=section,
        section_title=ctx.t("指标值 (得分 0–1)", "Criteria: value (score 0–1)"),
        tooltip=_tooltip,
    )
    legend = swatch_legend(name, [(color, ctx.t("得分≥阈值", "score ≥ threshold"), "fill")])
    HtmlControl(legend, follows=layer, key=f"parcels_{tech}").add_to(m)


#: Columns of ``roadside.segments`` the map reads.
_ROADSIDE_COLUMNS = (*ROADSIDE_POPUP, "score")
#: Roadside strips are coloured by their specific yield.
_ROADSIDE_YIELD = "specific_yield_kwh_per_kwp"


def _strip_axes(geoms):
    """The long axis of each (near-rectangular) strip polygon, as a two-point line."""
    import shapely

    rect = shapely.oriented_envelope(np.asarray(geoms.values))
    out = []
    for r in rect:
        if r is None or r.is_empty or r.geom_type != "Polygon":
            out.append(r)
            continue
        xy = np.asarray(r.exterior.coords)[:4]
        edges = np.roll(xy, -1, axis=0) - xy
        lengths = np.hypot(edges[:, 0], edges[:, 1])
        k = int(np.argmin(lengths))  # a short edge; the opposite one is k + 2
        mids = [(xy[i] + xy[(i + 1) % 4]) / 2 for i in (k, (k + 2) % 4)]
        out.append(shapely.LineString(mids))
    return type(geoms)(out, crs=geoms.crs)


def _roadside(m, ctx: MapContext, data: SitingData) -> None:
    tech = get_technology("roadside_pv")
    name = ctx.t(tech.label_zh, tech.label_en)
    seg = read_optional_table(
        ctx, "roadside.segments", columns=_ROADSIDE_COLUMNS, zh=tech.label_zh, en=tech.label_en
    )
    if seg is None:
        return
    # Strips are 5-20 m wide: drawn as polygons they vanish below zoom 14. Draw each strip's
    # long axis as a line (all columns remain in the GeoPackage).
    seg = seg.set_geometry(_strip_axes(seg.geometry))
    vals = seg[_ROADSIDE_YIELD].to_numpy(dtype=float)
    vmin, vmax = float(np.nanmin(vals)), float(np.nanmax(vals))
    shown, cols, _ = popup_frame(seg, ROADSIDE_POPUP, language=ctx.language)
    layer = add_vector(
        m,
        ctx,
        shown[[*cols, "geometry"]],
        key="roadside_pv",
        name=name,
        style={"color": "#6a3d9a", "weight": 3, "opacity": 0.9},
        colors=ramp_colors(vals, vmin, vmax, "roadside"),
        color_key="color",
        popup_columns=cols,
    )
    title = ctx.t(f"{tech.label_zh}：单位发电量 (kWh/kWp/年)",
                  f"{tech.label_en}: specific yield (kWh/kWp/yr)")  # fmt: skip
    HtmlControl(
        continuous_legend(title, "roadside", vmin, vmax), follows=layer, key="roadside_pv"
    ).add_to(m)


# --- boundaries -------------------------------------------------------------------------------


def _boundaries(m, ctx: MapContext, data: SitingData) -> None:
    add_boundary_lines(
        m, ctx, "layers.counties", zh="县界", en="County boundaries",
        style={"color": "#8a8a8a", "weight": 0.8}, show=False,
    )  # fmt: skip
    if data.names.prefectures:
        add_boundary_lines(
            m, ctx, "layers.vector", name=data.names.prefectures, zh="市界",
            en="Prefecture boundaries", style={"color": "#555555", "weight": 1.6},
            layer_key="prefectures",
        )  # fmt: skip
    add_vector(
        m, ctx, data.province, key="province", name=ctx.t("省界", "Province boundary"),
        style={"color": "#222222", "weight": 2.5, "fill": False, "interactive": False},
    )  # fmt: skip


def _bases(m, ctx: MapContext, data: SitingData) -> None:
    from sxplan.maps._labels import TextLabels, place_labels, wrap_label

    bases = read_optional_table(
        ctx, "layers.bases", columns=["name_zh", "name_en"], zh="五大基地", en="Bases"
    )
    if bases is None:
        return
    name, color = ctx.t("风光基地", "Wind & PV bases"), "#3b2a7a"
    layer = add_vector(
        m, ctx, bases, key="bases", name=name,
        style={"color": color, "weight": 2.5, "dashArray": "6 4", "fill": False},
        tooltip=lambda r: _name_label(ctx, r),
    )  # fmt: skip
    HtmlControl(
        swatch_legend(name, [(color, ctx.t("基地范围", "Base outline"), "dash")]),
        follows=layer,
        key="bases",
    ).add_to(m)
    # The label shows one language (the full English names are 40-60 characters long and
    # would cross the province); the outline's tooltip shows both.
    col = "name_en" if ctx.language == "en" else "name_zh"
    texts = [wrap_label(format_value(v)) for v in bases[col]]
    html = ["<br>".join(esc(line) for line in t.split("\n")) for t in texts]
    pts = place_labels(bases.geometry, texts, clip=data.province.union_all(), placed=data.placed)
    TextLabels(
        [(p.y, p.x, h) for p, h in zip(pts, html, strict=True) if not p.is_empty],
        name=ctx.t("基地名称", "Base names"),
        key="base_names",
        css_class="sx-label-base",
    ).add_to(m)
    ctx.layer_keys.append("base_names")


def _pumped(m, ctx: MapContext, data: SitingData) -> None:
    add_pumped_storage(m, ctx)  # reservoirs and tunnels of the pumped_storage step


def _grid(m, ctx: MapContext, data: SitingData) -> None:
    add_grid_connections(m, ctx)  # LCOE and connection lines (maps/_grid.py)


#: Layer groups in drawing order: (heading zh, heading en, builders). A new layer is a
#: builder ``f(m, ctx, data)`` added to its group.
LAYER_GROUPS: list[tuple[str, str, list]] = [
    ("底图", "Base map", [_hillshade, _place_names]),
    ("限制条件", "Constraints", [_exclusions, _constraint_vectors, _highways]),
    (
        "选址结果",
        "Siting results",
        [_suitability, _parcels, _roadside, _grid, _pumped, add_backtest_sites],
    ),
    ("边界与基地", "Boundaries & bases", [_boundaries, _bases]),
]


def build_siting_map(ctx: MapContext):
    """Build the siting map from a run folder.

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
        If ``layers/vectors.gpkg`` (with the study-area layer), ``siting/bases.csv`` or both
        parcel files are missing, or a file the map reads lacks a column it uses.
    """
    data = SitingData(ctx)
    bases = read_run_table(ctx, "siting.bases", columns=BASES_COLUMNS)
    if not data.techs:
        parcels = dataset("siting.parcels")
        paths = " nor ".join(parcels.relpath(tech=tech) for tech in data.known)
        raise RunFolderError(
            f"maps: run folder {ctx.run_dir} has neither {paths}; the siting map needs parcels "
            "of at least one technology; run 'sxplan demo' or the siting stage into it first"
        )
    m = new_map(_bounds(ctx, data.province), title=ctx.t("山西风光选址", "Shanxi wind & PV siting"))
    if not ctx.config.offline:
        ctx.notes.extend(
            add_base_layers(
                m, basemap=ctx.config.basemap or "osm", tianditu_key=ctx.config.tianditu_key
            )
        )
    groups = []
    for zh, en, builders in LAYER_GROUPS:
        first = len(ctx.layer_keys)
        for builder in builders:
            builder(m, ctx, data)
        if len(ctx.layer_keys) > first:
            groups.append((ctx.t(zh, en), ctx.layer_keys[first]))
    panel = bases_panel(ctx, bases, data.known, TOTAL_TECHNOLOGY)
    HtmlControl(panel, position="topleft", css_class="sx-panel", key="panel").add_to(m)
    finish_map(m, groups)
    return m
