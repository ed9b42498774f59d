"""Writing a run folder: staging that replaces the output only on success, and ``run.json``.

:func:`output_folder` yields a hidden staging folder beside the output folder and renames it
into place only when the block succeeds; an existing output folder is replaced only with
``overwrite=True``. :func:`write_run_json` records the config, input checksums, package
versions, the grid, timings and each step's summary, with output paths relative to the run
folder. :func:`write_provenance` writes the table of inputs. File names come from
:mod:`sxplan.schema`.

Inputs: a :class:`~sxplan.run.RunContext`. Outputs: ``run.json``, ``layers/provenance.csv``,
the run folder itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import rasterio

from sxplan.errors import OutputExistsError
from sxplan.layers import file_sha256, write_csv

from .schema import SCHEMA_VERSION, dataset

if TYPE_CHECKING:
    from .run import RunContext

__all__ = [
    "VERSION_PACKAGES",
    "output_folder",
    "update_run_json",
    "write_provenance",
    "write_run_json",
]

VERSION_PACKAGES = (
    "sxplan", "numpy", "scipy", "pandas", "geopandas", "shapely", "pyproj", "rasterio", "rtree",
    "folium", "pydantic", "pvlib", "windpowerlib", "exactextract",
)  # fmt: skip


@contextlib.contextmanager
def output_folder(out: str | Path, overwrite: bool) -> Iterator[Path]:
    """Yield a staging folder that replaces ``out`` only when the block succeeds.

    Parameters
    ----------
    out : str or pathlib.Path
        The final output folder.
    overwrite : bool
        Replace an existing non-empty ``out``; otherwise refuse before doing any work.

    Yields
    ------
    pathlib.Path
        The staging folder (same parent, so the final rename is atomic).
    """
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"output {out} exists and is not a folder; choose another --out")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"output folder {out} already has files; pass --overwrite to replace it, "
            "or choose another --out"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_provenance(records: list[dict], run_dir: Path) -> Path:
    """Write ``layers/provenance.csv`` (one row per input layer) in the schema's column order.

    Columns a run has no value for (``resampling`` when every layer is a vector) are written
    empty, so readers always find every column of ``layers.provenance``.
    """
    ds = dataset("layers.provenance")
    frame = pd.DataFrame(records)
    order = [c.name for c in ds.columns]
    frame = frame.reindex(columns=[*order, *(c for c in frame.columns if c not in order)])
    return write_csv(ds.check(frame), ds.path_in(run_dir))


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in VERSION_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    out["gdal"] = rasterio.__gdal_version__  # the GDAL rasterio was built with
    return out


def write_run_json(ctx: RunContext, command: list[str] | None = None) -> Path:
    """Write ``run.json``: config, input checksums, versions, grid, timings."""
    from sxplan.layers import atomic_path

    inputs = {}
    for rec in ctx.stack.provenance if ctx.stack else []:
        inputs[rec["name"]] = {"path": rec["source"], "sha256": rec["sha256"]}
    cfg = ctx.config
    if cfg.path is not None:
        inputs["config"] = {"path": str(cfg.path), "sha256": file_sha256(cfg.path)}
    payload = {
        "sxplan_run": SCHEMA_VERSION,
        "command": command or sys.argv,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": json.loads(cfg.model_dump_json(exclude={"raw"})),
        "config_yaml": cfg.raw,
        "inputs": inputs,
        "grid": {
            "crs_wkt": ctx.grid.crs if ctx.grid else None,
            "res_m": ctx.grid.res if ctx.grid else None,
            "shape": list(ctx.grid.shape) if ctx.grid else None,
            "bounds": list(ctx.grid.bounds) if ctx.grid else None,
        },
        "versions": _versions(),
        "timings_s": ctx.timings_s,
        "results": _relative_paths(_result_summaries(ctx), ctx.out),
    }
    path = dataset("run.json").path_in(ctx.out)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str), "utf-8")
    return path


def _relative_paths(value, run_dir: Path):
    """``value`` with every path inside ``run_dir`` made relative to it (as a POSIX string).

    The steps write into the staging folder, which is renamed at the end: an absolute path into
    it would point nowhere once the run is done. Paths relative to the run folder stay true.
    """
    if isinstance(value, dict):
        return {k: _relative_paths(v, run_dir) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_relative_paths(v, run_dir) for v in value]
    if isinstance(value, str | os.PathLike):
        path = Path(value)
        if path.is_absolute() and path.is_relative_to(run_dir):
            return path.relative_to(run_dir).as_posix()
        return os.fspath(value) if isinstance(value, os.PathLike) else value
    return value


def _result_summaries(ctx: RunContext) -> dict:
    """JSON-ready summaries of each step's result (siting per-tech figures, province totals)."""
    out = {}
    for step, res in ctx.results.items():
        if hasattr(res, "summary") and callable(res.summary):
            out[step] = res.summary()
        elif hasattr(res, "province"):
            out[step] = {"province": res.province}
        elif isinstance(res, dict):
            out[step] = {k: str(v) for k, v in res.items()}
    if "siting" in ctx.results and hasattr(ctx.results["siting"], "timings"):
        out.setdefault("siting", {})["timings_s"] = ctx.results["siting"].timings
    return out


def update_run_json(run_dir: str | Path, key: str, value) -> Path:
    """Set one top-level entry of an existing ``run.json``, keeping every other entry as is.

    Commands that add to a finished run (``sxplan backtest``) record their summary here; the
    file is rewritten atomically.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        The run folder.
    key : str
        Top-level key (``backtest``); replaced when present.
    value : object
        JSON-serialisable value.

    Returns
    -------
    pathlib.Path
        The ``run.json`` path.
    """
    from sxplan.layers import atomic_path

    from .schema import read_json

    data = read_json(run_dir, "run.json")
    data[key] = value
    path = dataset("run.json").path_in(run_dir)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), "utf-8")
    return path
