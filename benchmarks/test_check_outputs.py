"""check_outputs.py: overview levels against block means, and a run against a reference."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import rasterio

sys.path.insert(0, str(Path(__file__).resolve().parent))

import check_outputs  # noqa: E402

from sxplan.layers.grid import GridSpec  # noqa: E402
from sxplan.layers.io import RasterTileWriter  # noqa: E402


def _values(seed=3):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 1, (520, 600)).astype("float32")
    a[rng.uniform(size=a.shape) < 0.2] = np.nan
    a[:256, :256] = np.nan  # a block of nodata at every level
    return a


def _cog(path, a):
    g = GridSpec.from_bounds((0, 0, 600 * 30, 520 * 30), 30)
    with RasterTileWriter(path, g, "float32", float("nan"), cog=True) as w:
        w.write(a, g.full_window())


def test_sxplan_cogs_pass_and_nearest_overviews_or_another_level_fail(tmp_path, capsys):
    run, ref = tmp_path / "run", tmp_path / "ref"
    run.mkdir()
    _cog(run / "s.tif", _values())
    (run / "t.csv").write_text("a\n1\n", encoding="utf-8")
    shutil.copytree(run, ref)
    assert check_outputs.main([str(run), "--ref", str(ref)]) == 0
    assert "2 files, 0 with differences" in capsys.readouterr().out

    # overviews by NEAREST (GDAL's own), not block means: caught without a reference
    bad = tmp_path / "bad"
    bad.mkdir()
    a = _values()
    with rasterio.open(
        bad / "s.tif", "w", driver="GTiff", width=600, height=520, count=1, dtype="float32",
        nodata=np.nan, tiled=True, blockxsize=256, blockysize=256,
    ) as dst:  # fmt: skip
        dst.write(a, 1)
        dst.build_overviews([2, 4], rasterio.enums.Resampling.nearest)
    errors = check_outputs.overview_errors(bad / "s.tif")
    # NEAREST keeps one cell of each block, not its mean: both levels (2 and 4) are caught,
    # in their first band of rows (520 / 2 = 260 and 520 / 4 = 130 rows: one band each)
    assert [e.split(":")[0] for e in errors] == ["level 0 rows 0-260", "level 1 rows 0-130"]
    assert check_outputs.main([str(bad)]) == 1

    # a reference with one cell changed: its full band (and levels 0-1) differ
    other = _values()
    other[300, 400] = 0.5 if np.isnan(other[300, 400]) else np.nan  # changes levels 0-1 only
    _cog(ref / "s.tif", other)
    problems = check_outputs.reference_errors(run / "s.tif", ref / "s.tif")
    assert "full resolution differs" in problems
    (ref / "t.csv").write_text("a\n2\n", encoding="utf-8")
    assert check_outputs.reference_errors(run / "t.csv", ref / "t.csv") == ["bytes differ"]


def test_levels_of_large_values_pass_within_float32_steps(tmp_path):
    """Means near 1,500 (GHI) are stored in float32 steps of 1.2e-4: not an error; a level a
    part in 10,000 off is."""
    rng = np.random.default_rng(5)
    a = (1400 + 200 * rng.uniform(0, 1, (520, 600))).astype("float32")
    _cog(tmp_path / "ghi.tif", a)
    assert check_outputs.overview_errors(tmp_path / "ghi.tif") == []
    off = tmp_path / "off.tif"
    with rasterio.open(
        off, "w", driver="GTiff", width=600, height=520, count=1, dtype="float32",
        tiled=True, blockxsize=256, blockysize=256,
    ) as dst:  # fmt: skip
        dst.write(a, 1)
        dst.build_overviews([2], rasterio.enums.Resampling.average)
    assert check_outputs.overview_errors(off) == []  # GDAL's AVERAGE: the same means
    with rasterio.open(off, "r+") as dst:
        dst.write(a * np.float32(1.0001), 1)  # the full band moves by ~0.15, its level stays
    assert check_outputs.overview_errors(off)[0].startswith("level 0 rows 0-")


def test_geopackages_of_the_same_features_pass_whatever_their_bytes(tmp_path):
    """The same features written whole or appended in blocks (other bytes) pass; one value
    or one vertex changed is named with its layer and block."""
    import geopandas as gpd
    import shapely

    from sxplan.layers.io import write_gpkg_blocks

    n = 50
    gdf = gpd.GeoDataFrame(
        {"parcel_id": [f"PV-{i:03d}" for i in range(n)], "area_km2": np.arange(n) / 7},
        geometry=shapely.buffer(shapely.points(np.arange(n), np.arange(n)), 0.3),
        crs="EPSG:4326",
    )
    whole, parts = tmp_path / "whole.gpkg", tmp_path / "parts.gpkg"
    write_gpkg_blocks([gdf], whole, "parcels")
    write_gpkg_blocks([gdf.iloc[i : i + 7] for i in range(0, n, 7)], parts, "parcels")
    assert whole.read_bytes() != parts.read_bytes()
    assert check_outputs.reference_errors(parts, whole) == []
    changed = tmp_path / "changed.gpkg"
    other = gdf.copy()
    other.loc[33, "area_km2"] += 1e-12
    write_gpkg_blocks([other], changed, "parcels")
    assert check_outputs.gpkg_errors(changed, whole, rows=20) == [
        "layer parcels: features 20-40 differ"
    ]
    moved = gdf.copy()
    moved.loc[45, "geometry"] = shapely.affinity.translate(gdf.geometry[45], 1e-9)
    write_gpkg_blocks([moved], changed, "parcels")
    assert check_outputs.gpkg_errors(changed, whole, rows=20) == [
        "layer parcels: features 40-50 differ"
    ]
