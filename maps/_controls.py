"""Map controls beyond folium's: a metric scale bar, a radio group, zoom-dependent labels, groups.

- :class:`MetricScale`: ``L.control.scale`` in metres and kilometres only (folium's
  ``control_scale`` also shows miles).
- :class:`ExclusiveGroup`: a control of radio buttons that shows at most one of several layers
  (choropleths that must not be stacked), with a "none" choice.
- :class:`ZoomClasses`: sets ``sx-z<zoom>`` style classes on the map container so CSS can show
  labels only at suitable zooms (county names from zoom 8 up).
- :class:`LayerGroupHeaders`: inserts group headings into the layer control.

Inputs: folium layers and escaped labels. Outputs: folium elements (this module imports folium;
import it lazily).
"""

from __future__ import annotations

from branca.element import MacroElement
from folium.template import Template

from sxplan.maps._text import js_literal

__all__ = ["ExclusiveGroup", "LayerGroupHeaders", "MetricScale", "ZoomClasses"]


class MetricScale(MacroElement):
    """A scale bar in metres/kilometres only (no miles)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, maxWidth: 160, position: 'bottomleft'})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "MetricScale"


class ExclusiveGroup(MacroElement):
    """Radio buttons that show one of several layers at a time (or none).

    The layers are not in the layer control; they are added to the map when chosen. A
    ``layeradd``/``layerremove`` event fires, so legends that follow a layer stay in step.

    Parameters
    ----------
    title : str
        Heading (already escaped).
    choices : list of (str, Layer)
        Escaped label and the layer it shows.
    none_label : str
        Label of the "show none" choice (already escaped).
    checked : int
        Index of the choice shown on open (``-1`` for none).
    key : str
        Stable id (``window.sxplan.groups[key]``).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, layers, labels, title, noneLabel, checked, key) {
            var ctl = L.control({position: 'topright'});
            ctl.onAdd = function () {
                var d = L.DomUtil.create('div', 'sx-box sx-choice');
                var h = '<h4>' + title + '</h4>';
                for (var i = -1; i < layers.length; i++) {
                    var lab = i < 0 ? noneLabel : labels[i];
                    h += '<label><input type="radio" name="sx-choice-' + key + '" value="' + i +
                        '"' + (i === checked ? ' checked' : '') + '> ' + lab + '</label>';
                }
                d.innerHTML = h;
                L.DomEvent.disableClickPropagation(d);
                L.DomEvent.disableScrollPropagation(d);
                d.addEventListener('change', function (e) { show(parseInt(e.target.value, 10)); });
                return d;
            };
            function show(k) {
                for (var i = 0; i < layers.length; i++) {
                    if (i === k) { if (!map.hasLayer(layers[i])) { map.addLayer(layers[i]); } }
                    else if (map.hasLayer(layers[i])) { map.removeLayer(layers[i]); }
                }
            }
            ctl.addTo(map);
            show(checked);
            window.sxplan = window.sxplan || {layers: {}, legends: {}};
            window.sxplan.groups = window.sxplan.groups || {};
            window.sxplan.groups[key] = {control: ctl, layers: layers, show: show};
        })({{ this._parent.get_name() }}, [
           {%- for layer in this.layers %}{{ layer.get_name() }},{% endfor %}],
           {{ this.labels_js }}, {{ this.title_js }}, {{ this.none_js }}, {{ this.checked }},
           {{ this.key_js }});
        {% endmacro %}
        """
    )

    def __init__(self, title: str, choices: list, *, none_label: str, checked: int, key: str):
        super().__init__()
        self._name = "ExclusiveGroup"
        self.layers = [layer for _, layer in choices]
        self.labels_js = js_literal([lab for lab, _ in choices])
        self.title_js = js_literal(title)
        self.none_js = js_literal(none_label)
        self.checked = int(checked)
        self.key_js = js_literal(key)


class ZoomClasses(MacroElement):
    """Keep classes ``sx-zoom-ge-<z>`` on the map container for each ``z`` in ``levels``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, levels) {
            function sync() {
                var z = map.getZoom(), el = map.getContainer();
                for (var i = 0; i < levels.length; i++) {
                    el.classList.toggle('sx-zoom-ge-' + levels[i], z >= levels[i]);
                }
            }
            map.on('zoomend', sync);
            sync();
        })({{ this._parent.get_name() }}, {{ this.levels_js }});
        {% endmacro %}
        """
    )

    def __init__(self, levels: list[int]):
        super().__init__()
        self._name = "ZoomClasses"
        self.levels_js = js_literal([int(z) for z in levels])


class LayerGroupHeaders(MacroElement):
    """Group headings in the layer control, each before the first layer of its group.

    Parameters
    ----------
    groups : list of (str, str)
        Escaped heading and the key (``window.sxplan.layers[key]``) of the group's first
        layer in the layer control, in the order the layers were added.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, groups) {
            // The layer control rebuilds its list whenever one of its layers is switched, so
            // the headings are put back after each rebuild.
            function insert() {
                var box = document.querySelector('.leaflet-control-layers-overlays');
                if (!box || box.querySelector('.sx-group')) { return; }
                var labels = box.querySelectorAll('label');
                groups.forEach(function (g) {
                    var layer = window.sxplan.layers[g[1]];
                    if (!layer) { return; }
                    var id = L.stamp(layer);
                    for (var i = 0; i < labels.length; i++) {
                        var input = labels[i].querySelector('input');
                        if (input && input.layerId === id) {
                            var h = document.createElement('div');
                            h.className = 'sx-group';
                            h.innerHTML = g[0];
                            box.insertBefore(h, labels[i]);
                            break;
                        }
                    }
                });
            }
            map.on('layeradd layerremove', function () { setTimeout(insert, 0); });
            insert();
        })({{ this._parent.get_name() }}, {{ this.groups_js }});
        {% endmacro %}
        """
    )

    def __init__(self, groups: list[tuple[str, str]]):
        super().__init__()
        self._name = "LayerGroupHeaders"
        self.groups_js = js_literal([list(g) for g in groups])
