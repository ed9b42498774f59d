"""Helpers for tests that run the real CLI on the demo data: configs, subprocesses, checksums."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import yaml

from sxplan.config import demo_config_path


def demo_project(folder: Path, edit=None, res_m: float = 3000, name: str = "project.yaml") -> Path:
    """Write the demo config into ``folder`` (paths made absolute, coarser grid), edited.

    ``edit`` receives the config dict and may change it in place. Returns the config path.
    """
    folder.mkdir(parents=True, exist_ok=True)
    src = demo_config_path()
    cfg = yaml.safe_load(src.read_text(encoding="utf-8"))
    for spec in cfg["layers"].values():
        spec["path"] = str((src.parent / spec["path"]).resolve())
    cfg["siting"]["bases_path"] = str((src.parent / cfg["siting"]["bases_path"]).resolve())
    cfg["project"]["resolution_m"] = res_m
    cfg["project"]["scheduler"] = "sync"
    if edit is not None:
        edit(cfg)
    path = folder / name
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def sxplan_cmd(*args: str) -> list[str]:
    """The command line running the installed sxplan CLI with this interpreter."""
    return [
        sys.executable,
        "-c",
        "import sys; from sxplan.cli import main; sys.exit(main())",
        *args,
    ]


def run_cli(*args: str, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run sxplan in a real subprocess; return the completed process (text output)."""
    env = {**os.environ, "SXPLAN_NO_PROGRESS": "1"}
    return subprocess.run(
        sxplan_cmd(*args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def tree_sha256(folder: Path, skip=("run.json",)) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` by relative POSIX path (``skip`` left out)."""
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and rel not in skip:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def tiny_project(folder: Path) -> Path:
    """A 0.2 x 0.2 degree project near Taiyuan (two counties, a DEM) in ``folder``.

    Files: ``folder/project.yaml`` and ``folder/inputs/{admin.gpkg,dem.tif}``. The layers step
    on it takes well under a second.
    """
    import geopandas as gpd
    import numpy as np
    import shapely
    from rasterio.transform import from_origin

    from _sxtest import write_tif

    d = folder / "inputs"
    d.mkdir(parents=True)
    box = shapely.box(112.4, 37.7, 112.6, 37.9)
    gpd.GeoDataFrame({"name": ["示范省"]}, geometry=[box], crs="EPSG:4326").to_file(
        d / "admin.gpkg", layer="province"
    )
    west, east = shapely.box(112.4, 37.7, 112.5, 37.9), shapely.box(112.5, 37.7, 112.6, 37.9)
    gpd.GeoDataFrame(
        {"code": [140101, 140102], "cname": ["甲县", "乙县"], "pref": ["示范市", "示范市"]},
        geometry=[west, east],
        crs="EPSG:4326",
    ).to_file(d / "admin.gpkg", layer="counties")
    dem = (np.arange(30)[None, :] * 10 + np.zeros((30, 1))).astype("int16") + 800
    write_tif(d / "dem.tif", dem, from_origin(112.35, 37.95, 0.01, 0.01), "EPSG:4326", -32768)
    cfg = {
        "project": {
            "study_area": "province",
            "counties": "counties",
            "county_fields": {"adcode": "code", "name": "cname", "prefecture": "pref"},
            "resolution_m": 500,
            "scheduler": "sync",
        },
        "layers": {
            "province": {"type": "vector", "path": "inputs/admin.gpkg", "layer": "province"},
            "counties": {"type": "vector", "path": "inputs/admin.gpkg", "layer": "counties"},
            "dem": {"type": "raster", "path": "inputs/dem.tif", "kind": "continuous", "units": "m"},
        },
    }
    path = folder / "project.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return path


def dead_pid() -> int:
    """The pid of a process that has just ended (reaped), so no process has it now."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid
