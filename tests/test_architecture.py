"""The package graph points one way, and heavy imports stay where they belong.

Stages are ``sxplan.layers`` <- ``sxplan.siting``, ``sxplan.sinks`` <- ``sxplan.maps`` <- the
CLI and run orchestration in ``sxplan/``. Every stage may import the error tree
(``sxplan.errors``) and ``sxplan._lazy``, which import nothing heavy.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = {"layers": "layers", "siting": "siting", "sinks": "sinks", "maps": "maps"}
# folder -> the sxplan subpackages its modules may import
ALLOWED = {
    "layers": {"layers"},
    "siting": {"layers", "siting"},
    "sinks": {"layers", "sinks"},
    "maps": {"layers", "siting", "sinks", "maps"},
    "sxplan": {"layers", "siting", "sinks", "maps", "sxplan"},
}
# modules of the root package that any stage may import (cheap, no stage logic)
SHARED_ROOT = {"sxplan", "sxplan.errors", "sxplan._lazy", "sxplan.schema"}
# third-party modules confined to one folder
CONFINED = {"click": "sxplan", "folium": "maps", "branca": "maps", "matplotlib": "maps"}
HEAVY = ("geopandas", "rasterio", "scipy", "pandas", "shapely", "pyproj", "folium", "dask")


def _imports(path: Path, package: str) -> set[str]:
    """Absolute module names imported by a file (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "sxplan":
        return None
    if module == "sxplan" or any(module.startswith(s + ".") for s in SHARED_ROOT - {"sxplan"}):
        return "shared"
    if module in SHARED_ROOT:
        return "shared"
    if len(parts) > 1 and parts[1] in STAGES:
        return parts[1]
    return "sxplan"


@pytest.mark.parametrize("folder", list(ALLOWED))
def test_imports_point_one_way(folder):
    package = "sxplan" if folder == "sxplan" else f"sxplan.{folder}"
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for mod in _imports(path, package):
            root = mod.split(".")[0]
            if root in STAGES:
                bad.append(f"{path.relative_to(ROOT)} imports top-level '{mod}'; use sxplan.{mod}")
            stage = _stage_of(mod)
            if stage not in (None, "shared") and stage not in ALLOWED[folder]:
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
            for third, owner in CONFINED.items():
                if root == third and owner != folder:
                    bad.append(f"{path.relative_to(ROOT)} imports {third} (only {owner}/ may)")
    bad = sorted(set(bad))
    assert not bad, "imports against the one-way rule:\n" + "\n".join(bad)


def test_shared_root_modules_import_nothing_heavy():
    # Every stage may import these, so they must cost nothing: checked in a fresh interpreter
    # (a function may still import pandas when it is called, as schema.read_table does).
    for name in SHARED_ROOT:
        assert _loaded_after(f"import {name}") == [], name


def _loaded_after(code: str) -> list[str]:
    probe = (
        f"import sys\n{code}\n"
        "import json\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd="/"
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_sxplan_loads_nothing_heavy():
    assert _loaded_after("import sxplan") == []


def test_importtime_of_sxplan_lists_no_heavy_module():
    # The same check through `python -X importtime`, which lists every module imported.
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import sxplan"],
        capture_output=True, text=True, check=True, cwd="/",
    )  # fmt: skip
    imported = {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines()}
    assert "sxplan" in imported  # the probe sees our own import
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


@pytest.mark.parametrize("stage", ["sxplan.layers", "sxplan.siting", "sxplan.sinks", "sxplan.maps"])
def test_importing_a_stage_loads_nothing_heavy(stage):
    assert _loaded_after(f"import {stage}") == []


def test_errors_load_nothing_heavy():
    assert _loaded_after("from sxplan.errors import ConfigError; import sxplan.layers") == []


def test_cli_help_loads_nothing_heavy():
    code = (
        "from sxplan.cli import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(code) == []


def test_heavy_probe_is_not_blind():
    # The probe must see a heavy import when one happens (else the tests above prove nothing).
    assert "pyproj" in _loaded_after("from sxplan.layers import GridSpec")


@pytest.mark.parametrize("pkg", ["sxplan", "sxplan.layers", "sxplan.siting", "sxplan.sinks",
                                 "sxplan.maps"])  # fmt: skip
def test_public_api_is_a_list_of_existing_names(pkg):
    mod = __import__(pkg, fromlist=["_"])
    names = mod.__all__
    assert names, f"{pkg} declares no public names"
    assert all(isinstance(n, str) for n in names)
    missing = [n for n in names if not hasattr(mod, n)]
    assert not missing, f"{pkg}.__all__ names missing attributes: {missing}"
    assert not hasattr(mod, "no_such_name_here")


def test_no_module_is_over_600_lines():
    # A module a newcomer can read in one sitting; split by responsibility past this.
    folders = ["layers", "siting", "sinks", "maps", "sxplan", "scripts", "benchmarks", "tests"]
    long = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > 600:
                long[str(path.relative_to(ROOT))] = n
    assert not long, f"modules over 600 lines: {long}"


def test_orchestrators_state_the_order_in_a_screen_or_two():
    # The run_* functions that write down each stage's order stay short.
    for path, limit in [("siting/run.py", 300), ("sxplan/run.py", 400), ("maps/run.py", 300)]:
        n = len((ROOT / path).read_text(encoding="utf-8").splitlines())
        assert n <= limit, f"{path}: {n} lines (limit {limit})"
