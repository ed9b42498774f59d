"""Reruns are byte-identical, and run.json's checksums mean something (issue 12, family 8).

Same inputs, same bytes: every file of a run folder but ``run.json`` is compared byte for byte
between two demo runs into two folders. ``run.json`` itself differs only in the fields that
describe the run rather than its results: ``created_utc`` (when), ``command`` (the argv, which
names the output folder), every ``timings_s`` (seconds measured) and ``memory_mb`` (the
process's peak resident set, measured); everything else in it,
including ``outputs_sha256``, is equal. Secrets never reach ``run.json``.
"""

import contextlib
import io
import json
import sqlite3
import time

import geopandas as gpd
import pytest
import shapely
import yaml
from _sxrun import tiny_project, tree_sha256

from sxplan.cli import main

VARYING = {"created_utc", "command", "timings_s", "memory_mb"}


def _without_varying(value):
    if isinstance(value, dict):
        return {k: _without_varying(v) for k, v in value.items() if k not in VARYING}
    if isinstance(value, list):
        return [_without_varying(v) for v in value]
    return value


@pytest.fixture(scope="module")
def two_demos(tmp_path_factory):
    base = tmp_path_factory.mktemp("rerun")
    outs = []
    for name in ("first", "second"):
        out = base / name
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["demo", "--out", str(out), "--no-progress"]) == 0
        outs.append(out)
    return outs


def test_demo_twice_gives_identical_files(two_demos):
    first, second = two_demos
    a, b = tree_sha256(first), tree_sha256(second)
    assert sorted(a) == sorted(b)
    assert {p for p in a if a[p] != b[p]} == set()
    # the file kinds that used to differ are all there
    assert {"maps/siting.html", "maps/sinks.html", "layers/vectors.gpkg"} <= set(a)
    assert "layers/provenance.csv" in a and "siting/shortlist.gpkg" in a


def test_run_json_differs_only_in_when_how_and_how_long(two_demos):
    first, second = (json.loads((d / "run.json").read_text(encoding="utf-8")) for d in two_demos)
    assert _without_varying(first) == _without_varying(second)
    assert first["outputs_sha256"] == second["outputs_sha256"]


def test_run_json_checksums_cover_every_output(two_demos):
    out = two_demos[0]
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["outputs_sha256"] == tree_sha256(out)  # every file but run.json, and right
    assert len(run["outputs_sha256"]) >= 30


def test_load_times_are_in_run_json_not_in_provenance(two_demos):
    out = two_demos[0]
    header = (out / "layers" / "provenance.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "seconds" not in header.split(",")
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert set(run["timings_s"]["load_layers"]) == set(run["config"]["layers"])


def test_gpkg_bytes_do_not_depend_on_the_clock(tmp_path, monkeypatch):
    from sxplan.layers import write_gpkg

    gdf = gpd.GeoDataFrame({"v": [1]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326")
    write_gpkg(gdf, tmp_path / "a.gpkg", "t")
    time.sleep(1.1)  # GeoPackage stamps are to the second or finer
    write_gpkg(gdf, tmp_path / "b.gpkg", "t")
    assert (tmp_path / "a.gpkg").read_bytes() == (tmp_path / "b.gpkg").read_bytes()
    with sqlite3.connect(tmp_path / "a.gpkg") as db:
        (stamp,) = db.execute("select last_change from gpkg_contents").fetchone()
    assert stamp.startswith("2000-01-01T00:00:00")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # reproducible-builds convention
    write_gpkg(gdf, tmp_path / "c.gpkg", "t")
    with sqlite3.connect(tmp_path / "c.gpkg") as db:
        (stamp,) = db.execute("select last_change from gpkg_contents").fetchone()
    assert stamp.startswith("2023-11-14T22:13:20")


def test_folium_element_ids_are_numbered_not_random():
    import folium

    from sxplan.maps.run import stable_element_ids

    def render():
        m = folium.Map(location=[37.8, 112.5], zoom_start=7, tiles=None)
        folium.GeoJson({"type": "Point", "coordinates": [112.5, 37.8]}).add_to(m)
        return m.get_root().render()

    raw_a, raw_b = render(), render()
    assert raw_a != raw_b  # folium's own ids are random
    a, b = stable_element_ids(raw_a), stable_element_ids(raw_b)
    assert a == b
    assert "map_00000000000000000000000000000001" in a


def test_tianditu_key_never_reaches_run_json(tmp_path):
    project = tiny_project(tmp_path / "proj")
    cfg = yaml.safe_load(project.read_text(encoding="utf-8"))
    cfg["maps"] = {"basemap": "tianditu", "offline": False, "tianditu_key": "tk-SECRET-4711"}
    project.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    out = tmp_path / "run"
    assert main(["layers", str(project), "--out", str(out)]) == 0
    for path in out.rglob("*"):
        if path.is_file():
            assert b"tk-SECRET-4711" not in path.read_bytes(), path
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["config"]["maps"]["tianditu_key"] == "<redacted>"
    assert run["config_yaml"]["maps"]["tianditu_key"] == "<redacted>"
    from sxplan.maps import run_maps_config

    assert run_maps_config(out).tianditu_key is None  # `sxplan map` falls back to $TIANDITU_KEY


def test_secret_command_line_options_are_redacted():
    from sxplan.run_folder import redact, redact_argv

    argv = ["sxplan", "map", "run", "--tianditu-key", "abc", "--api-token=xyz", "--out", "o"]
    assert redact_argv(argv) == [
        "sxplan", "map", "run", "--tianditu-key", "<redacted>", "--api-token=<redacted>",
        "--out", "o",
    ]  # fmt: skip
    assert redact({"a": {"password": "p", "monkey": 1, "token": ""}}) == {
        "a": {"password": "<redacted>", "monkey": 1, "token": ""}
    }


def test_make_demo_reruns_into_the_same_folder(tmp_path, monkeypatch):
    """`make demo` runs `sxplan demo --out sxplan-demo --overwrite` again and again."""
    monkeypatch.chdir(tmp_path)
    args = ["demo", "--out", "sxplan-demo", "--overwrite", "--no-maps", "--res", "3000"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*args, "--no-progress"]) == 0
        first = tree_sha256(tmp_path / "sxplan-demo")
        assert main([*args, "--no-progress"]) == 0
    assert tree_sha256(tmp_path / "sxplan-demo") == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sxplan-demo"]
