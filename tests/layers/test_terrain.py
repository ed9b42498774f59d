import math

import numpy as np
import pytest
from pyproj import Transformer

from sxplan.layers import GridSpec, horn_slope_aspect, slope_aspect, write_raster
from sxplan.layers.terrain import grid_north_offset_deg


def plane(shape, gx, gy_north, res):
    """Elevation of a plane rising gx m per m eastward and gy_north m per m northward."""
    rows, cols = np.indices(shape)
    return cols * res * gx - rows * res * gy_north + 500.0


def test_tilted_plane_gives_known_slope_everywhere_inside():
    res = 30.0
    dem = plane((12, 15), 0.3, 0.4, res)  # gradient magnitude 0.5 -> 50 %, atan(0.5) deg
    s_deg, s_pct, asp = horn_slope_aspect(dem, res)
    inner = (slice(1, -1), slice(1, -1))
    np.testing.assert_allclose(s_pct[inner], 50.0, rtol=1e-5)
    np.testing.assert_allclose(s_deg[inner], math.degrees(math.atan(0.5)), rtol=1e-5)
    # rising to the north-east: faces (downhill) south-west, atan2(-0.3, -0.4)
    expected = math.degrees(math.atan2(-0.3, -0.4)) % 360
    np.testing.assert_allclose(asp[inner], expected, rtol=1e-5)


@pytest.mark.parametrize(
    "gx,gy,aspect", [(0, -0.1, 0.0), (-0.1, 0, 90.0), (0, 0.1, 180.0), (0.1, 0, 270.0)]
)
def test_aspect_cardinal_directions(gx, gy, aspect):
    _, _, asp = horn_slope_aspect(plane((5, 5), gx, gy, 10.0), 10.0)
    assert asp[2, 2] == pytest.approx(aspect)


def test_flat_is_minus_one_and_nodata_stays_nodata():
    dem = np.full((5, 5), 100.0)
    dem[0, 0] = np.nan
    s, _, asp = horn_slope_aspect(dem, 10.0)
    assert np.isnan(s[0, 0]) and np.isnan(asp[0, 0])
    assert asp[2, 2] == -1.0 and s[2, 2] == 0.0
    assert s[1, 1] == 0.0  # a nodata neighbour is replaced by the centre, no false cliff


def test_windowed_equals_whole_array(tmp_path, rng):
    res = 30.0
    g = GridSpec.from_bounds((0, 0, 37 * res, 23 * res), res)
    dem = (rng.normal(0, 20, g.shape).cumsum(0).cumsum(1)).astype("float32")
    dem[5:8, 10:13] = -9999.0
    layer = write_raster(tmp_path / "dem.tif", dem, g, nodata=-9999.0, name="dem", units="m")
    whole = horn_slope_aspect(np.where(dem == -9999.0, np.nan, dem), res)
    tiled = slope_aspect(layer, tmp_path / "tiles", tile_size=6, scheduler="threads")
    for name, ref in zip(("slope_deg", "slope_pct", "aspect_deg"), whole, strict=True):
        got = tiled[name].read(masked=False)
        np.testing.assert_array_equal(got, ref)
        assert tiled[name].grid.same_as(g)


def test_grid_north_offset_matches_step_due_north():
    g = GridSpec.from_bounds((0, 0, 1000, 1000), 100)
    tr = Transformer.from_crs("EPSG:4326", g.pyproj_crs, always_xy=True)
    for lon, lat in [(110.5, 35.0), (112.5, 37.9), (114.4, 40.5)]:
        x0, y0 = tr.transform(lon, lat)
        x1, y1 = tr.transform(lon, lat + 0.001)
        true_north_in_grid = math.degrees(math.atan2(x1 - x0, y1 - y0))
        # a direction's true azimuth = grid azimuth + offset; true north has true azimuth 0
        assert true_north_in_grid + float(grid_north_offset_deg(g, x0, y0)) == pytest.approx(
            0.0, abs=1e-4
        )


def test_steeper_than_agrees_with_slope_percent(rng):
    from sxplan.layers.terrain import steeper_than

    res = 30.0
    dem = rng.normal(0, 8, (60, 70)).cumsum(0).astype("float32")
    dem[3:6, 3:6] = np.nan
    _, pct, _ = horn_slope_aspect(dem, res)
    for limit in (5.0, 15.0, 25.0, 40.0):
        steep = steeper_than(dem, res, limit)
        with np.errstate(invalid="ignore"):
            expected = pct > limit
        assert (steep != expected).sum() <= 1  # at most a last-bit tie at the limit
        assert not steep[4, 4]


def test_outputs_parameter_selects_arrays():
    dem = plane((6, 6), 0.2, 0.0, 10.0)
    (pct,) = horn_slope_aspect(dem, 10.0, outputs=("slope_pct",))
    assert pct[3, 3] == pytest.approx(20.0)
    with pytest.raises(ValueError, match="unknown outputs"):
        horn_slope_aspect(dem, 10.0, outputs=("curvature",))


