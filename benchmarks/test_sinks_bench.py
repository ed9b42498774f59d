"""Checks of the sinks benchmarks (sinks_run.py, read_once.py --layers, invest_carbon.py).

They run the scripts on a 2 km dataset in seconds; InVEST itself is not needed (its own
virtualenv), only the pool table built for it is checked by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import rasterio

sys.path.insert(0, str(Path(__file__).resolve().parent))

import invest_carbon  # noqa: E402
import read_once  # noqa: E402
import sinks_run  # noqa: E402


def test_sinks_run_measures_the_stage_and_hashes_its_files(data2k, tmp_path, capsys):
    out = tmp_path / "sinks"
    assert sinks_run.main(["--data", str(data2k), "--out", str(out), "--no-progress"]) == 0
    fig = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert fig["wall_s"] > 0 and fig["peak_rss_mb"] > 50
    assert set(fig["sha256"]) == {
        "afforestation_eligible.tif",
        "counties.csv",
        "counties.gpkg",
        "stock.csv",
        "trajectory.csv",
    }
    # the synthetic official figure (40 %) is what calibration reaches
    assert fig["province"]["baseline_calibrated_pct"] == pytest.approx(40.0)
    assert json.loads((tmp_path / "sinks.json").read_text(encoding="utf-8")) == fig
    with pytest.raises(SystemExit, match="not empty"):
        sinks_run.main(["--data", str(data2k), "--out", str(out)])


def test_read_once_layers_reads_only_the_named_rasters(data2k, capsys):
    assert read_once.main(["--data", str(data2k), "--layers", "landcover,dem"]) == 0
    fig = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert fig["layers"] == ["landcover", "dem"] and "ghi_s" not in fig
    assert read_once.main(["--data", str(data2k)]) == 0  # default: the four siting inputs
    fig = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert fig["layers"] == ["dem", "landcover", "ghi", "wind"]


def test_invest_pool_table_by_hand():
    cfg = sinks_run.load_config(sinks_run.CONFIG)
    from sxplan.sinks.sequestration import load_tier1_table

    rows = {r["lucode"]: r for r in invest_carbon.pool_rows(cfg, load_tier1_table())}
    # 34.49 m3/ha x (0.5 x 1.7 + 0.5 x 1.0) t/m3 x 0.47 = 21.8839 t C/ha above ground;
    # below: 34.49 x (0.5 x 1.7 x 0.23 + 0.5 x 1.0 x 0.29) x 0.47 = 5.5196
    assert rows[1]["c_above"] == pytest.approx(21.883905)
    assert rows[1]["c_below"] == pytest.approx(5.51960715)
    assert rows[8]["c_above"] == pytest.approx(21.883905 / 2)  # woody savanna: half forest
    assert rows[12]["c_above"] == rows[13]["c_below"] == rows[1]["c_soil"] == 0.0


def test_class_counts_cover_the_grid(data2k):
    counts = invest_carbon.class_counts(data2k / "landcover.tif")
    with rasterio.open(data2k / "landcover.tif") as src:
        lc = src.read(1)
    assert sum(counts.values()) == int((lc != 255).sum())
    assert counts[13] == int((lc == 13).sum())
