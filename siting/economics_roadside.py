"""Grid connection and LCOE of roadside PV strips, costed as road projects.

A strip of about 1 MW never gets its own line to a substation: the strips of one road in one
county are built and connected as one project (capacity: their sum; location: their
capacity-weighted mean point). Each project is connected like a parcel
(:func:`sxplan.siting.economics.add_economics`: voltage class by the project's capacity,
least-cost or straight distance, spare capacity in the project's LCOE order) and each strip
carries its capacity share of its project's connection capex; its LCOE then follows from its
own energy (:func:`sxplan.siting.lcoe.lcoe_cny_per_kwh`). Spare capacity is the substations'
as given in the layer: roadside projects do not see what the parcels took (a limitation when
the layer has spare capacities; the log says so).

Inputs: the strips and shortlist rows of :func:`sxplan.siting.roadside.run_roadside_pv`, an
:class:`EconomicsInputs`. Outputs: strips and rows with the economics columns, the roadside
projects' supply curves (``siting/supply_curves_roadside_pv.csv``).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from .economics import add_economics, case_settings
from .lcoe import capacity_factor, lcoe_cny_per_kwh

__all__ = [
    "EconomicsInputs",
    "add_roadside_economics",
    "economics_inputs",
    "roadside_economics",
]

_COLS = ("grid_substation", "grid_voltage_kv", "grid_distance_km", "grid_straight_km")


@dataclass(frozen=True)
class EconomicsInputs:
    """What the economics read: the run's grid, layers (``LayerSet``) and ``siting:`` config."""

    grid: object
    layers: object
    config: object
    bases: object = None


def economics_inputs(grid, rasters, vectors, siting_config, bases=None):
    """:class:`EconomicsInputs` of a run, or None when it has no ``siting.economics``."""
    if siting_config is None or siting_config.economics is None:
        return None
    from ._context import LayerSet

    return EconomicsInputs(grid, LayerSet(grid, rasters, vectors), siting_config, bases)


def _projects(strips: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """One row per road and county (strips with capacity), and each strip's project id."""
    road = strips["road_ref"].fillna("").astype(str)
    road = road.where(road != "", strips["road_id"].astype(str))
    pid = "RS-" + road + "-" + strips["adcode"].astype(str)
    cap = strips["capacity_mw"].to_numpy(dtype="float64")
    frame = pd.DataFrame({
        "parcel_id": pid, "capacity_mw": cap, "energy_gwh_per_yr": strips["energy_gwh_per_yr"],
        "wlon": strips["lon"] * cap, "wlat": strips["lat"] * cap,
    })  # fmt: skip
    g = frame.groupby("parcel_id", sort=True).sum()
    lon, lat = g["wlon"] / g["capacity_mw"], g["wlat"] / g["capacity_mw"]
    proj = gpd.GeoDataFrame(
        {"parcel_id": g.index, "technology": "roadside_pv", "capacity_mw": g["capacity_mw"],
         "energy_gwh_per_yr": g["energy_gwh_per_yr"], "lon": lon, "lat": lat},
        geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326",
    ).reset_index(drop=True)  # fmt: skip
    return proj, pid


def roadside_economics(strips: gpd.GeoDataFrame, shortlist: gpd.GeoDataFrame, inputs, log=None):
    """Add the economics columns to the strips and shortlist rows; the projects' curves.

    Returns
    -------
    tuple
        ``(strips, shortlist, curves)``; curves are rows of ``supply_curves_roadside_pv.csv``
        (one step per road project).
    """
    econ = inputs.config.economics
    strips = strips.copy()
    has = strips["capacity_mw"].to_numpy(dtype="float64") > 0
    proj, pid = _projects(strips[has])
    res = add_economics({"roadside_pv": proj}, inputs, inputs.bases, log=log)
    if (
        log is not None
        and econ.spare_capacity_field
        and econ.spare_capacity_field in (inputs.layers.vectors[econ.substations_layer].columns)
    ):
        log("economics: roadside projects are connected against the substations' full spare "
            "capacity, not what the parcels left")  # fmt: skip
    by_proj = proj.set_index("parcel_id")
    share = strips.loc[has, "capacity_mw"].to_numpy() / by_proj.loc[pid, "capacity_mw"].to_numpy()
    conn = np.full(len(strips), np.nan)
    conn[has] = by_proj.loc[pid, "connection_cost_mcny"].to_numpy() * 1e6 * share
    for c in _COLS:
        values = np.full(len(strips), "" if c == "grid_substation" else np.nan, dtype=object)
        values[has] = by_proj.loc[pid, c].to_numpy()
        strips[c] = values if c == "grid_substation" else values.astype("float64")
    strips["connection_cost_mcny"] = conn / 1e6
    cap = strips["capacity_mw"].to_numpy(dtype="float64")
    energy = strips["energy_gwh_per_yr"].to_numpy(dtype="float64")
    strips["capacity_factor"] = capacity_factor(cap, energy)
    c = econ.roadside_pv
    rate, _ = case_settings(econ)["base"]
    strips["lcoe_cny_per_kwh"] = lcoe_cny_per_kwh(
        cap, energy, conn, capex_cny_per_kw=c.capex_cny_per_kw,
        fixed_opex_cny_per_kw_yr=c.fixed_opex_cny_per_kw_yr,
        variable_opex_cny_per_mwh=c.variable_opex_cny_per_mwh, lifetime_yr=c.lifetime_yr,
        discount_rate=rate,
    )  # fmt: skip
    rank = strips["lcoe_cny_per_kwh"].rank(method="first", na_option="bottom")
    strips["rank_lcoe"] = rank.to_numpy().astype("int64")
    if shortlist is not None and len(shortlist):
        cols = [*_COLS, "connection_cost_mcny", "capacity_factor", "lcoe_cny_per_kwh", "rank_lcoe"]
        extra = strips.set_index("strip_id")[cols]
        shortlist = shortlist.join(extra, on="parcel_id")
    return strips, shortlist, res.curves


def add_roadside_economics(strips, shortlist, inputs, out_dir, log=None):
    """:func:`roadside_economics` and the curves written; nothing without ``economics``.

    Returns
    -------
    tuple
        ``(strips, shortlist, paths)``, paths ``{"supply_curves_roadside_pv": Path}`` or ``{}``.
    """
    if inputs is None or inputs.config.economics is None or not len(strips):
        return strips, shortlist, {}
    from pathlib import Path

    from sxplan.layers.io import write_csv
    from sxplan.layers.tables import round_for_csv
    from sxplan.schema import dataset

    strips, shortlist, curves = roadside_economics(strips, shortlist, inputs, log)
    ds = dataset("siting.supply_curves_roadside")
    path = write_csv(round_for_csv(ds.check(curves)), Path(out_dir) / ds.filename())
    return strips, shortlist, {"supply_curves_roadside_pv": path}
