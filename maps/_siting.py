"""The siting map: suitability, parcels, roadside PV, bases, boundaries, exclusions, highways.

Every input is read through :mod:`sxplan.schema` by dataset key, with the exact column names the
schema defines (the columns each layer uses are listed below as ``_*_COLUMNS``); a present file
that lacks one raises :class:`~sxplan.errors.RunFolderError` naming the file and the column.

Inputs (run folder, schema keys): ``layers.vector`` (``layers/vectors.gpkg``; required layer
``province``; optional ``prefectures``, ``redline_proxy``, ``water``, ``highways``),
``layers.counties`` and ``layers.bases`` (optional layers of the same file), ``siting.bases``
(``siting/bases.csv``, required), ``siting.parcels`` (``siting/parcels_<tech>.gpkg``, at least one
technology), ``siting.suitability``, ``roadside.segments`` and ``backtest.sites_gpkg``
(optional; written by ``sxplan backtest``, then ``sxplan map`` draws it).
Outputs: a ``folium.Map`` (the caller writes it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sxplan.errors import RunFolderError
from sxplan.maps._common import (
    MapContext,
    add_boundary_lines,
    add_raster,
    add_vector,
    continuous_legend,
    popup_columns,
    ramp_colors,
    read_optional_table,
    read_run_table,
    run_path,
)
from sxplan.maps._elements import HtmlControl, add_base_layers, finish_map, new_map
from sxplan.maps._grid import add_grid_connections
from sxplan.maps._text import esc, format_value
from sxplan.schema import dataset
from sxplan.siting.technology import TOTAL_TECHNOLOGY, get_technology, technology_names

__all__ = ["build_siting_map"]

#: Colour ramp of the suitability raster and outline colour of the parcels, by technology; a
#: technology not listed here is drawn with the default style (nothing else names one).
_STYLE = {"pv": ("suitability", "#2b0542"), "wind": ("wind", "#08306b")}
_DEFAULT_STYLE = ("suitability", "#333333")


def _parcel_technologies() -> dict[str, tuple[str, str]]:
    """Parcel technologies of the registry: name -> (Chinese label, English label)."""
    return {
        name: (get_technology(name).label_zh, get_technology(name).label_en)
        for name in technology_names(engine="parcels")
    }


#: Columns of ``siting.parcels`` the map uses: the popup leads with them, in this order.
_PARCEL_COLUMNS = (
    "parcel_id",
    "rank",
    "technology",
    "area_km2",
    "capacity_mw",
    "energy_gwh_per_yr",
    "county",
    "prefecture",
    "bases_zh",
    "bases",
    "adcode",
    "score_mean",
    "score_max",
)
#: Parcel colour and ordering: the mean suitability score (0-1).
_PARCEL_SCORE = "score_mean"
#: Criterion values and their 0-1 scores: the "criteria behind the score" popup section.
_CRITERIA_FAMILIES = ("crit_{criterion}", "score_{criterion}")
#: Columns of ``siting.bases`` the panel uses.
_BASES_COLUMNS = (
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


def _add_boundaries(m, ctx: MapContext, province) -> None:
    add_boundary_lines(
        m, ctx, "layers.counties", zh="县界", en="County boundaries",
        style={"color": "#8a8a8a", "weight": 0.8},
    )  # fmt: skip
    add_boundary_lines(
        m, ctx, "layers.vector", name="prefectures", zh="市界", en="Prefecture boundaries",
        style={"color": "#555555", "weight": 1.6},
    )  # fmt: skip
    add_vector(
        m,
        ctx,
        province,
        key="province",
        name=ctx.t("省界", "Province boundary"),
        style={"color": "#222222", "weight": 2.5, "fill": False, "interactive": False},
    )


#: Context layers drawn under the results: (layer, zh, en, legend zh, legend en, style).
_CONTEXT_LAYERS = (
    ("redline_proxy", "生态保护红线", "Red lines",
     "生态保护红线(近似)", "Ecological red lines (proxy)",
     {"color": "#c0172c", "weight": 1, "fillColor": "#e0303f", "fillOpacity": 0.28,
      "interactive": False}),
    ("water", "水体", "Water", "水体", "Water",
     {"color": "#1f78b4", "weight": 1, "fillColor": "#4aa3df", "fillOpacity": 0.55,
      "interactive": False}),
    ("highways", "高速公路", "Highways", "高速公路", "Highways",
     {"color": "#b35806", "weight": 1.8, "opacity": 0.9}),
)  # fmt: skip


def _add_context(m, ctx: MapContext) -> None:
    for key, zh, en, name_zh, name_en, style in _CONTEXT_LAYERS:
        gdf = read_optional_table(ctx, "layers.vector", name=key, columns=[], zh=zh, en=en)
        if gdf is None:
            continue
        tooltip = (lambda r: _name_label(ctx, r)) if key == "highways" else None
        add_vector(m, ctx, gdf, key=key, name=ctx.t(name_zh, name_en), style=style, tooltip=tooltip)
    bases = read_optional_table(
        ctx, "layers.bases", columns=["name_zh", "name_en"], zh="五大基地", en="Bases"
    )
    if bases is not None:
        add_vector(
            m,
            ctx,
            bases,
            key="bases",
            name=ctx.t("五大基地", "Five bases"),
            style={"color": "#3b2a7a", "weight": 2.5, "dashArray": "6 4", "fill": False},
            tooltip=lambda r: _name_label(ctx, r),
            label_permanent=True,
        )


#: Columns of ``roadside.segments`` the map uses: the popup shows these (the GeoPackage keeps
#: all of them).
_ROADSIDE_COLUMNS = (
    "strip_id", "road_ref", "road_name", "name", "prefecture", "side_compass", "facing_compass",
    "terrain_form", "panel_tilt_deg", "usable_strip_km", "capacity_mw",
    "specific_yield_kwh_per_kwp", "energy_gwh_per_yr", "score", "excluded_by",
)  # fmt: skip
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


def _add_roadside(m, ctx: MapContext) -> None:
    name = ctx.t("高速公路边坡光伏", "Roadside PV segments")
    seg = read_optional_table(
        ctx,
        "roadside.segments",
        columns=_ROADSIDE_COLUMNS,
        zh="高速公路边坡光伏",
        en="Roadside PV segments",
    )
    if seg is None:
        return
    # Strips are 5-20 m wide: drawn as polygons they vanish below zoom 14 and their vertices
    # dominate the page. Draw each strip's long axis as a line and keep the attributes a
    # planner reads in the popup (all columns remain in the GeoPackage).
    seg = seg.set_geometry(_strip_axes(seg.geometry))
    seg = seg[[*_ROADSIDE_COLUMNS, "geometry"]]
    vals = seg[_ROADSIDE_YIELD].to_numpy(dtype=float)
    vmin, vmax = float(np.nanmin(vals)), float(np.nanmax(vals))
    layer = add_vector(
        m,
        ctx,
        seg,
        key="roadside_pv",
        name=name,
        style={"color": "#6a3d9a", "weight": 4, "opacity": 0.9},
        colors=ramp_colors(vals, vmin, vmax, "yield"),
        color_key="color",
        popup_columns=popup_columns(seg.columns),
    )
    HtmlControl(
        continuous_legend(f"{name}: {_ROADSIDE_YIELD}", "yield", vmin, vmax),
        follows=layer,
        key="roadside_pv",
    ).add_to(m)


#: Columns of ``backtest.sites_gpkg`` the map shows.
_BACKTEST_COLUMNS = (
    "site_id", "technology", "name", "capacity_mw", "score", "eligible_share", "first_rule",
    "all_rules", "dropped",
)  # fmt: skip


def _add_backtest(m, ctx: MapContext) -> None:
    """Existing sites of a backtest, red where most of the site is excluded (absent: skipped)."""
    if not dataset("backtest.sites_gpkg").present_in(ctx.run_dir):
        return  # a run without a backtest is the usual case, not a missing layer
    sites = read_run_table(ctx, "backtest.sites_gpkg", columns=_BACKTEST_COLUMNS)
    if sites.empty:
        return
    sites = sites[[*_BACKTEST_COLUMNS, "geometry"]]
    # points as small discs (600 m), so they draw offline without marker images
    albers = sites.geometry.to_crs("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84")
    is_point = (sites.geom_type == "Point").to_numpy()
    discs = albers.buffer(600).to_crs(sites.crs)
    sites = sites.set_geometry(np.where(is_point, discs.to_numpy(), sites.geometry.to_numpy()))
    colors = ["#1a9850" if (e or 0) > 0.5 else "#d73027" for e in sites["eligible_share"]]
    add_vector(
        m, ctx, sites, key="backtest_sites",
        name=ctx.t("回测: 现有场站", "Backtest: existing sites"),
        style={"color": "#000000", "weight": 1, "fillOpacity": 0.9},
        colors=colors, popup_columns=list(_BACKTEST_COLUMNS),
        tooltip=lambda r: f"{r['technology']} {r['name'] or r['site_id']}: "
        f"{format_value(r['score'])} {r['first_rule'] or ''}",
    )  # fmt: skip


def _add_parcels(m, ctx: MapContext, tech: str, zh: str, en: str) -> None:
    name = ctx.t(f"{zh}候选地块", f"{en} parcels")
    parcels = read_run_table(ctx, "siting.parcels", columns=_PARCEL_COLUMNS, tech=tech)
    if parcels.empty:
        ctx.notes.append(f"{ctx.t('图层为空', 'empty layer')}: {name}")
        return
    score = _PARCEL_SCORE
    parcels = parcels.sort_values(score, ascending=False, kind="stable")
    cap = ctx.config.max_parcels_per_tech
    if len(parcels) > cap:
        ctx.notes.append(
            ctx.t(
                f"{zh}地块仅显示得分最高的 {cap} 个(共 {len(parcels)} 个)",
                f"{en}: only the best {cap} of {len(parcels)} parcels are drawn",
            )
        )
        parcels = parcels.iloc[:cap]
    vals = parcels[score].to_numpy(dtype=float)
    lo, hi = float(np.nanmin(vals)), float(np.nanmax(vals))
    vmin, vmax = (0.0, 1.0) if lo >= 0 and hi <= 1 else (lo, hi)
    colors = ramp_colors(vals, vmin, vmax, "parcel")
    # Criterion values (crit_<name>) and their 0-1 scores (score_<name>) that drove the score:
    # the schema's column families, in the file's order.
    families = set()
    for family in _CRITERIA_FAMILIES:
        families.update(dataset("siting.parcels").family(parcels.columns, family))
    criteria = [c for c in parcels.columns if c in families]

    def _tooltip(row: pd.Series) -> str:
        return f"{name} {format_value(row['parcel_id'])} · {format_value(row[score])}"

    layer = add_vector(
        m,
        ctx,
        parcels,
        key=f"parcels_{tech}",
        name=name,
        style={
            "color": _STYLE.get(tech, _DEFAULT_STYLE)[1],
            "weight": 1.2,
            "fillColor": "#b467d6",
            "fillOpacity": 0.8,
        },
        colors=colors,
        popup_columns=popup_columns(parcels.columns, first=_PARCEL_COLUMNS, skip=criteria),
        section_columns=criteria,
        section_title=ctx.t("决定得分的指标", "Criteria behind the score"),
        tooltip=_tooltip,
    )
    HtmlControl(
        continuous_legend(f"{name}: {score}", "parcel", vmin, vmax),
        follows=layer,
        key=f"parcels_{tech}",
    ).add_to(m)


def _pivot_table(ctx: MapContext, df) -> str:
    """One row per base (and all bases, province): GW of each technology and the total."""
    t = ctx.t
    wide = df.pivot_table(index="id", columns="technology", values="potential_gw", aggfunc="first")
    first = df.drop_duplicates("id").set_index("id")
    for c in _TARGETS:  # targets sit on one technology row (pv+wind); take it per base
        first[c] = df.groupby("id")[c].max()
    techs = {k: v for k, v in _parcel_technologies().items() if k in wide.columns}
    head = [t("基地", "Base"), *(t(f"{zh} GW", f"{en} GW") for zh, en in techs.values())]
    head.append(t("合计", "Total"))
    head += [t(f"目标 {c[-4:]}", f"Target {c[-4:]}") for c in _TARGETS]
    head.append(t("潜力/目标", "Potential/target") + f" {_TARGETS[-1][-4:]}")
    rows = ["<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>"]
    for bid in first.index:
        name = format_value(first.loc[bid, "name_zh"])
        if ctx.language == "en":
            name = format_value(first.loc[bid, "name_en"])
        gw = [float(wide.loc[bid].get(tech, np.nan)) for tech in techs]
        total = float(wide.loc[bid].get(TOTAL_TECHNOLOGY, sum(gw)))
        cells = [esc(name), *(esc(f"{v:,.1f}") for v in gw), esc(f"{total:,.1f}")]
        for c in _TARGETS:
            tgt = float(first.loc[bid, c]) if pd.notna(first.loc[bid, c]) else np.nan
            if np.isfinite(tgt) and tgt > 0:
                cls = "sx-ok" if total >= tgt else "sx-short"
                cells.append(f'<span class="{cls}">{esc(f"{tgt:,.0f}")}</span>')
            else:
                cells.append("—")
        cells.append(_ratio_cell(total, first.loc[bid, _TARGETS[-1]]))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    rows.append("</table>")
    rows.append(
        '<div class="sx-note">'
        + esc(
            t(
                "技术潜力(GW)：排除后的候选地块装机；基地可能重叠，合计行已去重",
                "Technical potential (GW) of candidate parcels after exclusions; bases may "
                "overlap, the all-bases row counts each county once",
            )
        )
        + "</div>"
    )
    return "".join(rows)


def _ratio_cell(potential_gw, target_gw) -> str:
    """Potential / target as a coloured percentage, or a dash without a positive target."""
    pot = float(potential_gw) if pd.notna(potential_gw) else np.nan
    tgt = float(target_gw) if pd.notna(target_gw) else np.nan
    if not (np.isfinite(pot) and np.isfinite(tgt) and tgt > 0):
        return "—"
    ratio = pot / tgt
    cls = "sx-ok" if ratio >= 1 else "sx-short"
    return f'<span class="{cls}">{esc(f"{ratio:.0%}")}</span>'


def _row_table(ctx: MapContext, df) -> str:
    """One row per base and technology (runs that sited only one of PV and wind)."""
    t = ctx.t
    tgt_col = _TARGETS[-1]
    head = [t("基地", "Base"), t("技术", "Tech"), t("潜力 GW", "Potential GW")]
    head += [t("目标 GW", "Target GW") + f" ({tgt_col})", t("潜力/目标", "Potential/target")]
    parts = ["<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>"]
    for _, row in df.iterrows():
        name = format_value(row["name_zh"])
        if ctx.language != "zh":
            name = t(name, format_value(row["name_en"]))
        cells = [esc(name), esc(row["technology"]), esc(row["potential_gw"]), esc(row[tgt_col])]
        cells.append(_ratio_cell(row["potential_gw"], row[tgt_col]))
        parts.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    parts.append("</table>")
    return "".join(parts)


def _panel(ctx: MapContext, bases) -> str:
    df = bases[bases["level"].isin(_BASE_LEVELS)]  # siting also writes prefecture rows
    title = ctx.t("山西风光基地潜力与目标", "Shanxi wind & PV bases: potential vs target")
    parts = [f"<h4>{esc(title)}</h4>"]
    if TOTAL_TECHNOLOGY in set(df["technology"].astype(str)):  # more than one technology
        parts.append(_pivot_table(ctx, df))
    else:
        parts.append(_row_table(ctx, df))
    for note in ctx.notes:
        parts.append(f'<div class="sx-note">{esc(note)}</div>')
    return "".join(parts)


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
        If ``layers/vectors.gpkg`` (with a ``province`` layer), ``siting/bases.csv`` or both
        parcel files are missing, or a file the map reads lacks a column it uses.
    """
    province = read_run_table(ctx, "layers.vector", name="province", columns=[])
    bases = read_run_table(ctx, "siting.bases", columns=_BASES_COLUMNS)
    parcels = dataset("siting.parcels")
    known = _parcel_technologies()
    techs = [tech for tech in known if parcels.path_in(ctx.run_dir, tech=tech).is_file()]
    if not techs:
        paths = " nor ".join(parcels.relpath(tech=tech) for tech in known)
        raise RunFolderError(
            f"maps: run folder {ctx.run_dir} has neither {paths}; the siting map needs parcels "
            "of at least one technology; run 'sxplan demo' or the siting stage into it first"
        )
    m = new_map(_bounds(ctx, province), title=ctx.t("山西风光选址", "Shanxi wind & PV siting"))
    if not ctx.config.offline:
        ctx.notes.extend(
            add_base_layers(
                m, basemap=ctx.config.basemap or "osm", tianditu_key=ctx.config.tianditu_key
            )
        )
    for i, (tech, (zh, en)) in enumerate(known.items()):
        add_raster(
            m,
            ctx,
            run_path(ctx, "siting.suitability", tech=tech),
            key=f"suitability_{tech}",
            name=ctx.t(f"{zh}适宜性", f"{en} suitability"),
            ramp=_STYLE.get(tech, _DEFAULT_STYLE)[0],
            legend_title=ctx.t(f"{zh}适宜性得分", f"{en} suitability score"),
            show=i == 0,  # the first technology's suitability is shown on open
        )
    _add_boundaries(m, ctx, province)
    _add_context(m, ctx)
    _add_roadside(m, ctx)
    for tech, (zh, en) in known.items():
        if tech in techs:
            _add_parcels(m, ctx, tech, zh, en)
        else:
            ctx.missing(
                ctx.t(f"{zh}候选地块", f"{en} parcels"), parcels.path_in(ctx.run_dir, tech=tech)
            )
    _add_backtest(m, ctx)
    add_grid_connections(m, ctx)  # LCOE and connection lines (maps/_grid.py)
    HtmlControl(_panel(ctx, bases), position="topleft", css_class="sx-panel", key="panel").add_to(m)
    finish_map(m)
    return m
