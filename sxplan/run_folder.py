"""Writing a run folder: staging that replaces the output only on success, and ``run.json``.

:func:`output_folder` yields a hidden staging folder beside the output folder and renames it
into place only when the block succeeds; an existing output folder is replaced only with
``overwrite=True`` and only when sxplan wrote it. It holds a lock beside the folder, removes
what killed runs left, and turns a full disk or a read-only location into a
:class:`~sxplan.errors.RunFolderError` (the rules live in :mod:`sxplan._out_guard`).
:func:`write_run_json` records the config (keys and tokens redacted), input checksums, the
SHA-256 of every output file, package versions, the grid, timings, warnings and each step's
summary, with output paths relative to the run folder. Everything but ``created_utc``,
``command`` and the ``timings_s`` entries is the same for the same inputs.
:func:`write_provenance` writes the table of inputs. File names come from :mod:`sxplan.schema`.

Inputs: a :class:`~sxplan.run.RunContext`. Outputs: ``run.json``, ``layers/provenance.csv``,
the run folder itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import rasterio

from sxplan.errors import RunFolderError, SxplanError
from sxplan.layers import file_sha256, write_csv
from sxplan.layers.atomic import disk_full
from sxplan.layers.heap import helper_peak_mb

from ._out_guard import (
    STAGING_MARK,
    clean_stale,
    old_path,
    os_error_message,
    out_lock,
    refuse_existing,
    remove_marked,
    staging_path,
)
from ._signals import INTERRUPTED, RECEIVED, Terminated
from .schema import SCHEMA_VERSION, dataset

if TYPE_CHECKING:
    from .run import RunContext

__all__ = [
    "VERSION_PACKAGES",
    "output_folder",
    "update_run_json",
    "record_outputs",
    "write_provenance",
    "write_run_json",
]

VERSION_PACKAGES = (
    "sxplan", "numpy", "scipy", "pandas", "geopandas", "shapely", "pyproj", "rasterio", "rtree",
    "folium", "pydantic", "pvlib", "windpowerlib", "exactextract",
)  # fmt: skip


@contextlib.contextmanager
def output_folder(
    out: str | Path, overwrite: bool, log: Callable[[str], None] | None = None
) -> Iterator[Path]:
    """Yield a staging folder that replaces ``out`` only when the block succeeds.

    Holds the lock ``.<out>.lock`` for the whole run, first removes what dead runs into ``out``
    left (:func:`sxplan._out_guard.clean_stale`), and marks the staging folder so a later run
    can recognise it. An OS error while writing (full disk, read-only location) becomes a
    :class:`~sxplan.errors.RunFolderError` naming the folder and the fix.

    Parameters
    ----------
    out : str or pathlib.Path
        The final output folder.
    overwrite : bool
        Replace an existing non-empty ``out``, which must be a run folder sxplan wrote;
        otherwise refuse before doing any work.
    log : callable, optional
        Receives a line for each stale folder cleaned.

    Yields
    ------
    pathlib.Path
        The staging folder (same parent, so the final rename is atomic).
    """
    out = Path(out).resolve()
    refuse_existing(out, overwrite)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFolderError(os_error_message(exc, out)) from exc
    with out_lock(out):
        clean_stale(out, log)
        refuse_existing(out, overwrite)  # a restored previous run is checked like any other
        staging = staging_path(out)
        try:
            if staging.exists():
                shutil.rmtree(staging)
            staging.mkdir()
            (staging / STAGING_MARK).write_text(str(os.getpid()), encoding="ascii")
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise RunFolderError(os_error_message(exc, out)) from exc
        try:
            yield staging
            if disk_full(staging):  # a file GDAL cut short may not have raised: never install it
                raise OSError(errno.ENOSPC, "No space left on device", str(staging))
            if RECEIVED.is_set():  # a SIGTERM whose exception something dropped: never install
                raise Terminated
            if INTERRUPTED.is_set():  # the same for Ctrl-C
                raise KeyboardInterrupt
            (staging / STAGING_MARK).unlink()
        except BaseException as exc:
            full = isinstance(exc, Exception) and disk_full(staging)  # measured before cleanup
            _remove_settled(staging)
            if full or (not isinstance(exc, SxplanError) and _is_write_failure(exc)):
                raise RunFolderError(os_error_message(exc, out, full=full)) from exc
            raise
        try:
            _swap_into_place(staging, out)
        except BaseException:
            # an interrupt before the exchange (in `out.exists()`, or before the call) left the
            # new run, unmarked, in the staging folder, which then outlived the run (a CI run's
            # test_kill_points_..., s29): whichever run it holds now, it goes
            _remove_settled(staging)
            raise
        INSTALLED.append(out)


#: Output folders this process has put in place, in order (the CLI tells an interrupt that
#: lands after a run was installed from one that left the folder as it was).
INSTALLED: list[Path] = []


def _swap_into_place(staging: Path, out: Path) -> None:
    """Put ``staging`` at ``out``, the previous ``out`` removed.

    Where the system can (Linux's ``renameat2``), the two folders are exchanged in one step:
    at every moment ``out`` holds the previous run or the new one, even under SIGKILL (the
    previous one, then at the staging path, is removed, or by the next run if killed). Else
    the previous one is set aside, the new one renamed in, and the old removed. An interrupt
    (Ctrl-C, SIGTERM) can land between any two steps. Before the new folder is in place the
    previous one is put back; after, the set-aside previous one is still removed, so no
    ``.<out>.old-<pid>`` outlives the run either way (a SIGKILL's is handled by the next run,
    :func:`sxplan._out_guard.clean_stale`, which also restores ``out`` from it).
    """
    new_run = staging.stat().st_ino
    try:
        exchanged = out.exists() and exchange_paths(staging, out)
    except BaseException:
        if _inode(out) == new_run:  # exchanged just before the interrupt
            INSTALLED.append(out)
            remove_marked(staging)
        raise
    if exchanged:
        try:
            remove_marked(staging)  # the previous run, now
        except BaseException:  # interrupted while removing: finish, then unwind
            INSTALLED.append(out)
            remove_marked(staging)
            raise
        return
    old = old_path(out) if out.exists() else None
    try:
        if old is not None:
            out.rename(old)
        staging.rename(out)
    except BaseException:
        if staging.exists():  # not swapped: the previous run stays
            if old is not None and old.exists() and not out.exists():
                old.rename(out)
            _remove_settled(staging)
        else:  # swapped just before the interrupt
            INSTALLED.append(out)
            if old is not None:
                remove_marked(old)
        raise
    if old is not None:
        try:
            remove_marked(old)
        except BaseException:  # interrupted while removing: finish, then unwind
            INSTALLED.append(out)
            remove_marked(old)
            raise


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


def exchange_paths(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2`` with ``RENAME_EXCHANGE``).

    Returns False, changing nothing, where the exchange did not happen: no such call or flag
    (another system, an old kernel or C library), a file system without it (EINVAL, EXDEV on
    some overlay file systems) or any other error, which the caller's two renames then meet
    and report as before.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a").write_text("A"), (d / "b").write_text("B")
    >>> exchange_paths(d / "a", d / "b") and (d / "a").read_text() == "B" or sys.platform != "linux"
    True
    """
    call = _renameat2()
    if call is None:
        return False
    here = -100  # AT_FDCWD
    return call(here, os.fsencode(a), here, os.fsencode(b), 2) == 0  # 2: RENAME_EXCHANGE


@functools.cache
def _renameat2():
    """The C library's ``renameat2`` (glibc 2.28 and later) through ctypes, or None."""
    if sys.platform != "linux":
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    call.restype = ctypes.c_int
    return call


def _remove_settled(folder: Path, rounds: int = 8, pause_s: float = 0.25) -> None:
    """Remove ``folder``, again if a worker thread still writing recreates it.

    An interrupt (Ctrl-C, SIGTERM) unwinds the main thread while tile workers may finish a
    write that creates the folder anew (writers create their parent folder); such a folder
    would lack the staging mark and outlive the run. Up to ``rounds`` x ``pause_s`` seconds.
    """
    import time

    for _ in range(rounds):
        remove_marked(folder)
        time.sleep(pause_s)
        if not folder.exists():
            return
    remove_marked(folder)


def _is_write_failure(exc: Exception) -> bool:
    """Whether an error is the output location's fault (full disk, read-only file system)."""
    if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EROFS, errno.EDQUOT):
        return True
    text = str(exc)  # GDAL errors carry no errno, only its text
    return "No space left" in text or "Read-only file system" in text


