"""Helpers of scripts/build_demo_data.py, one module per group of demo files.

- common: shared grid constants, package lookup, deterministic GeoTIFF/GeoPackage writers
- boundaries: admin.gpkg (Amap counties, prefectures, province; GCJ-02 -> WGS84) and the bbox
- extracts: dem.tif, landcover_igbp.tif, water.gpkg, cut straight from source packages
- solar: ghi.tif, pv_yield.tif (pvlib clear sky x MERRA-2 clear-sky index, PVWatts chain)
- proxies: wind_proxy.tif, redline_proxy.gpkg, highways_schematic.gpkg (stand-ins, see DATA.md)
- manifest: manifest.json (hashes and source package versions)

Not an installed package: build_demo_data.py puts its own folder (scripts/) on sys.path.
"""
