"""Capacity and annual energy of parcels.

Capacity is ``area_km2 x density_mw_per_km2 x usable_share``. PV energy comes from the specific
yield layer (kWh per kWp per year): ``GWh/yr = MW x yield / 1000``. Wind energy comes from a
real turbine power curve (windpowerlib's oedb turbine library, shipped with the package, read
offline) applied to a Weibull distribution of hub-height wind speed whose mean is the cell's
speed; the capacity factor is ``E[P(v)] / P_rated``, less losses.

Inputs: areas in km2, yields in kWh/kWp/yr, mean speeds in m/s, settings from
:mod:`sxplan.siting.config`.
Outputs: capacities in MW, energies in GWh/yr, capacity factors (0-1).

These are the functions the run calls: the technologies (:mod:`sxplan.siting.tech_pv`,
:mod:`sxplan.siting.tech_wind`, :mod:`sxplan.siting.tech_roadside_pv`) compute every parcel's
and strip's capacity and energy through them.

Examples
--------
>>> capacity_mw(2.0, 36.0, 0.5)
36.0
>>> pv_energy_gwh(36.0, 1400.0)
50.4
>>> wind_energy_gwh(10.0, 0.25)
21.9
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sxplan.errors import ConfigError

__all__ = [
    "HOURS_PER_YEAR",
    "PowerCurve",
    "WindCFTable",
    "capacity_mw",
    "load_power_curve",
    "pv_energy_gwh",
    "weibull_capacity_factor",
    "wind_cf_table",
    "wind_energy_gwh",
]

#: Hours in a (non-leap) year.
HOURS_PER_YEAR = 8760.0


def capacity_mw(area_km2, density_mw_per_km2: float, usable_share: float = 1.0):
    """Installable capacity in MW: area x power density x usable share.

    Parameters
    ----------
    area_km2 : float or numpy.ndarray
        Parcel area, km2.
    density_mw_per_km2 : float
        Power density, MW per km2 of usable land.
    usable_share : float
        Share of the area that carries plant (0-1].

    Returns
    -------
    float or numpy.ndarray
        MW.
    """
    return area_km2 * density_mw_per_km2 * usable_share


def pv_energy_gwh(capacity_mw_, yield_kwh_per_kwp: float, extra_losses_share: float = 0.0):
    """Annual PV energy in GWh from capacity and specific yield.

    ``MW x kWh/kWp/yr = MWh/yr`` (1 MW = 1000 kWp, 1 GWh = 1000 MWh cancel), so
    ``GWh/yr = MW x yield / 1000``.

    Parameters
    ----------
    capacity_mw_ : float or numpy.ndarray
        Capacity, MWp.
    yield_kwh_per_kwp : float or numpy.ndarray
        Specific yield, kWh per kWp per year.
    extra_losses_share : float
        Losses not already in the yield (0-1).

    Returns
    -------
    float or numpy.ndarray
        GWh/yr.
    """
    return capacity_mw_ * yield_kwh_per_kwp / 1000.0 * (1.0 - extra_losses_share)


def wind_energy_gwh(capacity_mw_, capacity_factor):
    """Annual wind energy in GWh from capacity and capacity factor (after losses).

    ``MW x CF x 8760 h = MWh/yr``, so ``GWh/yr = MW x CF x 8760 / 1000``.

    Parameters
    ----------
    capacity_mw_ : float or numpy.ndarray
        Capacity, MW.
    capacity_factor : float or numpy.ndarray
        Mean capacity factor, 0-1, losses already applied (:class:`WindCFTable` gives it).

    Returns
    -------
    float or numpy.ndarray
        GWh/yr.

    Examples
    --------
    >>> wind_energy_gwh(10.0, 0.25)  # 10 MW x 0.25 x 8760 h = 21,900 MWh
    21.9
    """
    return capacity_mw_ * capacity_factor * HOURS_PER_YEAR / 1000.0


@dataclass(frozen=True)
class PowerCurve:
    """A turbine power curve.

    Attributes
    ----------
    turbine_type : str
        Name (oedb ``turbine_type``).
    speed_ms : numpy.ndarray
        Wind speeds, m/s, increasing.
    power_w : numpy.ndarray
        Electrical power at those speeds, W; zero beyond the last speed (cut-out).
    nominal_power_w : float
        Rated power, W.
    rotor_diameter_m : float
        Rotor diameter, m (NaN if unknown).
    """

    turbine_type: str
    speed_ms: np.ndarray
    power_w: np.ndarray
    nominal_power_w: float
    rotor_diameter_m: float = float("nan")

    def power(self, v_ms: np.ndarray) -> np.ndarray:
        """Power in W at speeds ``v_ms`` (linear between points, 0 beyond cut-out)."""
        v = np.asarray(v_ms, dtype="float64")
        p = np.interp(v, self.speed_ms, self.power_w, left=0.0, right=0.0)
        return np.where(v > self.speed_ms[-1], 0.0, p)


@lru_cache(maxsize=16)
def load_power_curve(turbine_type: str) -> PowerCurve:
    """Load a power curve from windpowerlib's bundled oedb turbine library (no network).

    Parameters
    ----------
    turbine_type : str
        E.g. ``"GE130/3200"``, ``"E-141/4200"``, ``"V126/3300"``.

    Returns
    -------
    PowerCurve

    Raises
    ------
    ConfigError
        If the turbine is not in the library or has no power curve, listing close names.
    """
    import difflib
    import os

    import pandas as pd
    import windpowerlib

    folder = os.path.join(os.path.dirname(windpowerlib.__file__), "oedb")
    data = pd.read_csv(os.path.join(folder, "turbine_data.csv"), index_col=0)
    curves = pd.read_csv(os.path.join(folder, "power_curves.csv"), index_col=0)
    if turbine_type not in curves.index:
        close = difflib.get_close_matches(turbine_type, list(curves.index), n=3, cutoff=0.4)
        raise ConfigError(
            f"wind turbine_type {turbine_type!r} has no power curve in windpowerlib's oedb "
            f"library; close names: {close} (see windpowerlib.get_turbine_types())"
        )
    row = curves.loc[turbine_type].dropna()
    speed = np.array([float(s) for s in row.index])
    power = row.to_numpy(dtype="float64")
    order = np.argsort(speed)
    nominal = (
        float(data.loc[turbine_type, "nominal_power"])
        if turbine_type in data.index
        else (float(power.max()))
    )
    rotor = (
        float(data.loc[turbine_type, "rotor_diameter"])
        if turbine_type in data.index
        else (float("nan"))
    )
    return PowerCurve(turbine_type, speed[order], power[order], nominal, rotor)


def weibull_capacity_factor(
    mean_speed_ms, curve: PowerCurve, k: float = 2.0, *, dv_ms: float = 0.01
) -> np.ndarray:
    """Capacity factor of a turbine under Weibull-distributed wind of a given mean speed.

    The Weibull scale is ``A = mean / Gamma(1 + 1/k)``; the expected power is the integral of
    ``P(v) f(v)`` over speed (midpoint rule on ``dv_ms`` steps up to cut-out), divided by the
    rated power. ``k = 2`` is the Rayleigh distribution.

    Parameters
    ----------
    mean_speed_ms : float or numpy.ndarray
        Mean hub-height wind speeds, m/s.
    curve : PowerCurve
        The turbine.
    k : float
        Weibull shape.
    dv_ms : float
        Integration step, m/s.

    Returns
    -------
    numpy.ndarray
        Capacity factors (0-1, before losses), shape of ``mean_speed_ms``.
    """
    mean = np.atleast_1d(np.asarray(mean_speed_ms, dtype="float64"))
    v_max = float(curve.speed_ms[-1])
    edges = np.arange(0.0, v_max + dv_ms, dv_ms)
    edges[-1] = min(edges[-1], v_max)
    mids = 0.5 * (edges[:-1] + edges[1:])
    p_mid = curve.power(mids)
    out = np.zeros(mean.shape)
    pos = mean > 0
    scale = mean[pos] / math.gamma(1.0 + 1.0 / k)
    # P(v in bin) = F(b) - F(a), F(v) = 1 - exp(-(v/A)^k)
    cdf = 1.0 - np.exp(-((edges[None, :] / scale[:, None]) ** k))
    out[pos] = (np.diff(cdf, axis=1) * p_mid[None, :]).sum(axis=1) / curve.nominal_power_w
    return out.reshape(np.shape(mean_speed_ms))


@dataclass(frozen=True)
class WindCFTable:
    """Capacity factor (after losses) as a function of the speed layer's mean speed.

    Built once per run (:func:`wind_cf_table`) and applied to every cell by interpolation.
    """

    layer_speed_ms: np.ndarray
    capacity_factor: np.ndarray
    turbine: PowerCurve
    hub_height_m: float

    def __call__(self, layer_speed_ms: np.ndarray) -> np.ndarray:
        """Capacity factors for speeds of the speed layer (NaN stays NaN)."""
        v = np.asarray(layer_speed_ms, dtype="float64")
        out = np.interp(v, self.layer_speed_ms, self.capacity_factor)
        out[np.isnan(v)] = np.nan
        return out.astype("float32")


def wind_cf_table(cfg, *, step_ms: float = 0.05, max_speed_ms: float = 25.0) -> WindCFTable:
    """Tabulate capacity factor against the speed layer's speed for a wind energy config.

    Speeds at the layer's height are scaled to hub height by the power law
    ``v_hub = v (hub / h)^alpha``; the capacity factor is
    ``weibull_capacity_factor(v_hub) x (1 - losses_share)``.

    Parameters
    ----------
    cfg : siting.config.WindEnergyConfig
        Turbine, heights, shear, Weibull k, losses.
    step_ms : float
        Table spacing in m/s (linear interpolation between entries).
    max_speed_ms : float
        Largest mean speed tabulated; faster cells take the last value.

    Returns
    -------
    WindCFTable
    """
    curve = load_power_curve(cfg.turbine_type)
    v = np.arange(0.0, max_speed_ms + step_ms / 2, step_ms)
    v_hub = v * (cfg.hub_height_m / cfg.speed_height_m) ** cfg.shear_exponent
    cf = weibull_capacity_factor(v_hub, curve, cfg.weibull_k) * (1.0 - cfg.losses_share)
    return WindCFTable(v, cf, curve, cfg.hub_height_m)
