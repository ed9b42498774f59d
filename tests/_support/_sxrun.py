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
    """A 0.2 x 0.2 degree study area near Taiyuan with two counties and a DEM, at 500 m.

    The inputs of :func:`_badinputs.tiny`; returns the written ``project.yaml``.
    """
    from _badinputs import tiny, write

    cfg = tiny(folder)
    cfg["project"]["resolution_m"] = 500
    del cfg["project"]["progress"]
    return write(folder, cfg)


def dead_pid() -> int:
    """The pid of a process that has just ended (reaped), so no process has it now."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid
