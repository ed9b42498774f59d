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
