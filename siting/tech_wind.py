"""Onshore wind as a :class:`~sxplan.siting.technology.Technology` (parcel engine).

Capacity is ``area_km2 x density_mw_per_km2 x usable_share``
(:func:`~sxplan.siting.capacity.capacity_mw`). Each cell's capacity factor comes from the
turbine's power curve over a Weibull distribution of the cell's mean speed, scaled to hub
height, less losses (:func:`~sxplan.siting.capacity.wind_cf_table`); a parcel's energy is its
capacity times its mean capacity factor times 8760 h
(:func:`~sxplan.siting.capacity.wind_energy_gwh`).

Inputs: :class:`~sxplan.siting.config.WindConfig` (``siting.wind``); the ``resource_layer`` and
``energy.speed_layer`` rasters (mean wind speed, m/s).
Outputs: capacities in MW, energies in GWh/yr, table columns ``capacity_factor``,
``energy_gwh_per_yr`` and ``turbines`` (capacity over the turbine's rated power).
"""

from __future__ import annotations

from .capacity import capacity_mw, load_power_curve, wind_cf_table, wind_energy_gwh
from .technology import TechLayers

__all__ = ["WIND", "OnshoreWind"]


class OnshoreWind:
    """Onshore wind farms on raster parcels."""

    name = "wind"
    label_zh = "风电"
    label_en = "Wind"
    engine = "parcels"

    def settings(self, section):
        """``section.wind`` of a :class:`~sxplan.siting.config.SitingConfig`."""
        return section.wind

    def layers(self, settings) -> TechLayers:
        """Wind speed as resource and for energy (both m/s)."""
        return TechLayers(
            resource=settings.resource_layer,
            energy=settings.energy.speed_layer,
            energy_key="energy.speed_layer",
        )

    def cell_energy(self, settings):
        """Capacity factor per cell (after losses) from the speed layer's values."""
        return wind_cf_table(settings.energy)

    def capacity_mw(self, area_km2, settings):
        """MW: area x density x usable share."""
        cap = settings.capacity
        return capacity_mw(area_km2, cap.density_mw_per_km2, cap.usable_share)

    def energy_gwh(self, capacity_mw, specific, settings):
        """GWh/yr: MW x mean capacity factor x 8760 h / 1000."""
        return wind_energy_gwh(capacity_mw, specific)

    def columns(self, capacity_mw, specific, settings) -> dict:
        """``capacity_factor``, ``energy_gwh_per_yr`` and ``turbines`` (count, fractional)."""
        rated_w = load_power_curve(settings.energy.turbine_type).nominal_power_w
        return {
            "capacity_factor": specific,
            "energy_gwh_per_yr": self.energy_gwh(capacity_mw, specific, settings),
            "turbines": capacity_mw * 1e6 / rated_w,
        }


#: The registered instance (``REGISTRY["wind"]``).
WIND = OnshoreWind()
