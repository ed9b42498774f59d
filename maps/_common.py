"""Shared steps of the siting and sinks maps: context, run-folder reads, layers, legends, notes.

Every file of the run folder is read through :mod:`sxplan.schema` (:func:`read_run_table`,
:func:`read_optional_table`, :func:`run_path`): dataset keys and the exact column names the
schema defines, never a guessed name. An optional file that is absent is skipped and noted on
the map; a file that is present but lacks a column the map uses raises
:class:`~sxplan.errors.RunFolderError` naming the file and the column.

Inputs: a run folder and :class:`sxplan.maps.config.MapsConfig`. Outputs: folium layers added to a
map.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from sxplan.maps._geo import display_geometries, feature_collection, to_wgs84
from sxplan.maps._raster import RAMPS, ramp_css, read_overlay
from sxplan.maps._text import esc, label, popup_spec
from sxplan.maps.config import MapsConfig
from sxplan.schema import dataset, read_table

__all__ = [
    "add_boundary_lines",
    "boundary_edges",
    "MapContext",
    "add_raster",
    "add_vector",
    "class_breaks",
    "class_colors",
    "continuous_legend",
    "classes_legend",
    "popup_columns",
    "read_optional_table",
    "read_run_table",
    "run_path",
    "shared_features",
    "swatch_legend",
]


@dataclass
class MapContext:
    """What every map step needs: the run folder, settings, and notes for the panel."""

    run_dir: Path
    config: MapsConfig
    notes: list[str] = field(default_factory=list)
    layer_keys: list[str] = field(default_factory=list)

    @property
    def language(self) -> str:
        """Label language."""
        return self.config.language

    @property
    def to_gcj02(self) -> bool:
        """Shift overlays to GCJ-02 (only for an online Amap base map)."""
        return (not self.config.offline) and self.config.basemap == "amap"

    def t(self, zh: str, en: str) -> str:
        """Bilingual label (unescaped)."""
        return label(zh, en, self.config.language)  # type: ignore[arg-type]

    def missing(self, what: str, path: Path) -> None:
        """Record an optional input that was not found (``what`` is a display label)."""
        rel = path.relative_to(self.run_dir) if path.is_relative_to(self.run_dir) else path
        self.notes.append(f"{self.t('未找到，已跳过', 'not found, skipped')}: {what} ({rel})")

    def empty(self, what: str, path: Path) -> None:
        """Record an input that exists but holds nothing to draw (an empty result)."""
        rel = path.relative_to(self.run_dir) if path.is_relative_to(self.run_dir) else path
        self.notes.append(
            f"{self.t('结果为空，未绘制', 'empty result, not drawn')}: {what} ({rel})"
        )


def run_path(ctx: MapContext, key: str, **fields: str) -> Path:
    """Path of dataset ``key`` (:mod:`sxplan.schema`) in the run folder."""
    return dataset(key).path_in(ctx.run_dir, **fields)


def read_run_table(ctx: MapContext, key: str, *, columns: Sequence[str], **fields: str):
    """Read a table of the run folder through the schema; GeoPackage layers come in EPSG:4326.

    Parameters
    ----------
    ctx : MapContext
        The run folder.
    key : str
        Dataset key in :data:`sxplan.schema.DATASETS`.
    columns : sequence of str
        Exact schema column names the map uses.
    **fields : str
        Placeholders of the path or layer (``tech="pv"``, ``name="province"``).

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame

    Raises
    ------
    RunFolderError
        If the file, its layer or one of ``columns`` is missing (the message names it).
    CRSError
        If a GeoPackage layer has no CRS.
    """
    ds = dataset(key)
    frame = read_table(ctx.run_dir, key, columns=columns, **fields)
    if ds.kind == "gpkg":
        where = f"'{ds.layer_name(**fields)}' ({ds.relpath(**fields)})"
        frame = to_wgs84(frame, what=where)
    return frame


def read_optional_table(
    ctx: MapContext, key: str, *, columns: Sequence[str], zh: str, en: str, **fields: str
):
    """Like :func:`read_run_table`, but an absent file is noted on the map and gives None.

    For the layers of ``layers/vectors.gpkg`` (one file, many layers), an absent layer is
    skipped the same way. A present file is read and checked like a required one, so a file
    that lacks a column the map uses raises. An empty layer is noted and gives None.
    """
    ds = dataset(key)
    path = ds.path_in(ctx.run_dir, **fields)
    shared_file = ds.path == dataset("layers.vectors").path
    if not path.is_file() or (shared_file and not ds.present_in(ctx.run_dir, **fields)):
        where = path / ds.layer_name(**fields) if path.is_file() else path
        ctx.missing(ctx.t(zh, en), where)
        return None
    frame = read_run_table(ctx, key, columns=columns, **fields)
    if frame.empty:
        ctx.notes.append(f"{ctx.t('图层为空', 'empty layer')}: {ctx.t(zh, en)}")
        return None
    return frame


def popup_columns(
    columns: Sequence[str], first: Sequence[str] = (), skip: Sequence[str] = ()
) -> list[str]:
    """Every attribute column, the ``first`` ones (when present) leading; ``skip`` left out."""
    cols = [c for c in columns if c != "geometry" and c not in skip]
    return [c for c in first if c in cols] + [c for c in cols if c not in first]


def class_breaks(values: np.ndarray, n: int = 5) -> list[float]:
    """Quantile class edges (n+1 values, strictly increasing where the data allow).

    Parameters
    ----------
    values : numpy.ndarray
        Data values (NaN ignored).
    n : int
        Number of classes.

    Returns
    -------
    list of float
        Edges from min to max; fewer classes when values repeat.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return []
    edges = np.unique(np.quantile(v, np.linspace(0.0, 1.0, n + 1)))
    if edges.size == 1:
        edges = np.array([edges[0], edges[0]])
    return [float(e) for e in edges]


