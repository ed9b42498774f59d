"""Levelised cost of energy per parcel: plant and grid-connection capex, opex, discount rate.

``LCOE = (capex_total * CRF + fixed_opex) / energy + variable_opex`` with the capital recovery
factor ``CRF = r (1 + r)^n / ((1 + r)^n - 1)`` (``1 / n`` at ``r = 0``), capex in CNY
(plant: ``capex_cny_per_kw * kW``; connection: line km x cost per km + kW x substation cost
per kW), energy in kWh/yr. The capacity factor is ``energy / (capacity x 8760 h)``.

Inputs: capacity (MW), annual energy (GWh/yr), connection capex (CNY), a
:class:`~sxplan.siting.economics_config.TechCosts` and a discount rate.
Outputs: arrays of CNY/kWh.

Examples
--------
>>> round(crf(0.06, 25), 5)
0.07823
>>> float(lcoe_cny_per_kwh(100.0, 150.0, 0.0, capex_cny_per_kw=3500.0,
...     fixed_opex_cny_per_kw_yr=45.0, variable_opex_cny_per_mwh=0.0,
...     lifetime_yr=25, discount_rate=0.06).round(4))
0.2125
"""

from __future__ import annotations

import numpy as np

__all__ = ["HOURS_PER_YEAR", "capacity_factor", "crf", "lcoe_cny_per_kwh"]

HOURS_PER_YEAR = 8760.0


def crf(discount_rate: float, lifetime_yr: int) -> float:
    """Capital recovery factor: the annuity per unit of capital over ``lifetime_yr`` years."""
    r, n = float(discount_rate), int(lifetime_yr)
    if r == 0:
        return 1.0 / n
    g = (1.0 + r) ** n
    return r * g / (g - 1.0)


def capacity_factor(capacity_mw, energy_gwh_per_yr) -> np.ndarray:
    """Energy over capacity x 8760 h (NaN where capacity is 0)."""
    cap = np.asarray(capacity_mw, dtype="float64")
    e = np.asarray(energy_gwh_per_yr, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cap > 0, e * 1000.0 / (cap * HOURS_PER_YEAR), np.nan)


def lcoe_cny_per_kwh(
    capacity_mw,
    energy_gwh_per_yr,
    connection_capex_cny,
    *,
    capex_cny_per_kw: float,
    fixed_opex_cny_per_kw_yr: float,
    variable_opex_cny_per_mwh: float,
    lifetime_yr: int,
    discount_rate: float,
    capex_factor: float = 1.0,
) -> np.ndarray:
    """LCOE in CNY/kWh per parcel (NaN where energy is 0 or the connection is unknown).

    Parameters
    ----------
    capacity_mw, energy_gwh_per_yr, connection_capex_cny : array-like
        Per parcel: capacity (MW), annual energy (GWh/yr), grid-connection capex (CNY).
    capex_cny_per_kw, fixed_opex_cny_per_kw_yr, variable_opex_cny_per_mwh, lifetime_yr
        Plant costs (see :class:`~sxplan.siting.economics_config.TechCosts`).
    discount_rate : float
        Real discount rate (0.06 = 6%).
    capex_factor : float
        Multiplies plant and connection capex (sensitivity cases).

    Returns
    -------
    numpy.ndarray
    """
    kw = np.asarray(capacity_mw, dtype="float64") * 1000.0
    kwh = np.asarray(energy_gwh_per_yr, dtype="float64") * 1e6
    conn = np.asarray(connection_capex_cny, dtype="float64")
    capex = (capex_cny_per_kw * kw + conn) * capex_factor
    annual = capex * crf(discount_rate, lifetime_yr) + fixed_opex_cny_per_kw_yr * kw
    with np.errstate(divide="ignore", invalid="ignore"):
        out = annual / kwh + variable_opex_cny_per_mwh / 1000.0
    return np.where(kwh > 0, out, np.nan)
