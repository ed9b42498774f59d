"""Read what GDAL itself reports about a raster band, through GDAL's C API (ctypes).

The rasterio wheel ships GDAL as a shared library; this loads that same library and asks it
for a band's category names and raster attribute table, which rasterio does not expose. The
tests use it to see a file as QGIS (also a GDAL client) sees it.
"""

from __future__ import annotations

import ctypes
import glob
import os

import rasterio


def _lib():
    here = os.path.dirname(rasterio.__file__)
    found = sorted(glob.glob(os.path.join(here, "..", "rasterio.libs", "libgdal*.so*")))
    lib = ctypes.CDLL(found[0] if found else "libgdal.so")
    lib.GDALAllRegister()
    lib.GDALOpen.restype = ctypes.c_void_p
    lib.GDALOpen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    lib.GDALClose.argtypes = [ctypes.c_void_p]
    lib.GDALGetRasterBand.restype = ctypes.c_void_p
    lib.GDALGetRasterBand.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.GDALGetRasterCategoryNames.restype = ctypes.POINTER(ctypes.c_char_p)
    lib.GDALGetRasterCategoryNames.argtypes = [ctypes.c_void_p]
    lib.GDALGetDefaultRAT.restype = ctypes.c_void_p
    lib.GDALGetDefaultRAT.argtypes = [ctypes.c_void_p]
    for name in ("GDALRATGetRowCount", "GDALRATGetColumnCount"):
        getattr(lib, name).restype = ctypes.c_int
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.GDALRATGetNameOfCol.restype = ctypes.c_char_p
    lib.GDALRATGetNameOfCol.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.GDALRATGetUsageOfCol.restype = ctypes.c_int
    lib.GDALRATGetUsageOfCol.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.GDALRATGetValueAsString.restype = ctypes.c_char_p
    lib.GDALRATGetValueAsString.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    return lib


def band_categories(path) -> tuple[list[str], list[dict]]:
    """(category names, attribute-table rows as dicts with a ``_usage`` map) of band 1."""
    lib = _lib()
    ds = lib.GDALOpen(str(path).encode(), 0)
    assert ds, f"GDAL cannot open {path}"
    try:
        band = lib.GDALGetRasterBand(ds, 1)
        rat = lib.GDALGetDefaultRAT(band)  # also makes the GeoTIFF driver load its .aux.xml
        names = []
        arr = lib.GDALGetRasterCategoryNames(band)
        i = 0
        while arr and arr[i] is not None:
            names.append(arr[i].decode("utf-8"))
            i += 1
        rows = []
        if rat:
            ncol = lib.GDALRATGetColumnCount(rat)
            cols = [lib.GDALRATGetNameOfCol(rat, c).decode() for c in range(ncol)]
            usage = {cols[c]: lib.GDALRATGetUsageOfCol(rat, c) for c in range(ncol)}
            for r in range(lib.GDALRATGetRowCount(rat)):
                get = lib.GDALRATGetValueAsString
                row = {cols[c]: get(rat, r, c).decode() for c in range(ncol)}
                row["_usage"] = usage
                rows.append(row)
        return names, rows
    finally:
        lib.GDALClose(ds)
