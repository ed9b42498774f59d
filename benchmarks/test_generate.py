"""Checks of the synthetic dataset generator (run: .venv/bin/pytest benchmarks -q)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import rasterio

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402
from _synth import Terrain, lattice_noise  # noqa: E402


def test_noise_of_a_window_equals_the_same_cells_of_a_larger_window():
    x = np.arange(2000) * 30.0 + 15.0 + 400_000
    y = 4_000_000 - np.arange(1500) * 30.0 - 15.0
    whole = lattice_noise(x, y, 900.0, 7)
    part = lattice_noise(x[333:1201], y[77:1055], 900.0, 7)
    assert np.array_equal(whole[77:1055, 333:1201], part)
    assert 0.8 < whole.std() < 1.2


def test_fields_do_not_depend_on_the_window():
    t = Terrain(5, (600_000.0, 4_000_000.0), 150_000.0, 330_000.0)
    x = np.arange(300) * 100.0 + 550_000
    y = 4_050_000 - np.arange(200) * 100.0
    whole = t.fields(x, y)
    part = t.fields(x[10:250], y[50:120])
    for name in ("dem_m", "landcover", "ghi_kwh_m2_yr", "wind_ms"):
        assert np.array_equal(whole[name][50:120, 10:250], part[name]), name


def test_rasters_do_not_depend_on_tiling_or_threads(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert generate.main(["--res", "2000", "--out", str(a), "--workers", "1"]) == 0
    assert generate.main(["--res", "2000", "--out", str(b), "--workers", "2", "--block", "16"]) == 0
    for name in generate.RASTERS:
        with rasterio.open(a / f"{name}.tif") as sa, rasterio.open(b / f"{name}.tif") as sb:
            assert np.array_equal(sa.read(1), sb.read(1)), name
    m = json.loads((a / "manifest.json").read_text(encoding="utf-8"))
    assert m["stats"]["n_counties"] == 117
    assert 0.06 < m["stats"]["protected_share_of_province"] < 0.10
    assert 5_500 < m["stats"]["highway_km_inside_province"] < 7_000
    assert abs(m["stats"]["province_area_km2"] - 156_700) < 100


def test_a_subset_of_rasters_has_the_same_values_and_only_those_files(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    assert generate.main(["--res", "2000", "--out", str(full), "--workers", "1"]) == 0
    argv = ["--res", "2000", "--out", str(part), "--block", "16", "--rasters", "landcover,dem"]
    assert generate.main(argv) == 0
    for name in ("dem", "landcover"):
        with rasterio.open(full / f"{name}.tif") as sa, rasterio.open(part / f"{name}.tif") as sb:
            assert np.array_equal(sa.read(1), sb.read(1)), name
            assert sa.profile["dtype"] == sb.profile["dtype"], name
    assert not (part / "ghi.tif").exists() and not (part / "wind.tif").exists()
    m = json.loads((part / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(m["rasters"]) == ["dem", "landcover"]
    assert "ghi" not in m["sha256"] and "wind" not in m["sha256"]
    full_m = json.loads((full / "manifest.json").read_text(encoding="utf-8"))
    assert m["landcover_share_of_grid"] == full_m["landcover_share_of_grid"]


def test_an_unknown_raster_name_is_refused_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "x"
    assert generate.main(["--res", "2000", "--out", str(out), "--rasters", "dem,slope"]) == 2
    assert "slope" in capsys.readouterr().err
    assert not out.exists()


def test_china_area_is_window_independent_and_china_sized(tmp_path):
    """``--area china`` at 5 km: same bytes whatever the tiling; 9.6 M km2 by cell count."""
    import geopandas as gpd
    from rasterio.features import geometry_mask

    a, b = tmp_path / "a", tmp_path / "b"
    assert (
        generate.main(["--area", "china", "--res", "5000", "--out", str(a), "--workers", "1"]) == 0
    )
    argv = ["--area", "china", "--res", "5000", "--out", str(b), "--workers", "2", "--block", "64"]
    assert generate.main(argv) == 0
    for name in generate.RASTERS:
        with rasterio.open(a / f"{name}.tif") as sa, rasterio.open(b / f"{name}.tif") as sb:
            assert np.array_equal(sa.read(1), sb.read(1)), name
            transform, shape, crs = sa.transform, sa.shape, sa.crs
    m = json.loads((a / "manifest.json").read_text(encoding="utf-8"))
    assert m["area"] == "china"
    assert abs(m["stats"]["province_area_km2"] - 9_600_000) < 1_000
    assert m["stats"]["n_counties"] == 2_800
    assert 0.06 < m["stats"]["protected_share_of_province"] < 0.10
    assert 150_000 < m["stats"]["highway_km_inside_province"] < 220_000
    # independent check of the area: cells whose centre lies inside the outline, x 25 km2
    outline = gpd.read_file(a / "province.gpkg").to_crs(crs)
    inside = ~geometry_mask(outline.geometry, out_shape=shape, transform=transform)
    assert abs(inside.sum() * 25.0 / 9_600_000 - 1) < 0.005
    counties = gpd.read_file(a / "counties.gpkg")
    assert counties["adcode"].is_unique
    assert abs(counties.to_crs(crs).area.sum() / 1e6 / 9_600_000 - 1) < 1e-3
