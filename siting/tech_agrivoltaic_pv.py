"""Agrivoltaic PV (农光互补) as a :class:`~sxplan.siting.technology.Technology` (parcel engine).

Arrays raised over crops (lowest module edge >= ``min_panel_height_m``) on rows
``row_spacing_m`` apart, so a km2 holds fewer MW than utility PV
(:class:`~sxplan.siting.config.AgrivoltaicConfig`: 36 x 6 / 10 = 21.6 MW/km2 by default) and
the land stays cropland, keeping ``crop_yield_share_kept`` of its yield. Energy is utility PV's
(same yield layer, same losses).

No double counting: besides the rules listing ``agrivoltaic_pv``, two implicit hard rules come
first (:meth:`AgrivoltaicPV.implicit_rules`): ``outside_agrivoltaic_land`` excludes every cell
outside ``land`` (cropland), and ``utility_pv_land`` excludes every cell utility PV's own hard
rules (with their waivers) leave eligible. Utility-PV parcels lie only on cells its rules leave
eligible, agrivoltaic parcels only on cells they exclude, so the two never share a cell; their
capacities and energies add up without counting land twice.

Inputs: :class:`~sxplan.siting.config.AgrivoltaicConfig` (``siting.agrivoltaic_pv``).
Outputs: capacities in MW, energies in GWh/yr, columns ``yield_kwh_per_kwp_yr``,
``energy_gwh_per_yr``, ``crop_yield_share_kept``, ``min_panel_height_m``, ``row_spacing_m``.

Examples
--------
>>> from sxplan.siting.config import AgrivoltaicConfig
>>> s = AgrivoltaicConfig()
>>> round(s.density_mw_per_km2, 2), float(AGRIVOLTAIC_PV.capacity_mw(1.0, s))
(21.6, 21.6)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .capacity import capacity_mw
from .tech_pv import UtilityPV

__all__ = ["AGRIVOLTAIC_PV", "AgrivoltaicPV", "LAND_CODE", "UTILITY_PV_CODE"]

#: Rule codes of the implicit rules (config rules are 1-250; 254 no data, 255 outside).
LAND_CODE, UTILITY_PV_CODE = 252, 253


@dataclass(frozen=True)
class _Implicit:
    """What the exclusion table reads of a rule, for a rule the technology brings itself."""

    name: str
    label_zh: str
    layer: str
    note: str
    mode: str = "hard"
    type: str = "implicit"
    within: None = None


class _Outside:
    """Cells outside a selector (the land agrivoltaics may use)."""

    def __init__(self, inner):
        self.inner, self.halo, self.rasters = inner, inner.halo, inner.rasters

    def select(self, ctx):
        return ~self.inner.select(ctx)


class _EligibleFor:
    """Cells another technology's hard rules leave eligible (its codes are 0)."""

    def __init__(self, rules):
        self.rules, self.halo, self.rasters = rules, rules.halo, ()

    def select(self, ctx):
        everywhere = np.ones(ctx.shape, dtype=bool)
        return self.rules.evaluate(ctx, everywhere).code == 0


class AgrivoltaicPV(UtilityPV):
    """PV over crops on cropland, never on land utility PV may use."""

    name = "agrivoltaic_pv"
    label_zh = "农光互补光伏"
    label_en = "Agrivoltaic PV"
    engine = "parcels"

    def settings(self, section):
        """``section.agrivoltaic_pv`` of a :class:`~sxplan.siting.config.SitingConfig`."""
        return section.agrivoltaic_pv

    def capacity_mw(self, area_km2, settings):
        """MWp: area x agrivoltaic density x usable share."""
        return capacity_mw(area_km2, settings.density_mw_per_km2, settings.usable_share)

    def columns(self, capacity_mw, specific, settings) -> dict:
        """PV's yield and energy, plus the agrivoltaic rules the parcel follows."""
        n = np.ones_like(np.asarray(capacity_mw, dtype="float64"))
        return {
            **super().columns(capacity_mw, specific, settings),
            "crop_yield_share_kept": n * settings.crop_yield_share_kept,
            "min_panel_height_m": n * settings.min_panel_height_m,
            "row_spacing_m": n * settings.row_spacing_m,
        }

    def implicit_rules(self, cfg, layers) -> list:
        """``outside_agrivoltaic_land`` and ``utility_pv_land``, as compiled rules."""
        from .exclusions import _CompiledRule, compile_rules, compile_selector

        s = self.settings(cfg)
        land = compile_selector(s.land, layers, what="siting.agrivoltaic_pv.land")
        pv_rules = compile_rules(cfg, "pv", layers)
        return [
            _CompiledRule(LAND_CODE, _Implicit(
                "outside_agrivoltaic_land", "非农光互补用地(非耕地)", s.land.layer,
                "agrivoltaics stand only on siting.agrivoltaic_pv.land (cropland)",
            ), _Outside(land), None),
            _CompiledRule(UTILITY_PV_CODE, _Implicit(
                "utility_pv_land", "集中式光伏可用地", "",
                "land utility PV's rules leave eligible is utility PV's, never counted twice",
            ), _EligibleFor(pv_rules), None),
        ]  # fmt: skip


#: The registered instance (``REGISTRY["agrivoltaic_pv"]``).
AGRIVOLTAIC_PV = AgrivoltaicPV()
