"""Folium building blocks for sxplan maps (this module imports folium; import it lazily).

- :func:`new_map`: a ``folium.Map`` whose page loads nothing from a network: folium's default
  CDN assets (Leaflet, jQuery, Bootstrap, Font-Awesome, awesome-markers) are dropped and Leaflet
  is inlined from the installed ``xstatic-leaflet`` package; the map object is exposed as
  ``window.sxplanMap``.
- :class:`SafeGeoJson`: a GeoJSON layer whose popups and tooltips are HTML built and escaped
  in Python (folium's ``GeoJsonPopup``/``GeoJsonTooltip`` build raw HTML from attribute values
  in the browser, which would run markup inside a county or parcel name).
- :class:`HtmlControl`: a legend or panel (our own HTML) that can follow a layer's visibility.
- :func:`add_base_layers`: online base maps (OpenStreetMap, Tianditu, Amap).

Inputs: display-ready data from the other maps modules. Outputs: folium elements.
"""

from __future__ import annotations

from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template

from sxplan.errors import ConfigError
from sxplan.maps._assets import leaflet_head_html
from sxplan.maps._text import js_literal

__all__ = [
    "HtmlControl",
    "KeyedImageOverlay",
    "SafeGeoJson",
    "SharedGeoJson",
    "add_base_layers",
    "finish_map",
    "new_map",
]

_CSS = """
<style>
.folium-map { background: #f4f1ea; }
.sx-box { background: rgba(255,255,255,0.94); padding: 6px 9px; border-radius: 5px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.35); font: 12px/1.35 "Noto Sans CJK SC", "Microsoft YaHei",
  "PingFang SC", sans-serif; color: #222; max-width: 360px; }
.sx-box h4 { margin: 0 0 4px 0; font-size: 13px; }
.sx-panel { max-height: 50vh; overflow: auto; }
.sx-panel table, .sx-pop table { border-collapse: collapse; }
.sx-panel td, .sx-panel th, .sx-pop td, .sx-pop th { padding: 1px 5px; text-align: left;
  vertical-align: top; border-bottom: 1px solid #eee; font-weight: normal; }
.sx-pop th { color: #555; } .sx-pop td { font-weight: 600; }
.sx-pop .sx-sec { color: #222; font-weight: 700; padding-top: 5px; }
.sx-bar { height: 10px; width: 180px; border: 1px solid #999; margin: 2px 0; }
.sx-sw { display: inline-block; width: 14px; height: 10px; margin-right: 4px;
  border: 1px solid #777; vertical-align: middle; }
.sx-note { color: #7a4b00; margin-top: 4px; }
.sx-ok { color: #14632d; } .sx-short { color: #9b1c1c; }
.sx-label { background: transparent; border: 0; box-shadow: none; font-weight: 700;
  color: #3b2a7a; text-shadow: 0 0 3px #fff, 0 0 3px #fff; }
.sx-label::before { display: none; }
.sx-panel { max-width: 380px; font-size: 11px; }
.sx-panel table { width: 100%; }
.sx-panel td, .sx-panel th { padding: 1px 3px; white-space: nowrap; }
.sx-panel th small, .sx-panel td small { color: #666; font-size: 10px; }
.sx-panel td.sx-num, .sx-panel th.sx-num { text-align: right; }
.sx-panel td.sx-name { white-space: normal; min-width: 6em; max-width: 9em; }
.sx-panel .sx-note { white-space: normal; font-size: 10px; }
.sx-panel details > summary { cursor: pointer; font-weight: 700; font-size: 13px; }
.sx-headline { margin: 3px 0 4px 0; }
.sx-hl-k { color: #555; } .sx-hl-v { font-size: 14px; font-weight: 700; margin-bottom: 3px; }
.sx-ln { display: inline-block; width: 16px; height: 0; margin: 0 4px 3px 0;
  vertical-align: middle; }
.sx-item { white-space: normal; }
.sx-legend-title { max-width: 240px; }
.sx-group { font-weight: 700; color: #444; margin: 5px 0 1px 0; border-top: 1px solid #ddd;
  padding-top: 3px; font-size: 12px; }
.leaflet-control-layers { font: 12px/1.3 "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC",
  sans-serif; max-height: calc(56vh - 20px); overflow-y: auto; }
.sx-choice label { display: block; white-space: nowrap; }
.sx-text span { position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
  text-align: center; line-height: 1.15; pointer-events: none;
  font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; }
.sx-label-base span { font-size: 13px; font-weight: 700; color: #3b2a7a; }
.sx-text small { font-size: 10px; font-weight: 400; }
.leaflet-bottom.leaflet-right { max-height: 40vh; overflow-y: auto; overflow-x: hidden; }
.leaflet-bottom.leaflet-right .sx-box { font-size: 11px; max-width: 250px; }
.leaflet-control-layers-overlays label { margin: 0; line-height: 1.25; }
.sx-label-pref span { font-size: 12px; font-weight: 700; color: #333; }
.sx-label-county span { font-size: 11px; color: #333; }
.sx-label-county span::before { content: "●"; font-size: 7px; margin-right: 2px;
  vertical-align: middle; }
.sx-minz-8 span, .sx-minz-9 span { display: none; }
.sx-zoom-ge-8 .sx-minz-8 span, .sx-zoom-ge-9 .sx-minz-9 span { display: block; }
</style>
"""

_OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
_OSM_ATTR = "&copy; OpenStreetMap contributors"
_TDT_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk={key}"
)
_TDT_ATTR = "&copy; 天地图 Tianditu (国家地理信息公共服务平台)"
_AMAP_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)
_AMAP_ATTR = "&copy; 高德地图 AutoNavi (GCJ-02)"


class SharedGeoJson(MacroElement):
    """A FeatureCollection written once as a JS variable, drawn by several layers.

    Parameters
    ----------
    data : dict
        FeatureCollection; each feature's properties hold ``i`` (row index) and ``v`` (the
        popup values, already HTML-escaped).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.data_js }};
        {% endmacro %}
        """
    )

    def __init__(self, data: dict[str, Any]):
        super().__init__()
        self._name = "SharedGeoJson"
        self.data_js = js_literal(data)


class SafeGeoJson(Layer):
    """GeoJSON layer whose popups, tooltips and colours come from escaped, per-row data.

    Popups are a table of the layer's column labels (escaped in Python) and each feature's
    values ``v`` (escaped in Python); the browser only concatenates them, so no attribute
    value is ever parsed as markup. (folium's ``GeoJsonPopup``/``GeoJsonTooltip`` insert raw
    attribute values as HTML, which would run markup inside a county or parcel name.)

    Parameters
    ----------
    data : SharedGeoJson
        The features (properties ``i`` and ``v``), possibly shared with other layers.
    name : str
        Name in the layer control (escaped here).
    key : str
        Stable id of the layer (``window.sxplan.layers[key]``), used by tests and scripts.
    style : dict
        Leaflet path options for every feature.
    popup : dict, optional
        ``{"title": str, "cols": [str], "section_at": int or None, "section_title": str}``,
        every string already escaped; rows from ``section_at`` on sit under ``section_title``.
    tooltips : list of str, optional
        Escaped tooltip per row (index ``i``); empty strings get no tooltip.
    colors : list, optional
        ``#rrggbb`` (or None) per row, set on ``color_key``.
    color_key : {"fillColor", "color"}
        Which style option the per-row colour sets.
    label_permanent : bool
        Show tooltips as permanent labels (for base names).
    show : bool
        Visible when the map opens.
    control : bool
        Listed in the layer control.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function (data, spec, tips, colors, base, colorKey) {
            function popupHtml(v) {
                var h = '<div class="sx-pop">';
                if (spec.title) { h += '<b>' + spec.title + '</b>'; }
                h += '<table>';
                for (var k = 0; k < spec.cols.length; k++) {
                    if (k === spec.section_at) {
                        h += '<tr><th colspan="2" class="sx-sec">' + spec.section_title +
                            '</th></tr>';
                    }
                    h += '<tr><th>' + spec.cols[k] + '</th><td>' + v[k] + '</td></tr>';
                }
                return h + '</table></div>';
            }
            return L.geoJSON(data, {
                style: function (f) {
                    var s = Object.assign({}, base);
                    var c = colors && colors[f.properties.i];
                    if (c) { s[colorKey] = c; }
                    return s;
                },
                pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: 5}); },
                onEachFeature: function (f, layer) {
                    var p = f.properties;
                    if (spec && p.v) {
                        layer.bindPopup(function () { return popupHtml(p.v); },
                            {maxWidth: 380, maxHeight: 420});
                    }
                    var t = tips && tips[p.i];
                    if (t) { layer.bindTooltip(t, {{ this.tooltip_js }}); }
                }
            });
        })({{ this.data.get_name() }}, {{ this.popup_js }}, {{ this.tips_js }},
           {{ this.colors_js }}, {{ this.style_js }}, {{ this.color_key_js }});
        window.sxplan = window.sxplan || {layers: {}, legends: {}};
        window.sxplan.layers[{{ this.key_js }}] = {{ this.get_name() }};
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: SharedGeoJson,
        *,
        name: str,
        key: str,
        style: dict[str, Any],
        popup: dict[str, Any] | None = None,
        tooltips: list[str] | None = None,
        colors: list[str | None] | None = None,
        color_key: str = "fillColor",
        label_permanent: bool = False,
        show: bool = True,
        control: bool = True,
    ):
        import html

        super().__init__(name=html.escape(name), overlay=True, control=control, show=show)
        self._name = "SafeGeoJson"
        self.key = key
        self.data = data
        self.popup_js = js_literal(popup)
        self.tips_js = js_literal(tooltips)
        self.colors_js = js_literal(colors)
        self.style_js = js_literal(style)
        self.color_key_js = js_literal(color_key)
        self.key_js = js_literal(key)
        tooltip = (
            {"permanent": True, "direction": "center", "className": "sx-label"}
            if label_permanent
            else {"sticky": True}
        )
        self.tooltip_js = js_literal(tooltip)


class KeyedImageOverlay(Layer):
    """An ``L.imageOverlay`` registered as ``window.sxplan.layers[key]``.

    Parameters
    ----------
    url : str
        Image URL (a ``data:`` URL for offline maps).
    bounds : list
        ``[[south, west], [north, east]]`` in degrees.
    name : str
        Name in the layer control (escaped here).
    key : str
        Stable id of the layer.
    show : bool
        Visible when the map opens.
    pane : {"sxRasters", "sxBase"}
        Map pane: rasters sit under every vector layer (``sxRasters``), the hillshade under
        the rasters (``sxBase``).
    opacity : float
        Opacity of the image.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.imageOverlay({{ this.url_js }}, {{ this.bounds_js }},
            {opacity: {{ this.opacity }}, interactive: false, pane: {{ this.pane_js }}});
        window.sxplan = window.sxplan || {layers: {}, legends: {}};
        window.sxplan.layers[{{ this.key_js }}] = {{ this.get_name() }};
        {% endmacro %}
        """
    )

    def __init__(
        self,
        url: str,
        bounds: list,
        *,
        name: str,
        key: str,
        show: bool = True,
        pane: str = "sxRasters",
        opacity: float = 0.85,
    ):
        import html

        super().__init__(name=html.escape(name), overlay=True, control=True, show=show)
        self._name = "KeyedImageOverlay"
        self.pane_js = js_literal(pane)
        self.opacity = float(opacity)
        self.url_js = js_literal(url)
        self.bounds_js = js_literal(bounds)
        self.key_js = js_literal(key)


class HtmlControl(MacroElement):
    """A Leaflet control showing our own (already escaped) HTML: a legend or a panel.

    Parameters
    ----------
    html_text : str
        Inner HTML, every data value in it already escaped.
    position : str
        Leaflet control position, e.g. ``"bottomright"``.
    css_class : str
        Extra CSS class.
    follows : Layer, optional
        Show the control only while this layer is on the map.
    key : str, optional
        Stable id (``window.sxplan.legends[key]``).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position_js }}});
        {{ this.get_name() }}.onAdd = function () {
            var d = L.DomUtil.create('div', 'sx-box ' + {{ this.css_js }});
            d.innerHTML = {{ this.html_js }};
            L.DomEvent.disableClickPropagation(d);
            L.DomEvent.disableScrollPropagation(d);
            return d;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        window.sxplan = window.sxplan || {layers: {}, legends: {}};
        {%- if this.key_js %}
        window.sxplan.legends[{{ this.key_js }}] = {{ this.get_name() }};
        {%- endif %}
        {%- if this.follows %}
        (function (map, ctl, layer) {
            function sync() {
                ctl.getContainer().style.display = map.hasLayer(layer) ? '' : 'none';
            }
            map.on('overlayadd overlayremove layeradd layerremove', sync);
            sync();
        })({{ this._parent.get_name() }}, {{ this.get_name() }}, {{ this.follows.get_name() }});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        html_text: str,
        *,
        position: str = "bottomright",
        css_class: str = "",
        follows: Layer | None = None,
        key: str | None = None,
    ):
        super().__init__()
        self._name = "HtmlControl"
        self.html_js = js_literal(html_text)
        self.position_js = js_literal(position)
        self.css_js = js_literal(css_class)
        self.follows = follows
        self.key_js = js_literal(key) if key else ""


