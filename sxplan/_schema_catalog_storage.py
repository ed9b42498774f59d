"""Catalog entries of the pumped-storage search (``siting/pumped_storage.*``).

Part of the run-folder catalog (:mod:`sxplan._schema_catalog` adds these to
:data:`sxplan.schema.DATASETS`); kept apart so the main catalog stays under its size limit.

Inputs: none. Outputs: :data:`PUMPED_STORAGE`.
"""

from __future__ import annotations

from ._schema_types import Dataset
from ._schema_types import columns_from_table as _columns

__all__ = ["PUMPED_STORAGE"]

_PAIRS = _columns("""
pair_id | | stable id within the run: PS- and rank (PS-001)
rank | rank | 1 = least dam wall volume per MWh stored (the cost proxy)
head_m | m | upper minus lower dam-site elevation (filled DEM)
distance_km | km | horizontal distance between the two dam sites (the tunnel line)
distance_to_head | 1 | distance / head (the inverse of the atlas's slope)
energy_gwh | GWh | stored energy rho g head V eta: the largest energy class the pair holds
power_mw | MW | energy / cycle_hours
cycle_hours | h | hours of generation at full power (pumped_storage.cycle_hours)
usable_volume_gl | GL | water cycled: energy / (rho g head eta) (1 GL = 1e6 m3)
volume_gl | GL | water each reservoir holds: usable volume / usable_share
dam_volume_mm3 | million m3 | volume of both dam walls
water_rock | 1 | volume_gl / both walls' volume
rock_m3_per_mwh | m3/MWh | dam wall volume per MWh stored (cost proxy, lower is cheaper)
upper_elev_m | m | dam-site elevation of the upper reservoir (filled DEM)
lower_elev_m | m | dam-site elevation of the lower reservoir (filled DEM)
upper_wall_height_m | m | wall height holding volume_gl (full supply level minus site)
lower_wall_height_m | m | wall height of the lower reservoir
upper_area_km2 | km2 | water surface of the upper reservoir
lower_area_km2 | km2 | water surface of the lower reservoir
upper_lon | deg | upper dam site, WGS84
upper_lat | deg | upper dam site, WGS84
lower_lon | deg | lower dam site, WGS84
lower_lat | deg | lower dam site, WGS84
adcode | | county code (6 digits) of the upper dam site
county | | county name (Chinese) of the upper dam site
""") + _columns(
    """
dist_substation_km | km | tunnel midpoint to the nearest substation (when a layer is set)
""",
    required=False,
)

_RESERVOIR = _columns("""
pair_id | | the pair
rank | rank | the pair's rank
head_m | m | the pair's head
energy_gwh | GWh | the pair's stored energy
elev_m | m | dam-site elevation
wall_height_m | m | wall height
volume_gl | GL | water held
area_km2 | km2 | water surface
geometry | | water surface outline (cells of the grid)
""")

_TUNNEL = _columns("""
pair_id | | the pair
rank | rank | the pair's rank
head_m | m | the pair's head
energy_gwh | GWh | the pair's stored energy
distance_km | km | tunnel line length (straight, horizontal)
power_mw | MW | the pair's power
geometry | | straight line from the upper to the lower dam site
""")

#: Outputs of the pumped-storage step.
PUMPED_STORAGE: tuple[Dataset, ...] = (
    Dataset(
        "siting.pumped_storage",
        "siting/pumped_storage.csv",
        "csv",
        "pumped-storage reservoir pairs, cheapest first",
        "pumped_storage",
        columns=_PAIRS,
    ),
    *(
        Dataset(
            f"siting.pumped_{role}",
            "siting/pumped_storage.gpkg",
            "gpkg",
            f"pumped-storage {role} reservoirs",
            "pumped_storage",
            layer=f"ps_{role}",
            columns=_RESERVOIR,
        )
        for role in ("upper", "lower")
    ),
    Dataset(
        "siting.pumped_tunnel",
        "siting/pumped_storage.gpkg",
        "gpkg",
        "pumped-storage tunnel lines (upper to lower dam site)",
        "pumped_storage",
        layer="ps_tunnel",
        columns=_TUNNEL,
    ),
)
