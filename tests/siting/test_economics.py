"""Grid connection, LCOE and supply curves: every expected number derived by hand."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from sxplan.errors import ConfigError
from sxplan.siting.economics_config import EconomicsConfig
from sxplan.siting.grid_connection import (
    NO_SUBSTATION,
    assign_substations,
    cost_distance_matrix,
    friction_surface,
    straight_distance_matrix,
)
from sxplan.siting.lcoe import capacity_factor, crf, lcoe_cny_per_kwh
from sxplan.siting.supply_curve import cheapest_for_target, curve, supply_curves

from .test_run import CFG, world  # noqa: F401  (the 10 x 10 km world of test_run)

#: Two voltage classes with round costs (independent of the shipped defaults).
CLASSES = [
    {"voltage_kv": 220, "max_parcel_mw": 300, "line_cost_cny_per_km": 800_000,
     "substation_cost_cny_per_kw": 150},
    {"voltage_kv": 500, "max_parcel_mw": None, "line_cost_cny_per_km": 2_000_000,
     "substation_cost_cny_per_kw": 200},
]  # fmt: skip


def test_lcoe_of_one_parcel_by_hand():
    # 100 MW, 150 GWh/yr, 10 km of 220 kV line: 10 x 800,000 + 100,000 kW x 150 = 23 M CNY.
    # CRF(6%, 25 yr) = 0.06 x 1.06^25 / (1.06^25 - 1) = 0.06 x 4.291871 / 3.291871 = 0.0782267
    # annual = (350 M + 23 M) x 0.0782267 + 45 x 100,000 = 29.17856 M + 4.5 M = 33.67856 M CNY
    # LCOE = 33.67856 M / 150 M kWh = 0.224524 CNY/kWh
    econ = EconomicsConfig(voltage_classes=CLASSES)
    assert crf(0.06, 25) == pytest.approx(0.0782267, rel=1e-6)
    assert crf(0.0, 20) == pytest.approx(0.05)
    conn = assign_substations(
        np.array([[10.0]]), np.array([100.0]), np.array([0]), np.array([220.0]),
        np.array([np.nan]), econ,
    )  # fmt: skip
    assert conn.capex_cny[0] == pytest.approx(23e6)
    c = econ.pv
    lcoe = lcoe_cny_per_kwh(
        100.0, 150.0, conn.capex_cny[0], capex_cny_per_kw=c.capex_cny_per_kw,
        fixed_opex_cny_per_kw_yr=c.fixed_opex_cny_per_kw_yr,
        variable_opex_cny_per_mwh=c.variable_opex_cny_per_mwh, lifetime_yr=c.lifetime_yr,
        discount_rate=econ.discount_rate,
    )  # fmt: skip
    assert float(lcoe) == pytest.approx(0.224524, rel=1e-5)
    # variable opex 10 CNY/MWh adds 0.01 CNY/kWh; capex x 1.2 scales the annuity part only
    more = lcoe_cny_per_kwh(100.0, 150.0, 23e6, capex_cny_per_kw=3500, fixed_opex_cny_per_kw_yr=45,
                            variable_opex_cny_per_mwh=10, lifetime_yr=25, discount_rate=0.06,
                            capex_factor=1.2)  # fmt: skip
    assert float(more) == pytest.approx((373e6 * 1.2 * 0.0782267 + 4.5e6) / 150e6 + 0.01, rel=1e-5)
    # capacity factor 150 GWh / (100 MW x 8760 h) = 0.171233
    assert float(capacity_factor(100.0, 150.0)) == pytest.approx(0.171233, rel=1e-5)
    assert np.isnan(lcoe_cny_per_kwh(1.0, 0.0, 0.0, capex_cny_per_kw=1, fixed_opex_cny_per_kw_yr=0,
                                     variable_opex_cny_per_mwh=0, lifetime_yr=1,
                                     discount_rate=0.0))  # fmt: skip


def test_least_cost_distance_against_a_hand_traced_path():
    # 1 km cells; a wall of friction 9 in the middle column, open below it:
    #   1 9 1
    #   1 9 1
    #   1 1 1
    # From (0,0) to (0,2): down 1 km (cost 1), diagonal to (2,1) (sqrt 2), diagonal to (1,2)
    # (sqrt 2), up 1 km (cost 1): 2 + 2 sqrt 2 = 4.828; straight through the wall costs
    # 2 x (1 + 9) / 2 = 10; straight line 2 km.
    f = np.array([[1, 9, 1], [1, 9, 1], [1, 1, 1]], dtype=float)
    d = cost_distance_matrix(f, 1.0, np.array([[0, 0]]), np.array([[0, 2], [2, 0]]))
    assert d[0, 0] == pytest.approx(2 + 2 * math.sqrt(2))
    assert d[1, 0] == pytest.approx(2.0)  # straight down the open column
    # 0.5 km cells halve every cost; a limit below the cost leaves the target unreachable
    half = cost_distance_matrix(f, 0.5, np.array([[0, 0]]), np.array([[0, 2]]))
    assert half[0, 0] == pytest.approx(1 + math.sqrt(2))
    assert np.isinf(cost_distance_matrix(f, 1.0, [[0, 0]], [[0, 2]], limit_km=4.0)[0, 0])
    # an impassable (NaN) wall with a gap: the path goes round through the gap
    g = np.array([[1, np.nan, 1], [1, np.nan, 1], [1, 1, 1]])
    assert cost_distance_matrix(g, 1.0, [[0, 0]], [[0, 2]])[0, 0] == pytest.approx(
        2 + 2 * math.sqrt(2)
    )
    with pytest.raises(ConfigError, match="outside the least-cost grid"):
        cost_distance_matrix(f, 1.0, [[0, 0]], [[5, 5]])
    assert straight_distance_matrix([[0, 0]], [[3000, 4000]])[0, 0] == pytest.approx(5.0)


def test_friction_from_slope_and_land_cover():
    from sxplan.siting.economics_config import FrictionConfig

    cfg = FrictionConfig(slope_factor_per_pct=0.1, landcover={"water": 4.0})
    # water (6) on 10% slope: 4 x (1 + 1) = 8; unknown class 0 on NaN slope: 1
    f = friction_surface(np.array([[10.0, np.nan]]), np.array([[6, 0]]), cfg)
    assert f.tolist() == [[8.0, 1.0]]
    with pytest.raises(ValueError, match="unknown classes"):
        FrictionConfig(landcover={"jungle": 2})


def test_substation_capacity_limit_moves_a_parcel_to_the_next_substation():
    econ = EconomicsConfig(voltage_classes=CLASSES)
    # substations: A 5 km away from both parcels with 100 MW spare, B 8 km away, unlimited
    dist = np.array([[5.0, 8.0], [5.0, 8.0]])
    cap = np.array([80.0, 50.0])
    kv = np.array([220.0, 220.0])
    spare = np.array([100.0, np.nan])
    # parcel 0 is cheaper: it takes 80 MW of A, leaving 20 < 50 -> parcel 1 goes to B
    conn = assign_substations(dist, cap, np.array([0, 1]), kv, spare, econ)
    assert conn.substation.tolist() == [0, 1]
    assert conn.distance_km.tolist() == [5.0, 8.0]
    assert conn.spare_left_mw[0] == pytest.approx(20.0) and np.isnan(conn.spare_left_mw[1])
    # in the other order parcel 1 fits first (50 of 100) and parcel 0 (80 > 50 left) moves
    conn = assign_substations(dist, cap, np.array([1, 0]), kv, spare, econ)
    assert conn.substation.tolist() == [1, 0]
    # capex of the moved parcel: 8 km x 800,000 + 80,000 kW x 150 = 18.4 M CNY
    assert conn.capex_cny[0] == pytest.approx(18.4e6)
    # no room anywhere -> no substation, NaN cost
    conn = assign_substations(dist[:1, :1], cap[:1], np.array([0]), kv[:1], np.array([10.0]), econ)
    assert conn.substation[0] == NO_SUBSTATION and np.isnan(conn.capex_cny[0])


def test_voltage_class_by_capacity():
    econ = EconomicsConfig(voltage_classes=CLASSES)
    # a 400 MW parcel needs 500 kV: the nearer 220 kV station is not suitable
    dist = np.array([[3.0, 40.0]])
    conn = assign_substations(dist, np.array([400.0]), np.array([0]), np.array([220.0, 500.0]),
                              np.array([np.nan, np.nan]), econ)  # fmt: skip
    assert conn.substation[0] == 1 and conn.voltage_kv[0] == 500
    assert conn.capex_cny[0] == pytest.approx(40 * 2e6 + 400_000 * 200)
    # a 100 MW parcel connects at 220 kV, to a 500 kV station too when that is nearer
    conn = assign_substations(
        np.array([[30.0, 4.0]]),
        np.array([100.0]),
        np.array([0]),
        np.array([220.0, 500.0]),
        np.array([np.nan, np.nan]),
        econ,
    )
    assert conn.substation[0] == 1 and conn.voltage_kv[0] == 220
    with pytest.raises(ValueError, match="rising voltage"):
        EconomicsConfig(voltage_classes=[
            {"voltage_kv": 500, "max_parcel_mw": 100, "line_cost_cny_per_km": 1,
             "substation_cost_cny_per_kw": 1},
            {"voltage_kv": 220, "line_cost_cny_per_km": 1, "substation_cost_cny_per_kw": 1},
        ])  # fmt: skip


def _parcels():
    return pd.DataFrame({
        "technology": ["pv", "pv", "wind", "wind"],
        "parcel_id": ["PV-00001", "PV-00002", "WIND-00001", "WIND-00002"],
        "capacity_mw": [300.0, 200.0, 100.0, 50.0],
        "bases": ["north", "south;north", "north", ""],
        **{f"lcoe_{c}": [0.25, 0.20, 0.22, np.nan] for c in
           ("base", "discount_low", "discount_high", "capex_low", "capex_high")},
    })  # fmt: skip


def test_supply_curve_cumulative_sum_and_order():
    curves = supply_curves(_parcels(), {"north": "北基地"})
    prov = curves[(curves.case == "base") & (curves.level == "province")]
    both = prov[prov.technology == "wind_pv"]
    # order by LCOE: PV-2 (0.20), WIND-1 (0.22), PV-1 (0.25); WIND-2 has no LCOE
    assert both.parcel_id.tolist() == ["PV-00002", "WIND-00001", "PV-00001"]
    assert both.cumulative_gw.tolist() == pytest.approx([0.2, 0.3, 0.6])
    assert prov[prov.technology == "pv"].cumulative_gw.tolist() == pytest.approx([0.2, 0.5])
    north = curves[(curves.level == "base") & (curves.id == "north") & (curves.technology == "pv")]
    assert north.parcel_id.tolist() == ["PV-00001"] and north.name_zh.iloc[0] == "北基地"
    assert set(curves.case) == {"base", "discount_low", "discount_high", "capex_low", "capex_high"}
    # 0.25 GW target: PV-2 (0.2) is not enough, WIND-1 reaches 0.3 -> both taken
    got = cheapest_for_target(curves, _parcels(), 0.25).set_index("base")
    assert got.loc["south", "gw"] == pytest.approx(0.2) and got.loc["north", "gw"] == 0.1
    assert got["marginal_lcoe_cny_per_kwh"].iloc[0] == pytest.approx(0.22)
    # ties are broken by parcel id
    df = pd.DataFrame({"parcel_id": ["b", "a"], "capacity_mw": [1.0, 2.0], "x": [0.1, 0.1]})
    assert curve(df, "x").parcel_id.tolist() == ["a", "b"]


def test_add_economics_through_run_siting(tmp_path, world_with_grid):
    from sxplan.schema import dataset
    from sxplan.siting.run import run_siting

    grid, rasters, vectors, counties, bases, cfg = world_with_grid
    res = run_siting(grid, rasters, vectors, counties, bases, cfg, tmp_path / "out", cog=False)
    p = res.techs["pv"].parcels
    # one 1350 MW PV parcel (see test_run): 500 kV class; its point lies in the parcel and the
    # only 500 kV substation sits at (9500, 500)
    assert p.loc[0, "grid_voltage_kv"] == 500 and p.loc[0, "grid_substation"] == "S500"
    # least-cost on 1 km cells of friction 1.04 everywhere (grass 1.0 x (1 + 0.02/% x 2% slope),
    # the default friction): the octile distance between the two cells x 1.04
    x, y = gpd.GeoSeries(gpd.points_from_xy(p.lon, p.lat), crs=4326).to_crs(grid.crs).iloc[0].xy
    dc, dr = abs(int(x[0] // 1000) - 9), abs(int(y[0] // 1000) - 0)
    octile = max(dc, dr) - min(dc, dr) + math.sqrt(2) * min(dc, dr)
    assert p.loc[0, "grid_distance_km"] == pytest.approx(octile * 1.04, rel=1e-9)
    assert p.loc[0, "rank_lcoe"] == 1
    # connection cost and LCOE by hand from the shipped default costs (500 kV class, PV costs)
    econ = EconomicsConfig(substations_layer="subs")
    cls, pv, kw = econ.voltage_for(1350.0), econ.pv, 1350.0 * 1000.0
    assert p.loc[0, "capacity_mw"] == pytest.approx(1350.0)
    conn_cny = p.loc[0, "grid_distance_km"] * cls.line_cost_cny_per_km
    conn_cny += kw * cls.substation_cost_cny_per_kw
    assert p.loc[0, "connection_cost_mcny"] == pytest.approx(conn_cny / 1e6, rel=1e-9)
    r, n = econ.discount_rate, pv.lifetime_yr
    annuity = r * (1 + r) ** n / ((1 + r) ** n - 1)
    annual = (pv.capex_cny_per_kw * kw + conn_cny) * annuity + pv.fixed_opex_cny_per_kw_yr * kw
    by_hand = annual / (p.loc[0, "energy_gwh_per_yr"] * 1e6) + pv.variable_opex_cny_per_mwh / 1e3
    assert p.loc[0, "lcoe_cny_per_kwh"] == pytest.approx(by_hand, rel=1e-9)
    curves = pd.read_csv(tmp_path / "out" / dataset("siting.supply_curves").filename(),
                         encoding="utf-8-sig")  # fmt: skip
    prov = curves[(curves.case == "base") & (curves.level == "province")]
    assert prov[prov.technology == "pv"].cumulative_gw.max() == pytest.approx(1.35)
    conn = gpd.read_file(tmp_path / "out" / "grid_connections.gpkg", layer="grid_connections")
    assert len(conn) == len(p) + len(res.techs["wind"].parcels)
    # the summary: 1.35 GW of PV plus 0.225 GW of wind (7 parcels, 75 km2 x 3 MW/km2) cannot
    # reach the 80 GW target: every parcel is taken, 1.575 GW
    text = res.format_summary()
    assert "cheapest wind+PV for 2025 (80 GW): 1.6 GW" in text, text
    # shortlist ranked by LCOE lists each technology cheapest first
    cfg2 = {**cfg, "shortlist_rank_by": "lcoe"}
    res2 = run_siting(grid, rasters, vectors, counties, bases, cfg2, tmp_path / "o2", cog=False)
    w = res2.shortlist[res2.shortlist.technology == "wind"]
    assert list(w["lcoe_cny_per_kwh"]) == sorted(w["lcoe_cny_per_kwh"])


@pytest.fixture
def world_with_grid(world):  # noqa: F811
    grid, rasters, vectors, counties, bases = world
    subs = gpd.GeoDataFrame(
        {"name": ["S500", "S220"], "voltage_kv": [500.0, 220.0]},
        geometry=[shapely.Point(9500, 500), shapely.Point(500, 500)],
        crs=grid.crs,
    )
    cfg = {**CFG, "economics": {"substations_layer": "subs"}}
    return grid, rasters, {**vectors, "subs": subs}, counties, bases, cfg


def _reference_dijkstra(f, cell_km, start):
    """Plain heapq Dijkstra on the 8-neighbour grid (edge: step x mean friction)."""
    import heapq

    rows, cols = f.shape
    best = np.full(f.shape, np.inf)
    best[start] = 0.0
    heap = [(0.0, start)]
    while heap:
        d, (r, c) = heapq.heappop(heap)
        if d > best[r, c]:
            continue
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                rr, cc = r + dr, c + dc
                if (dr, dc) == (0, 0) or not (0 <= rr < rows and 0 <= cc < cols):
                    continue
                step = cell_km * (math.sqrt(2) if dr and dc else 1.0)
                nd = d + step * (f[r, c] + f[rr, cc]) / 2
                if nd < best[rr, cc]:
                    best[rr, cc] = nd
                    heapq.heappush(heap, (nd, (rr, cc)))
    return best


def test_least_cost_matches_an_independent_dijkstra():
    rng = np.random.default_rng(7)
    f = 1 + 3 * rng.random((12, 9))
    cells = np.array([[r, c] for r in range(12) for c in range(9)])
    ours = cost_distance_matrix(f, 0.5, np.array([[2, 3], [11, 0]]), cells)
    for k, start in enumerate([(2, 3), (11, 0)]):
        ref = _reference_dijkstra(f, 0.5, start).ravel()
        np.testing.assert_allclose(ours[:, k], ref, rtol=1e-12)


def test_roadside_strips_share_their_road_projects_connection(grid10):
    from sxplan.siting.config import load_siting_config
    from sxplan.siting.economics_roadside import economics_inputs, roadside_economics

    crs = grid10.pyproj_crs
    # two strips of G5 in one county (1 MW and 3 MW) and a zero strip; one 220 kV substation
    pts = gpd.GeoSeries([shapely.Point(1000, 1000), shapely.Point(5000, 1000),
                         shapely.Point(9000, 9000)], crs=crs).to_crs("EPSG:4326")  # fmt: skip
    strips = gpd.GeoDataFrame(
        {"strip_id": ["a", "b", "z"], "road_ref": ["G5", "G5", "G5"], "road_id": [1, 1, 1],
         "adcode": [140101] * 3, "capacity_mw": [1.0, 3.0, 0.0],
         "energy_gwh_per_yr": [1.2, 3.6, 0.0], "lon": pts.x, "lat": pts.y},
        geometry=pts.to_crs(crs).buffer(10).to_numpy(), crs=crs,
    )  # fmt: skip
    subs = gpd.GeoDataFrame({"name": ["S"], "voltage_kv": [220.0]},
                            geometry=[shapely.Point(4000, 7000)], crs=crs)  # fmt: skip
    cfg = load_siting_config({"economics": {"substations_layer": "subs", "distance": "straight"}})
    inputs = economics_inputs(grid10, {}, {"subs": subs}, cfg)
    out, _, curves = roadside_economics(strips, strips.iloc[:0].assign(parcel_id=[]), inputs)
    # project: 4 MW at the capacity-weighted point (4000, 1000) (to projection round-off);
    # 6 km north of the substation; 4 MW is the 35 kV class: 6 x 300,000 + 4,000 x 100 CNY
    capex = 6 * 300_000 + 4_000 * 100
    assert out["grid_distance_km"].iloc[0] == pytest.approx(6.0, abs=0.01)
    assert out["connection_cost_mcny"].iloc[:2].tolist() == pytest.approx(
        [capex / 4 / 1e6, capex * 3 / 4 / 1e6], rel=1e-3
    )
    assert np.isnan(out["connection_cost_mcny"].iloc[2]) and out["grid_substation"].iloc[2] == ""
    c = cfg.economics.roadside_pv  # strip a: 1 MW, 1.2 GWh, a quarter of the connection
    annual = (c.capex_cny_per_kw * 1000 + capex / 4) * crf(0.06, c.lifetime_yr) + (
        c.fixed_opex_cny_per_kw_yr * 1000
    )
    assert out["lcoe_cny_per_kwh"].iloc[0] == pytest.approx(annual / 1.2e6, rel=1e-3)
    assert curves["parcel_id"].unique().tolist() == ["RS-G5-140101"]


def test_substation_outside_the_least_cost_grid_names_the_layer(tmp_path, world_with_grid):
    from sxplan.siting.run import run_siting

    grid, rasters, vectors, counties, bases, cfg = world_with_grid
    far = vectors["subs"].assign(geometry=[shapely.Point(25_000, 500), shapely.Point(500, 500)])
    with pytest.raises(ConfigError, match=r"substations layer 'subs': 1 substation point\(s\)"):
        run_siting(grid, rasters, {**vectors, "subs": far}, counties, bases, cfg,
                   tmp_path / "out", cog=False)  # fmt: skip


def test_friction_in_strips_equals_block_means_by_hand(tmp_path, make_layers, monkeypatch):
    from sxplan.layers.grid import GridSpec
    from sxplan.siting import economics
    from sxplan.siting._context import LayerSet
    from sxplan.siting.config import load_siting_config
    from sxplan.siting.economics_roadside import EconomicsInputs

    grid = GridSpec.from_bounds((0, 0, 2300, 2500), 100)  # 25 rows x 23 cols, 3 x 3 blocks
    slope = np.random.default_rng(5).uniform(0, 40, (25, 23)).astype("float32")
    rasters = make_layers(tmp_path, grid, {"slope_pct": slope}, units={"slope_pct": "percent"})
    cfg = load_siting_config({"economics": {"friction": {"least_cost_cell_m": 300}}})
    inputs = EconomicsInputs(grid, LayerSet(grid, rasters, {}), cfg)
    monkeypatch.setattr(economics, "FRICTION_STRIP_CELLS", 3 * 23)  # one block row per strip
    f, cell_km, k = economics._friction(inputs, cfg.economics)
    assert (k, cell_km, f.shape) == (3, 0.3, (9, 8))
    full = 1 + 0.02 * slope.astype("float64")  # default slope factor, no land cover
    for i in range(9):
        for j in range(8):
            assert f[i, j] == pytest.approx(full[3 * i : 3 * i + 3, 3 * j : 3 * j + 3].mean())


def test_friction_strips_on_threads_equal_the_strips_one_at_a_time(
    tmp_path, make_layers, monkeypatch
):
    from sxplan.layers.grid import GridSpec
    from sxplan.layers.windows import use_scheduler
    from sxplan.siting import economics
    from sxplan.siting._context import LayerSet
    from sxplan.siting.config import load_siting_config
    from sxplan.siting.economics_roadside import EconomicsInputs

    grid = GridSpec.from_bounds((0, 0, 4100, 3700), 100)  # 37 x 41 cells, 13 x 14 blocks
    rng = np.random.default_rng(7)
    slope = rng.uniform(0, 40, (37, 41)).astype("float32")
    slope[5:9, 3:30] = np.nan  # missing cells: counted as flat
    rasters = make_layers(tmp_path, grid, {"slope_pct": slope}, units={"slope_pct": "percent"})
    cfg = load_siting_config({"economics": {"friction": {"least_cost_cell_m": 300}}})
    inputs = EconomicsInputs(grid, LayerSet(grid, rasters, {}), cfg)
    # two block rows a strip one at a time, one block row each on two threads (13 strips)
    monkeypatch.setattr(economics, "FRICTION_STRIP_CELLS", 6 * 41)
    got = {}
    for sched in ("sync", "threads"):
        with use_scheduler(sched):
            got[sched] = economics._read_friction(inputs, cfg.economics)
    assert got["sync"][1:] == got["threads"][1:] == (0.3, 3)
    np.testing.assert_array_equal(got["sync"][0], got["threads"][0])  # bit for bit


def test_friction_is_read_once_per_run_and_again_when_its_file_changes(tmp_path, make_layers):
    """Siting and roadside steps share one friction surface; a rewritten slope file is read
    anew (slope 10 % -> friction 1.2, then 20 % -> 1.4, by the default 0.02 per percent)."""
    from sxplan.layers.grid import GridSpec
    from sxplan.siting import economics
    from sxplan.siting._context import LayerSet
    from sxplan.siting.config import load_siting_config
    from sxplan.siting.economics_roadside import EconomicsInputs

    grid = GridSpec.from_bounds((0, 0, 600, 600), 100)
    cfg = load_siting_config({"economics": {"friction": {"least_cost_cell_m": 300}}})

    def write(value):
        slope = np.full((6, 6), value, "float32")
        return make_layers(tmp_path, grid, {"slope_pct": slope}, units={"slope_pct": "percent"})

    def friction(rasters):  # a new LayerSet each time, as each step builds its own
        inputs = EconomicsInputs(grid, LayerSet(grid, rasters, {}), cfg)
        return economics._friction(inputs, cfg.economics)

    rasters = write(10.0)
    first = friction(rasters)
    again = friction(rasters)  # the same unchanged file: the cached surface
    assert again[0] is first[0] and not first[0].flags.writeable
    np.testing.assert_allclose(first[0], 1.2)
    changed = friction(write(20.0))  # the file rewritten: read anew
    assert changed[0] is not first[0]
    np.testing.assert_allclose(changed[0], 1.4)
