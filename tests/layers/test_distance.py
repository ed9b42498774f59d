import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from sxplan.errors import ConfigError
from sxplan.layers import (
    GridSpec,
    distance_array,
    distance_to,
    features_from_codes,
    features_from_vector,
    write_raster,
)
from sxplan.layers.distance import distance_tile
from sxplan.layers.windows import plan_tiles


def test_single_road_cell_gives_exact_euclidean_metres(tmp_path):
    res = 30.0
    g = GridSpec.from_bounds((0, 0, 21 * res, 15 * res), res)
    codes = np.zeros(g.shape, "uint8")
    codes[7, 10] = 1
    layer = write_raster(tmp_path / "road.tif", codes, g, name="road", kind="categorical")
    out = distance_to(
        features_from_codes(layer, [1]), g, tmp_path / "d.tif", max_distance_m=250.0, tile_size=4
    ).read(masked=False)
    rows, cols = np.indices(g.shape)
    expected = np.minimum(res * np.hypot(rows - 7, cols - 10), 250.0)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-3)
    assert out[7, 10] == 0 and out[7, 11] == 30 and out[8, 11] == pytest.approx(30 * 2**0.5)


def test_no_features_gives_cap_everywhere():
    assert (distance_array(np.zeros((3, 4), bool), 10, 99.0) == 99.0).all()


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    density=st.floats(0.0, 0.05),
    tile=st.integers(3, 17),
    max_cells=st.floats(0.5, 9.0),
)
def test_windowed_distance_equals_whole_array(seed, density, tile, max_cells):
    rng = np.random.default_rng(seed)
    res = 10.0
    g = GridSpec.from_bounds((0, 0, 40 * res, 31 * res), res)
    feats = rng.random(g.shape) < density
    max_d = max_cells * res
    whole = distance_array(feats, res, max_d)
    halo = int(np.ceil(max_d / res))
    out = np.empty(g.shape, "float32")

    def reader(win):
        return feats[win.row_off : win.row_off + win.height, win.col_off : win.col_off + win.width]

    for t in plan_tiles(g, tile_size=tile, halo=halo):
        w = t.window
        sl = (slice(w.row_off, w.row_off + w.height), slice(w.col_off, w.col_off + w.width))
        out[sl] = distance_tile(reader, g, t, max_d)
    np.testing.assert_array_equal(out, whole)


def test_too_small_halo_is_refused():
    g = GridSpec.from_bounds((0, 0, 100, 100), 10)
    t = plan_tiles(g, tile_size=5, halo=1)[0]
    with pytest.raises(ConfigError, match="halo >= 5"):
        distance_tile(lambda w: np.zeros((w.height, w.width), bool), g, t, 50.0)


def test_distance_to_vector_line_is_perpendicular_distance(tmp_path):
    res = 100.0
    g = GridSpec.from_bounds((0, 0, 3000, 2000), res)
    # a horizontal road through the centres of row 9 (y = 2000 - 950 = 1050)
    road = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 1050), (3000, 1050)])], crs=g.crs)
    d = distance_to(
        features_from_vector(road, g, all_touched=True),
        g,
        tmp_path / "d.tif",
        max_distance_m=500,
        tile_size=7,
    ).read(masked=False)
    expected_col = np.minimum(np.abs(np.arange(20) - 9) * res, 500)
    for c in (0, 13, 29):
        np.testing.assert_allclose(d[:, c], expected_col)


def test_blockwise_skipping_matches_whole_array_on_a_multi_block_tile():
    rng = np.random.default_rng(7)
    res = 30.0
    g = GridSpec.from_bounds((0, 0, 700 * res, 600 * res), res)
    feats = np.zeros(g.shape, bool)
    feats[rng.integers(0, 600, 12), rng.integers(0, 700, 12)] = True  # sparse: most blocks empty
    max_d = 20 * res
    whole = distance_array(feats, res, max_d)
    (tile,) = plan_tiles(g, tile_size=700, halo=20)
    before = feats.copy()
    got = distance_tile(lambda w: feats, g, tile, max_d)
    np.testing.assert_array_equal(got, whole)
    # the tile measures from its own inverted copy: the reader's array is the caller's
    np.testing.assert_array_equal(feats, before)


