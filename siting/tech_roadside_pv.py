"""Roadside PV as a :class:`~sxplan.siting.technology.Technology` (strip engine).

The strip engine (:func:`sxplan.siting.roadside.run_roadside_pv`) finds verge strips along
highways and works out each strip's usable area and specific yield (panel orientation, horizon,
POA/GHI ratio); this module owns what turns those into capacity and energy:
``panel_area_km2 = usable_area_km2 x usable_share``, ``capacity_mw = panel_area_km2 x
density_mw_per_km2`` (:func:`~sxplan.siting.capacity.capacity_mw`), and ``energy_gwh_per_yr =
capacity_mw x specific_yield / 1000`` (:func:`~sxplan.siting.capacity.pv_energy_gwh`).

Inputs: :class:`~sxplan.siting.roadside_config.RoadsidePVConfig` (the ``roadside_pv:``
section); usable strip areas in km2 and specific yields in kWh/kWp/yr.
Outputs: capacities in MW, energies in GWh/yr, columns ``specific_yield_kwh_per_kwp`` and
``energy_gwh_per_yr``.

Examples
--------
>>> from sxplan.siting.roadside_config import RoadsidePVConfig
>>> s = RoadsidePVConfig()  # 150 MW/km2 of panel area, usable share 0.7
>>> round(float(ROADSIDE_PV.capacity_mw(0.01, s)), 6)  # 1 km x 10 m strip
1.05
"""

from __future__ import annotations

from sxplan.errors import ConfigError

from .capacity import capacity_mw, pv_energy_gwh
from .technology import TechLayers

__all__ = ["ROADSIDE_PV", "RoadsidePV"]


class RoadsidePV:
    """PV on highway slopes and verges (strips along roads)."""

    name = "roadside_pv"
    label_zh = "高速公路边坡光伏"
    label_en = "Roadside PV"
    engine = "strips"

    def settings(self, section):
        """The ``roadside_pv:`` section itself (a ``RoadsidePVConfig``)."""
        return section

    def layers(self, settings) -> TechLayers:
        """GHI as resource; the PV yield layer for energy when set, else GHI."""
        return TechLayers(
            resource=settings.ghi_layer,
            energy=settings.pv_yield_layer or settings.ghi_layer,
            energy_key="pv_yield_layer",
        )

    def cell_energy(self, settings):
        """Not used: a strip's specific yield depends on its panels' orientation and horizon."""
        raise ConfigError(
            "roadside_pv works on strips along roads, not on raster parcels; run it with "
            "sxplan.siting.roadside.run_roadside_pv (the `roadside_pv` step)"
        )

    def panel_area_km2(self, usable_area_km2, settings):
        """Panel area, km2: usable strip area x usable share."""
        return usable_area_km2 * settings.usable_share

    def capacity_mw(self, area_km2, settings):
        """MWp of usable strip areas: panel area x density (MW per km2 of panel area)."""
        return capacity_mw(self.panel_area_km2(area_km2, settings), settings.density_mw_per_km2)

    def energy_gwh(self, capacity_mw, specific, settings):
        """GWh/yr: MWp x the strip's specific yield / 1000 (losses are in the yield)."""
        return pv_energy_gwh(capacity_mw, specific)

    def columns(self, capacity_mw, specific, settings) -> dict:
        """``specific_yield_kwh_per_kwp`` and ``energy_gwh_per_yr``."""
        return {
            "specific_yield_kwh_per_kwp": specific,
            "energy_gwh_per_yr": self.energy_gwh(capacity_mw, specific, settings),
        }


#: The registered instance (``REGISTRY["roadside_pv"]``).
ROADSIDE_PV = RoadsidePV()
