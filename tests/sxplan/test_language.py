"""`--language`: Chinese CSV header rows that still read back by name, console tables, figures."""

from __future__ import annotations

import contextlib
import io

import pandas as pd
import pytest

from sxplan.cli import main
from sxplan.config import demo_config_path
from sxplan.schema import DATASETS, dataset, read_table

CSV_KEYS = [k for k, d in DATASETS.items() if d.kind == "csv"]


def _members(ds):
    """Every fixed column, and a member of each family, as a table would name them."""
    fill = {"{year}": "2030", "{criterion}": "slope_pct", "{resource}": "ghi_kwh_m2_yr",
            "{landcover_class}": "forest"}  # fmt: skip
    names = []
    for col in ds.all_columns():
        name = col.name
        for k, v in fill.items():
            name = name.replace(k, v)
        names.append(name)
    return names


@pytest.mark.parametrize("key", CSV_KEYS)
def test_every_csv_column_has_a_unique_chinese_label_that_maps_back(key):
    ds = dataset(key)
    for col in ds.all_columns():
        assert col.label_zh, f"{key}.{col.name} has no label_zh in sxplan/_schema_labels.py"
    names = _members(ds)
    labels = ds.header_labels(names)
    assert len(set(labels)) == len(labels), f"{key}: two columns share a Chinese label"
    assert [ds.english_name(lab) for lab in labels] == names


def test_family_labels_carry_the_member():
    ds = dataset("sinks.counties")
    assert ds.header_labels(["cover_2030_pct", "sink_tco2_per_yr_2060_p95"]) == [
        "2030年森林覆盖率(%)",
        "2060年碳汇95%分位(吨二氧化碳/年)",
    ]
    assert ds.english_name("2060年碳汇95%分位(吨二氧化碳/年)") == "sink_tco2_per_yr_2060_p95"
    assert ds.english_name("不存在的列") is None


def _sinks_run(out, language):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        args = ["sinks", str(demo_config_path()), "--out", str(out), "--no-progress"]
        assert main([*args, "--language", language]) == 0
    return buf.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("lang")
    return {lang: (root / lang, _sinks_run(root / lang, lang)) for lang in ("en", "zh+en", "zh")}


def test_zh_en_header_has_english_names_then_chinese_labels(runs):
    out, _ = runs["zh+en"]
    lines = (out / "sinks" / "trajectory.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "year,sink_tco2_per_yr,sink_tco2_per_yr_p05,sink_tco2_per_yr_p95"
    assert (
        lines[1] == "年份,碳汇(吨二氧化碳/年),碳汇5%分位(吨二氧化碳/年),碳汇95%分位(吨二氧化碳/年)"
    )
    en_lines = (runs["en"][0] / "sinks" / "trajectory.csv").read_text(encoding="utf-8-sig")
    assert lines[2:] == en_lines.splitlines()[1:]  # the values are untouched
    raw = (out / "sinks" / "counties.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # still UTF-8 with BOM for Excel


def test_zh_header_is_chinese_only(runs):
    out, _ = runs["zh"]
    header = (out / "sinks" / "counties.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("行政区划代码,名称,地级市,地级市代码,面积(平方千米)")
    assert "2025年森林覆盖率(%)" in header
    assert not any(ch.isascii() and ch.isalpha() for ch in header.replace("GCJ", ""))


@pytest.mark.parametrize("key", ["sinks.counties", "sinks.trajectory", "layers.provenance"])
def test_read_table_reads_every_header_style_by_english_name(runs, key):
    base = read_table(runs["en"][0], key).drop(columns=["seconds"], errors="ignore")
    for lang in ("zh+en", "zh"):
        frame = read_table(runs[lang][0], key).drop(columns=["seconds"], errors="ignore")
        pd.testing.assert_frame_equal(frame, base)  # seconds: timings differ run to run


def test_console_tables_follow_the_language(runs):
    _, en = runs["en"]
    _, zh = runs["zh"]
    _, both = runs["zh+en"]
    assert "  layer " in en and "图层" not in en
    assert "图层" in zh and "resampling/datum" not in zh
    assert "layer 图层" in both


def test_figures_and_report_follow_the_language(runs):
    from sxplan.maps.figures import draw_figure

    out, _ = runs["zh"]
    fig, _ = draw_figure(out, "sink_trajectory", "zh")
    ax = fig.axes[0]
    assert ax.get_title() == "新造林碳汇轨迹 (90%区间)"
    assert ax.get_xlabel() == "年份"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "主要数字" in page and "Headline numbers" not in page
    fig, _ = draw_figure(runs["en"][0], "sink_trajectory", "en")
    assert fig.axes[0].get_title() == "Afforestation sink with its 90% range"


def test_maps_rebuild_from_a_chinese_header_folder(runs, capsys):
    out, _ = runs["zh"]
    assert main(["map", str(out)]) == 0
    assert (out / "maps" / "sinks.html").stat().st_size > 10_000


def test_no_cjk_font_falls_back_to_english_with_a_warning(runs, monkeypatch):
    """A machine without a CJK font: English labels and a warning, never empty boxes."""
    import sxplan.maps.figures as figures

    monkeypatch.setattr(figures, "cjk_font", lambda: None)  # as on a machine with no CJK font
    with pytest.warns(UserWarning, match="no font with Chinese glyphs"):
        fig, _ = figures.draw_figure(runs["zh"][0], "sink_trajectory", "zh")
    assert fig.axes[0].get_title() == "Afforestation sink with its 90% range"
    assert all(ord(ch) < 0x3000 for t in fig.axes[0].texts for ch in t.get_text())