def class_colors(ramp: str, n: int) -> list[str]:
    """Return ``n`` colours sampled evenly along a ramp."""
    stops = RAMPS[ramp]
    pos = np.array([p for p, _ in stops])
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for _, c in stops], dtype=float)
    out = []
    for t in np.linspace(0.0, 1.0, max(n, 1)) if n > 1 else [1.0]:
        r, g, b = (int(round(np.interp(t, pos, rgb[:, k]))) for k in range(3))
        out.append(f"#{r:02x}{g:02x}{b:02x}")
    return out


def classify(values: np.ndarray, edges: list[float], colors: list[str]) -> list[str | None]:
    """Colour of each value's class (None for NaN)."""
    out: list[str | None] = []
    inner = np.asarray(edges[1:-1], dtype=float)
    for v in np.asarray(values, dtype=float):
        if not np.isfinite(v):
            out.append(None)
            continue
        out.append(colors[min(int(np.searchsorted(inner, v, side="right")), len(colors) - 1)])
    return out


def _edge(value: float) -> str:
    """A class edge for a legend, rounded (:func:`sxplan.maps._popups.round_number`)."""
    from sxplan.maps._popups import round_number

    return round_number(value)


def classes_legend(title: str, edges: list[float], colors: list[str]) -> str:
    """Legend HTML of classed colours (title escaped here)."""
    parts = [f'<h4 class="sx-legend-title">{esc(title)}</h4>']
    for i, color in enumerate(colors):
        lo, hi = edges[i], edges[min(i + 1, len(edges) - 1)]
        parts.append(
            f'<div><span class="sx-sw" style="background:{color}"></span>'
            f"{esc(_edge(lo))} – {esc(_edge(hi))}</div>"
        )
    return "".join(parts)


def continuous_legend(title: str, ramp: str, vmin: float, vmax: float) -> str:
    """Legend HTML of a colour ramp, ends and middle rounded (title escaped here)."""
    ticks = (vmin, (vmin + vmax) / 2.0, vmax)
    return (
        f'<h4 class="sx-legend-title">{esc(title)}</h4>'
        f'<div class="sx-bar" style="background:{ramp_css(ramp)}"></div>'
        f'<div style="display:flex;justify-content:space-between;width:182px">'
        + "".join(f"<span>{esc(_edge(v))}</span>" for v in ticks)
        + "</div>"
    )