def test_within_distance_is_an_exact_circle_with_inclusive_edge():
    from sxplan.layers import within_distance

    res = 100.0
    g = GridSpec.from_bounds((0, 0, 1500, 1500), res)
    feats = np.zeros(g.shape, bool)
    feats[7, 7] = True
    (tile,) = plan_tiles(g, tile_size=15, halo=5)
    inside = within_distance(lambda w: feats, g, tile, 500.0)
    rows, cols = np.indices(g.shape)
    expected = np.hypot(rows - 7, cols - 7) * res <= 500.0
    np.testing.assert_array_equal(inside, expected)
    assert inside[7, 12] and inside[10, 11]  # exactly 500 m (5 cells; 3-4-5) is inside
    assert not inside[11, 11]  # 565.7 m (a diamond or square kernel would differ here)
    assert expected.sum() == 81  # lattice points with i^2 + j^2 <= 25


def test_within_distance_windowed_equals_whole(rng):
    from sxplan.layers import within_distance

    res = 10.0
    g = GridSpec.from_bounds((0, 0, 53 * res, 47 * res), res)
    feats = rng.random(g.shape) < 0.01
    whole = distance_array(feats, res, 1e9) <= 35.0
    out = np.zeros(g.shape, bool)

    def reader(win):
        return feats[win.row_off : win.row_off + win.height, win.col_off : win.col_off + win.width]

    for t in plan_tiles(g, tile_size=9, halo=4):
        w = t.window
        out[w.row_off : w.row_off + w.height, w.col_off : w.col_off + w.width] = within_distance(
            reader, g, t, 35.0
        )
    np.testing.assert_array_equal(out, whole)


def test_buffered_vector_features_measure_from_the_true_line():

    res = 100.0
    g = GridSpec.from_bounds((0, 0, 2000, 2000), res)
    # a road along y = 1000 exactly on cell edges: centres lie 50, 150, 250 m away
    road = gpd.GeoDataFrame(geometry=[shapely.LineString([(-500, 1000), (2500, 1000)])], crs=g.crs)
    got = features_from_vector(road, g, buffer_m=200.0)(g.full_window())
    centre_dist = np.abs((2000 - (np.arange(20) + 0.5) * res) - 1000)
    np.testing.assert_array_equal(got[:, 3], centre_dist <= 200.0)
    assert got[:, 3].sum() == 4  # 50 and 150 m on each side
    polys = gpd.GeoDataFrame(geometry=[shapely.box(900, 900, 1100, 1100)], crs=g.crs)
    zero = features_from_vector(polys, g)(g.full_window())
    assert zero.sum() == 4  # centres (950|1050, 950|1050) inside the 200 m box
    # unbuffered lines default to every touched cell (polygons to cell centres)
    slanted = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 30), (2000, 1030)])], crs=g.crs)
    default = features_from_vector(slanted, g)(g.full_window())
    touched = features_from_vector(slanted, g, all_touched=True)(g.full_window())
    centres = features_from_vector(slanted, g, all_touched=False)(g.full_window())
    np.testing.assert_array_equal(default, touched)
    assert touched.sum() > centres.sum()
    # a buffered point is an exact disc: within 160 m of (1000, 1000) lie the 4 centres at
    # 70.7 m and the 8 at 158.1 m, not the 4 at 212.1 m (a square kernel would take them)
    pt = gpd.GeoDataFrame(geometry=[shapely.Point(1000, 1000)], crs=g.crs)
    disc = features_from_vector(pt, g, buffer_m=160.0)(g.full_window())
    assert disc.sum() == 12
    rows, cols = np.indices(g.shape)
    cx, cy = (cols + 0.5) * res, 2000 - (rows + 0.5) * res
    np.testing.assert_array_equal(disc, np.hypot(cx - 1000, cy - 1000) <= 160.0)


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_distance_to_threads_one_tile_at_a_time_equals_whole_array(tmp_path, scheduler):
    """On threads the tiles are computed one at a time on the calling thread (edt runs its
    own two threads), so no written tile waits beside the next and no worker thread's heap
    keeps freed tiles: the budget still plans several tiles, and the file equals the
    whole-array transform."""
    import threading

    from sxplan.layers.distance import BYTES_PER_CELL
    from sxplan.layers.windows import use_scheduler

    rng = np.random.default_rng(3)
    res = 30.0
    g = GridSpec.from_bounds((0, 0, 400 * res, 300 * res), res)
    codes = (rng.random(g.shape) < 0.0005).astype("uint8")
    layer = write_raster(tmp_path / "f.tif", codes, g, name="f", kind="categorical")
    max_d = 40 * res
    # a budget for two tiles of 160 x 160 cells with their 40-cell halo, each
    mem_mb = 2 * (160 + 80) ** 2 * BYTES_PER_CELL / 2**20
    read, threads = features_from_codes(layer, [1]), set()

    def features(window):
        threads.add(threading.get_ident())
        return read(window)

    with use_scheduler(scheduler):
        out = distance_to(
            features, g, tmp_path / "d.tif", max_distance_m=max_d, mem_limit_mb=mem_mb,
        ).read(masked=False)  # fmt: skip
    np.testing.assert_array_equal(out, distance_array(codes == 1, res, max_d))
    assert threads == {threading.get_ident()}
    n_tiles = len(plan_tiles(g, mem_limit_mb=mem_mb, bytes_per_cell=BYTES_PER_CELL, halo=40,
                             n_workers=2))  # fmt: skip
    assert n_tiles > 1


