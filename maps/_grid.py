"""Grid connections on the siting map: shortlisted parcels' connection lines and substations.

Lines are coloured by the parcel's LCOE; the substations drawn are those they connect to.

Read only through :mod:`sxplan.schema` (``siting.grid_connections``, ``siting.grid_substations``,
``siting.shortlist``); a run without ``siting.economics`` has no such file and the layer is
left out silently (economics are optional).

Inputs: a run folder. Outputs: two layers and a legend added to a folium map.
"""

from __future__ import annotations

import numpy as np

from sxplan.maps._common import (
    MapContext,
    add_vector,
    continuous_legend,
    ramp_colors,
    read_run_table,
)
from sxplan.maps._elements import HtmlControl
from sxplan.schema import dataset

__all__ = ["add_grid_connections"]

_CONNECTION_COLUMNS = (
    "parcel_id", "technology", "lcoe_cny_per_kwh", "grid_substation", "grid_voltage_kv",
    "grid_distance_km", "grid_straight_km", "connection_cost_mcny",
)  # fmt: skip
_SUBSTATION_COLUMNS = ("name", "voltage_kv", "spare_mw", "spare_left_mw")


def add_grid_connections(m, ctx: MapContext) -> None:
    """Connection lines of the shortlisted parcels (LCOE colours) and their substations."""
    if not dataset("siting.grid_connections").present_in(ctx.run_dir):
        return  # economics not configured: nothing to draw, nothing missing
    conn = read_run_table(ctx, "siting.grid_connections", columns=_CONNECTION_COLUMNS)
    short = read_run_table(ctx, "siting.shortlist", columns=["parcel_id"])
    conn = conn[conn["parcel_id"].isin(set(short["parcel_id"]))]
    if conn.empty:
        ctx.notes.append(ctx.t("图层为空: 并网线路", "empty layer: grid connections"))
        return
    subs = read_run_table(ctx, "siting.grid_substations", columns=_SUBSTATION_COLUMNS)
    subs = subs[subs["name"].isin(set(conn["grid_substation"]))]
    albers = subs.geometry.to_crs("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84")
    subs = subs.set_geometry(albers.buffer(1500).to_crs(subs.crs))  # discs draw offline
    add_vector(
        m, ctx, subs[[*_SUBSTATION_COLUMNS, "geometry"]], key="grid_substations",
        name=ctx.t("变电站(所连)", "Substations (connected)"),
        style={"color": "#000000", "weight": 1, "fillColor": "#ffd92f", "fillOpacity": 0.9},
        popup_columns=list(_SUBSTATION_COLUMNS),
        tooltip=lambda r: f"{r['name']} {r['voltage_kv']:g} kV", show=False,
    )  # fmt: skip
    vals = conn["lcoe_cny_per_kwh"].to_numpy(dtype=float)
    vmin, vmax = float(np.nanmin(vals)), float(np.nanmax(vals))
    name = ctx.t("并网线路(短名单, 按度电成本着色)", "Grid connections (shortlist, by LCOE)")
    layer = add_vector(
        m, ctx, conn[[*_CONNECTION_COLUMNS, "geometry"]], key="grid_connections", name=name,
        style={"color": "#333333", "weight": 3, "opacity": 0.9},
        colors=ramp_colors(vals, vmin, vmax, "suitability"), color_key="color",
        popup_columns=list(_CONNECTION_COLUMNS),
        tooltip=lambda r: f"{r['parcel_id']}: {r['lcoe_cny_per_kwh']:.3f} CNY/kWh", show=False,
    )  # fmt: skip
    HtmlControl(
        continuous_legend(ctx.t("度电成本 LCOE 元/kWh", "LCOE CNY/kWh"), "suitability", vmin, vmax),
        follows=layer,
        key="grid_connections",
    ).add_to(m)