def swatch_legend(title: str, items: Sequence[tuple[str, str, str]]) -> str:
    """Legend HTML of named swatches: ``(colour, label, kind)``, kind ``fill|line|dash``."""
    parts = [f'<h4 class="sx-legend-title">{esc(title)}</h4>']
    for color, text, kind in items:
        if kind == "fill":
            sw = f'<span class="sx-sw" style="background:{color}"></span>'
        else:
            dash = "dashed" if kind == "dash" else "solid"
            sw = f'<span class="sx-ln" style="border-top:3px {dash} {color}"></span>'
        parts.append(f'<div class="sx-item">{sw}{esc(text)}</div>')
    return "".join(parts)


def shared_features(
    m,
    ctx: MapContext,
    gdf: gpd.GeoDataFrame,
    *,
    popup_columns: Sequence[str] = (),
    coverage: bool = False,
):
    """Write a layer's display geometry and escaped popup values once; return the element.

    Parameters
    ----------
    m : folium.Map
        The map.
    ctx : MapContext
        Settings.
    gdf : geopandas.GeoDataFrame
        Features with their attributes (any CRS).
    popup_columns : sequence of str
        Columns whose values (escaped) go into each feature's ``v``; empty for no popup.
    coverage : bool
        Polygons tile the plane (simplify shared edges once).

    Returns
    -------
    SharedGeoJson
        Added to ``m``; pass it to :func:`add_vector` as ``shared``.
    """
    from sxplan.maps._elements import SharedGeoJson

    geoms = display_geometries(
        gdf,
        tolerance_m=ctx.config.simplify_tolerance_m,
        decimals=ctx.config.coordinate_decimals,
        coverage=coverage,
        to_gcj02=ctx.to_gcj02,
    )
    cols = list(popup_columns)
    values = gdf[cols].to_numpy(dtype=object) if cols else None
    props = []
    for i in range(len(gdf)):
        p: dict[str, Any] = {"i": i}
        if values is not None:
            p["v"] = [esc(v) for v in values[i]]
        props.append(p)
    shared = SharedGeoJson(feature_collection(geoms, props))
    m.add_child(shared)
    return shared


def add_vector(
    m,
    ctx: MapContext,
    gdf: gpd.GeoDataFrame,
    *,
    key: str,
    name: str,
    style: dict[str, Any],
    popup_columns: Sequence[str] = (),
    section_columns: Sequence[str] = (),
    section_title: str | None = None,
    tooltip: Callable[[pd.Series], str] | None = None,
    colors: Sequence[str | None] | None = None,
    color_key: str = "fillColor",
    label_permanent: bool = False,
    coverage: bool = False,
    show: bool = True,
    shared=None,
    control: bool = True,
):
    """Add a vector layer with escaped popups and tooltips; return the folium layer.

    Parameters
    ----------
    m : folium.Map
        The map.
    ctx : MapContext
        Settings and notes.
    gdf : geopandas.GeoDataFrame
        Features with their attributes.
    key : str
        Stable layer id.
    name : str
        Layer-control name and popup title (unescaped; escaped here).
    style : dict
        Leaflet path options.
    popup_columns, section_columns : sequence of str
        Columns shown in the popup (the section under ``section_title``); none: no popup.
    section_title : str, optional
        Heading of the section.
    tooltip : callable, optional
        Row -> plain text (escaped here); empty text gives no tooltip.
    colors : sequence, optional
        Per-row colour (``#rrggbb``) set on ``color_key``.
    color_key : {"fillColor", "color"}
        Style option the per-row colour sets.
    label_permanent : bool
        Tooltips shown as permanent labels.
    coverage : bool
        Polygons tile the plane (simplify shared edges once).
    show : bool
        Visible on open.
    shared : SharedGeoJson, optional
        Features already written by :func:`shared_features` with the same popup columns.
    control : bool
        Listed in the layer control (False for layers a radio group switches).

    Returns
    -------
    SafeGeoJson
        The layer (already added to ``m``).
    """
    from sxplan.maps._elements import SafeGeoJson

    all_cols = [*popup_columns, *section_columns]
    if shared is None:
        shared = shared_features(m, ctx, gdf, popup_columns=all_cols, coverage=coverage)
    popup = None
    if all_cols:
        popup = popup_spec(
            popup_columns,
            title=name,
            language=ctx.language,  # type: ignore[arg-type]
            section_columns=section_columns,
            section_title=section_title,
        )
    tips = None
    if tooltip is not None:
        tips = [esc(tooltip(row)) if tooltip(row) else "" for _, row in gdf.iterrows()]
    layer = SafeGeoJson(
        shared,
        name=name,
        key=key,
        style=style,
        popup=popup,
        tooltips=tips,
        colors=list(colors) if colors is not None else None,
        color_key=color_key,
        label_permanent=label_permanent,
        show=show,
        control=control,
    )
    layer.add_to(m)
    ctx.layer_keys.append(key)
    return layer


