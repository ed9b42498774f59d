"""Place text labels inside their polygons without collisions, and draw them as a layer.

:func:`place_labels` works in a metric CRS. Each label gets a box (width and height in metres
at the zoom the map opens at); candidates are the pole of inaccessibility of the part of the
polygon no other polygon covers, then a grid of points inside that part (or inside the whole
polygon when the part is a sliver), kept only where the label box's centre lies inside the
polygon and inside the clip area (the province). Labels are placed largest polygon first; each
takes the candidate whose box overlaps the boxes placed before it least, and among those the one
deepest inside its polygon. So a label never sits outside its polygon or the province, and two
labels overlap only when no candidate avoids it.

:class:`TextLabels` draws the labels as a Leaflet layer of ``L.divIcon`` markers (escaped text).

Inputs: polygons (GeoSeries with a CRS). Outputs: label points in EPSG:4326; folium layers.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from folium.map import Layer
from folium.template import Template
from shapely.ops import polylabel

from sxplan.layers.grid import ALBERS_CHINA
from sxplan.maps._text import js_literal

__all__ = ["TextLabels", "label_box_m", "place_labels", "wrap_label"]

#: Metres per screen pixel at zoom 7 and latitude 37.5 (Web Mercator), the province view.
_M_PER_PX_Z7 = 156543.03392 / 2**7 * float(np.cos(np.radians(37.5)))


def label_box_m(text: str, *, font_px: float = 13.0, zoom: float = 7.0) -> tuple[float, float]:
    r"""Approximate box (width, height) in metres of a label at ``zoom``.

    CJK characters count one em, other characters 0.55 em; each ``\n`` starts a line.
    """
    lines = text.split("\n") or [""]
    ems = max(sum(1.0 if ord(ch) > 0x2E80 else 0.55 for ch in line) for line in lines)
    m_per_px = _M_PER_PX_Z7 * 2 ** (7 - zoom)
    return (ems * font_px + 6) * m_per_px, (len(lines) * font_px * 1.3 + 4) * m_per_px


def wrap_label(text: str, width: int = 22) -> str:
    r"""Break a long Latin label into lines of about ``width`` characters (CJK text unchanged).

    Examples
    --------
    >>> wrap_label("Northern Shanxi wind-PV-thermal-storage integrated export base")
    'Northern Shanxi\nwind-PV-thermal-storage\nintegrated export base'
    """
    import textwrap

    if any(ord(ch) > 0x2E80 for ch in text) or len(text) <= width:
        return text
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False))


def _candidates(part, whole, n: int = 9) -> list:
    pts = [polylabel(part, tolerance=max(part.length / 2000.0, 1.0))]
    minx, miny, maxx, maxy = part.bounds
    xs, ys = np.linspace(minx, maxx, n + 2)[1:-1], np.linspace(miny, maxy, n + 2)[1:-1]
    grid = shapely.points(*(a.ravel() for a in np.meshgrid(xs, ys)))
    pts += [p for p in grid if part.contains(p)]
    return [p for p in pts if whole.contains(p)]


def _largest_polygon(geom):
    if geom.geom_type == "Polygon":
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
    return max(parts, key=lambda g: g.area) if parts else geom


def place_labels(
    polygons: gpd.GeoSeries,
    texts: list[str],
    *,
    clip=None,
    zoom: float = 7.0,
    placed: list | None = None,
) -> gpd.GeoSeries:
    r"""Label points inside each polygon (and ``clip``), avoiding earlier labels' boxes.

    Parameters
    ----------
    polygons : geopandas.GeoSeries
        One polygon per label, with a CRS.
    texts : list of str
        Label text (lines split by ``\n``), for the box size.
    clip : shapely geometry, optional
        Area the labels must stay inside (the province), in ``polygons.crs``.
    zoom : float
        Zoom the boxes are sized for.
    placed : list, optional
        Boxes ``(x, y, half width, half height)`` (metres, Albers) of labels placed before,
        to avoid; the new boxes are appended, so several calls share one list.

    Returns
    -------
    geopandas.GeoSeries
        One point per polygon, EPSG:4326 (empty point for an empty polygon).

    Examples
    --------
    Two overlapping squares: each label lies in the part only its own square covers.

    >>> from shapely.geometry import box
    >>> sq = gpd.GeoSeries([box(0, 0, 4e5, 4e5), box(2e5, 0, 6e5, 4e5)], crs=ALBERS_CHINA)
    >>> pts = place_labels(sq, ["甲", "乙"]).to_crs(ALBERS_CHINA)
    >>> bool(pts.iloc[0].x < 2e5 < pts.iloc[1].x)
    True
    """
    # Simplified (300 m, far below a label's size) so the overlaps are cheap to compute.
    metric = polygons.to_crs(ALBERS_CHINA).simplify(300.0)
    geoms = [shapely.make_valid(g) if g is not None else None for g in metric]
    area = metric.crs is not None and clip is not None
    clip_m = None
    if area:
        clip_m = gpd.GeoSeries([clip], crs=polygons.crs).to_crs(ALBERS_CHINA).iloc[0]
        shapely.prepare(clip_m)
    order = sorted(range(len(geoms)), key=lambda i: -(geoms[i].area if geoms[i] else 0.0))
    placed = [] if placed is None else placed  # x, y, half width, half height (metres)
    out = [shapely.Point() for _ in geoms]
    for i in order:
        g = geoms[i]
        if g is None or g.is_empty:
            continue
        whole = g if clip_m is None else g.intersection(clip_m)
        if whole.is_empty:
            whole = g
        others = [geoms[j] for j in range(len(geoms)) if j != i and geoms[j] is not None]
        own = whole.difference(shapely.union_all(others)) if others else whole
        part = _largest_polygon(own if own.area > 0.15 * whole.area else whole)
        cands = _candidates(part, whole) or [shapely.point_on_surface(whole)]
        w, h = label_box_m(texts[i], zoom=zoom)
        best, best_key = cands[0], None
        area_in = clip_m if clip_m is not None else None
        for p in cands:
            overlap = sum(
                max(0.0, w / 2 + hw - abs(p.x - x)) * max(0.0, h / 2 + hh - abs(p.y - y))
                for x, y, hw, hh in placed
            )
            outside = 0.0
            if area_in is not None:  # share of the label box's corners outside the province
                xs = np.array([p.x - w / 2, p.x + w / 2, p.x - w / 2, p.x + w / 2])
                ys = np.array([p.y - h / 2, p.y - h / 2, p.y + h / 2, p.y + h / 2])
                outside = 1.0 - float(np.mean(shapely.contains_xy(area_in, xs, ys)))
            depth = whole.boundary.distance(p)
            key = (round(overlap / max(w * h, 1.0), 2), round(outside, 2), -depth)
            if best_key is None or key < best_key:
                best, best_key = p, key
        placed.append((best.x, best.y, w / 2, h / 2))
        out[i] = best
    return gpd.GeoSeries(out, crs=ALBERS_CHINA).to_crs("EPSG:4326")


class TextLabels(Layer):
    """Text labels at points, as a Leaflet layer (``window.sxplan.layers[key]``).

    Parameters
    ----------
    points : list of (float, float, str)
        Latitude, longitude and the escaped label HTML (lines joined with ``<br>``).
    name : str
        Layer-control name (escaped here).
    key : str
        Stable id.
    css_class : str
        Class of the label element (``sx-label-base``, ``sx-label-county``...).
    show : bool
        Visible on open.
    control : bool
        Listed in the layer control.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.layerGroup({{ this.points_js }}.map(function (p) {
            return L.marker([p[0], p[1]], {interactive: false, keyboard: false,
                icon: L.divIcon({className: 'sx-text ' + {{ this.css_js }}, iconSize: null,
                                 html: '<span>' + p[2] + '</span>'})});
        }));
        window.sxplan = window.sxplan || {layers: {}, legends: {}};
        window.sxplan.layers[{{ this.key_js }}] = {{ this.get_name() }};
        {% endmacro %}
        """
    )

    def __init__(
        self,
        points: list,
        *,
        name: str,
        key: str,
        css_class: str,
        show: bool = True,
        control: bool = True,
    ):
        import html

        super().__init__(name=html.escape(name), overlay=True, control=control, show=show)
        self._name = "TextLabels"
        self.points_js = js_literal([[round(a, 5), round(b, 5), t] for a, b, t in points])
        self.css_js = js_literal(css_class)
        self.key_js = js_literal(key)
