"""Pumped-storage hydro as a :class:`~sxplan.siting.technology.Technology` (reservoir-pair engine).

Its land is not raster parcels nor road strips but *reservoir pairs* found on the DEM by
:func:`sxplan.siting.pumped_storage.run_pumped_storage` (the ``pumped_storage`` step). What this
object owns is how a pair's numbers follow from one another: the stored energy is
``rho g head V eta`` (:func:`~sxplan.siting.pumped_storage.storage_gwh`) and the power is the
energy over the cycle, ``MW = GWh x 1000 / cycle_hours``.

For this technology the protocol's *area* is the pair's usable water volume in GL and the
*specific energy* is the head in m; ``energy_gwh`` is stored energy (GWh per cycle), not
annual generation.

Inputs: :class:`~sxplan.siting.pumped_config.PumpedStorageConfig` (``pumped_storage:``).
Outputs: power in MW, stored energy in GWh, columns ``head_m``, ``energy_gwh``.

Examples
--------
>>> from sxplan.siting.pumped_config import PumpedStorageConfig
>>> s = PumpedStorageConfig()  # 6 h cycle, eta 0.9, g 9.8
>>> e = PUMPED_STORAGE.energy_gwh(None, 500.0, s, volume_gl=1.0)
>>> round(float(e), 4), round(float(PUMPED_STORAGE.power_mw(e, s)), 2)
(1.225, 204.17)
"""

from __future__ import annotations

from sxplan.errors import ConfigError

from .technology import TechLayers

__all__ = ["PUMPED_STORAGE", "PumpedStorage"]


class PumpedStorage:
    """Closed-loop pumped hydro: an upper and a lower reservoir joined by a tunnel."""

    name = "pumped_storage"
    label_zh = "抽水蓄能"
    label_en = "Pumped storage"
    engine = "reservoir_pairs"

    def settings(self, section):
        """The ``pumped_storage:`` section itself (a ``PumpedStorageConfig``)."""
        return section

    def layers(self, settings) -> TechLayers:
        """The DEM is both what is searched and what sets the energy (through the head)."""
        return TechLayers(resource=settings.dem_layer, energy=settings.dem_layer,
                          energy_key="dem_layer")  # fmt: skip

    def cell_energy(self, settings):
        """Not used: energy belongs to reservoir pairs, not cells."""
        raise ConfigError(
            "pumped_storage works on reservoir pairs from the DEM, not on raster parcels; run "
            "it with sxplan.siting.pumped_storage.run_pumped_storage (the `pumped_storage` step)"
        )

    def power_mw(self, energy_gwh, settings):
        """MW that empty the stored energy in ``cycle_hours``."""
        return energy_gwh * 1000.0 / settings.cycle_hours

    def capacity_mw(self, area_km2, settings):
        """Not an area technology: a pair's power follows from its energy (:meth:`power_mw`)."""
        raise ConfigError("pumped_storage capacity follows from stored energy; use power_mw")

    def energy_gwh(self, capacity_mw, specific, settings, *, volume_gl=None):
        """Stored GWh of ``volume_gl`` GL cycled over a head of ``specific`` m."""
        from .pumped_storage import storage_gwh

        if volume_gl is None:
            raise ConfigError("pumped_storage energy needs the usable volume (volume_gl=...)")
        return storage_gwh(specific, volume_gl * 1e6, settings)

    def columns(self, capacity_mw, specific, settings) -> dict:
        """``head_m`` and ``power_mw`` (the pair table holds the rest)."""
        return {"head_m": specific, "power_mw": capacity_mw}


#: The registered instance (``REGISTRY["pumped_storage"]``).
PUMPED_STORAGE = PumpedStorage()
