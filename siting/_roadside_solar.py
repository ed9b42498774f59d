"""Plane-of-array to horizontal irradiation ratios for tilted strips, without hourly weather.

Method (per latitude rounded to 0.5 degree, longitude to 1 degree, annual GHI to 50 kWh/m2/yr):

1. Hourly solar position for a non-leap year (pvlib SPA) and Ineichen-Perez clear-sky GHI with
   the Linke turbidity climatology shipped with pvlib (Ineichen & Perez 2002, Solar Energy 73:151;
   Remund et al. 2003), at a fixed site altitude.
2. Days of unequal clearness: daily clearness index ``kt`` follows the distribution of Bendt,
   Collares-Pereira & Rabl (1981, Solar Energy 27:1-5) for the annual mean ``Kt = GHI /
   extraterrestrial horizontal``; ``n_bins`` equal-probability quantiles of it each scale the
   clear-sky day shape. A real year mixes clear and overcast days, and a single uniform scaling
   would give every hour the same middling clearness and overstate the diffuse share.
3. Erbs et al. (1982, Solar Energy 28:293) decomposition of each hour into beam and diffuse
   (pvlib ``irradiance.erbs``), then a final scaling so annual GHI equals the layer's value.
4. Transposition to the plane of array with Perez et al. (1990) (or Hay-Davies) via pvlib
   ``irradiance.get_total_irradiance``, ground albedo as configured. A terrain horizon at
   ``horizon_deg`` (uniform in azimuth) removes the beam component while the sun is below it.
5. ``ratio = annual POA / annual GHI``, summed over every third day (the annual ratio moves by
   under 0.1 % against all days). Results are cached by rounded tilt (1 degree), azimuth
   (5 degrees) and horizon (1 degree), and each weather's orientations are transposed in
   batches, so thousands of strips need a few seconds.

Inputs: latitude, longitude (degrees), annual GHI (kWh/m2/yr), tilt, azimuth (degrees from
true north, clockwise), horizon elevation (degrees). Outputs: dimensionless ratios.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache

import numpy as np
import pandas as pd

__all__ = ["SITE_ALTITUDE_M", "clear_caches", "optimal_tilt_deg", "poa_ratio", "weather_keys"]

#: Altitude used for the clear-sky shape (Shanxi's mean elevation is about 1,000 m).
SITE_ALTITUDE_M = 1000.0
_N_BINS = 12
_LAT_STEP = 0.5
_LON_STEP = 1.0
_GHI_STEP = 50.0
_DAY_STEP = 3
_BATCH = 48


def _bendt_quantiles(kt_mean: float, n: int) -> np.ndarray:
    """Equal-probability quantile midpoints of Bendt et al. (1981) daily clearness."""
    from scipy.optimize import brentq

    k_min = 0.05
    k_max = 0.6313 + 0.267 * kt_mean - 11.9 * (kt_mean - 0.75) ** 8
    kt_mean = float(np.clip(kt_mean, k_min + 1e-3, k_max - 1e-3))

    def mean_of(g: float) -> float:
        if abs(g) < 1e-6:
            return 0.5 * (k_min + k_max)
        e0, e1 = math.exp(g * k_min), math.exp(g * k_max)
        return ((k_min - 1 / g) * e0 - (k_max - 1 / g) * e1) / (e0 - e1)

    target = kt_mean
    if abs(target - 0.5 * (k_min + k_max)) < 1e-9:
        g = 0.0
    else:
        g = brentq(lambda v: mean_of(v) - target, -200.0, 200.0)
    u = (np.arange(n) + 0.5) / n
    if abs(g) < 1e-6:
        return k_min + u * (k_max - k_min)
    e0, e1 = math.exp(g * k_min), math.exp(g * k_max)
    return np.log(e0 - u * (e0 - e1)) / g


@lru_cache(maxsize=64)
def _clear_year(lat: float, lon: float) -> dict:
    """Hourly clear-sky year at a location (daylight hours only)."""
    import pvlib

    times = pd.date_range("2019-01-01 00:30", periods=8760, freq="h", tz="UTC")
    with warnings.catch_warnings():  # pvlib 0.16 still calls DatetimeIndex.dayofyear
        warnings.filterwarnings("ignore", message=".*dayofyear", category=DeprecationWarning)
        sp = pvlib.solarposition.get_solarposition(times, lat, lon, altitude=SITE_ALTITUDE_M)
        linke = pvlib.clearsky.lookup_linke_turbidity(times, lat, lon)
        am_rel = pvlib.atmosphere.get_relative_airmass(sp["apparent_zenith"])
        am_abs = pvlib.atmosphere.get_absolute_airmass(
            am_rel, pvlib.atmosphere.alt2pres(SITE_ALTITUDE_M)
        )
        dni_extra = pvlib.irradiance.get_extra_radiation(times)
        cs = pvlib.clearsky.ineichen(
            sp["apparent_zenith"], am_abs, linke, altitude=SITE_ALTITUDE_M, dni_extra=dni_extra
        )
    zen = sp["zenith"].to_numpy()
    ext_h = np.maximum(dni_extra.to_numpy() * np.cos(np.radians(zen)), 0.0)
    day = zen < 90.0
    # Days in local solar time (UTC + lon / 15 h), so a day's morning and afternoon share it.
    doy = (times + pd.Timedelta(hours=lon / 15.0)).day_of_year.to_numpy()
    ghi_cs = cs["ghi"].to_numpy()
    # Daily clear-sky clearness, used to scale each day's clear-sky shape to a target kt.
    cs_day = np.bincount(doy, weights=ghi_cs, minlength=367)
    ext_day = np.bincount(doy, weights=ext_h, minlength=367)
    kt_cs_day = np.divide(cs_day, ext_day, out=np.zeros_like(cs_day), where=ext_day > 0)
    return {
        "zenith": zen[day],
        "app_elev": 90.0 - sp["apparent_zenith"].to_numpy()[day],
        "azimuth": sp["azimuth"].to_numpy()[day],
        "ghi_cs": ghi_cs[day],
        "kt_cs": kt_cs_day[doy[day]],
        "doy": doy[day],
        "dni_extra": dni_extra.to_numpy()[day],
        "airmass": am_rel.to_numpy()[day],
        "ext_h_total_kwh": ext_h.sum() / 1000.0,
    }


@lru_cache(maxsize=32)
def _weather(lat: float, lon: float, ghi_kwh: float) -> dict:
    """Synthetic hourly GHI/DNI/DHI (stacked over clearness bins) matching annual GHI.

    Decomposition and the annual scaling use every day of the year; the arrays returned for
    transposition keep every ``_DAY_STEP``-th day (annual ratios change by under 0.1 %), with
    irradiance left at its physical magnitude (Perez coefficients depend on it).
    """
    import pvlib

    cy = _clear_year(lat, lon)
    kt_mean = ghi_kwh / cy["ext_h_total_kwh"]
    kts = _bendt_quantiles(kt_mean, _N_BINS)
    scale = np.clip(kts[:, None] / np.maximum(cy["kt_cs"][None, :], 1e-6), 0.0, 1.05)
    ghi = (scale * cy["ghi_cs"][None, :]).ravel()
    zen = np.tile(cy["zenith"], _N_BINS)
    doy = np.tile(cy["doy"], _N_BINS)
    erbs = pvlib.irradiance.erbs(ghi, zen, doy)
    # Each bin is one equally likely version of the year; their mean is the expected year.
    # The factor only corrects the discretisation of the distribution (it is within 1 %).
    factor = ghi_kwh * 1000.0 * _N_BINS / ghi.sum()
    keep = (doy - 1) % _DAY_STEP == 0
    return {
        "ghi_annual_kwh": float((ghi * factor).sum() / _N_BINS / 1000.0),
        "factor": factor,
        "ghi": (ghi * factor)[keep],
        "dni": (np.asarray(erbs["dni"]) * factor)[keep],
        "dhi": (np.asarray(erbs["dhi"]) * factor)[keep],
        "zenith": zen[keep],
        "app_elev": np.tile(cy["app_elev"], _N_BINS)[keep],
        "azimuth": np.tile(cy["azimuth"], _N_BINS)[keep],
        "dni_extra": np.tile(cy["dni_extra"], _N_BINS)[keep],
        "airmass": np.tile(cy["airmass"], _N_BINS)[keep],
    }


#: (lat, lon, ghi, tilt, azimuth, horizon, albedo, model) -> ratio
_CACHE: dict[tuple, float] = {}


def _ratios(wkey: tuple, orient: np.ndarray, albedo: float, model: str) -> np.ndarray:
    """Ratios for many ``(tilt, azimuth, horizon)`` rows under one weather, in batches."""
    import pvlib

    wx = _weather(*wkey)
    out = np.empty(len(orient))
    ghi_sum = wx["ghi"].sum()
    for a in range(0, len(orient), _BATCH):
        o = orient[a : a + _BATCH]
        tilt, az, hz = o[:, 0:1], o[:, 1:2], o[:, 2:3]
        with np.errstate(invalid="ignore", divide="ignore"):
            poa = pvlib.irradiance.get_total_irradiance(
                tilt,
                az,
                wx["zenith"],
                wx["azimuth"],
                wx["dni"],
                wx["ghi"],
                wx["dhi"],
                dni_extra=wx["dni_extra"],
                airmass=wx["airmass"],
                albedo=albedo,
                model=model,
            )
        total = np.nan_to_num(np.asarray(poa["poa_global"], dtype="float64"))
        direct = np.nan_to_num(np.asarray(poa["poa_direct"], dtype="float64"))
        total = total - np.where(wx["app_elev"][None, :] < hz, direct, 0.0)
        out[a : a + len(o)] = total.sum(axis=1) / ghi_sum
    return out


def clear_caches() -> None:
    """Forget the cached clear-sky years, weathers and ratios.

    They serve one run's strips: kept after it, they held 46 MB through the later steps of
    the 30 m demo (2026-12-03, ``benchmarks/README.md`` s35). Values are unchanged; a later
    call computes them again.
    """
    _clear_year.cache_clear()
    _weather.cache_clear()
    _CACHE.clear()


def _ratio_cached(lat, lon, ghi_kwh, tilt, azimuth, horizon, albedo, model) -> float:
    """One ratio through the cache (for tests and single look-ups)."""
    key = (lat, lon, ghi_kwh, tilt, azimuth, horizon, albedo, model)
    if key not in _CACHE:
        _CACHE[key] = float(
            _ratios((lat, lon, ghi_kwh), np.array([[tilt, azimuth, horizon]]), albedo, model)[0]
        )
    return _CACHE[key]


def _round(v, step):
    return np.round(np.asarray(v, dtype="float64") / step) * step


def weather_keys(lat, lon, ghi_kwh_m2_yr) -> np.ndarray:
    """The synthetic weather :func:`poa_ratio` uses at each point: rows ``(lat, lon, ghi)``.

    Rounded as :func:`poa_ratio` rounds them (0.5 degree, 1 degree, 50 kWh/m2/yr); NaN where an
    input is not finite. Points with equal rows share one weather, so callers can compute their
    ratios together while it is cached.

    Examples
    --------
    >>> weather_keys([37.8, 37.6], [112.4, 112.6], [1460.0, 1440.0]).tolist()
    [[38.0, 112.0, 1450.0], [37.5, 113.0, 1450.0]]
    """
    rows = np.broadcast_arrays(
        _round(lat, _LAT_STEP), _round(lon, _LON_STEP), _round(ghi_kwh_m2_yr, _GHI_STEP)
    )
    return np.column_stack([np.ravel(a) for a in rows])


def poa_ratio(
    lat,
    lon,
    ghi_kwh_m2_yr,
    tilt_deg,
    azimuth_deg,
    horizon_deg=0.0,
    *,
    albedo: float = 0.2,
    model: str = "perez",
) -> np.ndarray:
    """Annual plane-of-array irradiation divided by annual GHI, for arrays of strips.

    Parameters
    ----------
    lat, lon : array_like
        Location in degrees (WGS84); rounded to 0.5 degree.
    ghi_kwh_m2_yr : array_like
        Annual global horizontal irradiation, kWh/m2/yr; rounded to 25.
    tilt_deg : array_like
        Panel tilt from horizontal, degrees; rounded to 1.
    azimuth_deg : array_like
        Direction the panel faces, degrees clockwise from true north; rounded to 5.
    horizon_deg : array_like
        Terrain horizon elevation in front of the panel, degrees; rounded to 1.
    albedo : float
        Ground reflectance.
    model : {"perez", "haydavies"}
        Sky-diffuse transposition model.

    Returns
    -------
    numpy.ndarray
        Ratios (about 1.1 for a south-facing 30 degree panel in Shanxi, about 0.7 facing north).

    Examples
    --------
    >>> r = poa_ratio(37.8, 112.5, 1450.0, [30, 30], [180, 0])
    >>> bool(r[0] > 1.0 > r[1])
    True
    """
    arrays = np.broadcast_arrays(
        _round(lat, _LAT_STEP),
        _round(lon, _LON_STEP),
        _round(ghi_kwh_m2_yr, _GHI_STEP),
        _round(np.clip(tilt_deg, 0, 90), 1.0),
        np.mod(_round(azimuth_deg, 5.0), 360.0),
        _round(np.maximum(horizon_deg, 0.0), 1.0),
    )
    flat = [a.ravel() for a in arrays]
    out = np.full(flat[0].shape, np.nan)
    ok = np.all([np.isfinite(a) for a in flat], axis=0)
    if ok.any():
        keys = np.column_stack([a[ok] for a in flat])
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        extra = (float(albedo), model)
        full = [tuple(map(float, row)) + extra for row in uniq]
        missing = [k for k in full if k not in _CACHE]
        groups: dict[tuple, list] = {}
        for k in missing:
            groups.setdefault(k[:3], []).append(k)
        for wkey, ks in groups.items():
            vals = _ratios(wkey, np.array([k[3:6] for k in ks]), float(albedo), model)
            _CACHE.update(zip(ks, vals.tolist(), strict=True))
        vals = np.array([_CACHE[k] for k in full])
        out[ok] = vals[inverse.ravel()]
    return out.reshape(arrays[0].shape)


def optimal_tilt_deg(lat: float, lon: float, ghi_kwh_m2_yr: float, *, albedo=0.2, model="perez"):
    """Tilt (whole degrees, 0-70) of a south-facing panel with the highest annual ratio.

    Parameters
    ----------
    lat, lon : float
        Location, degrees.
    ghi_kwh_m2_yr : float
        Annual GHI, kWh/m2/yr.
    albedo : float
        Ground reflectance.
    model : str
        Transposition model.

    Returns
    -------
    tuple of float
        ``(tilt_deg, ratio)``.
    """
    coarse = np.arange(0.0, 71.0, 5.0)
    r = poa_ratio(lat, lon, ghi_kwh_m2_yr, coarse, 180.0, albedo=albedo, model=model)
    if not np.isfinite(r).any():
        return float("nan"), float("nan")
    c = coarse[int(np.nanargmax(r))]
    fine = np.arange(max(c - 4.0, 0.0), min(c + 4.0, 70.0) + 0.5, 1.0)
    r = poa_ratio(lat, lon, ghi_kwh_m2_yr, fine, 180.0, albedo=albedo, model=model)
    i = int(np.nanargmax(r))
    return float(fine[i]), float(r[i])