def write_provenance(records: list[dict], run_dir: Path) -> Path:
    """Write ``layers/provenance.csv`` (one row per input layer) in the schema's column order.

    Columns a run has no value for (``resampling`` when every layer is a vector) are written
    empty, so readers always find every column of ``layers.provenance``. Load times are left
    out (they change from run to run; ``run.json`` keeps them under ``timings_s.load_layers``),
    so the same inputs give the same bytes.
    """
    ds = dataset("layers.provenance")
    frame = pd.DataFrame(records).drop(columns=["seconds"], errors="ignore")
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
        "command": redact_argv(command or sys.argv),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": redact(json.loads(cfg.model_dump_json(exclude={"raw"}))),
        "config_yaml": redact(cfg.raw),
        "inputs": inputs,
        "grid": {
            "crs_wkt": ctx.grid.crs if ctx.grid else None,
            "res_m": ctx.grid.res if ctx.grid else None,
            "shape": list(ctx.grid.shape) if ctx.grid else None,
            "bounds": list(ctx.grid.bounds) if ctx.grid else None,
        },
        "versions": _versions(),
        "timings_s": {**ctx.timings_s, "load_layers": _load_seconds(ctx)},
        "memory_mb": {
            "budget": cfg.project.mem_limit_mb,
            # ru_maxrss, the whole process's since it started, or, where more, the peak of
            # the county cover's helper process if one ran plus the process's peak by the
            # time it ended (heap.peak_at_once_mb: an upper bound of the memory used at once)
            "process_peak_after_step": dict(ctx.peak_mb),
            "helper_process_peak": round(helper_peak_mb(), 1),  # 0 when none ran
        },
        "results": _relative_paths(_result_summaries(ctx), ctx.out),
        "warnings": list(ctx.warnings),
        "outputs_sha256": outputs_sha256(ctx.out),
    }
    path = dataset("run.json").path_in(ctx.out)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str), "utf-8")
    return path


