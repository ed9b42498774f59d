import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from sxplan.errors import CRSError, GridMismatchError, MemoryBudgetError
from sxplan.layers import ALBERS_CHINA, GridSpec
from sxplan.layers.windows import plan_tiles, run_tiles


def test_from_bounds_snaps_outward_and_counts_cells():
    g = GridSpec.from_bounds((150, 220, 10_050, 5_010), 1_000)
    # xmin 150 -> 0, ymax 5010 -> 6000; width ceil(10050/1000)=11, height ceil((6000-220)/1000)=6
    assert g.transform.c == 0 and g.transform.f == 6_000
    assert g.shape == (6, 11)
    assert g.cell_area_m2 == 1e6 and g.cell_area_km2 == 1.0
    assert g.bounds == (0, 0, 11_000, 6_000)


def test_default_crs_is_equal_area_albers_and_geographic_is_refused():
    g = GridSpec.from_bounds((0, 0, 10, 10), 1)
    assert g.is_equal_area
    assert "Albers" in g.pyproj_crs.to_wkt()
    with pytest.raises(CRSError, match="geographic"):
        GridSpec.from_bounds((110, 34, 115, 41), 0.01, crs="EPSG:4326")
    assert not GridSpec.from_bounds((0, 0, 10, 10), 1, crs="EPSG:32649").is_equal_area


def test_from_geometry_covers_shanxi_box_area():
    g = GridSpec.from_geometry(shapely.box(110.2, 34.6, 114.6, 40.7), "EPSG:4326", 1_000)
    tr = Transformer.from_crs("EPSG:4326", ALBERS_CHINA, always_xy=True)
    # every corner and edge midpoint of the box lies inside the grid
    xmin, ymin, xmax, ymax = g.bounds
    for lon, lat in [(110.2, 34.6), (114.6, 40.7), (110.2, 40.7), (114.6, 34.6), (112.4, 34.6)]:
        x, y = tr.transform(lon, lat)
        assert xmin <= x <= xmax and ymin <= y <= ymax


def test_require_same_and_array_shape():
    g = GridSpec.from_bounds((0, 0, 100, 100), 10)
    other = GridSpec.from_bounds((0, 0, 100, 100), 20)
    with pytest.raises(GridMismatchError, match="align it"):
        g.require_same(other, "layer 'x'")
    with pytest.raises(GridMismatchError, match=r"\(10, 10\)"):
        g.require_array(np.zeros((9, 10)), "slope")
    g.require_same(GridSpec.from_bounds((0, 0, 100, 100), 10), "same")


def test_rejects_non_square_cells():
    from affine import Affine

    with pytest.raises(GridMismatchError, match="square"):
        GridSpec(GridSpec.from_bounds((0, 0, 1, 1), 1).crs, Affine(10, 0, 0, 0, -20, 0), (2, 2))


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 70),
    w=st.integers(1, 70),
    side=st.integers(1, 30),
    halo=st.integers(0, 9),
)
def test_tiles_cover_grid_exactly_once_with_correct_halos(h, w, side, halo):
    g = GridSpec.from_bounds((0, 0, w * 10, h * 10), 10)
    assert g.shape == (h, w)
    count = np.zeros((h, w), int)
    for t in plan_tiles(g, tile_size=side, halo=halo):
        win, out = t.window, t.outer
        count[win.row_off : win.row_off + win.height, win.col_off : win.col_off + win.width] += 1
        # outer is the core grown by halo, clipped to the grid
        assert out.row_off == max(0, win.row_off - halo)
        assert out.col_off == max(0, win.col_off - halo)
        assert out.row_off + out.height == min(h, win.row_off + win.height + halo)
        assert out.col_off + out.width == min(w, win.col_off + win.width + halo)
        # inner slices pick the core out of an outer-sized array
        rows = np.arange(h)[:, None] * 1000 + np.arange(w)[None, :]
        outer_arr = rows[
            out.row_off : out.row_off + out.height, out.col_off : out.col_off + out.width
        ]
        core = rows[win.row_off : win.row_off + win.height, win.col_off : win.col_off + win.width]
        np.testing.assert_array_equal(outer_arr[t.inner], core)
        (pt, pb), (pl, pr) = t.pad
        assert pt + (win.row_off - out.row_off) == halo and pl + (win.col_off - out.col_off) == halo
        assert min(pt, pb, pl, pr) >= 0
    assert (count == 1).all()


@settings(max_examples=40, deadline=None)
@given(col=st.integers(0, 49), row=st.integers(0, 29))
def test_rowcol_of_cell_centre_round_trips(col, row):
    g = GridSpec.from_bounds((1_000, 2_000, 1_500, 2_300), 10)
    x, y = g.cell_centers()
    r, c = g.rowcol(x[row, col], y[row, col])
    assert (int(r), int(c)) == (row, col)


def test_memory_budget_sets_tile_size_and_refuses_impossible_budget():
    g = GridSpec.from_bounds((0, 0, 10_000 * 30, 10_000 * 30), 30)
    tiles = plan_tiles(g, mem_limit_mb=64, bytes_per_cell=8, halo=10)
    side = tiles[0].window.width
    assert side % 256 == 0
    assert (side + 20) ** 2 * 8 <= 64 * 2**20
    with pytest.raises(MemoryBudgetError, match="raise mem_limit_mb"):
        plan_tiles(g, mem_limit_mb=0.001, bytes_per_cell=8, halo=100)


def test_small_grid_is_one_tile():
    g = GridSpec.from_bounds((0, 0, 500, 300), 10)
    assert len(plan_tiles(g, mem_limit_mb=64)) == 1


def test_run_tiles_threads_match_sync_and_keep_order():
    g = GridSpec.from_bounds((0, 0, 400, 400), 10)
    tiles = plan_tiles(g, tile_size=7)
    got_sync, got_thr = [], []
    run_tiles(
        tiles, lambda t: t.window.row_off * 100 + t.window.col_off, lambda t, r: got_sync.append(r)
    )
    run_tiles(
        tiles,
        lambda t: t.window.row_off * 100 + t.window.col_off,
        lambda t, r: got_thr.append(r),
        scheduler="threads",
        n_workers=2,
    )
    assert got_sync == got_thr and len(got_sync) == math.ceil(40 / 7) ** 2


def test_run_tiles_lets_go_of_a_written_tile_before_computing_the_next():
    """A tile's result is freed once written, not kept while the next tile is computed (zip's
    reused tuple kept it: 25 MB at a time in the 30 m distance step). On one thread, in
    order, each tile's computation finds every earlier result gone."""
    import weakref

    g = GridSpec.from_bounds((0, 0, 400, 400), 10)
    tiles = plan_tiles(g, tile_size=10)
    made, alive_at_start = [], []

    def compute(tile):
        alive_at_start.append(sum(r() is not None for r in made))
        arr = np.zeros(1000)
        made.append(weakref.ref(arr))
        return arr

    written = []
    for scheduler in ("sync", "threads"):
        made.clear()
        alive_at_start.clear()
        run_tiles(tiles, compute, lambda t, r: written.append(r.size), scheduler=scheduler,
                  n_workers=1)  # fmt: skip
        # on threads the next tile may be computed while the last one is written
        assert max(alive_at_start) == 0 if scheduler == "sync" else max(alive_at_start) <= 1
        assert len(alive_at_start) == 16
    assert written == [1000] * 32
