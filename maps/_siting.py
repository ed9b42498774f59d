"""The siting map: suitability, parcels, roadside PV, bases, boundaries, exclusions, highways.

Inputs (run folder): ``layers/vectors.gpkg`` (required: ``province``; optional: prefectures,
counties, bases, redline_proxy, water, highways), ``siting/bases.csv`` (required),
``siting/parcels_pv.gpkg`` and/or ``siting/parcels_wind.gpkg`` (at least one),
``siting/suitability_<tech>.tif`` and ``siting/roadside_pv_segments.gpkg`` (optional).
Outputs: a ``folium.Map`` (the caller writes it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sxplan.errors import LayerIOError
from sxplan.maps._common import (
    MapContext,
    add_raster,
    add_vector,
    continuous_legend,
    find_column,
    popup_columns,
    ramp_colors,
    read_optional_vector,
    require_file,
)
from sxplan.maps._elements import HtmlControl, add_base_layers, finish_map, new_map
from sxplan.maps._geo import list_layers, read_vector
from sxplan.maps._text import esc, format_value

__all__ = ["build_siting_map"]

_TECHS = {"pv": ("光伏", "PV"), "wind": ("风电", "Wind")}
_PARCEL_FIRST = (
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
    "id",
    "rank",
    "tech",
    "technology",
    "area_km2",
    "capacity_mw",
    "annual_energy_gwh",
    "energy_gwh_per_yr",
    "county",
    "county_name",
    "name",
    "adcode",
    "prefecture",
    "base",
    "bases",
    "base_name",
    "score_mean",
    "mean_score",
    "score_max",
    "max_score",
)
_CRITERIA_PREFIXES = ("crit_", "criterion_", "criteria_", "driver", "top_criteria", "score_")
_NOT_CRITERIA = ("score_mean", "score_max", "score_min")
_SCORE_CANDIDATES = ("score_mean", "mean_score", "score", "suitability_mean")
_YIELD_CANDIDATES = (
    "specific_yield_kwh_per_kwp",
    "yield_kwh_per_kwp",
    "energy_gwh_per_yr",
    "annual_energy_gwh",
    "energy_mwh_per_yr",
    "ghi_kwh_m2_yr",
)


def _bounds(ctx: MapContext, gdf) -> list:
    west, south, east, north = (float(v) for v in gdf.total_bounds)
    if ctx.to_gcj02:
        from sxplan.layers.datum import wgs84_to_gcj02

        lon, lat = wgs84_to_gcj02(np.array([west, east]), np.array([south, north]))
        west, east, south, north = float(lon[0]), float(lon[1]), float(lat[0]), float(lat[1])
    return [[south, west], [north, east]]


def _name_label(ctx: MapContext, row: pd.Series) -> str:
    zh_col = next((c for c in ("name_zh", "name", "base_name", "base") if c in row.index), None)
    en_col = next((c for c in ("name_en", "base_en", "name_english") if c in row.index), None)
    zh = format_value(row[zh_col]) if zh_col else ""
    en = format_value(row[en_col]) if en_col else ""
    if zh and en:
        return ctx.t(zh, en)
    return zh or en


def _edges(gdf):
    """Each shared boundary once, as lines (half the vertices of the polygons' rings)."""
    import geopandas as gpd
    import shapely

    lines = shapely.line_merge(shapely.union_all(gdf.boundary.to_numpy()))
    return gpd.GeoDataFrame(geometry=[lines], crs=gdf.crs)


def _add_boundaries(m, ctx: MapContext, vectors) -> None:
    counties = read_optional_vector(ctx, vectors, "counties", "县界", "County boundaries")
    if counties is not None:
        add_vector(
            m,
            ctx,
            _edges(counties),
            key="counties",
            name=ctx.t("县界", "County boundaries"),
            style={"color": "#8a8a8a", "weight": 0.8, "fill": False, "interactive": False},
        )
    prefectures = read_optional_vector(ctx, vectors, "prefectures", "市界", "Prefectures")
    if prefectures is not None:
        add_vector(
            m,
            ctx,
            _edges(prefectures),
            key="prefectures",
            name=ctx.t("市界", "Prefecture boundaries"),
            style={"color": "#555555", "weight": 1.6, "fill": False, "interactive": False},
        )
    province = read_vector(vectors, "province", what="province")
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


def _add_context(m, ctx: MapContext, vectors) -> None:
    for key, zh, en, name_zh, name_en, style in _CONTEXT_LAYERS:
        gdf = read_optional_vector(ctx, vectors, key, zh, en)
        if gdf is None:
            continue
        tooltip = (lambda r: _name_label(ctx, r)) if key == "highways" else None
        add_vector(m, ctx, gdf, key=key, name=ctx.t(name_zh, name_en), style=style, tooltip=tooltip)
    bases = read_optional_vector(ctx, vectors, "bases", "五大基地", "Bases")
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


_ROADSIDE_POPUP = (
    "strip_id", "road_ref", "road_name", "name", "prefecture", "side_compass", "facing_compass",
    "terrain_form", "panel_tilt_deg", "usable_strip_km", "capacity_mw",
    "specific_yield_kwh_per_kwp", "energy_gwh_per_yr", "score", "excluded_by",
)  # fmt: skip


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
    path = ctx.run_dir / "siting" / "roadside_pv_segments.gpkg"
    name = ctx.t("高速公路边坡光伏", "Roadside PV segments")
    if not path.is_file():
        ctx.missing(name, path)
        return
    seg = read_vector(path, None, what="roadside_pv_segments")
    if seg.empty:
        ctx.notes.append(f"{ctx.t('图层为空', 'empty layer')}: {name}")
        return
    # Strips are 5-20 m wide: drawn as polygons they vanish below zoom 14 and their vertices
    # dominate the page. Draw each strip's long axis as a line and keep the attributes a
    # planner reads in the popup (all columns remain in the GeoPackage).
    seg = seg.set_geometry(_strip_axes(seg.geometry))
    keep = [c for c in _ROADSIDE_POPUP if c in seg.columns]
    if keep:
        seg = seg[[*keep, "geometry"]]
    col = find_column(seg.columns, _YIELD_CANDIDATES, contains=("yield",), numeric_of=seg)
    colors = None
    layer_style = {"color": "#6a3d9a", "weight": 4, "opacity": 0.9}
    if col is not None:
        vals = seg[col].to_numpy(dtype=float)
        vmin, vmax = float(np.nanmin(vals)), float(np.nanmax(vals))
        colors = ramp_colors(vals, vmin, vmax, "yield")
    else:
        ctx.notes.append(ctx.t("路侧光伏段无产量字段，统一着色", "Roadside PV: no yield column"))
    layer = add_vector(
        m,
        ctx,
        seg,
        key="roadside_pv",
        name=name,
        style=layer_style,
        colors=colors,
        color_key="color",
        popup_columns=popup_columns(seg.columns),
    )
    if col is not None:
        HtmlControl(
            continuous_legend(f"{name}: {col}", "yield", vmin, vmax),
            follows=layer,
            key="roadside_pv",
        ).add_to(m)


def _add_parcels(m, ctx: MapContext, tech: str, path) -> None:
    zh, en = _TECHS[tech]
    name = ctx.t(f"{zh}候选地块", f"{en} parcels")
    parcels = read_vector(path, None, what=f"parcels_{tech}")
    if parcels.empty:
        ctx.notes.append(f"{ctx.t('图层为空', 'empty layer')}: {name}")
        return
    score = find_column(parcels.columns, _SCORE_CANDIDATES, contains=("score",), numeric_of=parcels)
    if score is not None:
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
    colors = None
    if score is not None:
        vals = parcels[score].to_numpy(dtype=float)
        lo, hi = float(np.nanmin(vals)), float(np.nanmax(vals))
        vmin, vmax = (0.0, 1.0) if lo >= 0 and hi <= 1 else (lo, hi)
        colors = ramp_colors(vals, vmin, vmax, "parcel")
    # Criterion values (crit_<name>) and their 0-1 scores (score_<name>) that drove the score.
    criteria = [
        c
        for c in parcels.columns
        if c.lower().startswith(_CRITERIA_PREFIXES) and c.lower() not in _NOT_CRITERIA
    ]

    def _tooltip(row: pd.Series) -> str:
        ident = next((row[c] for c in ("parcel_id", "id", "rank") if c in row.index), "")
        text = f"{name} {format_value(ident)}"
        if score is not None:
            text += f" · {format_value(row[score])}"
        return text

    layer = add_vector(
        m,
        ctx,
        parcels,
        key=f"parcels_{tech}",
        name=name,
        style={
            "color": "#2b0542" if tech == "pv" else "#08306b",
            "weight": 1.2,
            "fillColor": "#b467d6",
            "fillOpacity": 0.8,
        },
        colors=colors,
        popup_columns=popup_columns(parcels.columns, first=_PARCEL_FIRST, skip=criteria),
        section_columns=criteria,
        section_title=ctx.t("决定得分的指标", "Criteria behind the score"),
        tooltip=_tooltip,
    )
    if score is not None:
        HtmlControl(
            continuous_legend(f"{name}: {score}", "parcel", vmin, vmax),
            follows=layer,
            key=f"parcels_{tech}",
        ).add_to(m)


def _pivot_table(ctx: MapContext, df, base_col, en_col, tech_col, pot_col) -> str:
    """One row per base (and all bases, province): PV, wind and total GW against targets."""
    t = ctx.t
    wide = df.pivot_table(index="id", columns=tech_col, values=pot_col, aggfunc="first")
    first = df.drop_duplicates("id").set_index("id")
    for c in ("target_gw_2025", "target_gw_2030"):
        if c in df.columns:  # targets sit on one technology row (pv+wind); take it per base
            first[c] = df.groupby("id")[c].max()
    head = [t("基地", "Base"), t("光伏 GW", "PV GW"), t("风电 GW", "Wind GW"), t("合计", "Total")]
    targets = [c for c in ("target_gw_2025", "target_gw_2030") if c in first.columns]
    head += [t(f"目标 {c[-4:]}", f"Target {c[-4:]}") for c in targets]
    if targets:
        head.append(t("潜力/目标", "Potential/target") + f" {targets[-1][-4:]}")
    rows = ["<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>"]
    for bid in first.index:
        name = format_value(first.loc[bid, base_col])
        if en_col and ctx.language == "en":
            name = format_value(first.loc[bid, en_col])
        pv = float(wide.loc[bid].get("pv", np.nan))
        wind = float(wide.loc[bid].get("wind", np.nan))
        total = float(wide.loc[bid].get("pv+wind", pv + wind))
        cells = [esc(name), esc(f"{pv:,.1f}"), esc(f"{wind:,.1f}"), esc(f"{total:,.1f}")]
        for c in targets:
            tgt = float(first.loc[bid, c]) if pd.notna(first.loc[bid, c]) else np.nan
            if np.isfinite(tgt) and tgt > 0:
                cls = "sx-ok" if total >= tgt else "sx-short"
                cells.append(f'<span class="{cls}">{esc(f"{tgt:,.0f}")}</span>')
            else:
                cells.append("—")
        if targets:
            last = first.loc[bid, targets[-1]]
            if pd.notna(last) and float(last) > 0 and np.isfinite(total):
                ratio = total / float(last)
                cls = "sx-ok" if ratio >= 1 else "sx-short"
                cells.append(f'<span class="{cls}">{esc(f"{ratio:.0%}")}</span>')
            else:
                cells.append("—")
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


def _panel(ctx: MapContext, bases_csv) -> str:
    df = pd.read_csv(bases_csv, encoding="utf-8-sig")
    if "level" in df.columns:  # siting writes base, all-bases and province rows (and others)
        df = df[df["level"].isin(["base", "all_bases", "province"])]
    t = ctx.t
    title = t("山西风光基地潜力与目标", "Shanxi wind & PV bases: potential vs target")
    parts = [f"<h4>{esc(title)}</h4>"]
    base_col = find_column(df.columns, ("base", "base_name", "name_zh", "name"))
    en_col = find_column(df.columns, ("base_en", "name_en"))
    tech_col = find_column(df.columns, ("tech", "technology"))
    pot_col = find_column(
        df.columns, ("potential_gw",), contains=("potential", "gw"), numeric_of=df
    )
    tgt_col = find_column(
        df.columns,
        ("target_gw", "target_gw_2030", "target_gw_2025"),
        contains=("target", "gw"),
        numeric_of=df,
    )
    if (
        base_col
        and pot_col
        and tech_col
        and {"pv", "wind"} <= set(df[tech_col].astype(str))
        and "id" in df.columns
    ):
        parts.append(_pivot_table(ctx, df, base_col, en_col, tech_col, pot_col))
    elif base_col and pot_col:
        head = [t("基地", "Base")]
        if tech_col:
            head.append(t("技术", "Tech"))
        head.append(t("潜力 GW", "Potential GW"))
        if tgt_col:
            head += [
                t("目标 GW", "Target GW") + f" ({tgt_col})",
                t("潜力/目标", "Potential/target"),
            ]
        parts.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>")
        for _, row in df.iterrows():
            name = format_value(row[base_col])
            if en_col and ctx.language != "zh":
                name = t(name, format_value(row[en_col]))
            cells = [esc(name)]
            if tech_col:
                cells.append(esc(row[tech_col]))
            cells.append(esc(row[pot_col]))
            if tgt_col:
                cells.append(esc(row[tgt_col]))
                pot, tgt = float(row[pot_col]), float(row[tgt_col])
                if np.isfinite(pot) and np.isfinite(tgt) and tgt > 0:
                    ratio = pot / tgt
                    cls = "sx-ok" if ratio >= 1 else "sx-short"
                    cells.append(f'<span class="{cls}">{esc(f"{ratio:.0%}")}</span>')
                else:
                    cells.append("—")
            parts.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        parts.append("</table>")
    else:
        ctx.notes.append(
            t(
                "bases.csv 缺少基地名或潜力(GW)列",
                "bases.csv has no base-name or potential_gw column",
            )
        )
        parts.append("<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in df.columns) + "</tr>")
        for _, row in df.iterrows():
            parts.append("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row.to_numpy()) + "</tr>")
        parts.append("</table>")
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
    LayerIOError
        If ``layers/vectors.gpkg`` (with a ``province`` layer), ``siting/bases.csv`` or both
        parcel files are missing.
    """
    run = ctx.run_dir
    fix = "run 'sxplan demo' or the siting stage into this folder first"
    vectors = require_file(run / "layers" / "vectors.gpkg", "boundaries and context layers", fix)
    if "province" not in list_layers(vectors):
        raise LayerIOError(
            f"maps: {vectors} has no 'province' layer (found {list_layers(vectors)}); the layers "
            "stage writes it, re-run it"
        )
    bases_csv = require_file(run / "siting" / "bases.csv", "potential per base", fix)
    parcel_paths = {tech: run / "siting" / f"parcels_{tech}.gpkg" for tech in _TECHS}
    if not any(p.is_file() for p in parcel_paths.values()):
        raise LayerIOError(
            f"maps: neither {parcel_paths['pv']} nor {parcel_paths['wind']} exists; the siting "
            f"map needs parcels of at least one technology; {fix}"
        )
    province = read_vector(vectors, "province", what="province")
    m = new_map(_bounds(ctx, province), title=ctx.t("山西风光选址", "Shanxi wind & PV siting"))
    if not ctx.config.offline:
        ctx.notes.extend(
            add_base_layers(
                m, basemap=ctx.config.basemap or "osm", tianditu_key=ctx.config.tianditu_key
            )
        )
    for tech, (zh, en) in _TECHS.items():
        add_raster(
            m,
            ctx,
            run / "siting" / f"suitability_{tech}.tif",
            key=f"suitability_{tech}",
            name=ctx.t(f"{zh}适宜性", f"{en} suitability"),
            ramp="suitability" if tech == "pv" else "wind",
            legend_title=ctx.t(f"{zh}适宜性得分", f"{en} suitability score"),
            show=tech == "pv",
        )
    _add_boundaries(m, ctx, vectors)
    _add_context(m, ctx, vectors)
    _add_roadside(m, ctx)
    for tech, path in parcel_paths.items():
        if path.is_file():
            _add_parcels(m, ctx, tech, path)
        else:
            ctx.missing(ctx.t(f"{_TECHS[tech][0]}候选地块", f"{_TECHS[tech][1]} parcels"), path)
    HtmlControl(
        _panel(ctx, bases_csv), position="topleft", css_class="sx-panel", key="panel"
    ).add_to(m)
    finish_map(m)
    return m
