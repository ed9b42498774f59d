"""run.py --check: a run's outputs checked after it, against a reference if given."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402


def test_check_passes_a_right_run_and_names_each_file_a_reference_disagrees_with(
    data2k, tmp_path, capsys
):
    out = tmp_path / "siting"
    args = ["--res", "2000", "--data", str(data2k), "--out", str(out), "--no-progress"]
    assert run.main([*args, "--check"]) == 0
    fig = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    check = fig["outputs_check"]
    n_files = len([p for p in out.iterdir() if p.is_file()])
    assert check["files"] == n_files > 10
    assert check["with_differences"] == 0 and check["ref"] is None
    assert json.loads((tmp_path / "siting_run.json").read_text(encoding="utf-8")) == fig
    # the sampled resident set by step: every step the run timed, in order, none above the
    # child's ru_maxrss; the first samples (imports, loading) come before the first step
    steps = [k for k, v in fig["timings_s"].items() if k != "total" and not isinstance(v, dict)]
    by_step = fig["peak_rss_by_step_mb"]
    assert list(by_step) == ["before", *steps, "after"]
    assert by_step["before"] is not None
    sampled = [v for v in by_step.values() if v is not None]
    assert max(sampled) <= fig["peak_rss_mb"] + 0.1
    # a step three sample intervals long holds a sample: fails if the run's end were stated
    # on another clock or at another moment (its windows would fall where no step ran)
    long_steps = [k for k in steps if fig["timings_s"][k] >= 3 * run.RSS_SAMPLE_S]
    assert long_steps and all(by_step[k] is not None for k in long_steps)

    # a reference equal to the run, then one with a CSV and one raster cell changed
    ref = tmp_path / "ref"
    shutil.copytree(out, ref)
    assert run.check_run(out, ref)["with_differences"] == 0
    csv = next(ref.glob("*.csv"))
    csv.write_text(csv.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    tif = ref / "criterion_pv_ghi_kwh_m2_yr.tif"
    with rasterio.open(tif, "r+", IGNORE_COG_LAYOUT_BREAK="YES") as dst:
        a = dst.read(1)
        i, j = np.argwhere(np.isfinite(a))[0]
        a[i, j] += 1.0
        dst.write(a, 1)
    check = run.check_run(out, ref)
    assert check["with_differences"] == 2
    assert check["differences"][csv.name] == ["bytes differ"]
    assert check["differences"][tif.name][0] == "full resolution differs"


def test_ref_without_check_or_not_a_folder_is_refused_before_the_run(tmp_path, capsys):
    base = ["--res", "2000", "--data", str(tmp_path / "data")]
    with pytest.raises(SystemExit) as exc:
        run.main([*base, "--ref", str(tmp_path)])
    assert exc.value.code == 2 and "--ref needs --check" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        run.main([*base, "--check", "--ref", str(tmp_path / "nowhere")])
    assert exc.value.code == 2 and "nowhere: no such folder" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # refused before any dataset was generated


def test_samples_fall_in_the_step_whose_window_holds_them():
    from _measure import peaks_by_step

    # steps laid back from end = 10: c [9, 10), b [6, 9), a [2, 6); before < 2, after >= 10
    steps = [("a", 4.0), ("b", 3.0), ("c", 1.0)]
    samples = [(1.9, 50.0), (2.0, 70.0), (5.99, 90.0), (6.0, 40.0), (8.5, 45.0), (10.0, 30.0)]
    assert peaks_by_step(samples, steps, end=10.0) == {
        "before": 50.0, "a": 90.0, "b": 45.0, "c": None, "after": 30.0,
    }  # fmt: skip
    assert peaks_by_step([], steps, end=10.0) == dict.fromkeys(["before", "a", "b", "c", "after"])


def test_steps_are_laid_back_from_the_end_of_total_not_from_the_return():
    # run_siting started at 100 and its total (11 s) ended at 111; it returned at 112 (its
    # scratch folder removed): a sample at 111.5 is after the tables, one at 100.5 in the first
    # step, not before it (laid back from 112, "a" would start at 101)
    # (laid back from 112: before 60, a None, b 80, after None)
    out = {"timings_s": {"a": 5.0, "b": 6.0, "total": 11.0}, "run_started_monotonic": 100.0}
    samples = [(99.0, 10.0), (100.5, 60.0), (106.0, 20.0), (111.5, 80.0)]
    assert run.step_peaks(samples, out) == {"before": 10.0, "a": 60.0, "b": 20.0, "after": 80.0}
    assert run.step_peaks([], out) is None


def test_a_child_s_resident_set_is_sampled_while_it_runs(tmp_path):
    from _measure import run_sampled

    # a child that holds 200 MiB for a second, then frees it and prints its figures
    code = (
        "import json, time, numpy as np\n"
        "a = np.ones(200 * 2**20, np.uint8); t = time.monotonic(); time.sleep(1.0)\n"
        "del a; time.sleep(0.5); print(json.dumps({'held_until': t + 1.0}))\n"
    )
    out, wall, rss, samples = run_sampled([sys.executable, "-c", code], every_s=0.05)
    assert wall >= 1.5 and rss >= 200
    held = [mb for when, mb in samples if out["held_until"] - 0.9 <= when < out["held_until"]]
    after = [mb for when, mb in samples if when > out["held_until"] + 0.2]
    assert held and min(held) >= 200 and max(mb for _, mb in samples) <= rss + 0.1
    assert after and max(after) < 150  # freed (numpy's large arrays are returned at once)
