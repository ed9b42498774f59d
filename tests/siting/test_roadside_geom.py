"""Roadside PV geometry: segments, strips, true-north bearings, raster sampling."""

import math

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Proj

from sxplan.layers.grid import ALBERS_CHINA, GridSpec
from sxplan.layers.io import write_raster
from sxplan.siting._roadside_geom import (
    compass_label,
    cut_lines,
    flag_values,
    grid_north_azimuth_deg,
    side_strips,
    station_points,
)
from sxplan.siting._roadside_sample import sample_layer


def test_cut_lines_equal_parts():
    ten_km = shapely.LineString([(0, 0), (4000, 0), (4000, 6000)])
    segs, parent, number = cut_lines(np.array([ten_km]), 1000.0)
    assert len(segs) == 10
    np.testing.assert_allclose(shapely.length(segs), 1000.0)
    assert parent.tolist() == [0] * 10 and number.tolist() == list(range(10))
    # The 5th segment turns the corner: from (4000-... ) 4000 m along is the corner.
    assert shapely.get_coordinates(segs[3])[-1].tolist() == [4000.0, 0.0]
    # 2.5 km at 1 km -> ceil(2.5) = 3 equal parts of 2500/3 m, no short leftover.
    segs, _, _ = cut_lines(np.array([shapely.LineString([(0, 0), (2500, 0)])]), 1000.0)
    np.testing.assert_allclose(shapely.length(segs), 2500.0 / 3)


@settings(max_examples=40, deadline=None)
@given(
    angle=st.floats(0, 360),
    length=st.floats(50, 3000),
    offset=st.floats(0, 30),
    width=st.floats(1, 25),
)
def test_straight_strip_area_is_length_times_width(angle, length, offset, width):
    a = math.radians(angle)
    line = shapely.LineString(
        [(1e5, 4e6), (1e5 + length * math.sin(a), 4e6 + length * math.cos(a))]
    )
    for side in (1, -1):
        strip = side_strips(np.array([line]), offset, width, side)[0]
        assert strip.area == pytest.approx(length * width, rel=1e-9)
        # Every strip point lies between offset and offset + width from the line.
        d = shapely.distance(shapely.points(shapely.get_coordinates(strip)), line)
        assert d.min() >= offset - 1e-6 and d.max() <= offset + width + 1e-6


def test_left_strip_is_left_of_travel():
    east = shapely.LineString([(0, 0), (1000, 0)])
    left = side_strips(np.array([east]), 15, 10, 1)[0]
    right = side_strips(np.array([east]), 15, 10, -1)[0]
    assert left.bounds == (0.0, 15.0, 1000.0, 25.0)  # north of an eastbound road
    assert right.bounds == (0.0, -25.0, 1000.0, -15.0)


@pytest.mark.parametrize("lon", [110.5, 112.5, 114.5])
def test_grid_north_matches_pyproj_meridian_convergence(lon):
    from pyproj import Transformer

    lat = 37.5
    x, y = Transformer.from_crs("EPSG:4326", ALBERS_CHINA, always_xy=True).transform(lon, lat)
    ours = float(grid_north_azimuth_deg(x, y, ALBERS_CHINA))
    # pyproj reports the convergence as the angle from true north to grid north; our value is
    # the grid azimuth of true north, its negative.
    theirs = Proj(ALBERS_CHINA).get_factors(lon, lat).meridian_convergence
    assert ours == pytest.approx(-theirs, abs=1e-3)
    # Spherical Albers: convergence = n (lon - lon0), n = (sin 25 + sin 47) / 2 (independent).
    n = (math.sin(math.radians(25)) + math.sin(math.radians(47))) / 2
    assert ours == pytest.approx(-n * (lon - 105.0), abs=0.05)
    assert -6.0 < ours < -3.0  # "a few degrees" west across Shanxi


def test_compass_and_flags():
    assert compass_label([0, 22, 23, 90, 180, 270, 359]).tolist() == [
        "N", "N", "NE", "E", "S", "W", "N",
    ]  # fmt: skip
    vals = pd.Series(["yes", "no", None, "viaduct", "0", "true", "building_passage", ""])
    assert flag_values(vals).tolist() == [True, False, False, True, False, True, True, False]
    assert flag_values(pd.Series([True, False])).tolist() == [True, False]


def test_station_points_direction():
    line = shapely.LineString([(0, 0), (0, 1000)])  # northbound on the grid
    seg, x, y, ux, uy = station_points(np.array([line]), 100.0)
    assert seg.size == 10
    np.testing.assert_allclose(y, np.arange(50, 1000, 100))
    np.testing.assert_allclose(ux, 0, atol=1e-12)
    np.testing.assert_allclose(uy, 1)


def _layer(tmp_path, array, kind="continuous", nodata=None, res=100.0):
    grid = GridSpec.from_bounds((0, 0, array.shape[1] * res, array.shape[0] * res), res)
    return write_raster(tmp_path / f"r_{kind}.tif", array, grid, nodata=nodata, kind=kind)


