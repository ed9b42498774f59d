"""Default QGIS styles stored inside GeoPackages (the ``layer_styles`` table QGIS reads).

When QGIS opens a GeoPackage layer it looks for a row of ``layer_styles`` with the layer's
``f_table_name`` and ``useAsDefault = 1`` and applies its QML. :func:`style_geopackage` writes
that table (with the columns QGIS creates itself when a user saves a style to a GeoPackage)
and one row per feature layer: parcels in their technology's colour, the shortlist
categorised by technology, boundaries as outlines, roads as lines, and a plain symbol by
geometry type for anything else. The table is registered in ``gpkg_contents`` as attributes,
as QGIS and GDAL do, so GDAL lists it and the file stays a valid GeoPackage.

Times written (``update_time``, ``last_change``) are the styled layer's own ``last_change``,
so a rerun that writes the same layers writes the same bytes.

Inputs: a GeoPackage path. Outputs: its ``layer_styles`` table.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from xml.sax.saxutils import quoteattr

__all__ = ["TECH_COLOURS", "layer_qml", "style_geopackage", "style_run_geopackages"]

#: Fill colour per technology (RGB), as in the report figures.
TECH_COLOURS = {"pv": (230, 161, 0), "wind": (43, 123, 186), "roadside_pv": (138, 90, 158)}
_TECH_LABELS = {"pv": "光伏 / PV", "wind": "风电 / Wind", "roadside_pv": "边坡光伏 / Roadside PV"}

#: Layer name -> (kind, RGBA of fill or line, RGBA of outline, width mm).
_NAMED = {
    "province": ("outline", (0, 0, 0, 255), 0.8),
    "prefectures": ("outline", (70, 70, 70, 255), 0.5),
    "counties": ("outline", (140, 140, 140, 255), 0.26),
    "bases": ("outline", (192, 57, 43, 255), 0.7),
    "highways": ("line", (214, 96, 77, 255), 0.6),
    "roads": ("line", (214, 96, 77, 255), 0.6),
    "water": ("fill", (64, 128, 220, 160), 0.0),
    "redline_proxy": ("fill", (46, 139, 87, 90), 0.2),
    "redline": ("fill", (46, 139, 87, 90), 0.2),
}

_CREATE = """CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
  f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
  styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"""


def _rgba(c) -> str:
    return ",".join(str(int(v)) for v in (c if len(c) == 4 else (*c, 255)))


def _symbol(kind: str, colour, outline=(60, 60, 60, 255), width: float = 0.26, name="0") -> str:
    """One QGIS symbol: ``fill``, ``outline`` (fill without colour), ``line`` or ``marker``."""
    opts: dict[str, str]
    if kind in ("fill", "outline"):
        cls, typ = "SimpleFill", "fill"
        opts = {
            "color": _rgba(colour) if kind == "fill" else "0,0,0,0",
            "style": "solid" if kind == "fill" else "no",
            "outline_color": _rgba(outline if kind == "fill" else colour),
            "outline_width": f"{width:g}",
            "outline_width_unit": "MM",
            "outline_style": "solid",
        }
    elif kind == "line":
        cls, typ = "SimpleLine", "line"
        opts = {"line_color": _rgba(colour), "line_width": f"{width:g}", "line_width_unit": "MM"}
    else:
        cls, typ = "SimpleMarker", "marker"
        opts = {"color": _rgba(colour), "name": "circle", "size": "2", "size_unit": "MM",
                "outline_color": _rgba(outline)}  # fmt: skip
    options = "".join(
        f'<Option name="{k}" type="QString" value="{v}"/>' for k, v in sorted(opts.items())
    )
    return (
        f'<symbol name="{name}" type="{typ}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="{cls}" enabled="1" locked="0" pass="0"><Option type="Map">{options}'
        "</Option></layer></symbol>"
    )


def _qml(renderer: str) -> str:
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="3.28.0" styleCategories="Symbology">{renderer}</qgis>\n'
    )


def _kind_of(geometry_type: str) -> str:
    g = geometry_type.upper()
    if "POLYGON" in g or "SURFACE" in g:
        return "fill"
    if "LINE" in g or "CURVE" in g:
        return "line"
    return "marker"


def layer_qml(table: str, geometry_type: str, columns: list[str]) -> str:
    """The default QML style of a layer, from its name, geometry type and columns.

    Examples
    --------
    >>> "categorizedSymbol" in layer_qml("shortlist", "MULTIPOLYGON", ["technology"])
    True
    >>> 'value="230,161,0,170"' in layer_qml("parcels_pv", "MULTIPOLYGON", [])
    True
    """
    kind = _kind_of(geometry_type)
    single = '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
    if "technology" in columns and not table.startswith("parcels_"):
        cats, syms = [], []
        for i, (tech, rgb) in enumerate(TECH_COLOURS.items()):
            cats.append(
                f'<category render="true" symbol="{i}" value="{tech}" '
                f"label={quoteattr(_TECH_LABELS[tech])}/>"
            )
            syms.append(_symbol(kind, (*rgb, 200), (*rgb, 255), 0.4, name=str(i)))
        return _qml(
            '<renderer-v2 type="categorizedSymbol" attr="technology" symbollevels="0" '
            f'enableorderby="0" forceraster="0"><categories>{"".join(cats)}</categories>'
            f"<symbols>{''.join(syms)}</symbols></renderer-v2>"
        )
    tech = table.removeprefix("parcels_").removeprefix("shortlist_")
    if table.startswith("roadside_pv"):
        tech = "roadside_pv"
    if tech in TECH_COLOURS:
        rgb = TECH_COLOURS[tech]
        sym = _symbol(kind, (*rgb, 170), (*rgb, 255), 0.2)
    elif any(c.startswith("cover_") for c in columns):  # the sinks' county table
        sym = _symbol("fill", (39, 174, 96, 90), (90, 90, 90, 255), 0.26)
    elif table in _NAMED:
        named, colour, width = _NAMED[table]
        sym = _symbol(named if kind == "fill" else kind, colour, colour, width or 0.2)
    else:
        sym = _symbol(kind, (120, 120, 120, 140), (60, 60, 60, 255), 0.26)
    return _qml(f"{single}<symbols>{sym}</symbols></renderer-v2>")


def style_geopackage(path: str | os.PathLike) -> list[str]:
    """Store a default style for every feature layer of the GeoPackage at ``path``.

    Existing rows for those layers written by sxplan are replaced; styles a user saved
    under another name are kept.

    Returns
    -------
    list of str
        The layers styled.
    """
    con = sqlite3.connect(str(path))
    try:
        layers = con.execute(
            "SELECT c.table_name, g.column_name, g.geometry_type_name, c.last_change "
            "FROM gpkg_contents c JOIN gpkg_geometry_columns g ON g.table_name = c.table_name "
            "WHERE c.data_type = 'features' ORDER BY c.table_name"
        ).fetchall()
        if not layers:
            return []
        con.execute(_CREATE)
        stamp = min(str(r[3]) for r in layers)
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, "
            "last_change) VALUES ('layer_styles', 'attributes', 'layer_styles', "
            "'QGIS default styles (sxplan)', ?)",
            (stamp,),
        )
        for table, geom_col, geom_type, changed in layers:
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            con.execute(
                "DELETE FROM layer_styles WHERE f_table_name = ? AND owner = 'sxplan'", (table,)
            )
            con.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui, update_time) VALUES ('', '', ?, ?, ?, ?, '', 1, ?, 'sxplan', NULL, ?)",
                (table, geom_col, table, layer_qml(table, geom_type, cols),
                 "default style written by sxplan", str(changed)),
            )  # fmt: skip
        con.commit()
    finally:
        con.close()
    return [r[0] for r in layers]


def style_run_geopackages(folder: str | os.PathLike) -> dict[str, list[str]]:
    """Style every GeoPackage under ``folder``; returns ``{relative path: layers}``."""
    root = Path(folder)
    return {
        p.relative_to(root).as_posix(): style_geopackage(p) for p in sorted(root.rglob("*.gpkg"))
    }
