"""pyproject.toml and environment.yml declare the same runtime dependencies."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# PyPI name -> conda-forge name where they differ
CONDA_NAME = {}


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
    declared = dict(norm(d) for d in project["dependencies"])
    env_all = {**conda, **pip}
    differ = {k: (v, env_all[k]) for k, v in declared.items() if k in env_all and v != env_all[k]}
    assert env_all == declared, (
        f"only in pyproject: {sorted(set(declared) - set(env_all))}; "
        f"only in environment.yml: {sorted(set(env_all) - set(declared))}; "
        f"version differences: {differ}"
    )
    py = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert py == [f"python{project['requires-python']}"]


def test_console_script_and_packages_declared():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert cfg["project"]["scripts"]["sxplan"] == "sxplan.cli:main"
    include = cfg["tool"]["setuptools"]["packages"]["find"]["include"]
    for pkg in ["layers", "siting", "sinks", "maps", "sxplan"]:
        assert f"{pkg}*" in include
