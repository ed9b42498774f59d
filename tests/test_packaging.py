"""Packaging: one import name, dependency lists in step, the stage folders at the root."""

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# PyPI name -> conda-forge name where they differ
CONDA_NAME = {"osmium": "pyosmium"}


def norm(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*?)\s*(#.*)?$", req)
    name = m.group(1).lower().replace("_", "-")
    return CONDA_NAME.get(name, name), m.group(3).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = {}, {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip.update(norm(d) for d in dep.get("pip", []))
        else:
            name, spec = norm(dep)
            conda[name] = spec
    conda.pop("python", None)
    conda.pop("pip", None)
    # runtime dependencies plus the `fetch` extra (pyosmium), which environment.yml installs too
    declared = dict(
        norm(d) for d in project["dependencies"] + project["optional-dependencies"]["fetch"]
    )
    env_all = {**conda, **pip}
    differ = {k: (v, env_all[k]) for k, v in declared.items() if k in env_all and v != env_all[k]}
    assert env_all == declared, (
        f"only in pyproject: {sorted(set(declared) - set(env_all))}; "
        f"only in environment.yml: {sorted(set(env_all) - set(declared))}; "
        f"version differences: {differ}"
    )
    py = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert py == [f"python{project['requires-python']}"]


def test_console_script_declared():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert cfg["project"]["scripts"]["sxplan"] == "sxplan.cli:main"


def test_stage_folders_stay_at_the_repository_root():
    for folder in ["layers", "siting", "sinks", "maps", "tests", "sxplan"]:
        assert (ROOT / folder).is_dir(), folder
    for folder in ["layers", "siting", "sinks", "maps"]:
        assert (ROOT / folder / "__init__.py").is_file(), folder
        assert not (ROOT / "sxplan" / folder).exists(), f"sxplan/{folder} would shadow {folder}/"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip install .` would install, built offline from this checkout."""
    out = tmp_path_factory.mktemp("wheel")
    # Build from a copy of the tracked sources, so no build/ or egg-info lands in the checkout.
    src = tmp_path_factory.mktemp("src")
    for folder in ["layers", "siting", "sinks", "maps", "sxplan"]:
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ["pyproject.toml", "README.md", "LICENSE"]:
        shutil.copy(ROOT / name, src / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "-w", str(out), str(src)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (path,) = out.glob("sxplan-*.whl")
    return path


def test_wheel_installs_exactly_one_top_level_name(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    tops = {n.split("/")[0] for n in names if ".dist-info/" not in n}
    assert tops == {"sxplan"}, f"the wheel would install top-level names {sorted(tops)}"
    for stage in ["layers", "siting", "sinks", "maps"]:
        assert f"sxplan/{stage}/__init__.py" in names, stage
    assert "sxplan/sinks/data/ipcc_tier1.csv" in names
    assert "sxplan/data/shanxi.yaml" in names
    assert "sxplan/templates/project.yaml" in names
    assert "sxplan/fetch/sources.yaml" in names


def test_installed_wheel_imports_as_one_namespace(wheel, tmp_path):
    # Unpacked into a folder on its own: `sxplan.layers` imports, `layers` does not.
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(tmp_path)
    code = (
        "import importlib.util, sxplan.layers, sxplan.siting, sxplan.sinks, sxplan.maps\n"
        "print([importlib.util.find_spec(n) is None for n in "
        "('layers', 'siting', 'sinks', 'maps')])"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n{code}"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    assert out.stdout.strip() == "[True, True, True, True]"


def test_tests_cannot_import_stage_folders_as_top_level_packages():
    # pytest runs without the repository root on sys.path, as a user's interpreter would.
    import importlib.util

    for name in ["layers", "siting", "sinks", "maps"]:
        assert importlib.util.find_spec(name) is None, name