def test_slope_aspect_shares_its_budget_between_the_tiles_computed_at_once(tmp_path):
    import tracemalloc

    from sxplan.layers.windows import plan_tiles

    res, n = 30.0, 3000
    g = GridSpec.from_bounds((0, 0, n * res, n * res), res)
    rng = np.random.default_rng(5)
    dem = write_raster(tmp_path / "dem.tif", rng.random((n, n), dtype="float32") * 50, g, cog=False)
    # 40 MB: two threads each get 20 MB of tiles (64 B/cell planned, ~40 used)
    one = plan_tiles(g, mem_limit_mb=40, bytes_per_cell=64, halo=1)
    two = plan_tiles(g, mem_limit_mb=40, bytes_per_cell=64, halo=1, n_workers=2)
    assert two[0].window.width < one[0].window.width
    tracemalloc.start()
    out = slope_aspect(dem, tmp_path / "out", mem_limit_mb=40, scheduler="threads")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 40 * 2**20  # planned for one tile at a time, two threads traced 53 MB
    whole = horn_slope_aspect(dem.read(masked=False), res)
    for arr, name in zip(whole, ("slope_deg", "slope_pct", "aspect_deg"), strict=True):
        np.testing.assert_array_equal(out[name].read(masked=False), arr)


def _whole_array_slope_aspect(dem, res):
    """Horn slope and aspect as whole-array float32 operations (the form before strips, s26),
    with NaN neighbours replaced by the centre value cell by cell in a Python loop."""
    z = np.asarray(dem, dtype="float32")
    nrow, ncol = z.shape
    zp = np.full((nrow + 2, ncol + 2), np.nan, dtype="float32")
    zp[1:-1, 1:-1] = z
    gx = np.empty_like(z)
    gy = np.empty_like(z)
    two, scale = np.float32(2.0), np.float32(8.0 * res)
    for r in range(nrow):
        for c in range(ncol):
            if np.isnan(z[r, c]):  # nodata stays nodata
                gx[r, c] = gy[r, c] = np.nan
                continue
            w = zp[r : r + 3, c : c + 3].copy()
            w[np.isnan(w)] = z[r, c]
            (a, b, cc), (d, _, f), (g, h, i) = w
            gx[r, c] = ((cc + two * f + i) - (a + two * d + g)) / scale
            gy[r, c] = ((g + two * h + i) - (a + two * b + cc)) / scale
    grad = np.hypot(gx, gy)
    slope_deg = np.degrees(np.arctan(grad)).astype("float32")
    slope_pct = grad * np.float32(100.0)
    aspect = (np.degrees(np.arctan2(-gx, gy)) % np.float32(360.0)).astype("float32")
    aspect[grad == 0] = -1.0
    return slope_deg, slope_pct, aspect


@pytest.mark.parametrize("shape", [(70, 41), (32, 9), (33, 5), (1, 40), (65, 1)])
def test_strips_give_the_whole_array_values_bit_for_bit(rng, shape):
    # more rows than one strip (32), a last strip of 1-6 rows, nodata holes, edges
    dem = (rng.random(shape) * 900).astype("float32")
    dem[rng.random(shape) < 0.05] = np.nan
    expected = _whole_array_slope_aspect(dem, 30.0)
    got = horn_slope_aspect(dem, 30.0)
    for e, g in zip(expected, got, strict=True):
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g, e)


def test_vectorized_hypot_and_degrees_equal_numpys(rng):
    from sxplan.layers.terrain import _DEGREES, _hypot

    x = (rng.standard_normal(200_000) * 10.0 ** rng.uniform(-4, 2, 200_000)).astype("float32")
    y = (rng.standard_normal(200_000) * 10.0 ** rng.uniform(-4, 2, 200_000)).astype("float32")
    x[:3], y[:3] = [0.0, np.nan, 0.0], [0.0, 1.0, -0.0]
    out = np.empty_like(x)
    _hypot(x, y, out, np.empty(x.shape), np.empty(x.shape))
    np.testing.assert_array_equal(out, np.hypot(x, y))
    # every float32 from 0 to pi/2 would take a minute; a million of them, evenly spaced bits
    bits = np.linspace(0, np.float32(np.pi).view("uint32"), 1_000_000).astype("uint32")
    v = np.concatenate([bits.view("float32"), -bits.view("float32")])
    np.testing.assert_array_equal((v * _DEGREES).view("uint32"), np.degrees(v).view("uint32"))


@pytest.mark.parametrize("hole", [(1, 2), (3, 2)])
def test_a_missing_north_or_south_neighbour_takes_the_centre_value(hole):
    # a plane rising 1 m per 10 m eastward: every row the same, so the centre value put in
    # place of the missing north (or south) neighbour is that neighbour's own value. Before
    # s27 the cell came out NaN (only the east gradient was checked for missing neighbours)
    # and the hole itself got a slope from its neighbours (Horn's formula skips the centre).
    dem = np.tile(np.arange(5, dtype="float32"), (5, 1))
    dem[hole] = np.nan
    _deg, pct, aspect = horn_slope_aspect(dem, 10.0)
    assert pct[2, 2] == np.float32(10.0)
    assert aspect[2, 2] == 270.0
    assert np.isnan(pct[hole]) and np.isnan(aspect[hole])  # and the hole stays nodata
