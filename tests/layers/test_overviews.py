"""Overviews computed by sxplan.layers.overviews: average levels against direct block means,
nearest levels against GDAL's own COG output, byte for byte."""

import numpy as np
import pytest
import rasterio

from sxplan.layers import GridSpec, write_raster
from sxplan.layers.cog import _to_cog
from sxplan.layers.overviews import (
    average_overviews,
    nearest_overviews,
    overview_sizes,
)


def _block_means(a, f, nodata):
    """Mean of the valid cells of every f x f block, computed directly from the base array
    (padded with missing cells to whole blocks, summed in float64 over each block)."""
    h, w = a.shape
    oh, ow = -(-h // f), -(-w // f)
    pad = np.full((oh * f, ow * f), np.nan)
    pad[:h, :w] = a
    if nodata is not None:
        pad[pad == nodata] = np.nan
    blocks = pad.reshape(oh, f, ow, f)
    ok = ~np.isnan(blocks)
    n = ok.sum(axis=(1, 3))
    s = np.where(ok, blocks, 0.0).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / n, np.nan)


def _float_band(path, a, nodata=None):
    """``a`` as a single-band GeoTIFF on a 30 m grid of its shape (NaN nodata by default)."""
    h, w = a.shape
    g = GridSpec.from_bounds((0, 0, w * 30, h * 30), 30)
    with rasterio.open(
        path, "w", driver="GTiff", width=w, height=h, count=1, dtype=a.dtype.name,
        crs=g.crs, transform=g.transform, nodata=np.nan if nodata is None else nodata,
    ) as dst:  # fmt: skip
        dst.write(a, 1)
    return path


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


def test_levels_by_hand(tmp_path):
    # 2 x 2 means of the valid cells: (1 + 2 + 3) / 3, (3 + 5 + 7) / 3, none, (0 + 0 - 2 + 2) / 4
    nan = np.nan
    a = np.array([[1, 2, 3, nan], [3, nan, 5, 7], [nan, nan, 0, 0], [nan, nan, -2, 2]], "float32")
    (level,) = average_overviews(_float_band(tmp_path / "h.tif", a), block=2)
    with rasterio.open(level) as src:
        got = src.read(1)
    np.testing.assert_array_equal(got, np.array([[2, 5], [nan, 0]], "float32"))
    np.testing.assert_array_equal(_block_means(a, 2, None), got)  # the tests' reference too


@pytest.mark.parametrize("nodata, dtype", [(None, "float32"), (-9999.0, "float64")])
def test_levels_are_block_means_of_the_valid_cells(tmp_path, nodata, dtype):
    a = _base((601, 555)).astype(dtype)
    if nodata is not None:
        a[np.isnan(a)] = nodata
    path = _float_band(tmp_path / "s.tif", a, nodata)
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


@pytest.mark.parametrize("nodata, dtype", [(None, "float32"), (-9999.0, "float64")])
def test_levels_down_to_a_few_cells_are_block_means(tmp_path, nodata, dtype):
    # levels down to 2 x 2 cells (block=2): 9 levels, so one top-level cell spans 512 rows,
    # more than the 256-row windows, and each window is then one top-level cell's rows
    # (601 rows: one whole window and one cut by the raster's edge)
    a = _base((601, 555), seed=11).astype(dtype)
    if nodata is not None:
        a[np.isnan(a)] = nodata
    path = _float_band(tmp_path / "d.tif", a, nodata)
    sizes = overview_sizes(555, 601, 2)
    assert len(sizes) == 9 and sizes[-1] == (2, 2)
    levels = average_overviews(path, block=2)
    assert len(levels) == 9
    for k, p in enumerate(levels, start=1):
        want = _block_means(a, 2**k, nodata)
        with rasterio.open(p) as src:
            got = src.read(1).astype("float64")
            assert (src.width, src.height) == sizes[k - 1]
        empty = np.isnan(want)
        assert np.array_equal(np.isnan(got) if nodata is None else got == nodata, empty)
        np.testing.assert_allclose(
            got[~empty], want[~empty], rtol=1e-6 if dtype == "float32" else 1e-12
        )
        assert empty[0, 0] == (2**k <= 40)  # the top-left 40 x 40 cells hold no data