def test_sample_bilinear_exact_on_a_plane_and_blocks_agree(tmp_path, rng):
    h, w = 40, 50
    rows, cols = np.mgrid[0:h, 0:w]
    # Cell centres: x = 100 (col + 0.5), y = 4000 - 100 (row + 0.5).
    xc, yc = 100 * (cols + 0.5), 4000 - 100 * (rows + 0.5)
    plane = (3.0 + 0.02 * xc - 0.05 * yc).astype("float64")
    layer = _layer(tmp_path, plane)
    x = rng.uniform(50, 4950, 500)  # inside the outermost cell centres
    y = rng.uniform(50, 3950, 500)
    whole = sample_layer(layer, x, y)
    np.testing.assert_allclose(whole, 3.0 + 0.02 * x - 0.05 * y, rtol=1e-9)
    # Reading 7x7-cell blocks gives the same answer as one big block (windowed == whole).
    np.testing.assert_allclose(sample_layer(layer, x, y, block=7), whole, rtol=1e-12)
    # Off the grid -> NaN.
    assert np.isnan(sample_layer(layer, [-10.0, 6000.0], [100.0, 100.0])).all()


def _bilinear_whole(a, rowf, colf):
    """Reference: bilinear on the whole array (NaN = nodata), clamped at the grid edge."""
    h, w = a.shape
    out = np.full(rowf.size, np.nan)
    for k, (rf, cf) in enumerate(zip(rowf, colf, strict=True)):
        if not (0 <= rf < h and 0 <= cf < w):
            continue
        nearest = a[int(math.floor(rf)), int(math.floor(cf))]
        fr, fc = rf - 0.5, cf - 0.5
        i0 = min(max(math.floor(fr), 0), h - 1)
        j0 = min(max(math.floor(fc), 0), w - 1)
        i1, j1 = min(i0 + 1, h - 1), min(j0 + 1, w - 1)
        wr, wc = min(max(fr - i0, 0.0), 1.0), min(max(fc - j0, 0.0), 1.0)
        v = (
            a[i0, j0] * (1 - wr) * (1 - wc)
            + a[i0, j1] * (1 - wr) * wc
            + a[i1, j0] * wr * (1 - wc)
            + a[i1, j1] * wr * wc
        )
        out[k] = v if np.isfinite(v) else nearest
    return out


def test_sample_reads_only_the_cells_it_needs_and_gives_the_whole_array_values(tmp_path, rng):
    """Windows of just the cells the points use give, bit for bit, bilinear on the whole array.

    Points on cell centres and edges, on the grid's edges (clamped), next to nodata, and on
    block boundaries, for blocks of 1, 3, 7 and 512 cells (one window for all).
    """
    h, w, res = 23, 31, 100.0
    a = rng.normal(50.0, 10.0, (h, w)).astype("float32")
    a[5, 7] = a[0, 0] = a[22, 30] = a[12, 3] = -9999.0
    layer = _layer(tmp_path, a, nodata=-9999.0, res=res)
    ref = np.where(a == -9999.0, np.nan, a.astype("float64"))
    edges = np.r_[0.0, 0.25, 0.5, 0.75, 1.0, 2.5, 3.0, 6.0, 7.0, 7.5, 21.0, 22.5, 22.99]
    rowf = np.r_[np.repeat(edges, edges.size), rng.uniform(0, h, 400)]
    colf = np.r_[np.tile(edges * w / h, edges.size), rng.uniform(0, w, 400)]
    x, y = colf * res, h * res - rowf * res
    # the same coordinates as sample_layer forms them from x, y
    colf, rowf = x / res, (y - h * res) / -res
    want = _bilinear_whole(ref, rowf, colf)
    for block in (1, 3, 7, 512):
        got = sample_layer(layer, x, y, block=block)
        np.testing.assert_array_equal(got, want, err_msg=f"block {block}")
    codes = np.where(a == -9999.0, 255, np.abs(a).astype("uint8") % 200).astype("uint8")
    cat = _layer(tmp_path, codes, kind="categorical", nodata=255, res=res)
    near = codes[np.floor(rowf).astype(int), np.floor(colf).astype(int)].astype("float64")
    near[near == 255] = np.nan
    for block in (1, 7, 512):
        np.testing.assert_array_equal(sample_layer(cat, x, y, block=block), near)


def test_sample_nearest_categorical_and_nodata(tmp_path):
    codes = np.arange(12, dtype="uint8").reshape(3, 4)
    codes[1, 1] = 255
    layer = _layer(tmp_path, codes, kind="categorical", nodata=255)
    # Cell (row 2, col 3) has centre x=350, y=50.
    got = sample_layer(layer, [350.0, 150.0, 10.0], [50.0, 150.0, 290.0])
    assert got[0] == 11 and np.isnan(got[1]) and got[2] == 0
    # Bilinear next to a nodata cell falls back to the nearest valid cell.
    cont = _layer(tmp_path, np.where(codes == 255, -9999.0, codes.astype("float32")), nodata=-9999)
    assert sample_layer(cont, [60.0], [160.0])[0] == 4.0
