"""The CLI and run orchestration on a tiny synthetic project written to real files."""

import json

import geopandas as gpd
import pytest
import yaml
from _sxrun import tiny_project

from sxplan.cli import main
from sxplan.config import load_config
from sxplan.errors import ConfigError


@pytest.fixture
def project(tmp_path):
    """A 0.2 x 0.2 degree study area near Taiyuan with two counties and a DEM."""
    return tiny_project(tmp_path)


def test_layers_command_writes_stack_and_run_json(project, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["layers", str(project), "--out", str(out)]) == 0
    for name in (
        "dem.tif",
        "slope_deg.tif",
        "slope_pct.tif",
        "aspect_deg.tif",
        "vectors.gpkg",
        "grid.json",
        "provenance.csv",
    ):
        assert (out / "layers" / name).exists(), name
    run = json.loads((out / "run.json").read_text())
    from sxplan.layers import file_sha256

    assert run["inputs"]["dem"]["sha256"] == file_sha256(tmp_path / "inputs" / "dem.tif")
    assert run["grid"]["res_m"] == 500 and "layers" in run["timings_s"]
    counties = gpd.read_file(out / "layers" / "vectors.gpkg", layer="counties")
    assert sorted(counties["adcode"]) == [140101, 140102]
    assert set(counties.columns) >= {"adcode", "name", "prefecture", "prefecture_adcode"}
    assert counties.crs.to_epsg() == 4326
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]
    assert "dem" in capsys.readouterr().out


def test_existing_output_is_not_replaced_without_overwrite(project, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["layers", str(project), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
    # --overwrite replaces only a run folder sxplan wrote: this one is the user's
    assert main(["layers", str(project), "--out", str(out), "--overwrite"]) == 2
    assert (out / "keep.txt").read_text() == "mine"
    out2 = tmp_path / "run2"
    assert main(["layers", str(project), "--out", str(out2)]) == 0
    (out2 / "stale.txt").write_text("left from the first run")  # gone once replaced
    assert main(["layers", str(project), "--out", str(out2), "--overwrite"]) == 0
    assert (out2 / "run.json").exists() and not (out2 / "stale.txt").exists()


def test_failed_run_leaves_nothing_behind(project, tmp_path, capsys):
    (tmp_path / "inputs" / "dem.tif").write_bytes(b"broken")
    out = tmp_path / "run"
    assert main(["layers", str(project), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "layer 'dem'" in err and "dem.tif" in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]


def test_inputs_are_not_modified(project, tmp_path):
    from sxplan.layers import file_sha256

    before = {p.name: file_sha256(p) for p in (tmp_path / "inputs").iterdir()}
    assert main(["layers", str(project), "--out", str(tmp_path / "run")]) == 0
    assert before == {p.name: file_sha256(p) for p in (tmp_path / "inputs").iterdir()}


def test_config_errors_name_the_key_and_suggest(project, tmp_path):
    raw = yaml.safe_load(project.read_text(encoding="utf-8"))
    raw["project"]["resolution"] = 100
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"project: unknown key 'resolution' .*'resolution_m'"):
        load_config(bad)
    raw["project"].pop("resolution")
    raw["layer"] = raw.pop("layers")
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="did you mean 'layers'"):
        load_config(bad)
    raw["layers"] = raw.pop("layer")
    raw["project"]["counties"] = "districts"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="no vector layer named 'districts'"):
        load_config(bad)
    raw["project"]["counties"] = "counties"
    raw["project"]["crs"] = "EPSG:4326"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="geographic"):
        load_config(bad)


def test_missing_county_fields_are_named(project, tmp_path, capsys):
    raw = yaml.safe_load(project.read_text(encoding="utf-8"))
    raw["project"]["county_fields"]["adcode"] = "ADCODE99"
    project.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert main(["layers", str(project), "--out", str(tmp_path / "run")]) == 2
    assert "lacks fields ['ADCODE99']" in capsys.readouterr().err