@pytest.mark.parametrize("dtype, nan_bits", [("float32", 0x7FC00000), ("float64", 0x7FF8 << 48)])
def test_negative_means_keep_their_sign_and_empty_cells_are_the_positive_nan(
    tmp_path, dtype, nan_bits
):
    # the means are divided without a mask: 0 / 0 gives x86's NaN with the sign bit set, which
    # copying the sum's sign turns into np.nan's bits; a mean below zero must stay below zero
    a = (_base((601, 555), seed=3) - 500.0).astype(dtype)  # about half the cells negative
    a[300:304, 100:104] = -0.0  # a level-1 and a level-2 block of negative zeros
    path = _float_band(tmp_path / "n.tif", a)
    for k, p in enumerate(average_overviews(path), start=1):
        want = _block_means(a, 2**k, None)
        with rasterio.open(p) as src:
            got = src.read(1)
        empty = np.isnan(want)
        assert empty.any() and (want[~empty] < 0).sum() > want.size // 4
        assert np.array_equal(np.isnan(got), empty)
        bits = got.view(f"uint{8 * got.itemsize}")
        assert (bits[empty] == nan_bits).all()  # the positive quiet NaN, as np.nan
        # float32 pairs of values near 500 are exact to about 3e-5: means near 0 lose digits
        atol = 1e-4 if dtype == "float32" else 1e-9
        np.testing.assert_allclose(got[~empty], want[~empty], rtol=1e-6, atol=atol)
        clear = ~empty & (np.abs(want) > atol)
        assert np.array_equal(np.signbit(got[clear]), np.signbit(want[clear]))
        zero = got[300 // 2**k, 100 // 2**k]
        assert zero == 0 and np.signbit(zero)  # -0.0 stays -0.0


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


def _staging(path, codes, colormap=True, kind="categorical"):
    """A staging file as RasterTileWriter writes it: tiled, uncompressed, tagged, a palette."""
    h, w = codes.shape
    g = GridSpec.from_bounds((0, 0, w * 30, h * 30), 30)
    with rasterio.open(
        path, "w", driver="GTiff", width=w, height=h, count=1, dtype=codes.dtype.name,
        crs=g.crs, transform=g.transform, nodata=255, tiled=True, blockxsize=256,
        blockysize=256, compress="NONE", sparse_ok=True,
    ) as dst:  # fmt: skip
        if colormap:
            dst.write_colormap(1, {i: (40 * i % 256, 90, 200 - i, 255) for i in range(7)})
        dst.update_tags(SXPLAN_KIND=kind, legend="x.csv")
        dst.write(codes, 1)
    return path


def _gdal_cog(src, dst):
    """The COG GDAL makes with its own NEAREST overviews (the copy _to_cog used to make)."""
    from rasterio.shutil import copy as rio_copy

    rio_copy(
        src, dst, driver="COG", compress="DEFLATE", BLOCKSIZE=256, BIGTIFF="IF_SAFER",
        OVERVIEW_RESAMPLING="NEAREST", NUM_THREADS="2", LEVEL=1,
    )  # fmt: skip


@pytest.mark.parametrize(
    "shape, dtype",
    [((770, 769), "uint8"), ((1537, 2049), "uint8"), ((3, 257), "uint8"), ((600, 3), "uint8"),
     ((700, 16500), "uint8"), ((1030, 530), "uint16")],
)  # fmt: skip
def test_categorical_cogs_are_gdals_byte_for_byte(tmp_path, shape, dtype):
    """The NEAREST levels computed here, handed to the COG driver, make the very file GDAL
    makes with its own overviews: odd sides (GDAL rounds a level's sides down and picks cells
    from the level before, not from the full band), more than one 16,384-column window, level
    rows across block lines, a uint16 palette."""
    rng = np.random.default_rng(sum(shape))
    codes = rng.integers(0, 7, shape).astype(dtype)
    codes[rng.uniform(size=shape) < 0.1] = 255
    codes[: shape[0] // 3] = np.arange(shape[1]) % 7  # stripes: a shifted pick would show
    stage = _staging(tmp_path / "s.tif", codes)
    _to_cog(stage, tmp_path / "ours.tif")
    _gdal_cog(stage, tmp_path / "gdal.tif")
    with rasterio.open(tmp_path / "gdal.tif") as ref:
        n_levels = len(ref.overviews(1))
        assert n_levels == len(overview_sizes(shape[1], shape[0], round_down=True))
    for k in range(n_levels):
        with rasterio.open(tmp_path / "ours.tif", OVERVIEW_LEVEL=k) as a:
            with rasterio.open(tmp_path / "gdal.tif", OVERVIEW_LEVEL=k) as b:
                want = overview_sizes(*shape[::-1], round_down=True)[k]
                assert (a.width, a.height) == (b.width, b.height) == want
                assert np.array_equal(a.read(1), b.read(1))
    assert (tmp_path / "ours.tif").read_bytes() == (tmp_path / "gdal.tif").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gdal.tif", "ours.tif", "s.tif"]


def test_nearest_levels_by_hand_and_no_palette(tmp_path):
    """An 8 x 600 band: level 1 is 4 x 300 (cells 0, 2, 4, 6 of each axis: 0.5 + 2i rounds
    down), level 2 is 2 x 150 (cells 0 and 2 of level 1, so 0 and 4 of the band); a band
    without a palette stays without one."""
    codes = (np.arange(600)[None, :] % 5 + 10 * np.arange(8)[:, None]).astype("uint8")
    stage = _staging(tmp_path / "s.tif", codes, colormap=False)
    levels = nearest_overviews(stage)
    with rasterio.open(levels[0]) as a, rasterio.open(levels[1]) as b:
        assert np.array_equal(a.read(1), codes[0::2, 0::2])
        assert np.array_equal(b.read(1), codes[0::4, 0::4])
    _to_cog(stage, tmp_path / "c.tif")
    with rasterio.open(tmp_path / "c.tif") as src:
        with pytest.raises(ValueError):
            src.colormap(1)
        assert src.tags()["SXPLAN_KIND"] == "categorical"


def test_integer_rasters_that_are_not_categorical_keep_gdal_overviews(tmp_path):
    codes = np.tile(np.array([0, 6], "uint8"), (300, 300))  # columns 0, 6, 0, 6, ...
    stage = _staging(tmp_path / "s.tif", codes, colormap=False, kind="continuous")
    _to_cog(stage, tmp_path / "ours.tif")
    with rasterio.open(tmp_path / "ours.tif", OVERVIEW_LEVEL=0) as ov:
        assert np.all(ov.read(1) == 3)  # GDAL's AVERAGE; nearest would give 0 everywhere
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ours.tif", "s.tif"]


def _spy_writes(monkeypatch):
    """Every ``DatasetWriter.write`` from now on, as (file name, its width, window)."""
    from rasterio.io import DatasetWriter

    writes = []
    write = DatasetWriter.write

    def spy(self, arr, indexes=None, window=None, **kw):
        writes.append((self.name, self.width, window))
        return write(self, arr, indexes, window=window, **kw)

    monkeypatch.setattr(DatasetWriter, "write", spy)
    return writes


def _assert_whole_blocks_once(writes, path, size, block=256):
    """The writes to ``path`` each cover whole ``block``-cell blocks (cut only at the level's
    edges), and together cover every block of a ``size`` level exactly once."""
    w, h = size
    seen = []
    for name, _, win in writes:
        if name != str(path):
            continue
        r0, c0, rh, cw = int(win.row_off), int(win.col_off), int(win.height), int(win.width)
        assert r0 % block == 0 and c0 % block == 0, win
        assert rh % block == 0 or r0 + rh == h, win
        assert cw % block == 0 or c0 + cw == w, win
        seen += [(i, j) for i in range(r0 // block, -(-(r0 + rh) // block))
                 for j in range(c0 // block, -(-(c0 + cw) // block))]  # fmt: skip
    want = [(i, j) for i in range(-(-h // block)) for j in range(-(-w // block))]
    assert sorted(seen) == want  # every block once


def test_levels_are_written_in_whole_blocks_each_block_once(tmp_path, monkeypatch):
    """Every write to a level file covers whole 256-cell blocks and no block is written twice:
    GDAL's shared block cache then never holds a block half written, which another thread
    could flush and this one re-read stale (GDAL #2011). The raster is wide enough that levels
    1-3 have several blocks across, and levels 2-4 take their blocks from 2 x 2 to 8 x 8
    windows (the Z order); the levels are still the block means."""
    a = _base((1500, 2100))
    path = _float_band(tmp_path / "t.tif", a)
    writes = _spy_writes(monkeypatch)
    levels = average_overviews(path)
    sizes = overview_sizes(2100, 1500)
    assert len(levels) == 4 and sizes[0] == (1050, 750) and sizes[3] == (132, 94)
    for k, p in enumerate(levels, start=1):
        _assert_whole_blocks_once(writes, p, sizes[k - 1])
        with rasterio.open(p) as src:
            got = src.read(1).astype("float64")
        want = _block_means(a, 2**k, None)
        assert np.array_equal(np.isnan(got), np.isnan(want))
        ok = ~np.isnan(want)
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-6)


@pytest.mark.parametrize("window", [64, 2048])
def test_levels_do_not_depend_on_the_window(tmp_path, monkeypatch, window):
    """Windows of 64 cells (every level's blocks gathered from many windows) and of 2,048
    (whole blocks at levels 1-3) give the levels of the default 512-cell windows bit for bit,
    nodata blocks and the raster's cut edges included, each block written once."""
    from sxplan.layers import overviews

    a = _base((1300, 1100), seed=5)
    a[700:1300, 900:1100] = np.nan  # blocks with no data at every level, at the edges
    path = _float_band(tmp_path / "t.tif", a)
    default = []
    for p in average_overviews(path):
        with rasterio.open(p) as src:
            default.append(src.read(1))
    monkeypatch.setattr(overviews, "_WINDOW", window)
    writes = _spy_writes(monkeypatch)
    sizes = overview_sizes(1100, 1300)
    for k, p in enumerate(average_overviews(path)):
        _assert_whole_blocks_once(writes, p, sizes[k])
        with rasterio.open(p) as src:
            got = src.read(1)
        assert got.tobytes() == default[k].tobytes()  # NaN bits included
    assert np.isnan(default[0][350:, 450:]).all()  # level 1 of the empty corner


def test_nearest_levels_are_written_in_whole_blocks_each_block_once(tmp_path, monkeypatch):
    """As for the average levels (GDAL #2011): every write to a level covers whole 256-cell
    blocks, cut only at its edges, and each block is written once. A write is one block, so
    what is held does not grow with the width (whole rows of blocks did). Levels 1 and 2 have
    several blocks across and down, and are the band's cells 0, 2, 4, ... then 0, 4, 8, ..."""
    codes = (np.arange(1500 * 1300) % 7).reshape(1500, 1300).astype("uint8")
    stage = _staging(tmp_path / "t.tif", codes)
    writes = _spy_writes(monkeypatch)
    levels = nearest_overviews(stage)
    sizes = overview_sizes(1300, 1500, round_down=True)
    assert len(levels) == 3 and sizes[:2] == [(650, 750), (325, 375)]
    for k, p in enumerate(levels, start=1):
        _assert_whole_blocks_once(writes, p, sizes[k - 1])
        if k <= 2:  # sides halve exactly
            with rasterio.open(p) as src:
                assert np.array_equal(src.read(1), codes[:: 2**k, :: 2**k])
    assert all(int(win.width) <= 256 and int(win.height) <= 256 for *_, win in writes)
    assert len([1 for name, _, _ in writes if name == str(levels[0])]) == 9  # 3 x 3 blocks
