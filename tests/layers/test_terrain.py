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