def test_site_pumped_storage_needs_its_section_then_runs(project, tmp_path, capsys):
    out = tmp_path / "ps"
    assert main(["site", str(project), "--tech", "pumped_storage", "--out", str(out)]) == 2
    assert "needs a `pumped_storage:` section" in capsys.readouterr().err
    cfg = yaml.safe_load(project.read_text(encoding="utf-8"))
    cfg["pumped_storage"] = {"min_head_m": 20, "max_head_m": 800}
    project.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    assert main(["site", str(project), "--tech", "pumped_storage", "--out", str(out)]) == 0
    table = (out / "siting" / "pumped_storage.csv").read_text(encoding="utf-8-sig")
    assert table.startswith("pair_id,rank,head_m,distance_km,distance_to_head,energy_gwh")
    assert (out / "siting" / "pumped_storage.gpkg").is_file()
    assert "Pumped storage" in capsys.readouterr().out


def test_run_json_and_the_report_give_the_peak_memory_by_step(project, tmp_path, capsys):
    import resource

    from sxplan.layers.heap import helper_peak_mb, peak_at_once_mb

    out = tmp_path / "run"
    assert main(["layers", str(project), "--out", str(out)]) == 0
    mem = json.loads((out / "run.json").read_text())["memory_mb"]
    assert mem["budget"] == load_config(project).project.mem_limit_mb
    peaks = mem["process_peak_after_step"]
    assert list(peaks) == ["layers"]
    assert mem["helper_process_peak"] == round(helper_peak_mb(), 1)  # 0 unless one ran
    # read independently, after the run: this process's peak (or any county cover helper's
    # this test process ran, with this process's peak then) can only have grown since
    # (run.json rounds to 0.1 MB, so allow half of that)
    now = peak_at_once_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    assert 0 < peaks["layers"] <= now + 0.05
    printed = capsys.readouterr().out
    assert f"Peak memory (MB, by the end of each step): layers {peaks['layers']:.0f}" in printed


def test_a_run_over_its_budget_says_so_and_what_it_needed(project, tmp_path, capsys):
    # this test process already holds more than 64 MB, so a 64 MB budget cannot be kept
    raw = yaml.safe_load(project.read_text(encoding="utf-8"))
    raw["project"]["mem_limit_mb"] = 64
    project.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "run"
    assert main(["layers", str(project), "--out", str(out)]) == 0  # the results are kept
    peak = json.loads((out / "run.json").read_text())["memory_mb"]["process_peak_after_step"]
    needed = -(-peak["layers"] // 64) * 64  # the peak rounded up to 64 MB, by hand
    printed = capsys.readouterr().out
    said = f"WARNING: the run's memory peaked at {peak['layers']:,.0f} MB, over its budget"
    assert said in printed
    assert "first in step 'layers'" in printed
    assert f"project.mem_limit_mb to at least {needed:.0f} for this grid" in printed


def test_the_recorded_peak_is_the_highest_resident_set_within_the_step(project, tmp_path):
    # a step holds, for a moment, 200 MB more than this process ever held, and lets it go
    # before it ends: the step's record must show it (a reading of the resident set at the
    # step's end would not)
    import numpy as np

    from sxplan.layers.heap import peak_resident_mb
    from sxplan.run import STEP_FUNCTIONS, run_project

    need = peak_resident_mb() + 200

    def layers_then_a_spike(ctx):
        stack = STEP_FUNCTIONS["layers"](ctx)
        spike = np.ones(int(need * 2**20), dtype=np.uint8)  # every page written: resident
        del spike
        return stack

    ctx = run_project(
        load_config(project), tmp_path / "run", steps=("layers",), log=lambda _: None,
        step_functions={"layers": layers_then_a_spike},
    )  # fmt: skip
    assert ctx.peak_mb["layers"] >= need


def test_the_spurious_rasterize_warning_is_left_out_and_a_real_one_is_not():
    """The CLI leaves out rasterio.features' spurious "no geotransform" warning (threads
    rasterizing at once) but not the same warning from opening a file without a transform."""
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    from sxplan.cli import quiet_spurious_warnings

    text = "Dataset has no geotransform, gcps, or rpcs. The identity matrix will be returned."
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        with quiet_spurious_warnings():
            for module, filename in (("rasterio.features", "features.py"),
                                     ("rasterio", "__init__.py")):  # fmt: skip
                warnings.warn_explicit(text, NotGeoreferencedWarning, filename, 1, module=module)
        warnings.warn_explicit(text, NotGeoreferencedWarning, "features.py", 1,
                               module="rasterio.features")  # fmt: skip
    assert [w.filename for w in got] == ["__init__.py", "features.py"]  # the last: after it
