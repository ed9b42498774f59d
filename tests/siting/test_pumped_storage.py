"""Pumped-storage pairs on a synthetic DEM with two known basins, checked by hand.

The DEM (100 m cells, 7 x 17): two identical blocks side by side, the lower one (columns 0-6)
and the upper one (columns 10-16, +500 m), on a 1,700 m background. Each block is a 3 x 3
bowl at 1,000 m (upper: 1,500 m) inside a ring at 1,050 m and a border at 1,100 m, with a
notch in the ring at row 5 (the bowl's level) and an outlet on the grid edge at row 6, 10 m
below. Water behind a wall of height H at the notch (the dam site, 1,000 m) fills the 9 bowl
cells and the notch: 10 cells x H x 100 m x 100 m. The only cell next to that water lower
than the crest (H + 2 m freeboard) is the outlet at 990 m, so the wall is one cell of 100 m
carrying h = H + 12 m, of volume 100 h (10 + 3 h).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from sxplan.errors import ConfigError
from sxplan.layers.grid import GridSpec
from sxplan.siting._pumped_reservoirs import find_reservoirs
from sxplan.siting.pumped_config import PumpedStorageConfig
from sxplan.siting.pumped_storage import pair_reservoirs, run_pumped_storage, storage_gwh
from sxplan.siting.technology import get_technology

RES = 100.0
LOWER_SITE, UPPER_SITE = (5, 3), (5, 13)


def _block(base: float) -> np.ndarray:
    b = np.full((7, 7), base + 100.0)  # border
    b[1:6, 1:6] = base + 50.0  # ring
    b[2:5, 2:5] = base  # bowl
    b[5, 3] = base  # notch (dam site)
    b[6, 3] = base - 10.0  # outlet on the grid edge
    return b


def _dem() -> np.ndarray:
    z = np.full((7, 17), 1700.0)
    z[:, 0:7] = _block(1000.0)
    z[:, 10:17] = _block(1500.0)
    return z


def _cfg(**kw) -> PumpedStorageConfig:
    base = dict(
        dam_wall_heights_m=[20, 40], min_watershed_km2=0.05, contour_interval_m=20,
        min_reservoir_volume_gl=1, min_reservoir_water_rock=3, min_pair_water_rock=1.5,
        dam_batter=3, crest_width_m=10, freeboard_m=2, usable_share=1.0,
        generation_efficiency=0.9, gravity_m_s2=9.8, energy_classes_gwh=[50, 3.675],
        min_head_m=200, max_head_m=800, max_distance_km=5,
    )  # fmt: skip
    base.update(kw)
    return PumpedStorageConfig(**base)


def _flat(rc) -> int:
    return rc[0] * 17 + rc[1]


def _reservoirs(excluded=None, **kw):
    z = _dem()
    valid = np.ones(z.shape, bool)
    excl = np.zeros(z.shape, bool) if excluded is None else excluded
    return find_reservoirs(z, valid, excl, RES, _cfg(**kw))


def _wall_m3(h):
    return RES * h * (10 + 3 * h)


def test_reservoir_volume_and_wall_by_hand():
    res = _reservoirs()
    for site, z0 in ((LOWER_SITE, 1000.0), (UPPER_SITE, 1500.0)):
        i = int(np.nonzero(res.site == _flat(site))[0][0])
        assert res.site_elev_m[i] == z0
        # 10 cells x H x 1e4 m2: 2 GL behind 20 m, 4 GL behind 40 m
        assert res.volume_m3[i] == pytest.approx([2e6, 4e6])
        # one wall cell at 990 m: h = 1022 - 990 = 32 m, 1042 - 990 = 52 m
        assert res.wall_m3[i] == pytest.approx([_wall_m3(32), _wall_m3(52)])
        assert res.wall_m3[i][0] == pytest.approx(339_200)
        assert len(res.water_cells(i, 20)) == 10


def test_pair_head_ratio_and_energy_by_hand():
    res = _reservoirs()
    cfg = _cfg()
    rows, cols = np.divmod(res.site, 17)
    xy = np.column_stack([(cols + 0.5) * RES, -(rows + 0.5) * RES])
    pairs = pair_reservoirs(res, xy, cfg)
    up = int(np.nonzero(res.site == _flat(UPPER_SITE))[0][0])
    lo = int(np.nonzero(res.site == _flat(LOWER_SITE))[0][0])
    p = pairs[(pairs.upper == up) & (pairs.lower == lo)].iloc[0]
    assert p.head_m == 500.0
    assert p.distance_km == pytest.approx(1.0)  # 10 cells apart
    assert p.distance_to_head == pytest.approx(2.0)
    # 50 GWh would need 50 / (1000 x 9.8 x 500 x 0.9 / 3.6e12) = 40.8 GL > 4 GL: the pair
    # takes 3.675 GWh = 3 GL x 1.225e-6 GWh/m3, held behind 30 m walls (half-way on the curve)
    assert p.energy_gwh == 3.675
    assert p.volume_gl == pytest.approx(3.0)
    assert p.upper_wall_height_m == pytest.approx(30.0)
    wall = (_wall_m3(32) + _wall_m3(52)) / 2  # linear between the heights tried
    assert p.dam_volume_mm3 == pytest.approx(2 * wall / 1e6)
    assert p.water_rock == pytest.approx(3e6 / (2 * wall))  # 2.495
    assert p.rock_m3_per_mwh == pytest.approx(2 * wall / 3675)


def test_energy_formula():
    # rho g h V eta: 1000 x 9.8 x 500 x 1e6 x 0.9 J = 4.41e12 J = 1.225 GWh
    assert storage_gwh(500.0, 1e6, _cfg()) == pytest.approx(1.225)
    tech = get_technology("pumped_storage")
    assert tech.engine == "reservoir_pairs"
    assert tech.power_mw(3.0, _cfg(cycle_hours=6)) == pytest.approx(500.0)
    with pytest.raises(ConfigError, match="reservoir pairs"):
        tech.cell_energy(_cfg())


def test_excluded_cells_remove_a_reservoir_and_criteria_remove_pairs():
    excl = np.zeros((7, 17), bool)
    excl[6, 3] = True  # the lower reservoir's wall cell (a red line, say)
    res = _reservoirs(excluded=excl)
    assert _flat(LOWER_SITE) not in res.site and _flat(UPPER_SITE) in res.site
    res = _reservoirs()
    rows, cols = np.divmod(res.site, 17)
    xy = np.column_stack([(cols + 0.5) * RES, -(rows + 0.5) * RES])
    assert (
        pair_reservoirs(res, xy, _cfg(min_head_m=501, max_head_m=800)).query("head_m == 500").empty
    )
    assert pair_reservoirs(res, xy, _cfg(max_distance_to_head=1.9)).query("head_m == 500").empty
    assert pair_reservoirs(res, xy, _cfg(min_pair_water_rock=2.6)).query("head_m == 500").empty


def test_run_writes_the_pair_layers(tmp_path, make_layers, counties_frame):
    grid = GridSpec.from_bounds((0, 0, 17 * RES, 7 * RES), RES)
    rasters = make_layers(tmp_path, grid, {"dem": _dem().astype("float32")}, units={"dem": "m"})
    counties = counties_frame(
        grid, [(140101, "甲县", "太原市", 140100, shapely.box(0, 0, 17 * RES, 7 * RES))]
    )
    # a substation 500 m north of the tunnel's midpoint ((350 + 1350) / 2, 150)
    subs = gpd.GeoDataFrame(geometry=[shapely.Point(850, 650)], crs=grid.pyproj_crs)
    cfg = _cfg(max_pairs=5, substations_layer="subs")
    out = run_pumped_storage(
        grid, rasters, {"subs": subs}, counties, None, cfg, tmp_path / "siting", budget=256
    )
    best = out.pairs[out.pairs.head_m == 500].iloc[0]
    assert best.energy_gwh == 3.675 and best.power_mw == pytest.approx(3675 / 6)
    assert best.dist_substation_km == pytest.approx(0.5)
    assert best.county == "甲县" and best.pair_id.startswith("PS-")
    gpkg = out.outputs["pumped_storage_gpkg"]
    for layer in ("ps_upper", "ps_lower", "ps_tunnel"):
        assert len(gpd.read_file(gpkg, layer=layer)) == len(out.pairs)
    upper = gpd.read_file(gpkg, layer="ps_upper").to_crs(grid.pyproj_crs)
    row = upper[upper.pair_id == best.pair_id].iloc[0]
    assert row.geometry.area == pytest.approx(10 * RES * RES, rel=1e-6)  # 10 cells of water


def _red_point_case(tmp_path, make_layers, counties_frame, dem, buffer_m, nodata=None):
    """The test DEM's grid, one county over columns 0-11 and a red point in cell (3, 2)
    buffered by ``buffer_m`` for pumped storage (and a PV-only rule that must not apply)."""
    from sxplan.siting.config import load_siting_config

    grid = GridSpec.from_bounds((0, 0, 17 * RES, 7 * RES), RES)
    rasters = make_layers(tmp_path, grid, {"dem": dem}, units={"dem": "m"}, nodata=nodata)
    counties = counties_frame(
        grid, [(140101, "甲县", "太原市", 140100, shapely.box(0, 0, 12 * RES, 7 * RES))]
    )
    red = gpd.GeoDataFrame(geometry=[shapely.Point(250, 350)], crs=grid.pyproj_crs)
    siting = load_siting_config({"exclusions": [
        {"name": "red", "type": "vector", "layer": "red", "buffer_m": buffer_m,
         "technologies": ["pumped_storage"]},
        {"name": "pv_only", "type": "range", "layer": "dem", "above": 0, "technologies": ["pv"]},
    ]})  # fmt: skip
    return grid, rasters, {"red": red}, counties, siting


def test_exclusions_windowed_equal_whole(tmp_path, make_layers, counties_frame):
    from sxplan.siting._pumped_grid import _excluded

    case = _red_point_case(tmp_path, make_layers, counties_frame, _dem().astype("float32"), 150)
    whole, tiled = _excluded(*case, 256), _excluded(*case, 256, tile_size=3)
    assert np.array_equal(whole, tiled)
    # outside the counties (columns 12-16) + a 150 m circle around the centre of cell (3, 2):
    # 9 cells whose centres lie within 150 m (edge neighbours 100 m, corners 141 m away)
    assert whole[:, 12:].all() and whole[:, :12].sum() == 9 and whole[2:5, 1:4].all()


def test_search_grid_averages_blocks_and_excludes_any(tmp_path, make_layers, counties_frame):
    """k = 2 over the 7 x 17 test DEM: block means (cells with data only), any-excluded, by hand."""
    from sxplan.siting._pumped_grid import search_inputs

    dem = _dem().astype("float32")
    dem[0, 0] = -9999.0  # no data: the block (0, 0) averages its three other cells
    case = _red_point_case(tmp_path, make_layers, counties_frame, dem, 10, {"dem": -9999})
    grid = case[0]
    cfg = _cfg(resolution_m=2 * RES)
    sgrid, z, valid, excluded = search_inputs(*case, cfg, 256)
    assert sgrid.res == 2 * RES and sgrid.shape == (4, 9)
    assert sgrid.transform.c == grid.transform.c and sgrid.transform.f == grid.transform.f
    ref = _dem()
    assert z[0, 0] == pytest.approx((ref[0, 1] + ref[1, 0] + ref[1, 1]) / 3)
    assert z[1, 1] == pytest.approx(ref[2:4, 2:4].mean())
    assert z[3, 8] == ref[6, 16] and valid.all()  # the last row and column: one cell each
    # the red point (250, 350) lies in cell row 3, col 2 -> block (1, 1) (a 10 m buffer
    # reaches no other cell centre); outside the counties from column 12 on -> blocks from
    # column 6 on; a block over the grid's edge counts its own cells only
    assert excluded[1, 1] and excluded[:, 6:].all()
    assert excluded[:, :6].sum() == 1
    # windows of 3 cells are cut to whole blocks of 2 (9 columns of windows, 4 rows): the same
    tiled = search_inputs(*case, cfg, 256, tile_size=3)
    for a, b in zip((z, valid, excluded), tiled[1:], strict=True):
        assert np.array_equal(a, b)
    # the same windows two at a time on threads (their writes in tile order): the same arrays
    from sxplan.layers.windows import use_scheduler
    from sxplan.siting._pumped_grid import _excluded

    with use_scheduler("threads"):
        threaded = search_inputs(*case, cfg, 256, tile_size=3)
        cells = _excluded(*case, 256, tile_size=3)
    for a, b in zip((z, valid, excluded), threaded[1:], strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(cells, _excluded(*case, 256))


def test_search_over_the_budget_is_refused_with_a_resolution_that_fits():
    from sxplan.errors import MemoryBudgetError
    from sxplan.layers.budget import Budget
    from sxplan.siting._pumped_grid import SEARCH_BYTES_PER_CELL, check_search_fits

    grid = GridSpec.from_bounds((0, 0, 60_000, 30_000), 30)  # 2,000 x 1,000 cells
    budget = Budget(256)
    limit = budget.run_tiles().total_bytes
    assert 2e6 * SEARCH_BYTES_PER_CELL > limit  # 380 MB against 96 MB
    with pytest.raises(MemoryBudgetError, match=r"resolution_m: (\d+)") as info:
        check_search_fits(grid, _cfg(), budget)
    import re

    fit = float(re.search(r"resolution_m: (\d+)", str(info.value)).group(1))
    sg = check_search_fits(grid, _cfg(resolution_m=fit), budget)
    assert sg.width * sg.height * SEARCH_BYTES_PER_CELL <= limit
    k = round(fit / 30)  # the finest: one cell finer does not fit
    finer = -(-1000 // (k - 1)) * -(-2000 // (k - 1))
    assert finer * SEARCH_BYTES_PER_CELL > limit
    assert "enabled: false" in str(info.value)
    mem = re.search(r"mem_limit_mb to about ([\d,]+)", str(info.value)).group(1)
    mem = int(mem.replace(",", ""))
    assert check_search_fits(grid, _cfg(), Budget(mem)).shape == grid.shape
    with pytest.raises(MemoryBudgetError):
        check_search_fits(grid, _cfg(), Budget(mem - 16))


def test_coarse_search_of_a_finer_copy_finds_the_hand_checked_pair(
    tmp_path, make_layers, counties_frame
):
    """The test DEM at 50 m (each cell split in four), searched at resolution_m = 100: the
    block means are the 100 m DEM exactly, so the pair is the hand-checked one above."""
    fine = np.repeat(np.repeat(_dem(), 2, axis=0), 2, axis=1).astype("float32")
    grid = GridSpec.from_bounds((0, 0, 17 * RES, 7 * RES), RES / 2)
    assert grid.shape == fine.shape
    rasters = make_layers(tmp_path, grid, {"dem": fine}, units={"dem": "m"})
    counties = counties_frame(
        grid, [(140101, "甲县", "太原市", 140100, shapely.box(0, 0, 17 * RES, 7 * RES))]
    )
    cfg = _cfg(max_pairs=5, resolution_m=RES)
    out = run_pumped_storage(
        grid, rasters, {}, counties, None, cfg, tmp_path / "siting", budget=256
    )
    best = out.pairs[out.pairs.head_m == 500].iloc[0]
    assert best.energy_gwh == 3.675 and best.volume_gl == pytest.approx(3.0)
    upper = gpd.read_file(out.outputs["pumped_storage_gpkg"], layer="ps_upper")
    row = upper.to_crs(grid.pyproj_crs).set_index("pair_id").loc[best.pair_id]
    assert row.geometry.area == pytest.approx(10 * RES * RES, rel=1e-6)  # 10 cells of 100 m


def test_ring_equals_brute_force_neighbours_at_the_grid_edge_too():
    """The wall ring is computed for the water cells only; checked cell by cell, corners too."""
    from sxplan.siting._pumped_reservoirs import _edge_cells, _ring

    shape = (5, 6)
    rng = np.random.default_rng(17)
    edge = _edge_cells(shape)
    for _ in range(200):
        water = np.unique(rng.choice(30, size=rng.integers(1, 8), replace=False))
        member = np.zeros(30, bool)
        member[water] = True
        expect = set()
        for w in water:
            r, c = divmod(int(w), 6)
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if (dr or dc) and 0 <= rr < 5 and 0 <= cc < 6 and not member[rr * 6 + cc]:
                        expect.add(rr * 6 + cc)
        assert _ring(water, shape, member, edge).tolist() == sorted(expect)