class _Panes(MacroElement):
    """Map panes under the vector overlays (400): ``sxBase`` (250) and ``sxRasters`` (350)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.createPane('sxBase').style.zIndex = 250;
        {{ this._parent.get_name() }}.createPane('sxRasters').style.zIndex = 350;
        {{ this._parent.get_name() }}.getPane('sxBase').style.pointerEvents = 'none';
        {{ this._parent.get_name() }}.getPane('sxRasters').style.pointerEvents = 'none';
        {% endmacro %}
        """
    )


class _ExposeMap(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.sxplanMap = {{ this._parent.get_name() }};
        window.sxplan = window.sxplan || {layers: {}, legends: {}};
        window.sxplan.ready = true;
        {% endmacro %}
        """
    )


def new_map(bounds: list, *, title: str) -> folium.Map:
    """Create a map fitted to ``bounds`` that loads no external asset.

    Parameters
    ----------
    bounds : list
        ``[[south, west], [north, east]]`` in degrees (the province).
    title : str
        Page title (escaped here).

    Returns
    -------
    folium.Map
        Map without tiles; Leaflet inlined in the page head.
    """
    import html

    (south, west), (north, east) = bounds
    m = folium.Map(
        location=[(south + north) / 2.0, (west + east) / 2.0],
        zoom_start=7,
        tiles=None,
        control_scale=False,
        zoom_snap=0.25,
    )
    # Drop folium's CDN assets (Leaflet, jQuery, Bootstrap, Font-Awesome, awesome-markers).
    m.default_js = []
    m.default_css = []
    root = m.get_root()
    root.title = html.escape(title)
    root.header.add_child(Element(leaflet_head_html()), name="leaflet_inline")
    root.header.add_child(Element(_CSS), name="sxplan_css")
    m.fit_bounds(bounds)
    from sxplan.maps._controls import MetricScale, ZoomClasses

    m.add_child(_Panes())
    m.add_child(MetricScale())
    m.add_child(ZoomClasses([8, 9]))
    return m


def add_base_layers(m: folium.Map, *, basemap: str, tianditu_key: str | None) -> list[str]:
    """Add online base maps; return notes (bilingual strings) for the panel.

    Parameters
    ----------
    m : folium.Map
        The map.
    basemap : {"osm", "tianditu", "amap"}
        Base map shown on open. OpenStreetMap is always offered and Tianditu too when a key
        is given; Amap (GCJ-02) is offered only when chosen, as the only base map, because the
        overlays are then shifted to GCJ-02 and would sit ~0.5 km off any other base map.
    tianditu_key : str, optional
        The user's Tianditu ``tk`` key.

    Returns
    -------
    list of str
        Notes for the summary panel (unescaped).

    Raises
    ------
    ConfigError
        If Tianditu is chosen without a key, or the base map is unknown.
    """
    notes: list[str] = []
    if basemap == "amap":
        folium.TileLayer(
            tiles=_AMAP_URL,
            attr=_AMAP_ATTR,
            name="高德地图 / Amap (GCJ-02)",
            subdomains="1234",
            max_zoom=18,
            show=True,
        ).add_to(m)
        notes.append(
            "叠加图层已由WGS84转换为GCJ-02以对齐高德底图 / Overlays shifted from WGS84 to "
            "GCJ-02 to match the Amap base map"
        )
        return notes
    if basemap not in ("osm", "tianditu"):
        raise ConfigError(
            f"maps: basemap {basemap!r} is unknown; use one of 'osm', 'tianditu', 'amap' "
            "(or none for an offline map)"
        )
    if basemap == "tianditu" and not tianditu_key:
        raise ConfigError(
            "maps: basemap 'tianditu' needs your Tianditu key; pass tianditu_key=... or set the "
            "TIANDITU_KEY environment variable (get one at the Tianditu developer console)"
        )
    folium.TileLayer(
        tiles=_OSM_URL,
        attr=_OSM_ATTR,
        name="OpenStreetMap",
        max_zoom=19,
        show=basemap == "osm",
    ).add_to(m)
    if tianditu_key:
        folium.TileLayer(
            tiles=_TDT_URL.replace("{layer}", "vec").replace("{key}", tianditu_key),
            attr=_TDT_ATTR,
            name="天地图 / Tianditu",
            subdomains="01234567",
            max_zoom=18,
            show=basemap == "tianditu",
        ).add_to(m)
        folium.TileLayer(
            tiles=_TDT_URL.replace("{layer}", "cva").replace("{key}", tianditu_key),
            attr=_TDT_ATTR,
            name="天地图注记 / Tianditu labels",
            subdomains="01234567",
            max_zoom=18,
            overlay=True,
            show=basemap == "tianditu",
        ).add_to(m)
    else:
        notes.append("未提供天地图密钥，未加载天地图 / No Tianditu key given, Tianditu not offered")
    return notes


def finish_map(m: folium.Map, groups: list[tuple[str, str]] = ()) -> None:
    """Add the layer control and expose the map as ``window.sxplanMap`` (call last).

    Parameters
    ----------
    m : folium.Map
        The map.
    groups : list of (str, str)
        Group headings of the layer control: (heading, unescaped; key of the group's first
        layer).
    """
    import html

    from sxplan.maps._controls import LayerGroupHeaders

    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    if groups:
        m.add_child(LayerGroupHeaders([(html.escape(h), n) for h, n in groups]))
    m.add_child(_ExposeMap())
