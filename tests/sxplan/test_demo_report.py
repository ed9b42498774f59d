"""`sxplan demo` run in a real pseudo-terminal: progress bars, timings, report figures.

The demo runs once in a subprocess whose stdout and stderr are a pseudo-terminal (``os.openpty``),
as in a planner's terminal, so tqdm draws its bars. The figures it writes are then checked
against the tables they came from: the numbers each figure plots (read back from the figure's
artists) equal the CSV or GeoPackage values, computed here with pandas on the files.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from sxplan.maps.figures import FIGURES, draw_figure, run_figures


def run_in_pty(args: list[str], timeout_s: float = 600) -> tuple[int, str]:
    """Run ``args`` with stdin/stdout/stderr on a new pseudo-terminal; return (status, output)."""
    master, slave = os.openpty()
    # a terminal window of 40 x 120 characters, as an emulator sets it (tqdm sizes bars by it)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "SXPLAN_NO_PROGRESS"}
    env.update(COLUMNS="120", LINES="40", TERM="xterm")
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        else:
            proc.kill()
            pytest.fail(f"{args} did not finish in {timeout_s} s")
    finally:
        os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def demo_tty(tmp_path_factory):
    out = tmp_path_factory.mktemp("tty") / "demo"
    status, text = run_in_pty([sys.executable, "-m", "sxplan.cli", "demo", "--out", str(out)])
    assert status == 0, text[-3000:]
    return out, text


def test_demo_in_a_terminal_shows_progress_bars_and_timings(demo_tty):
    _, text = demo_tty
    for label in ("layers", "Monte Carlo", "roadside PV"):
        assert re.search(re.escape(label) + r"[^\r\n|]*:\s+\d+%\|", text), label
    assert re.search(r"\d+/\d+ \[", text)  # tqdm's count field
    assert re.search(r"tile", text)  # tile passes draw bars too
    timings = re.search(r"Timings \(s\): (.*)", text).group(1)
    for step in ("layers", "siting", "roadside_pv", "sinks", "figures", "maps", "total"):
        assert re.search(rf"\b{step} \d+\.\d", timings), step


def test_no_progress_flag_and_a_pipe_are_quiet(tmp_path):
    """--no-progress in a terminal, or no terminal at all: no bar is drawn."""
    from sxplan.layers.progress import progress_bar, progress_setting

    before = os.environ.get("SXPLAN_NO_PROGRESS")
    with progress_setting(False):
        assert type(progress_bar(10, "x")).__name__ == "_NoBar"
    assert os.environ.get("SXPLAN_NO_PROGRESS") == before  # restored after the block
    out = tmp_path / "r"
    status, text = run_in_pty(
        [sys.executable, "-m", "sxplan.cli", "sinks", str(_demo_config()), "--out", str(out),
         "--no-progress"]
    )  # fmt: skip
    assert status == 0, text[-2000:]
    assert not re.search(r"\d+%\|", text)
    piped = subprocess.run(
        [sys.executable, "-m", "sxplan.cli", "sinks", str(_demo_config()), "--out",
         str(tmp_path / "p")],
        capture_output=True, text=True,
        env={k: v for k, v in os.environ.items() if k != "SXPLAN_NO_PROGRESS"},
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr[-2000:]
    assert not re.search(r"\d+%\|", piped.stdout + piped.stderr)


def _demo_config():
    from sxplan.config import demo_config_path

    return demo_config_path()


def test_every_figure_is_written_as_png_and_svg(demo_tty):
    out, _ = demo_tty
    for name in FIGURES:
        png = out / "figures" / f"{name}.png"
        svg = out / "figures" / f"{name}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert 10_000 < png.stat().st_size < 1_000_000, name
        text = svg.read_text(encoding="utf-8")
        assert text.startswith("<?xml") and "</svg>" in text, name
        assert 10_000 < len(text) < 2_000_000, name
        assert "<dc:date>" not in text  # no timestamp: reruns are byte-identical


def test_figures_redrawn_are_byte_identical(demo_tty, tmp_path):
    out, _ = demo_tty
    again = run_figures(out, out_dir=tmp_path)
    for name, entry in again.items():
        for ext in ("png", "svg"):
            assert entry[ext].read_bytes() == (out / "figures" / f"{name}.{ext}").read_bytes()


def _csv(out, rel):
    return pd.read_csv(out / rel, encoding="utf-8-sig")


def test_bases_figure_plots_bases_csv(demo_tty):
    out, _ = demo_tty
    fig, data = draw_figure(out, "bases_vs_targets")
    bases = _csv(out, "siting/bases.csv")
    units = bases[bases["level"].isin(["base", "all_bases", "province"])]
    ax = fig.axes[0]
    pv_bars, wind_bars = ax.containers[0], ax.containers[1]
    ids = list(dict.fromkeys(units["id"]))
    assert len(ids) == 7  # five bases, all bases, the province
    for i, uid in enumerate(ids):
        sel = units[units["id"] == uid].set_index("technology")
        assert pv_bars[i].get_height() == pytest.approx(sel.loc["pv", "potential_gw"])
        assert wind_bars[i].get_height() == pytest.approx(sel.loc["wind", "potential_gw"])
        # stacked: the wind bar starts where the PV bar ends, and the two add up to pv+wind
        total = pv_bars[i].get_height() + wind_bars[i].get_height()
        assert wind_bars[i].get_y() == pytest.approx(sel.loc["pv", "potential_gw"])
        assert total == pytest.approx(sel.loc["pv+wind", "potential_gw"], rel=1e-6)
    prov = units[(units["level"] == "province") & (units["technology"] == "pv+wind")].iloc[0]
    targets = sorted(
        float(seg[0][1]) for coll in ax.collections for seg in coll.get_segments()
    )  # the target lines (hlines)
    assert targets == pytest.approx(sorted([prov["target_gw_2025"], prov["target_gw_2030"]]))
    assert data["pv_gw"].tolist() == pytest.approx(
        [units[(units["id"] == u) & (units["technology"] == "pv")]["potential_gw"].iloc[0]
         for u in ids]
    )  # fmt: skip


def test_exclusions_figure_plots_exclusions_csv(demo_tty):
    out, _ = demo_tty
    fig, _ = draw_figure(out, "exclusions")
    ex = _csv(out, "siting/exclusions.csv")
    hard = ex[(ex["mode"] == "hard") & (ex["type"] != "total")]
    ax = fig.axes[0]
    techs = list(dict.fromkeys(hard["technology"]))
    assert [c.get_label() for c in ax.containers] == ["光伏 / PV", "风电 / Wind"]
    pairs = zip(techs, ax.containers, strict=True)
    plotted = {tech: sorted(bar.get_width() for bar in cont) for tech, cont in pairs}
    for tech in techs:
        expected = hard[hard["technology"] == tech]["km2_in_sequence"].tolist()
        nonzero = [w for w in plotted[tech] if w > 0]
        assert nonzero == sorted(w for w in expected if w > 0), tech
    # the bars of one technology add up to its total_excluded row
    for tech in techs:
        total = ex[(ex["technology"] == tech) & (ex["rule"] == "total_excluded")]
        hard_sum = sum(plotted[tech])
        assert hard_sum <= float(total["km2_in_sequence"].iloc[0]) + 1e-6


def test_supply_figure_plots_parcel_capacity_by_score(demo_tty):
    out, _ = demo_tty
    fig, data = draw_figure(out, "supply_by_score")
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    for tech, lab in (("pv", "光伏 / PV"), ("wind", "风电 / Wind")):
        p = gpd.read_file(out / "siting" / f"parcels_{tech}.gpkg", layer=f"parcels_{tech}")
        x, y = lines[lab].get_data()
        assert len(x) == len(p)
        assert y[-1] == pytest.approx(p["capacity_mw"].sum() / 1000)  # all parcels, GW
        assert np.all(np.diff(np.asarray(x)) <= 0)  # best score first
        assert np.all(np.diff(np.asarray(y)) >= 0)
        # cumulative GW at each score = capacity of the parcels scoring at least that
        for k in (0, len(p) // 2, len(p) - 1):
            at_least = p[p["score_mean"] >= x[k]]["capacity_mw"].sum() / 1000
            assert y[k] == pytest.approx(at_least, rel=1e-9) or x[k] == x[min(k + 1, len(x) - 1)]
    assert set(data["technology"]) == {"pv", "wind"}


def test_sink_figure_plots_trajectory_csv(demo_tty):
    out, _ = demo_tty
    fig, _ = draw_figure(out, "sink_trajectory")
    t = _csv(out, "sinks/trajectory.csv")
    ax = fig.axes[0]
    (line,) = ax.get_lines()
    x, y = line.get_data()
    assert list(x) == t["year"].tolist()
    assert np.allclose(y, t["sink_tco2_per_yr"] / 1e6)
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(t["sink_tco2_per_yr_p05"].min() / 1e6)
    assert band[:, 1].max() == pytest.approx(t["sink_tco2_per_yr_p95"].max() / 1e6)
    row = t[t["year"] == 2025].iloc[0]
    assert row["sink_tco2_per_yr_p05"] < row["sink_tco2_per_yr"] < row["sink_tco2_per_yr_p95"]


def test_forest_figure_plots_counties_csv(demo_tty):
    out, _ = demo_tty
    fig, data = draw_figure(out, "forest_cover")
    c = _csv(out, "sinks/counties.csv")
    ax = fig.axes[0]
    before, after = (coll.get_offsets()[:, 1] for coll in ax.collections[1:3])
    assert len(before) == len(c) == 117
    assert sorted(before) == pytest.approx(sorted(c["calibrated_forest_pct"]))
    assert np.all(np.diff(before) >= 0)  # sorted by cover before
    by_before = c.sort_values(["calibrated_forest_pct", "adcode"], kind="mergesort")
    assert np.allclose(after, by_before["cover_2025_pct"])
    assert data["adcode"].tolist() == by_before["adcode"].tolist()


def test_report_page_gathers_headlines_figures_and_links(demo_tty):
    out, text = demo_tty
    page = (out / "report.html").read_text(encoding="utf-8")
    c = _csv(out, "sinks/counties.csv")
    before = (c["calibrated_forest_pct"] * c["area_km2"]).sum() / c["area_km2"].sum()
    after = (c["cover_2025_pct"] * c["area_km2"]).sum() / c["area_km2"].sum()
    assert f"{before:.2f}% → {after:.2f}%" in page
    assert re.search(r"forest cover 2020: raster [\d.]+%, calibrated " + f"{before:.2f}%", text)
    t = _csv(out, "sinks/trajectory.csv").set_index("year")
    assert f"{t.loc[2030, 'sink_tco2_per_yr'] / 1e6:.3f} MtCO₂/yr" in page
    assert page.count("data:image/png;base64,") == len(FIGURES)
    for name in FIGURES:
        assert f'href="figures/{name}.svg"' in page
    assert 'href="maps/siting.html"' in page and "@media print" in page
    assert "http://" not in page and "https://" not in page  # offline, self-contained
    for m in ("siting", "sinks"):
        html = (out / "maps" / f"{m}.html").read_text(encoding="utf-8")
        assert 'href="../report.html"' in html and 'href="../figures/"' in html


# --- QGIS-ready outputs -------------------------------------------------------------------


def test_categorical_rasters_carry_colours_and_category_names(demo_tty):
    """As GDAL (so QGIS) reads them: a colour table in the file, names and a RAT beside it."""
    import rasterio
    from _gdal_c import band_categories

    from sxplan.layers.landcover import COMMON_NAMES_ZH, SCHEMES

    out, _ = demo_tty
    for tech in ("pv", "wind"):
        tif = out / "siting" / f"excluded_by_rule_{tech}.tif"
        legend = _csv(out, f"siting/excluded_by_rule_{tech}.csv")
        with rasterio.open(tif) as src:
            cmap = src.colormap(1)
            codes = set(np.unique(src.read(1)).tolist())
        assert codes <= set(legend["code"])  # every code in the raster has a legend row
        names, rat = band_categories(tif)
        assert len(rat) == len(legend)
        for row, (_, leg) in zip(rat, legend.iterrows(), strict=True):
            want = f"{leg['label_zh']} / {leg['rule']}"
            assert int(row["Value"]) == leg["code"] and row["Class"] == want
            assert names[leg["code"]] == want
            assert (
                tuple(int(row[c]) for c in ("Red", "Green", "Blue", "Alpha")) == cmap[leg["code"]]
            )
        assert rat[0]["_usage"] == {"Value": 5, "Class": 2, "Red": 6, "Green": 7, "Blue": 8,
                                    "Alpha": 9}  # fmt: skip  # GFU_MinMax, GFU_Name, RGBA
        assert cmap[255][3] == 0  # outside the study area: transparent
        hard = legend[(legend["code"] > 0) & (legend["code"] < 254)]["code"]
        assert len({cmap[c] for c in hard}) == len(hard)  # one colour per rule
    lc = out / "layers" / "landcover.tif"
    names, rat = band_categories(lc)
    with rasterio.open(lc) as src:
        cmap = src.colormap(1)
        present = set(np.unique(src.read(1, masked=True).compressed()).tolist())
    forest = {c for c, (common, _) in SCHEMES["igbp"].items() if common == 1}
    assert 12 in present and names[12].startswith(COMMON_NAMES_ZH["crop"])
    assert "Croplands" in names[12]
    assert len({cmap[c] for c in forest}) == 1  # coloured by common class
    assert {int(r["Value"]) for r in rat} == set(SCHEMES["igbp"])


def _feature_tables(con):
    return [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY 1"
        )
    ]


def test_every_geopackage_stores_a_default_qgis_style(demo_tty):
    import sqlite3
    import xml.etree.ElementTree as ET

    import pyogrio

    from sxplan.layers.gpkg_style import TECH_COLOURS

    out, _ = demo_tty
    gpkgs = sorted(out.rglob("*.gpkg"))
    assert len(gpkgs) == 8  # vectors, parcels x2, shortlist, roadside, counties, pumped, grid
    qgis_columns = ["id", "f_table_catalog", "f_table_schema", "f_table_name",
                    "f_geometry_column", "styleName", "styleQML", "styleSLD", "useAsDefault",
                    "description", "owner", "ui", "update_time"]  # fmt: skip
    for path in gpkgs:
        con = sqlite3.connect(path)
        try:
            cols = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)")]
            assert cols == qgis_columns, path
            tables = _feature_tables(con)
            rows = con.execute(
                "SELECT f_table_name, f_geometry_column, styleQML FROM layer_styles "
                "WHERE useAsDefault = 1 ORDER BY f_table_name"
            ).fetchall()
            kind = con.execute(
                "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'"
            ).fetchone()
        finally:
            con.close()
        assert kind == ("attributes",)
        assert [r[0] for r in rows] == tables, path
        for table, geom_col, qml in rows:
            assert geom_col == "geom"
            root = ET.fromstring(qml.split("\n", 1)[1])
            assert root.tag == "qgis" and root.find("renderer-v2") is not None, table
        assert "layer_styles" in [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    con = sqlite3.connect(out / "siting" / "shortlist.gpkg")
    (qml,) = con.execute("SELECT styleQML FROM layer_styles").fetchone()
    con.close()
    renderer = ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "technology"
    values = {c.get("value") for c in renderer.iter("category")}
    assert set(_csv(out, "siting/shortlist.csv")["technology"]) <= values
    con = sqlite3.connect(out / "siting" / "parcels_pv.gpkg")
    (qml,) = con.execute("SELECT styleQML FROM layer_styles").fetchone()
    con.close()
    assert 'name="color" type="QString" value="{},{},{},170"'.format(*TECH_COLOURS["pv"]) in qml


def test_grid_crs_has_a_name_in_rasters_and_geopackages(demo_tty):
    import sqlite3

    import rasterio
    from pyproj import CRS

    from sxplan.layers.grid import ALBERS_CHINA, ALBERS_CHINA_NAME

    out, _ = demo_tty
    for tif in sorted(out.rglob("*.tif")):
        with rasterio.open(tif) as src:
            crs = CRS.from_wkt(src.crs.to_wkt())
        assert crs.name == ALBERS_CHINA_NAME, tif
        assert crs == CRS.from_user_input(ALBERS_CHINA)  # a name only: the same projection
    con = sqlite3.connect(out / "siting" / "roadside_pv_segments.gpkg")
    try:
        (srs_id,) = con.execute(
            "SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'roadside_pv_segments'"
        ).fetchone()
        name, definition = con.execute(
            "SELECT srs_name, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?", (srs_id,)
        ).fetchone()
    finally:
        con.close()
    assert name == ALBERS_CHINA_NAME and "unknown" not in name.lower()
    assert CRS.from_wkt(definition) == CRS.from_user_input(ALBERS_CHINA)