def _load_seconds(ctx: RunContext) -> dict[str, float]:
    """Seconds each input took to load and align (kept here, not in provenance.csv)."""
    recs = ctx.stack.provenance if ctx.stack else []
    return {r["name"]: r["seconds"] for r in recs if "seconds" in r}


def outputs_sha256(run_dir: Path) -> dict[str, str]:
    """SHA-256 of every file of a run folder but ``run.json`` (and the staging mark), by path.

    Paths are relative to the run folder, POSIX style, sorted. Two runs with the same inputs
    and settings give the same table (``docs/errors.md`` section 8 says what else may differ).
    """
    from concurrent.futures import ThreadPoolExecutor

    from sxplan.layers.windows import default_workers

    run_dir = Path(run_dir)
    skip = {"run.json", STAGING_MARK}
    files = sorted(p for p in run_dir.rglob("*") if p.is_file())
    files = [p for p in files if p.relative_to(run_dir).as_posix() not in skip]
    # a file per core at once: hashlib hashes without the GIL, so a 30 m run's gigabytes of
    # rasters are read and hashed in parallel (the digests do not depend on it)
    with ThreadPoolExecutor(max_workers=default_workers()) as pool:
        digests = list(pool.map(file_sha256, files))
    return {p.relative_to(run_dir).as_posix(): d for p, d in zip(files, digests, strict=True)}


_SECRET = re.compile(r"(^|_)(key|token|secret|password|passwd|apikey)$", re.IGNORECASE)
REDACTED = "<redacted>"


def redact(value):
    """``value`` with every non-empty field named like a secret (``*_key``, ``token``) redacted.

    Examples
    --------
    >>> redact({"maps": {"tianditu_key": "abc123", "basemap": "osm"}, "token": None})
    {'maps': {'tianditu_key': '<redacted>', 'basemap': 'osm'}, 'token': None}
    """
    if isinstance(value, dict):
        return {
            k: (REDACTED if _SECRET.search(str(k)) and v not in (None, "") else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def redact_argv(argv: list[str]) -> list[str]:
    """Command-line words with the value of any ``--*key``/``--*token`` option redacted."""
    out, hide = [], False
    for word in argv:
        name = word.split("=", 1)[0]
        secret = word.startswith("--") and _SECRET.search(name.lstrip("-").replace("-", "_"))
        if hide:
            out.append(REDACTED)
        elif secret and "=" in word:
            out.append(f"{name}={REDACTED}")
        else:
            out.append(word)
        hide = bool(secret) and "=" not in word
    return out


def record_outputs(run_dir: Path, paths) -> bool:
    """Update ``outputs_sha256`` in ``run_dir/run.json`` for files rewritten later (``sxplan map``).

    Returns False (and changes nothing) when the folder has no run.json sxplan wrote.
    """
    from sxplan.layers import atomic_path

    from ._out_guard import is_run_folder

    run_dir = Path(run_dir)
    if not is_run_folder(run_dir):
        return False
    path = run_dir / "run.json"
    payload = json.loads(path.read_text(encoding="utf-8"))
    sums = dict(payload.get("outputs_sha256") or {})
    for p in paths:
        p = Path(p).resolve()
        if p.is_file() and p.is_relative_to(run_dir.resolve()):
            sums[p.relative_to(run_dir.resolve()).as_posix()] = file_sha256(p)
    payload["outputs_sha256"] = dict(sorted(sums.items()))
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str), "utf-8")
    return True


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
