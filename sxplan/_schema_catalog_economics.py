"""Catalog entries for grid connection, LCOE and supply curves (``siting.economics``).

Part of the run-folder catalog (:mod:`sxplan._schema_catalog` adds these to
:data:`sxplan.schema.DATASETS`); kept apart so the main catalog stays under its size limit.

Inputs: none. Outputs: :data:`RANKED_EXTRA` (columns added to parcels and shortlist),
:data:`STRIP_EXTRA` (roadside strips), :data:`ECONOMICS` (datasets), and
:data:`EXTRA_DATASETS`: the datasets of the side catalogs (trust, then economics), listed
once in the main catalog.
"""

from __future__ import annotations

from ._schema_catalog_trust import BACKTEST, SITING_RECORD, STABILITY_COLUMNS
from ._schema_types import Dataset
from ._schema_types import columns_from_table as _columns

__all__ = ["ECONOMICS", "ECONOMICS_COLUMNS", "EXTRA_DATASETS", "RANKED_EXTRA", "STRIP_EXTRA"]

#: Columns of parcels and shortlist when ``siting.economics`` is set.
ECONOMICS_COLUMNS = _columns(
    """
grid_substation | | substation the parcel connects to (empty: none within reach or with room)
grid_voltage_kv | kV | voltage class of the connection, chosen by the parcel's capacity
grid_distance_km | km | distance used for the cost: least-cost (friction-weighted) or straight
grid_straight_km | km | straight-line distance from the parcel's point to that substation
connection_cost_mcny | million CNY | line (km x cost/km) plus substation (kW x cost/kW) capex
capacity_factor | 1 | annual energy / (capacity x 8760 h)
lcoe_cny_per_kwh | CNY/kWh | levelised cost of energy incl. connection, base case, config price year
rank_lcoe | rank | 1 = lowest LCOE within the technology (no LCOE: last)
""",
    required=False,
)

#: Optional columns after the core ones of parcels and shortlist (stability, then economics).
RANKED_EXTRA = STABILITY_COLUMNS + ECONOMICS_COLUMNS

#: Columns of roadside PV strips when ``siting.economics`` is set (strips costed as road projects).
STRIP_EXTRA = ECONOMICS_COLUMNS

_CURVES = _columns("""
case | | cost case: base, discount_low, discount_high, capex_low, capex_high
technology | | pv, wind, roadside_pv, or wind_pv (wind and PV together, as the targets count)
level | | province or base
id | | 'province' or the base id (a parcel counts for its main base)
name_zh | | Chinese name of the province or base
step | rank | position on the curve, 1 = cheapest
parcel_id | | parcel or strip id
capacity_mw | MW | capacity of the parcel
lcoe_cny_per_kwh | CNY/kWh | LCOE of the parcel in this case
cumulative_gw | GW | capacity of this parcel and every cheaper one on the curve
""")

_CONNECTIONS = _columns(
    """
parcel_id | | parcel id
technology | | technology key
"""
) + tuple(c for c in ECONOMICS_COLUMNS if c.name != "rank_lcoe")

_SUBSTATIONS = _columns("""
name | | substation name (schematic in the demo)
voltage_kv | kV | voltage
spare_mw | MW | spare capacity given in the layer (empty: unlimited)
spare_left_mw | MW | spare capacity left after connecting the parcels in supply-curve order
""")

ECONOMICS: tuple[Dataset, ...] = (
    Dataset(
        "siting.supply_curves",
        "siting/supply_curves.csv",
        "csv",
        "cumulative GW against LCOE per technology, case, province and base",
        "siting",
        columns=_CURVES,
    ),
    Dataset(
        "siting.supply_curves_roadside",
        "siting/supply_curves_roadside_pv.csv",
        "csv",
        "roadside PV supply curves: one step per road project (the strips of a road in a "
        "county), parcel_id = project id",
        "roadside_pv",
        columns=_CURVES,
    ),
    Dataset(
        "siting.grid_connections",
        "siting/grid_connections.gpkg",
        "gpkg",
        "straight line from each connected parcel's point to its substation, EPSG:4326",
        "siting",
        layer="grid_connections",
        columns=_CONNECTIONS,
    ),
    Dataset(
        "siting.grid_substations",
        "siting/grid_connections.gpkg",
        "gpkg",
        "the substations used for the connections, EPSG:4326",
        "siting",
        layer="grid_substations",
        columns=_SUBSTATIONS,
    ),
    Dataset(
        "maps.supply_curves",
        "maps/supply_curves.png",
        "png",
        "supply curves with the 2025/2030 targets and the cost sensitivity",
        "maps",
    ),
)

#: Datasets of the side catalogs in the main catalog's order: siting records, backtest, economics.
EXTRA_DATASETS: tuple[Dataset, ...] = (*SITING_RECORD, *BACKTEST, *ECONOMICS)