def _within_by_integer_geometry(feats, res, buffer_m):
    """True where the nearest feature cell (SciPy's feature transform) is within buffer_m,
    from whole-number squared cell distances: no square roots, no float32."""
    from scipy import ndimage

    idx = ndimage.distance_transform_edt(~feats, return_distances=False, return_indices=True)
    rows, cols = np.indices(feats.shape)
    d2 = (rows - idx[0]).astype("int64") ** 2 + (cols - idx[1]).astype("int64") ** 2
    return d2 * res * res <= buffer_m * buffer_m


@pytest.mark.parametrize("corner", [True, False])
def test_within_distance_by_blocks_or_at_once_equals_integer_geometry(corner):
    from sxplan.layers import within_distance

    # 30 m cells, 1,000 m: a 34-cell halo and 512-cell blocks, 4 blocks a tile. Features in
    # one corner leave blocks empty (done by blocks); spread over the tile they are in every
    # block, and the tile is transformed at once. No squared distance lies within 1e-6 of
    # the buffer here (1,111 cells^2 is inside, 1,112 outside).
    rng = np.random.default_rng(11)
    res = 30.0
    g = GridSpec.from_bounds((0, 0, 900 * res, 800 * res), res)
    feats = rng.random(g.shape) < 0.0005
    if corner:
        feats[300:] = False
        feats[:, 300:] = False
    expected = _within_by_integer_geometry(feats, res, 1000.0)
    (tile,) = plan_tiles(g, tile_size=900, halo=34)
    got = within_distance(lambda w: feats, g, tile, 1000.0)
    np.testing.assert_array_equal(got, expected)
    assert 0.05 < expected.mean() < 0.95


def test_blocks_are_done_at_once_only_when_blocks_would_hold_more_cells():
    from sxplan.layers.distance import _blockwise

    feats = np.zeros((1100, 1100), bool)
    inner = (slice(40, 1060), slice(40, 1060))
    calls = []

    def block(sub, keep, dst):
        calls.append(sub.shape)
        assert dst.shape == sub[keep].shape
        dst.fill(False)

    feats[100, 100] = True  # one feature: one 512-cell block and its margins
    _blockwise(~feats, inner, 40, np.bool_(False), block)  # True off the features
    assert calls == [(592, 592)]  # 512 + 2 x 40
    calls.clear()
    feats[::100, ::100] = True  # features in every block: the blocks would hold more
    _blockwise(~feats, inner, 40, np.bool_(False), block)
    assert calls == [(1100, 1100)]


def test_within_cells2_is_the_last_squared_distance_inside():
    import math

    from sxplan.layers.distance import _within_cells2

    for res, buffer_m in [(30.0, 1000.0), (30.0, 30.0), (100.0, 500.0), (1.0, 4100.4)]:
        limit = np.float32(buffer_m) * np.float32(1 + 1e-6)
        k = _within_cells2(res, buffer_m + res, limit)

        def metres(n, res=res, cap=buffer_m + res):
            return np.float32(min(math.sqrt(n * res * res), cap))

        assert metres(k) <= limit < metres(k + 1)
    # 4,100.4 m at 1 m cells: past 2**24, where float32 holds only even whole numbers
    assert _within_cells2(1.0, 4101.4, np.float32(4100.4) * np.float32(1 + 1e-6)) > 2**24


def test_within_distance_past_float32_whole_numbers():
    from sxplan.layers.distance import _blockwise_within

    res, buffer_m, reach = 1.0, 4100.4, 4101  # 4,100 cells inside, 4,101 not
    feats = np.zeros((1, 2 * reach + 9001), bool)
    feats[0, reach + 4500] = True
    inner = (slice(0, 1), slice(reach, reach + 9001))
    got = _blockwise_within(~feats, inner, res, reach, buffer_m)  # True off the features
    expected = np.abs(np.arange(9001) - 4500) <= 4100
    np.testing.assert_array_equal(got[0], expected)
