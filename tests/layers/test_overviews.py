"""Average overviews computed by sxplan.layers.overviews, checked against direct block means."""

import numpy as np
import pytest
import rasterio

from sxplan.layers import GridSpec, write_raster
from sxplan.layers.overviews import average_overviews, overview_sizes


def _block_means(a, f, nodata):
    """Mean of the valid cells of every f x f block, computed directly from the base array."""
    h, w = a.shape
    oh, ow = -(-h // f), -(-w // f)
    out = np.full((oh, ow), np.nan, "float64")
    for i in range(oh):
        for j in range(ow):
            blk = a[i * f : (i + 1) * f, j * f : (j + 1) * f].astype("float64")
            ok = ~np.isnan(blk) if nodata is None else (blk != nodata) & ~np.isnan(blk)
            if ok.any():
                out[i, j] = blk[ok].mean()
    return out


def _base(shape, seed=7):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 1000, shape).astype("float32")
    a[rng.uniform(size=shape) < 0.3] = np.nan
    a[:40, :40] = np.nan  # whole blocks with no valid cell, at every level
    return a


def test_overview_sizes_halve_rounding_up_until_one_block():
    assert overview_sizes(10973, 22631) == [
        (5487, 11316), (2744, 5658), (1372, 2829), (686, 1415), (343, 708), (172, 354),
        (86, 177),
    ]  # fmt: skip
    assert overview_sizes(256, 256) == []
    assert overview_sizes(257, 3) == [(129, 2)]


@pytest.mark.parametrize("nodata, dtype", [(None, "float32"), (-9999.0, "float64")])
def test_levels_are_block_means_of_the_valid_cells(tmp_path, nodata, dtype):
    a = _base((601, 555)).astype(dtype)
    if nodata is not None:
        a[np.isnan(a)] = nodata
    g = GridSpec.from_bounds((0, 0, 555 * 30, 601 * 30), 30)
    path = tmp_path / "s.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=555, height=601, count=1, dtype=dtype,
        crs=g.crs, transform=g.transform, nodata=np.nan if nodata is None else nodata,
    ) as dst:  # fmt: skip
        dst.write(a, 1)
    levels = average_overviews(path)
    assert [p.name for p in levels] == ["s.tif.ov1.tif", "s.tif.ov2.tif"]
    for k, p in enumerate(levels, start=1):
        want = _block_means(a, 2**k, nodata)
        with rasterio.open(p) as src:
            assert src.dtypes[0] == dtype  # a float64 band keeps float64 levels
            got = src.read(1).astype("float64")
            assert (src.width, src.height) == overview_sizes(555, 601)[k - 1]
        empty = np.isnan(want)
        if nodata is None:
            assert np.array_equal(np.isnan(got), empty)
        else:
            assert np.array_equal(got == nodata, empty)
        np.testing.assert_allclose(
            got[~empty], want[~empty], rtol=1e-6 if dtype == "float32" else 1e-12
        )
    # the top-left 40 x 40 cells are all nodata: so is the first cell of both levels
    assert empty[0, 0]


def test_cog_carries_the_block_means_and_the_base_unchanged(tmp_path):
    g = GridSpec.from_bounds((0, 0, 700 * 30, 520 * 30), 30)
    a = _base(g.shape, seed=3)
    layer = write_raster(
        tmp_path / "c.tif", np.ma.masked_invalid(a), g, nodata=float("nan"), name="c",
        units="score 0-1", tags={"units": "score 0-1", "criterion": "x"},
    )  # fmt: skip
    with rasterio.open(layer.path) as src:
        assert src.overviews(1) == [2, 4]
        assert src.tags()["criterion"] == "x" and src.tags()["SXPLAN_KIND"] == "continuous"
        assert src.crs == g.crs and src.transform == g.transform and np.isnan(src.nodata)
        assert np.array_equal(src.read(1), a, equal_nan=True)
    with rasterio.open(layer.path, OVERVIEW_LEVEL=0) as ov:
        got = ov.read(1).astype("float64")
    want = _block_means(a, 2, None)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], rtol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.tif"]  # no level or VRT left


def test_integer_rasters_keep_gdal_overviews(tmp_path):
    g = GridSpec.from_bounds((0, 0, 600 * 30, 300 * 30), 30)
    codes = (np.arange(g.n_cells) % 7).reshape(g.shape).astype("uint8")
    layer = write_raster(tmp_path / "k.tif", codes, g, nodata=255, kind="categorical")
    with rasterio.open(layer.path, OVERVIEW_LEVEL=0) as ov:
        assert set(np.unique(ov.read(1))) <= set(range(7))  # NEAREST: existing codes only


def test_levels_are_written_in_whole_rows_of_blocks_each_block_once(tmp_path, monkeypatch):
    """Every write to a level file starts on a 256-row block line and spans the level's full
    width, and no row is written twice: GDAL's shared block cache then never holds a block
    half written, which another thread could flush and this one re-read stale (GDAL #2011).
    The levels are still the block means (a tall raster: three rows of blocks at level 1)."""
    from rasterio.io import DatasetWriter

    a = _base((1500, 300))
    g = GridSpec.from_bounds((0, 0, 300 * 30, 1500 * 30), 30)
    path = tmp_path / "t.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=300, height=1500, count=1, dtype="float32",
        crs=g.crs, transform=g.transform, nodata=np.nan,
    ) as dst:  # fmt: skip
        dst.write(a, 1)
    writes = []
    write = DatasetWriter.write

    def spy(self, arr, indexes=None, window=None, **kw):
        writes.append((self.name, self.width, window))
        return write(self, arr, indexes, window=window, **kw)

    monkeypatch.setattr(DatasetWriter, "write", spy)
    levels = average_overviews(path)
    assert len(levels) == 3
    for k, p in enumerate(levels, start=1):
        mine = [(w, win) for name, w, win in writes if name == str(p)]
        rows = [(int(win.row_off), int(win.height)) for _, win in mine]
        assert all(int(win.col_off) == 0 and int(win.width) == w for w, win in mine)
        assert all(r0 % 256 == 0 for r0, _ in rows)
        assert sum(h for _, h in rows) == overview_sizes(300, 1500)[k - 1][1]  # each row once
        with rasterio.open(p) as src:
            got = src.read(1).astype("float64")
        want = _block_means(a, 2**k, None)
        assert np.array_equal(np.isnan(got), np.isnan(want))
        ok = ~np.isnan(want)
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-6)
    assert len([1 for name, _, _ in writes if name == str(levels[0])]) == 3  # 750 rows: 3 writes
