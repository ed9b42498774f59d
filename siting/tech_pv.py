"""Utility-scale PV as a :class:`~sxplan.siting.technology.Technology` (parcel engine).

Capacity is ``area_km2 x density_mw_per_km2 x usable_share``
(:func:`~sxplan.siting.capacity.capacity_mw`); a parcel's energy is its capacity times the
mean specific yield of its cells, less extra losses (:func:`~sxplan.siting.capacity.pv_energy_gwh`).

Inputs: :class:`~sxplan.siting.config.PVConfig` (``siting.pv``); the ``resource_layer`` (GHI,
kWh/m2/yr) and ``energy.yield_layer`` (specific yield, kWh/kWp/yr) rasters.
Outputs: capacities in MW, energies in GWh/yr, table columns ``yield_kwh_per_kwp_yr`` and
``energy_gwh_per_yr``.

Examples
--------
>>> from sxplan.siting.config import PVConfig
>>> s = PVConfig()  # 36 MW/km2, no extra losses
>>> PV.columns(PV.capacity_mw(2.0, s), 1400.0, s)
{'yield_kwh_per_kwp_yr': 1400.0, 'energy_gwh_per_yr': 100.8}
"""

from __future__ import annotations

import numpy as np

from .capacity import capacity_mw, pv_energy_gwh
from .technology import TechLayers

__all__ = ["PV", "UtilityPV", "specific_yield"]


def specific_yield(values: np.ndarray) -> np.ndarray:
    """Per-cell specific yield, kWh/kWp/yr: the yield layer's values as they are."""
    return values


class UtilityPV:
    """Utility-scale PV on raster parcels."""

    name = "pv"
    label_zh = "光伏"
    label_en = "PV"
    engine = "parcels"

    def settings(self, section):
        """``section.pv`` of a :class:`~sxplan.siting.config.SitingConfig`."""
        return section.pv

    def layers(self, settings) -> TechLayers:
        """GHI as resource, the specific-yield raster for energy."""
        return TechLayers(
            resource=settings.resource_layer,
            energy=settings.energy.yield_layer,
            energy_key="energy.yield_layer",
        )

    def cell_energy(self, settings):
        """Specific yield per cell, kWh/kWp/yr (the yield layer itself)."""
        return specific_yield

    def capacity_mw(self, area_km2, settings):
        """MWp: area x density x usable share."""
        cap = settings.capacity
        return capacity_mw(area_km2, cap.density_mw_per_km2, cap.usable_share)

    def energy_gwh(self, capacity_mw, specific, settings):
        """GWh/yr: MWp x mean yield / 1000 x (1 - extra losses)."""
        return pv_energy_gwh(capacity_mw, specific, settings.energy.extra_losses_share)

    def columns(self, capacity_mw, specific, settings) -> dict:
        """``yield_kwh_per_kwp_yr`` (mean specific yield) and ``energy_gwh_per_yr``."""
        return {
            "yield_kwh_per_kwp_yr": specific,
            "energy_gwh_per_yr": self.energy_gwh(capacity_mw, specific, settings),
        }


#: The registered instance (``REGISTRY["pv"]``).
PV = UtilityPV()
