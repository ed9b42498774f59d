"""Existing forest: annual growth, growing stock (m3), its sink, and the stock trajectory.

Per county, with forest area ``A`` (calibrated baseline, ha), a growing stock per hectare
``V`` (config ``stock_m3_per_ha``), natural-forest growth ``G`` of stands older than 20 years
(2006 IPCC V4 Ch4 Table 4.9 rows, ``growth_agb_natural``), root-to-shoot ratio ``R``, carbon
fraction ``CF`` and BCEFs (t above-ground dry matter per m3):

    stock_m3(baseline)        = A x V
    growth_m3_per_yr          = A x sum_t mix_t x G_t / BCEF_I_t   (stock class 21-40 m3/ha)
    existing_sink_tco2_per_yr = A x sum_t mix_t x G_t x (1 + R_t) x CF x 44/12
    stock_m3(year)            = stock_m3(baseline) + growth_m3_per_yr x (year - baseline)
                                + volume of the new planting (its cumulative above-ground
                                  biomass / BCEF_S of the < 20 m3/ha class; shrubs hold none)

Tier-1 gains only: no harvest, fire or mortality, so the stock is an upper estimate; it is a
reported check against the plan's stock targets, not a forecast.

Inputs: forest hectares, zones, the parameter table, planted exposure. Outputs: per-county
arrays and a province stock trajectory table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .sequestration import CATEGORIES, CO2_PER_C, TREE_TYPES, ZONES, Tier1Table

__all__ = ["STOCK_CLASS_EXISTING", "STOCK_CLASS_NEW", "existing_forest", "stock_trajectory"]

#: BCEF growing-stock class used for existing forest (Shanxi 2010: about 34 m3/ha).
STOCK_CLASS_EXISTING = "gs_21_40"
#: BCEF growing-stock class used for new planting.
STOCK_CLASS_NEW = "gs_lt20"


def existing_forest(forest_ha, zone_index, mix: dict, table: Tier1Table, stock_m3_per_ha: float):
    """Stock, volume growth and sink of existing forest per county.

    Parameters
    ----------
    forest_ha : array_like
        Forest area per county, hectares.
    zone_index : array_like of int
        Index into :data:`ZONES` per county.
    mix : dict
        Shares of ``broadleaf`` and ``conifer`` in existing forest.
    table : Tier1Table
        The parameter table.
    stock_m3_per_ha : float
        Growing stock per hectare.

    Returns
    -------
    dict of str to numpy.ndarray
        ``stock_m3``, ``growth_m3_per_yr``, ``sink_tco2_per_yr``.

    Examples
    --------
    With the packaged table, a temperate-continental hectare half broadleaf, half conifer grows
    0.5 x 3.0 / 1.3 + 0.5 x 3.0 / 0.75 = 3.154 m3/yr:

    >>> from sxplan.sinks.sequestration import load_tier1_table
    >>> r = existing_forest([1.0], [0], {"broadleaf": 0.5, "conifer": 0.5},
    ...                     load_tier1_table(), 34.49)
    >>> round(float(r["growth_m3_per_yr"][0]), 3), float(r["stock_m3"][0])
    (3.154, 34.49)
    """
    forest_ha = np.asarray(forest_ha, dtype="float64")
    zone_index = np.asarray(zone_index, dtype="int64")
    cf = table.row("carbon_fraction")["value"]
    inc = np.zeros(len(ZONES))
    sink = np.zeros(len(ZONES))
    for z, zone in enumerate(ZONES):
        for t in TREE_TYPES:
            share = float(mix.get(t, 0.0))
            g = table.row("growth_agb_natural", zone, t, "older")["value"]
            r = table.row("root_to_shoot", zone, t, "older")["value"]
            bcef_i = table.row("bcef_i", "*", t, STOCK_CLASS_EXISTING)["value"]
            inc[z] += share * g / bcef_i
            sink[z] += share * g * (1 + r) * cf * CO2_PER_C
    return {
        "stock_m3": forest_ha * stock_m3_per_ha,
        "growth_m3_per_yr": forest_ha * inc[zone_index],
        "sink_tco2_per_yr": forest_ha * sink[zone_index],
    }


def stock_trajectory(
    stock0_m3, growth_m3_per_yr, exposure, zone_index, years, baseline_year, table: Tier1Table
) -> pd.DataFrame:
    """Province growing stock per year: existing forest plus the new planting's volume.

    Parameters
    ----------
    stock0_m3, growth_m3_per_yr : array_like
        Per county, from :func:`existing_forest`.
    exposure : numpy.ndarray
        ``(n_counties, n_years, len(CATEGORIES))`` planted hectares growing in each year
        (:func:`~sxplan.sinks.sequestration.cohort_exposure_ha`).
    zone_index : array_like of int
        Per county.
    years : numpy.ndarray
        Calendar years of ``exposure``.
    baseline_year : int
        Year of ``stock0_m3``.
    table : Tier1Table
        Parameters.

    Returns
    -------
    pandas.DataFrame
        ``year, stock_m3, existing_stock_m3, new_planting_stock_m3``.
    """
    years = np.asarray(years)
    zone_index = np.asarray(zone_index, dtype="int64")
    vol_per_ha_yr = np.zeros((len(ZONES), len(CATEGORIES)))  # m3 per planted ha per year
    for z, zone in enumerate(ZONES):
        for k, (t, a) in enumerate(CATEGORIES):
            if t not in TREE_TYPES:
                continue
            g = table.row("growth_agb", zone, t, a)["value"]
            vol_per_ha_yr[z, k] = g / table.row("bcef_s", "*", t, STOCK_CLASS_NEW)["value"]
    yearly_new = np.einsum("cyk,ck->y", exposure, vol_per_ha_yr[zone_index])
    new_stock = np.cumsum(yearly_new)
    existing = float(np.sum(stock0_m3)) + float(np.sum(growth_m3_per_yr)) * (years - baseline_year)
    return pd.DataFrame(
        {
            "year": years,
            "stock_m3": existing + new_stock,
            "existing_stock_m3": existing,
            "new_planting_stock_m3": new_stock,
        }
    )
