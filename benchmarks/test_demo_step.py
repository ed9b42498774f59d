"""demo_step.py on a 4 km demo run: each step alone writes the files the whole run wrote."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import demo_step  # noqa: E402

# files the whole run leaves as the step wrote them (GeoPackages get QGIS styles afterwards;
# the roadside step alone has no parcel shortlist to merge with)
SAME = {
    "siting": {"suitability_pv.tif", "suitability_wind.tif", "criterion_pv_dist_highway_m.tif",
               "excluded_by_rule_pv.tif", "rules_applying_wind.tif", "bases.csv",
               "exclusions.csv", "supply_curves.csv"},
    "roadside_pv": {"roadside_pv.csv", "supply_curves_roadside_pv.csv"},
    "pumped_storage": {"pumped_storage.csv"},
    "sinks": {"afforestation_eligible.tif", "counties.csv", "net_carbon.csv", "stock.csv",
              "trajectory.csv"},
}  # fmt: skip


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    from sxplan.config import demo_config_path, load_config
    from sxplan.run import run_project

    cfg = load_config(demo_config_path())
    cfg = cfg.model_copy(update={"project": cfg.project.model_copy(update={"resolution_m": 4000})})
    out = tmp_path_factory.mktemp("demo4k") / "run"
    steps = ("layers", "siting", "roadside_pv", "pumped_storage", "sinks")
    run_project(cfg, out, steps=steps, log=lambda _m: None, check=False)
    return out


@pytest.mark.parametrize("step", demo_step.STEPS)
def test_a_step_alone_writes_the_runs_files(demo_run, tmp_path, capsys, step):
    out = tmp_path / step
    assert demo_step.main(["--run", str(demo_run), "--step", step, "--out", str(out),
                           "--compare"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["step"] == step and report["res_m"] == 4000.0
    assert report["wall_s"] > 0 and report["peak_rss_mb"] > 0
    same = {name for name, fig in report["outputs"].items() if fig["same"]}
    assert SAME[step] <= same, sorted(SAME[step] - same)


def test_an_existing_out_folder_is_refused(demo_run, tmp_path):
    with pytest.raises(SystemExit) as err:
        demo_step.main(["--run", str(demo_run), "--step", "sinks", "--out", str(tmp_path)])
    assert err.value.code == 2


def test_a_run_of_another_config_is_refused(demo_run, tmp_path, capsys):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(demo_run / "layers", other / "layers")
    record = json.loads((demo_run / "run.json").read_text(encoding="utf-8"))
    record["config"]["path"] = str(tmp_path / "project.yaml")
    (other / "run.json").write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(SystemExit) as err:
        demo_step.main(["--run", str(other), "--step", "sinks", "--out", str(tmp_path / "o")])
    assert err.value.code == 2 and "not the demo's" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
