"""The package graph points one way, and heavy imports stay where they belong."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["layers", "siting", "sinks", "maps", "sxplan"]
# who may import whom: layers <- siting, sinks <- maps <- sxplan
ALLOWED = {
    "layers": {"layers"},
    "siting": {"layers", "siting"},
    "sinks": {"layers", "sinks"},
    "maps": {"layers", "siting", "sinks", "maps"},
    "sxplan": set(PACKAGES),
}
# third-party modules confined to one package
CONFINED = {"click": "sxplan", "folium": "maps", "branca": "maps"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("pkg", PACKAGES)
def test_imports_point_one_way(pkg):
    bad = []
    for path in sorted((ROOT / pkg).rglob("*.py")):
        roots = imported_roots(path)
        for other in (roots & set(PACKAGES)) - ALLOWED[pkg]:
            bad.append(f"{path.relative_to(ROOT)} imports {other}")
        for mod, owner in CONFINED.items():
            if mod in roots and owner != pkg:
                bad.append(f"{path.relative_to(ROOT)} imports {mod} (only {owner}/ may)")
    assert not bad, "imports against the one-way rule:\n" + "\n".join(bad)


@pytest.mark.parametrize("pkg", ["layers", "siting", "sinks", "maps"])
def test_importing_a_package_stays_cheap(pkg):
    # (click is not checked here: rasterio itself imports it; the AST test above keeps our
    # own click imports inside sxplan/)
    code = (
        f"import sys, {pkg}; "
        "heavy = [m for m in ('folium', 'matplotlib', 'branca', 'dask') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import {pkg} pulled in {out.stdout.strip()}"


@pytest.mark.parametrize("pkg", PACKAGES)
def test_public_api_is_a_list_of_existing_names(pkg):
    mod = __import__(pkg)
    names = getattr(mod, "__all__", [])
    assert all(isinstance(n, str) for n in names)
    missing = [n for n in names if not hasattr(mod, n)]
    assert not missing, f"{pkg}.__all__ names missing attributes: {missing}"
