"""ghi.tif and pv_yield.tif: pvlib clear sky x MERRA-2 monthly clear-sky index, PVWatts chain."""

from __future__ import annotations

import calendar
import math
from pathlib import Path

import numpy as np
import pandas as pd
from affine import Affine
from rasterio.warp import Resampling, reproject
from scipy.interpolate import RegularGridInterpolator

from .common import LC_RES, write_tif
from .extracts import read_dem_window

# PV system (kWh/kWp): fixed tilt, south-facing, PVWatts-style chain.
PV_TILT_DEG = 35.0
PV_AZIMUTH_DEG = 180.0
PV_ALBEDO = 0.2
PV_GAMMA_PDC = -0.0037  # 1/K, not applied per site (no temperature climatology, see DATA.md)
PV_TEMPERATURE_LOSS = 0.03  # flat annual temperature derate (assumption, stated in DATA.md)
PV_DC_AC_RATIO = 1.2
PV_INV_ETA = 0.96
N_DAY_TYPES = 5  # quantile classes of each monthly MERRA-2 daily-GHI distribution
STEP_MIN = 30  # time step within the representative day (15th of each month)


# --------------------------------------------------------------------------------------- solar
def _linke_turbidity(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Monthly Linke turbidity (12, *shape) at points, indexed as pvlib's lookup does."""
    import h5py
    import pvlib

    path = Path(pvlib.__file__).parent / "data" / "LinkeTurbidities.h5"
    ilat = np.clip(np.around((lat - (90 - 1 / 24)) * (-12)), 0, 2159).astype(int)
    ilon = np.clip(np.around((lon - (-180 + 1 / 24)) * 12), 0, 4319).astype(int)
    with h5py.File(path, "r") as f:
        d = f["LinkeTurbidity"]
        r0, r1 = ilat.min(), ilat.max() + 1
        c0, c1 = ilon.min(), ilon.max() + 1
        block = d[r0:r1, c0:c1, :]
    lt = block[ilat - r0, ilon - c0, :].astype("float64") / 20.0
    # cross-check two points against pvlib's own lookup (guards the index arithmetic)
    for k in (0, lat.size - 1):
        la, lo = float(lat.flat[k]), float(lon.flat[k])
        ref = pvlib.clearsky.lookup_linke_turbidity(
            pd.date_range("2019-01-01", periods=12, freq="MS", tz="UTC") + pd.Timedelta(days=14),
            la,
            lo,
            interp_turbidity=False,
        ).to_numpy()
        if not np.allclose(ref, lt.reshape(-1, 12)[k]):
            raise RuntimeError(f"Linke turbidity lookup mismatch at {la}, {lo}")
    return np.moveaxis(lt, -1, 0)


def _sun(lat: np.ndarray, lon: np.ndarray, doy: int, hours_utc: np.ndarray):
    """Solar zenith/azimuth (degrees), shape (T, N), Spencer (1971) via pvlib."""
    from pvlib import solarposition as sp

    decl = sp.declination_spencer71(doy)
    eot = sp.equation_of_time_spencer71(doy)  # minutes
    ha = np.radians(15.0 * (hours_utc[:, None] - 12.0) + lon[None, :] + eot / 4.0)
    latr = np.radians(lat)[None, :]
    zen = sp.solar_zenith_analytical(latr, ha, decl)
    azi = sp.solar_azimuth_analytical(latr, ha, decl, zen)
    return np.degrees(zen), np.degrees(azi)


def _clearsky(lat, lon, elev, lt_month, doy, hours):
    """Ineichen clear sky (T, N) arrays plus geometry."""
    from pvlib import atmosphere, clearsky, irradiance

    zen, azi = _sun(lat, lon, doy, hours)
    dni_extra = float(irradiance.get_extra_radiation(doy))
    am_rel = atmosphere.get_relative_airmass(np.where(zen < 90, zen, np.nan))
    am_abs = atmosphere.get_absolute_airmass(am_rel, atmosphere.alt2pres(elev)[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        cs = clearsky.ineichen(zen, am_abs, lt_month[None, :], elev[None, :], dni_extra)
    ghi = np.nan_to_num(np.asarray(cs["ghi"], dtype="float64"))
    return ghi, zen, azi, am_rel, dni_extra


def _merra_day_types(lat3: np.ndarray, lon3: np.ndarray):
    """Monthly mean daily GHI (W/m2) and day-type ratios/probabilities per 3-degree cell."""
    import gsee_climate_data

    z = gsee_climate_data.load()
    ii = [int(np.flatnonzero(np.isclose(z["lat"], v))[0]) for v in lat3]
    jj = [int(np.flatnonzero(np.isclose(z["lon"], v))[0]) for v in lon3]
    xk = z["xk"][np.ix_(ii, jj)].astype("float64")  # (nlat, nlon, 12, 128)
    pk = z["pk"][np.ix_(ii, jj)].astype("float64")
    pk = pk / pk.sum(axis=-1, keepdims=True)
    mean = (xk * pk).sum(-1)  # (nlat, nlon, 12)
    # N_DAY_TYPES equal-probability classes of the daily GHI distribution
    cum = np.cumsum(pk, axis=-1) - pk / 2
    cls = np.minimum((cum * N_DAY_TYPES).astype(int), N_DAY_TYPES - 1)
    prob = np.zeros(mean.shape + (N_DAY_TYPES,))
    ratio = np.zeros_like(prob)
    for q in range(N_DAY_TYPES):
        w = np.where(cls == q, pk, 0.0)
        prob[..., q] = w.sum(-1)
        ratio[..., q] = (w * xk).sum(-1) / np.maximum(prob[..., q], 1e-12) / mean
    return mean, prob, ratio


def build_solar(out: Path, bbox, dem: np.ndarray, dem_tr: Affine) -> None:
    from pvlib import iam, inverter, irradiance, pvsystem

    w, s, e, n = bbox
    ncol, nrow = round((e - w) / LC_RES), round((n - s) / LC_RES)
    tr = Affine(LC_RES, 0, w, 0, -LC_RES, n)
    # DEM elevation averaged onto the 0.05 degree solar grid
    elev = np.full((nrow, ncol), np.nan, dtype="float64")
    reproject(
        dem.astype("float64"),
        elev,
        src_transform=dem_tr,
        src_crs="EPSG:4326",
        src_nodata=-32768,
        dst_transform=tr,
        dst_crs="EPSG:4326",
        dst_nodata=np.nan,
        resampling=Resampling.average,
    )
    lon = w + LC_RES * (np.arange(ncol) + 0.5)
    lat = n - LC_RES * (np.arange(nrow) + 0.5)
    glon, glat = np.meshgrid(lon, lat)
    plat, plon, pelev = glat.ravel(), glon.ravel(), elev.ravel()

    # MERRA-2 3-degree cells bracketing the box (cell centres on multiples of 3)
    lat3 = np.arange(math.floor(s / 3) * 3, math.ceil(n / 3) * 3 + 1, 3.0)
    lon3 = np.arange(math.floor(w / 3) * 3, math.ceil(e / 3) * 3 + 1, 3.0)
    mean3, prob3, ratio3 = _merra_day_types(lat3, lon3)
    g3lat, g3lon = np.meshgrid(lat3, lon3, indexing="ij")
    elev3 = np.zeros(g3lat.shape)
    for a in range(len(lat3)):
        for b in range(len(lon3)):
            d, _ = read_dem_window(lon3[b] - 1.5, lat3[a] - 1.5, lon3[b] + 1.5, lat3[a] + 1.5)
            elev3[a, b] = d[d > -32768].mean()
    lt_p = _linke_turbidity(plat, plon)
    lt_3 = _linke_turbidity(g3lat.ravel(), g3lon.ravel())

    def interp(field3: np.ndarray) -> np.ndarray:
        f = RegularGridInterpolator((lat3, lon3), field3, method="linear")
        return f(np.column_stack([plat, plon]))

    hours = (np.arange(0, 24 * 60, STEP_MIN) + STEP_MIN / 2) / 60.0
    dt_h = STEP_MIN / 60.0
    tilt, az = PV_TILT_DEG, PV_AZIMUTH_DEG
    pac0 = 1.0 / PV_DC_AC_RATIO
    losses = pvsystem.pvwatts_losses() / 100.0
    ghi_year = np.zeros(plat.size)
    pv_year = np.zeros(plat.size)
    for m in range(12):
        doy = pd.Timestamp(2019, m + 1, 15).day_of_year
        days = calendar.monthrange(2019, m + 1)[1]
        cs3, *_ = _clearsky(g3lat.ravel(), g3lon.ravel(), elev3.ravel(), lt_3[m], doy, hours)
        cs3_mean = cs3.mean(axis=0).reshape(g3lat.shape)  # W/m2 daily mean
        kc = interp(mean3[..., m] / cs3_mean)  # all-sky / clear-sky, per solar cell
        cs, zen, azi, am_rel, dni_extra = _clearsky(plat, plon, pelev, lt_p[m], doy, hours)
        ghi_year += kc * cs.sum(axis=0) * dt_h * days / 1000.0
        aoi = irradiance.aoi(tilt, az, zen, azi)
        iam_b = iam.physical(aoi)
        for q in range(N_DAY_TYPES):
            pq = interp(prob3[..., m, q])
            rq = interp(ratio3[..., m, q])
            ghi_t = (kc * rq)[None, :] * cs
            sp = irradiance.erbs(ghi_t, zen, doy)
            dni = np.nan_to_num(np.asarray(sp["dni"]))
            dhi = np.nan_to_num(np.asarray(sp["dhi"]))
            poa = irradiance.get_total_irradiance(
                tilt, az, zen, azi, dni, ghi_t, dhi, dni_extra=dni_extra,
                airmass=am_rel, albedo=PV_ALBEDO, model="haydavies",
            )  # fmt: skip
            eff = np.nan_to_num(poa["poa_direct"]) * np.nan_to_num(iam_b) + np.nan_to_num(
                poa["poa_diffuse"]
            )
            pdc = pvsystem.pvwatts_dc(eff, 25.0, 1.0, PV_GAMMA_PDC)
            pdc = pdc * (1 - losses) * (1 - PV_TEMPERATURE_LOSS)
            pac = inverter.pvwatts(pdc, pac0 / PV_INV_ETA, eta_inv_nom=PV_INV_ETA)
            pac = np.clip(np.nan_to_num(pac), 0.0, None)
            pv_year += pq * pac.sum(axis=0) * dt_h * days
    valid = np.isfinite(pelev)
    ghi = np.where(valid, np.round(ghi_year, 1), np.nan).reshape(nrow, ncol).astype("float32")
    pv = np.where(valid, np.round(pv_year, 1), np.nan).reshape(nrow, ncol).astype("float32")
    common = {
        "method": "pvlib Ineichen clear sky (Linke turbidity climatology, DEM elevation) x "
        "MERRA-2 2011-2015 monthly clear-sky index (gsee-climate-data), see DATA.md",
    }
    write_tif(out / "ghi.tif", ghi, tr, np.nan, {**common, "units": "kWh/m2/yr"})
    write_tif(
        out / "pv_yield.tif",
        pv,
        tr,
        np.nan,
        {
            **common,
            "units": "kWh/kWp/yr",
            "system": f"fixed tilt {PV_TILT_DEG:g} deg, azimuth {PV_AZIMUTH_DEG:g} (south), "
            f"PVWatts losses {losses * 100:.2f}%, temperature derate "
            f"{PV_TEMPERATURE_LOSS * 100:g}%, DC/AC {PV_DC_AC_RATIO:g}, inverter {PV_INV_ETA:g}",
        },
    )
    print(f"ghi.tif: {np.nanmin(ghi):.0f}..{np.nanmax(ghi):.0f} kWh/m2/yr; "
          f"pv_yield.tif: {np.nanmin(pv):.0f}..{np.nanmax(pv):.0f} kWh/kWp/yr")  # fmt: skip