def add_raster(
    m,
    ctx: MapContext,
    path: Path,
    *,
    key: str,
    name: str,
    ramp: str,
    legend_title: str,
    show: bool = True,
    positive_only: bool = False,
):
    """Add a raster overlay with a legend, or note it as missing; return the layer or None."""
    from sxplan.maps._elements import HtmlControl, KeyedImageOverlay

    if not path.is_file():
        ctx.missing(name, path)
        return None
    if not _has_valid_cell(path):  # an empty result (no eligible land) is drawn as a note
        ctx.empty(name, path)
        return None
    overlay = read_overlay(
        path,
        what=key,
        max_px=ctx.config.raster_max_px,
        ramp=ramp,
        to_gcj02=ctx.to_gcj02,
        positive_only=positive_only,
    )
    layer = KeyedImageOverlay(overlay.url, overlay.bounds, name=name, key=key, show=show)
    layer.add_to(m)
    ctx.layer_keys.append(key)
    HtmlControl(
        continuous_legend(legend_title, ramp, overlay.vmin, overlay.vmax),
        follows=layer,
        key=key,
    ).add_to(m)
    return layer


def _has_valid_cell(path: Path) -> bool:
    """Whether a readable raster has at least one valid cell (read block by block)."""
    import rasterio

    try:
        with rasterio.open(path) as src:
            return any(src.read_masks(1, window=w).any() for _, w in src.block_windows(1))
    except rasterio.errors.RasterioIOError:
        return True  # unreadable: read_overlay gives the message


def ramp_colors(values, vmin: float, vmax: float, ramp: str) -> list[str | None]:
    """Hex colour of each value along a continuous ramp (None for NaN)."""
    from sxplan.maps._raster import colorize

    v = np.asarray(values, dtype=float).reshape(1, -1)
    rgba = colorize(v, vmin, vmax, ramp)
    out: list[str | None] = []
    for i in range(v.shape[1]):
        if not np.isfinite(v[0, i]):
            out.append(None)
        else:
            out.append("#{:02x}{:02x}{:02x}".format(*(int(rgba[b, 0, i]) for b in range(3))))
    return out


def boundary_edges(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Each shared boundary once, as lines (half the vertices of the polygons' rings)."""
    import shapely

    lines = shapely.line_merge(shapely.union_all(gdf.boundary.to_numpy()))
    return gpd.GeoDataFrame(geometry=[lines], crs=gdf.crs)


def add_boundary_lines(
    m,
    ctx: MapContext,
    key: str,
    *,
    zh: str,
    en: str,
    style: dict,
    layer_key: str | None = None,
    show: bool = True,
    **fields: str,
):
    """Draw an optional polygon layer of the run folder as its shared edges, lines only.

    Parameters
    ----------
    m : folium.Map
        The map.
    ctx : MapContext
        The map's run folder and settings.
    key : str
        Dataset key in :mod:`sxplan.schema` (``layers.counties``, ``layers.vector``).
    zh, en : str
        Layer name in Chinese and English.
    style : dict
        Leaflet path style (``fill`` and ``interactive`` are turned off).
    layer_key : str, optional
        Stable layer id; default the layer name (or the dataset's last key part).
    show : bool
        Visible on open.
    **fields : str
        Placeholders of the dataset (``name="prefectures"``).

    Returns
    -------
    SafeGeoJson or None
        The layer, or None when the layer is absent.
    """
    gdf = read_optional_table(ctx, key, columns=[], zh=zh, en=en, **fields)
    if gdf is None:
        return None
    return add_vector(
        m,
        ctx,
        boundary_edges(gdf),
        key=layer_key or fields.get("name", key.rsplit(".", 1)[-1]),
        name=ctx.t(zh, en),
        style={**style, "fill": False, "interactive": False},
        show=show,
    )
