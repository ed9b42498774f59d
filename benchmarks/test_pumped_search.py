"""The pumped-search benchmark on a coarsened demo DEM (seconds): its figures are produced."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pumped_search  # noqa: E402


def test_pumped_search_prints_bytes_per_cell_and_time(capsys):
    assert pumped_search.main(["--factors", "0.125"]) == 0
    runs = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["runs"]
    traced, timed = runs
    import rasterio

    from sxplan.config import demo_config_path

    with rasterio.open(demo_config_path().parent / "shanxi" / "dem.tif") as src:
        cells = round(src.height / 8) * round(src.width / 8)
    assert traced["cells"] == timed["cells"] == cells
    assert traced["bytes_per_cell"] > 8  # at least the float64 elevations it fills
    assert timed["wall_s"] > 0 and timed["maxrss_mb"] > 50
    assert traced["reservoirs"] == timed["reservoirs"]
