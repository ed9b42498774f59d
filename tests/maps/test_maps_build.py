"""Building the maps from a run folder: offline pages, required/optional inputs, options."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sxplan.errors import ConfigError, LayerIOError, RunFolderError
from sxplan.maps import MapsConfig, run_maps
from sxplan.maps._assets import external_urls

REPO = Path(__file__).resolve().parents[2]


def _copy(run_folder: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(run_folder, dst)
    shutil.rmtree(dst / "maps", ignore_errors=True)
    return dst


def test_import_maps_does_not_import_folium():
    code = (
        "import sys, maps; "
        "bad = [m for m in ('folium', 'branca', 'matplotlib') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_offline_maps_load_nothing_from_a_network(built_maps):
    assert set(built_maps) == {"siting", "sinks"}
    for path in built_maps.values():
        page = path.read_text(encoding="utf-8")
        assert external_urls(page) == []
        # No external script, stylesheet or image element at all; Leaflet is inlined.
        assert not re.search(r"<script[^>]+src=", page)
        assert not re.search(r"<link[^>]+href=", page)
        assert "L.map(" in page and "window.sxplanMap" in page
        for cdn in ("jquery", "bootstrap", "font-awesome", "fontawesome", "cdn.jsdelivr"):
            assert cdn not in page.lower()


def test_external_url_check_finds_what_it_must():
    page = (
        '<script src="https://cdn.example/leaflet.js"></script>'
        "<link rel=stylesheet href=//cdn.example/a.css>"
        '<img src="http://x/y.png"><div style="background:url(https://x/b.png)"></div>'
        'L.tileLayer("https://tile.example/{z}/{x}/{y}.png")'
        '<a href="https://leafletjs.com">Leaflet</a>'
    )
    found = " ".join(external_urls(page))
    for fetch in ("cdn.example/leaflet.js", "cdn.example/a.css", "x/y.png", "x/b.png", "{z}"):
        assert fetch in found
    assert "leafletjs.com" not in found  # a plain <a href> link fetches nothing


def test_markup_in_names_is_escaped_in_the_page(built_maps, facts):
    for path in built_maps.values():
        page = path.read_text(encoding="utf-8")
        assert facts["xss"] not in page
        assert "<script>alert" not in page
        # As JS string content the value is HTML-escaped text (&lt;...&gt;), '&' and '<' escaped
        # again for the script block: \u0026lt;img ...
        assert "\\u003cimg src=x" not in page and "\\u003cscript\\u003ealert" not in page
    siting = built_maps["siting"].read_text(encoding="utf-8")
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in siting
    sinks = built_maps["sinks"].read_text(encoding="utf-8")
    assert "\\u0026lt;script\\u0026gt;alert(2)\\u0026lt;/script\\u0026gt;" in sinks


def test_optional_layers_missing_are_noted_not_fatal(built_maps):
    siting = built_maps["siting"].read_text(encoding="utf-8")
    assert "siting/suitability_wind.tif" in siting
    assert "siting/parcels_wind.gpkg" in siting
    # Popups show a chosen short list (the GeoPackage keeps every column): a column no popup
    # names does not reach the page.
    assert "surprise_extra_col" not in siting


def test_maps_are_small(built_maps):
    for path in built_maps.values():
        # Inlined Leaflet is ~165 kB; the synthetic data add a few tens of kB.
        assert path.stat().st_size < 400_000, path


@pytest.mark.parametrize(
    ("remove", "match"),
    [
        ("layers/vectors.gpkg", "vectors.gpkg"),
        ("siting/bases.csv", "bases.csv"),
    ],
)
def test_required_siting_inputs(run_folder, tmp_path, remove, match):
    run = _copy(run_folder, tmp_path)
    (run / remove).unlink()
    with pytest.raises(LayerIOError, match=re.escape(match)):
        run_maps(run, which=["siting"])
    assert not (run / "maps" / "siting.html").exists()


def test_siting_needs_parcels_of_one_technology(run_folder, tmp_path):
    run = _copy(run_folder, tmp_path)
    (run / "siting" / "parcels_pv.gpkg").unlink()
    with pytest.raises(LayerIOError, match="parcels_pv.gpkg"):
        run_maps(run, which=["siting"])


def test_required_sinks_input(run_folder, tmp_path):
    run = _copy(run_folder, tmp_path)
    (run / "sinks" / "counties.gpkg").unlink()
    with pytest.raises(LayerIOError, match="counties.gpkg"):
        run_maps(run, which=["sinks"])


def test_default_builds_maps_of_present_stages(run_folder, tmp_path):
    run = _copy(run_folder, tmp_path)
    shutil.rmtree(run / "sinks")
    assert set(run_maps(run)) == {"siting"}
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LayerIOError, match="neither a siting/ nor a sinks/"):
        run_maps(empty)
    with pytest.raises(LayerIOError, match="does not exist"):
        run_maps(tmp_path / "nowhere")


def test_language_option(run_folder, tmp_path):
    paths = run_maps(run_folder, out_dir=tmp_path / "en", language="en")
    page = paths["siting"].read_text(encoding="utf-8")
    assert '"PV parcels"' in page and "光伏候选地块" not in page
    paths = run_maps(run_folder, out_dir=tmp_path / "zh", language="zh", which=["sinks"])
    page = paths["sinks"].read_text(encoding="utf-8")
    assert "基线森林覆盖率" in page and "Baseline forest cover" not in page
    with pytest.raises(ConfigError):
        run_maps(run_folder, out_dir=tmp_path / "x", language="fr")


def test_online_base_maps(run_folder, tmp_path, monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    page = run_maps(run_folder, out_dir=tmp_path / "osm", offline=False, which=["siting"])
    html = page["siting"].read_text(encoding="utf-8")
    assert "tile.openstreetmap.org" in html and "tianditu.gov.cn" not in html
    assert "No Tianditu key given" in html
    with pytest.raises(ConfigError, match="Tianditu key"):
        run_maps(run_folder, out_dir=tmp_path / "t", offline=False, basemap="tianditu")
    page = run_maps(
        run_folder,
        out_dir=tmp_path / "tdt",
        offline=False,
        basemap="tianditu",
        tianditu_key="KEY123",
        which=["siting"],
    )
    html = page["siting"].read_text(encoding="utf-8")
    assert "tianditu.gov.cn/vec_w/wmts" in html and "tk=KEY123" in html
    assert "autonavi" not in html


def test_amap_shifts_overlays_to_gcj02(run_folder, tmp_path):
    from sxplan.layers.datum import wgs84_to_gcj02

    wgs = run_maps(run_folder, out_dir=tmp_path / "wgs", which=["sinks"])["sinks"]
    gcj = run_maps(
        run_folder, out_dir=tmp_path / "gcj", offline=False, basemap="amap", which=["sinks"]
    )["sinks"]
    html = gcj.read_text(encoding="utf-8")
    assert "autonavi" in html and "openstreetmap" not in html
    assert "GCJ-02" in html
    # The county corner at (112.0 E, 37.0 N) is drawn at its GCJ-02 position (4 decimals).
    lon, lat = wgs84_to_gcj02(112.0, 37.0)
    assert 0.004 < float(lon) - 112.0 < 0.007  # ~500 m east: the shift is real, not a no-op
    assert json.dumps([round(float(lon), 4), round(float(lat), 4)], separators=(",", ":")) in html
    assert "[112.0,37.0]" in wgs.read_text(encoding="utf-8")
    assert "[112.0,37.0]" not in html


def test_shipped_yaml_maps_section_validates():
    data = yaml.safe_load((REPO / "sxplan" / "data" / "shanxi.yaml").read_text(encoding="utf-8"))
    cfg = MapsConfig.model_validate(data.get("maps") or {})
    assert cfg.offline is True and cfg.language == "zh+en"
    with pytest.raises(ValueError, match="did you mean 'offline'"):
        MapsConfig.model_validate({"ofline": True})


def _drop_column(path: Path, layer: str, column: str) -> None:
    import geopandas as gpd

    gdf = gpd.read_file(path, layer=layer).drop(columns=column)
    gdf.to_file(path, layer=layer)  # replaces that layer only
    assert column not in gpd.read_file(path, layer=layer).columns


@pytest.mark.parametrize(
    ("file", "layer", "column", "which"),
    [
        # an optional file that is present is checked like a required one
        ("siting/roadside_pv_segments.gpkg", "roadside_pv_segments", "specific_yield_kwh_per_kwp",
         "siting"),
        ("siting/parcels_pv.gpkg", "parcels_pv", "score_mean", "siting"),
        ("layers/vectors.gpkg", "bases", "name_en", "siting"),
        ("sinks/counties.gpkg", "counties", "calibrated_forest_pct", "sinks"),
    ],
)  # fmt: skip
def test_a_present_file_lacking_a_used_column_is_named(
    run_folder, tmp_path, file, layer, column, which
):
    run = _copy(run_folder, tmp_path)
    _drop_column(run / file, layer, column)
    with pytest.raises(RunFolderError, match=re.escape(f"lacks column(s) ['{column}']")) as err:
        run_maps(run, which=[which])
    assert f"{file} (layer '{layer}')" in str(err.value)
    assert not (run / "maps").exists()


def test_sinks_map_needs_a_sequestration_year(run_folder, tmp_path):
    run = _copy(run_folder, tmp_path)
    _drop_column(run / "sinks" / "counties.gpkg", "counties", "sink_tco2_per_yr_2030")
    with pytest.raises(RunFolderError, match=r"no sink_tco2_per_yr_<year> column"):
        run_maps(run, which=["sinks"])


def test_a_layer_under_another_name_is_refused(run_folder, tmp_path):
    import geopandas as gpd

    run = _copy(run_folder, tmp_path)
    path = run / "siting" / "parcels_pv.gpkg"
    gdf = gpd.read_file(path, layer="parcels_pv")
    path.unlink()
    gdf.to_file(path, layer="parcels")
    with pytest.raises(RunFolderError, match="has no layer 'parcels_pv'"):
        run_maps(run, which=["siting"])


def test_run_maps_defaults_to_the_runs_recorded_settings(run_folder, tmp_path):
    run = _copy(run_folder, tmp_path)
    (run / "run.json").write_text(
        json.dumps({"config": {"maps": {"language": "en", "max_parcels_per_tech": 2}}}),
        encoding="utf-8",
    )
    page = run_maps(run, which=["siting"])["siting"].read_text(encoding="utf-8")
    assert '"PV parcels"' in page and "only the best 2 of 3 parcels" in page
    page = run_maps(run, which=["siting"], language="zh")["siting"].read_text(encoding="utf-8")
    assert "光伏候选地块" in page and "仅显示得分最高的 2 个" in page
    (run / "run.json").write_text(json.dumps({"config": {"maps": None}}), encoding="utf-8")
    page = run_maps(run, which=["siting"])["siting"].read_text(encoding="utf-8")
    assert "光伏候选地块 / PV parcels" in page  # the run had no maps: section: defaults
    (run / "run.json").write_text(json.dumps({"config": {}}), encoding="utf-8")
    with pytest.raises(RunFolderError, match="no 'config.maps' entry"):
        run_maps(run)
    (run / "run.json").write_text(json.dumps({"config": {"maps": {"lang": "en"}}}), "utf-8")
    with pytest.raises(ConfigError, match="invalid config.maps"):
        run_maps(run)
