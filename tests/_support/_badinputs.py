"""Build small real projects (GeoPackage, GeoTIFF, YAML) and break them one way at a time.

``tiny(tmp)`` writes a 0.2 x 0.2 degree study area near Taiyuan with two counties and a 30 x 30
DEM (0.01 degree cells, EPSG:4326), and returns its config as a dict; ``write(tmp, cfg)``
writes the YAML; ``demo(tmp)`` returns the shipped Shanxi demo config with absolute paths (for
siting cases); ``cli(args, capsys)`` runs the real ``sxplan`` entry point and returns
``(exit code, stdout, stderr)``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import yaml
from rasterio.transform import from_origin

from _sxtest import write_tif

AREA = (112.4, 37.7, 112.6, 37.9)
DEM_TRANSFORM = from_origin(112.35, 37.95, 0.01, 0.01)  # 30 x 30 cells cover the area + margin


def dem_array() -> np.ndarray:
    """800 m in the west rising 10 m per column: 30 x 30 int16."""
    return (np.arange(30)[None, :] * 10 + np.zeros((30, 1))).astype("int16") + 800


def tiny(tmp: Path, *, dem: np.ndarray | None = None, nodata=-32768) -> dict:
    """Write the inputs of a tiny project into ``tmp/inputs``; return its config dict."""
    d = Path(tmp) / "inputs"
    d.mkdir(parents=True, exist_ok=True)
    box = shapely.box(*AREA)
    gpd.GeoDataFrame({"name": ["示范省"]}, geometry=[box], crs="EPSG:4326").to_file(
        d / "admin.gpkg", layer="province"
    )
    west, east = shapely.box(112.4, 37.7, 112.5, 37.9), shapely.box(112.5, 37.7, 112.6, 37.9)
    gpd.GeoDataFrame(
        {"code": [140101, 140102], "cname": ["甲县", "乙县"], "pref": ["示范市", "示范市"]},
        geometry=[west, east],
        crs="EPSG:4326",
    ).to_file(d / "admin.gpkg", layer="counties")
    array = dem_array() if dem is None else dem
    write_tif(d / "dem.tif", array, DEM_TRANSFORM, "EPSG:4326", nodata)
    return {
        "project": {
            "study_area": "province",
            "counties": "counties",
            "county_fields": {"adcode": "code", "name": "cname", "prefecture": "pref"},
            "resolution_m": 1000,
            "progress": False,
            "scheduler": "sync",
        },
        "layers": {
            "province": {"type": "vector", "path": "inputs/admin.gpkg", "layer": "province"},
            "counties": {"type": "vector", "path": "inputs/admin.gpkg", "layer": "counties"},
            "dem": {"type": "raster", "path": "inputs/dem.tif", "kind": "continuous", "units": "m"},
        },
    }


def write(tmp: Path, cfg: dict, name: str = "project.yaml") -> Path:
    """Write ``cfg`` as UTF-8 YAML into ``tmp``; return the path."""
    path = Path(tmp) / name
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def demo(tmp: Path) -> dict:
    """The shipped demo config with every ``shanxi/...`` path made absolute."""
    from sxplan.config import demo_config_path

    src = demo_config_path()
    raw = yaml.safe_load(src.read_text(encoding="utf-8"))

    def fix(v):
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, list):
            return [fix(x) for x in v]
        if isinstance(v, str) and v.startswith("shanxi/"):
            return str(src.parent / v)
        return v

    return copy.deepcopy(fix(raw))


def cli(args, capsys) -> tuple[int, str, str]:
    """Run the real ``sxplan`` entry point in-process; return (code, stdout, stderr)."""
    from sxplan.cli import main

    capsys.readouterr()
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def listing(folder: Path) -> list[str]:
    """Every path under ``folder``, relative, sorted (to show nothing was written)."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))
