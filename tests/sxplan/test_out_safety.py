"""User data is never destroyed: --out may not be or hold inputs, the config, the project or the
working directory, and --overwrite replaces only run folders sxplan wrote (issue 12, family 1).

Each test builds a real project (tiny GeoPackage + GeoTIFF, or the demo data) and runs the real
CLI; after a refusal every input file must be byte-identical.
"""

import json

import pytest
from _sxrun import demo_project, tiny_project, tree_sha256

from sxplan.cli import main
from sxplan.config import demo_config_path


@pytest.fixture
def project(tmp_path):
    return tiny_project(tmp_path / "proj")


def _refused(args, capsys, protected):
    """Run the CLI, expect exit 2, return stderr; ``protected`` folders must be unchanged."""
    before = {p: tree_sha256(p, skip=()) for p in protected}
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for p in protected:
        assert tree_sha256(p, skip=()) == before[p], f"{p} was modified"
    return err


def test_out_is_the_project_folder(project, capsys):
    folder = project.parent
    err = _refused(["layers", str(project), "--out", str(folder), "--overwrite"], capsys, [folder])
    assert f"--out {folder.resolve()} is " in err and "project folder" in err
    assert "e.g. --out" in err


def test_out_is_the_data_folder(project, capsys):
    data = project.parent / "inputs"
    err = _refused(["layers", str(project), "--out", str(data), "--overwrite"], capsys, [data])
    assert f"--out {data.resolve()} contains input '" in err and "admin.gpkg" in err


def test_out_contains_the_project(project, capsys):
    parent = project.parent.parent  # holds proj/ with the config and inputs
    err = _refused(["layers", str(project), "--out", str(parent), "--overwrite"], capsys, [parent])
    assert "contains" in err and str(project.parent.resolve()) in err


def test_out_is_the_working_directory(project, tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("my notes", encoding="utf-8")
    monkeypatch.chdir(work)
    err = _refused(["layers", str(project), "--out", ".", "--overwrite"], capsys, [work])
    assert "current working directory" in err


def test_out_inside_an_input_file(project, capsys):
    dem = project.parent / "inputs" / "dem.tif"
    err = _refused(["layers", str(project), "--out", str(dem / "run")], capsys, [project.parent])
    assert f"lies inside input 'dem' {dem.resolve()}" in err


def test_out_inside_the_config_file(project, capsys):
    err = _refused(
        ["layers", str(project), "--out", str(project / "run")], capsys, [project.parent]
    )
    assert "lies inside the config file" in err


def test_overwrite_refuses_a_folder_sxplan_did_not_write(project, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_bytes(b"years of work")
    err = _refused(["layers", str(project), "--out", str(mine), "--overwrite"], capsys, [mine])
    assert "not a run folder sxplan wrote" in err and "--overwrite only replaces" in err


def test_overwrite_refuses_a_foreign_run_json(project, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    (other / "run.json").write_text(json.dumps({"job": 7}), encoding="utf-8")
    err = _refused(["layers", str(project), "--out", str(other), "--overwrite"], capsys, [other])
    assert "no run.json with 'sxplan_run'" in err


def test_existing_folder_needs_overwrite(project, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["layers", str(project), "--out", str(out)]) == 0
    err = _refused(["layers", str(project), "--out", str(out)], capsys, [out])
    assert "already has files; pass --overwrite" in err


def test_overwrite_replaces_an_sxplan_run_folder(project, tmp_path):
    out = tmp_path / "run"
    assert main(["layers", str(project), "--out", str(out)]) == 0
    (out / "layers" / "dem.tif").write_bytes(b"stale")  # the old run's file, not the user's
    assert main(["layers", str(project), "--out", str(out), "--overwrite"]) == 0
    assert (out / "layers" / "dem.tif").read_bytes() != b"stale"
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["sxplan_run"]


def test_empty_existing_folder_is_used_without_overwrite(project, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert main(["layers", str(project), "--out", str(out)]) == 0
    assert (out / "run.json").is_file()


def test_out_is_an_existing_file(project, tmp_path, capsys):
    target = tmp_path / "report.txt"
    target.write_text("keep", encoding="utf-8")
    assert main(["layers", str(project), "--out", str(target), "--overwrite"]) == 2
    assert "is a file" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "keep"


def test_site_and_sinks_refuse_the_project_folder(tmp_path, capsys):
    config = demo_project(tmp_path / "proj")
    for command in ("site", "sinks"):
        err = _refused(
            [command, str(config), "--out", str(config.parent), "--overwrite"],
            capsys,
            [config.parent],
        )
        assert "is the project folder" in err, command


def test_demo_refuses_an_out_holding_its_data(capsys):
    data = demo_config_path().parent / "shanxi"
    err = _refused(["demo", "--out", str(data), "--overwrite"], capsys, [data])
    assert "contains input" in err


def test_sxplan_error_not_a_traceback_for_a_protected_out_in_a_subprocess(project):
    from _sxrun import run_cli

    proc = run_cli("layers", str(project), "--out", str(project.parent), "--overwrite")
    assert proc.returncode == 2
    assert proc.stderr.startswith("sxplan: error: --out ") and "Traceback" not in proc.stderr
    assert project.is_file()
