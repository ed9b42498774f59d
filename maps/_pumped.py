"""Pumped-storage pairs on the siting map: upper and lower reservoirs and their tunnel lines.

A small builder kept apart from :mod:`sxplan.maps._siting` (which calls it in one line); it
reads ``siting/pumped_storage.gpkg`` through :mod:`sxplan.schema` like every map reader; a run
without the ``pumped_storage`` step draws nothing. The layers start hidden (not essentials).

Inputs: a :class:`~sxplan.maps._common.MapContext` and a folium map.
Outputs: three layers on the map (``ps_upper``, ``ps_lower``, ``ps_tunnel``).
"""

from __future__ import annotations

from sxplan.maps._common import add_vector, popup_columns, read_optional_table
from sxplan.schema import dataset

__all__ = ["add_pumped_storage"]

#: Columns the popups show (all columns stay in the GeoPackage).
_RESERVOIR = ("pair_id", "rank", "head_m", "energy_gwh", "elev_m", "wall_height_m", "volume_gl")
_TUNNEL = ("pair_id", "rank", "head_m", "energy_gwh", "distance_km", "power_mw")

_LAYERS = (
    ("upper", _RESERVOIR, "抽水蓄能上水库", "Pumped storage: upper reservoirs",
     {"color": "#08519c", "fillColor": "#3182bd", "weight": 2, "fillOpacity": 0.6}),
    ("lower", _RESERVOIR, "抽水蓄能下水库", "Pumped storage: lower reservoirs",
     {"color": "#2171b5", "fillColor": "#9ecae1", "weight": 2, "fillOpacity": 0.6}),
    ("tunnel", _TUNNEL, "抽水蓄能输水线路(直线)", "Pumped storage: tunnel lines (straight)",
     {"color": "#08306b", "weight": 3, "dashArray": "6 4"}),
)  # fmt: skip


def add_pumped_storage(m, ctx) -> None:
    """Add the reservoirs and tunnel lines of a pumped-storage run (absent: skipped)."""
    if not dataset("siting.pumped_upper").present_in(ctx.run_dir):
        return  # the run had no pumped_storage step
    for role, columns, zh, en, style in _LAYERS:
        gdf = read_optional_table(ctx, f"siting.pumped_{role}", columns=columns, zh=zh, en=en)
        if gdf is None:
            continue
        add_vector(
            m, ctx, gdf[[*columns, "geometry"]], key=f"pumped_{role}", name=ctx.t(zh, en),
            style=style, popup_columns=popup_columns(columns), show=False,
        )  # fmt: skip
