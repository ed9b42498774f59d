"""The alignment benchmark on a 5 km demo grid (seconds): figures printed, a rerun compared."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import rasterio

sys.path.insert(0, str(Path(__file__).resolve().parent))

import align_demo  # noqa: E402


def test_align_demo_prints_each_layer_and_a_rerun_compares_equal(tmp_path, capsys):
    args = ["--res", "5000", "--layers", "dem,landcover,precip_mm_per_yr"]
    assert align_demo.main([*args, "--out", str(tmp_path / "a")]) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(first["layers"]) == {"dem", "landcover", "precip_mm_per_yr"}
    rerun = ["--out", str(tmp_path / "b"), "--compare", str(tmp_path / "a")]
    assert align_demo.main([*args, *rerun]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for name, fig in again["layers"].items():
        assert fig["sha256"] == first["layers"][name]["sha256"]
        assert fig["cells_differ"] == fig["nodata_differ"] == fig["max_ulp"] == 0


def test_compare_counts_the_cells_and_units_in_the_last_place_that_differ(tmp_path):
    from rasterio.transform import from_origin

    a = np.array([[1.0, 2.0, np.nan], [4.0, 5.0, 6.0]], "float32")
    b = a.copy()
    b[0, 1] = np.nextafter(np.float32(2.0), np.float32(3.0))  # one unit in the last place
    b[0, 2] = 3.0  # nodata in one, a value in the other
    b[1, 0] = np.nextafter(np.nextafter(np.float32(4.0), np.float32(0)), np.float32(0))  # two
    for name, arr in (("a.tif", a), ("b.tif", b)):
        with rasterio.open(tmp_path / name, "w", driver="GTiff", width=3, height=2, count=1,
                           dtype="float32", nodata=float("nan"),
                           transform=from_origin(0, 2, 1, 1)) as dst:  # fmt: skip
            dst.write(arr, 1)
    got = align_demo.compare(tmp_path / "a.tif", tmp_path / "b.tif")
    assert got == {"cells_differ": 3, "nodata_differ": 1, "max_ulp": 2}
