"""A slope layer derived on read equals the slope raster slope_aspect writes, window by window."""

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from sxplan.layers import GridSpec, slope_aspect, write_raster
from sxplan.layers.terrain import slope_deg_layer, slope_pct_layer


def test_derived_slope_equals_written_raster_in_any_window(tmp_path, rng):
    res = 30.0
    g = GridSpec.from_bounds((0, 0, 40 * res, 30 * res), res)
    dem = rng.normal(0, 8, g.shape).cumsum(0).cumsum(1).astype("float32")
    dem[5:8, 10:14] = -9999.0  # a nodata hole: neighbours use the centre value
    layer = write_raster(tmp_path / "dem.tif", dem, g, nodata=-9999.0, name="dem", cog=False)
    written = slope_aspect(layer, tmp_path / "s", tile_size=7)["slope_pct"]
    derived = slope_pct_layer(layer)
    whole = written.read(masked=False)
    np.testing.assert_array_equal(derived.read(masked=False), whole)
    for win in (
        Window(0, 0, 40, 30),
        Window(3, 4, 9, 5),
        Window(31, 22, 9, 8),
        Window(0, 29, 1, 1),
    ):
        v, ok = derived.read_valid(win)
        sl = (
            slice(win.row_off, win.row_off + win.height),
            slice(win.col_off, win.col_off + win.width),
        )
        np.testing.assert_array_equal(v, whole[sl])
        np.testing.assert_array_equal(ok, np.isfinite(whole[sl]))
    assert not derived.read_valid(Window(10, 5, 4, 3))[1].any()
    assert derived.units == "percent" and derived.kind == "continuous"


def test_derived_slope_of_a_plane_by_hand(tmp_path):
    # 1 m rise per 10 m cell eastward. Inside: ((1 + 2 + 1) * 2 m) / (8 * 10 m) = 10 %.
    # Missing neighbours take the centre value: a top or bottom row loses one side's row,
    # (2 * 2 + 2) / 80 = 7.5 %; a left or right column loses one difference side, 4 / 80 = 5 %;
    # corners lose both: east (2 * 1 + 1) / 80 and south (0 + 2 * 0 + 1) / 80 -> sqrt(10) / 80.
    g = GridSpec.from_bounds((0, 0, 60, 40), 10)
    dem = np.tile(np.arange(6.0), (4, 1))
    layer = write_raster(tmp_path / "dem.tif", dem, g, name="dem", cog=False)
    s = slope_pct_layer(layer).read(masked=False)
    np.testing.assert_allclose(s[1:-1, 1:-1], 10.0, rtol=1e-6)
    np.testing.assert_allclose(s[[0, -1], 1:-1], 7.5, rtol=1e-6)
    np.testing.assert_allclose(s[1:-1][:, [0, -1]], 5.0, rtol=1e-6)
    np.testing.assert_allclose(s[[0, 0, -1, -1], [0, -1, 0, -1]], 100 * 10**0.5 / 80, rtol=1e-6)
    # the pseudo path is not a file: nothing can read elevations from it as if they were slope
    with pytest.raises(rasterio.errors.RasterioIOError):
        rasterio.open(slope_pct_layer(layer).path)


def test_derived_slope_degrees_equals_written_raster(tmp_path, rng):
    res = 30.0
    g = GridSpec.from_bounds((0, 0, 25 * res, 20 * res), res)
    dem = rng.normal(0, 8, g.shape).cumsum(0).cumsum(1).astype("float32")
    dem[3:5, 6:9] = -9999.0
    layer = write_raster(tmp_path / "dem.tif", dem, g, nodata=-9999.0, name="dem", cog=False)
    whole = slope_aspect(layer, tmp_path / "s", tile_size=6)["slope_deg"].read(masked=False)
    derived = slope_deg_layer(layer)
    v, ok = derived.read_valid(Window(4, 2, 11, 9))
    np.testing.assert_array_equal(v, whole[2:11, 4:15])
    np.testing.assert_array_equal(ok, np.isfinite(whole[2:11, 4:15]))
    assert derived.units == "degree"


def test_derived_slope_degrees_of_a_plane_by_hand(tmp_path):
    # 1 m rise per 10 m cell: 10 % inside, i.e. atan(0.1) = 5.7106 degrees
    g = GridSpec.from_bounds((0, 0, 60, 40), 10)
    layer = write_raster(tmp_path / "dem.tif", np.tile(np.arange(6.0), (4, 1)), g, name="dem",
                         cog=False)  # fmt: skip
    s = slope_deg_layer(layer).read(masked=False)
    np.testing.assert_allclose(s[1:-1, 1:-1], np.degrees(np.arctan(0.1)), rtol=1e-6)
