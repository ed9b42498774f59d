"""Technologies as objects: the registry, the protocol, and the run calling capacity.py.

The run must compute capacity and energy with the very functions tested by hand in
``test_criteria_capacity.py``: every parcel's numbers are checked against them, and spies count
the calls.
"""

from __future__ import annotations

import ast
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

import sxplan.siting.tech_pv as tech_pv
import sxplan.siting.tech_wind as tech_wind
from sxplan.errors import ConfigError
from sxplan.siting import capacity
from sxplan.siting.bases import Base, BasesTable
from sxplan.siting.config import SitingConfig
from sxplan.siting.roadside_config import RoadsidePVConfig
from sxplan.siting.run import run_siting
from sxplan.siting.technology import (
    REGISTRY,
    Technology,
    get_technology,
    label_zh,
    technology_names,
)

SITING = Path(__file__).resolve().parents[2] / "siting"
# Modules that orchestrate technologies: none may name one.
ORCHESTRATORS = [
    "run.py", "_tile_pass.py", "_run_inputs.py", "parcel_table.py", "polygonize.py",
    "exclusion_table.py", "bases_table.py", "shortlist.py", "results.py",
]  # fmt: skip

LOSSES = 0.1
CFG = {
    "shortlist_top_n": 3,
    "pv": {
        "criteria": [{"name": "ghi_kwh_m2_yr", "layer": "ghi",
                      "transform": {"type": "linear", "x0": 1000, "x1": 2000}}],
        "weights": {"ghi_kwh_m2_yr": 1.0}, "score_threshold": 0.5,
        "min_parcel_area_km2": 1, "max_parcel_area_km2": 9,
        "capacity": {"density_mw_per_km2": 36, "usable_share": 0.5},
        "energy": {"extra_losses_share": LOSSES},
    },
    "wind": {
        "criteria": [{"name": "wind_proxy_ms", "layer": "wind_proxy",
                      "transform": {"type": "linear", "x0": 4, "x1": 8}}],
        "weights": {"wind_proxy_ms": 1.0}, "score_threshold": 0.5,
        "min_parcel_area_km2": 2, "max_parcel_area_km2": 16,
    },
}  # fmt: skip


@pytest.fixture
def world(tmp_path, grid10, make_layers, counties_frame):
    """10 x 10 cells of 1 km2, every cell a candidate; yields and speeds vary cell by cell."""
    rng = np.random.default_rng(7)
    h, w = grid10.shape
    rasters = make_layers(
        tmp_path,
        grid10,
        {
            "ghi": np.full((h, w), 1600.0, "float32"),
            "pv_yield": rng.uniform(1200, 1600, (h, w)).astype("float32"),
            "wind_proxy": rng.uniform(6.0, 8.0, (h, w)).astype("float32"),
        },
        units={"ghi": "kWh/m2/yr", "pv_yield": "kWh/kWp/yr", "wind_proxy": "m/s"},
    )
    counties = counties_frame(grid10, [
        (140101, "甲县", "太原市", 140100, shapely.box(0, 0, 5000, 10_000)),
        (140202, "乙县", "大同市", 140200, shapely.box(5000, 0, 10_000, 10_000)),
    ])  # fmt: skip
    bases = BasesTable((Base(id="b", name_zh="基地", name_en="B", counties=[140101]),))
    return grid10, rasters, counties, bases


def _run(world, out):
    grid, rasters, counties, bases = world
    return run_siting(grid, rasters, {}, counties, bases, CFG, out, cog=False, scheduler="sync")


def test_registry_names_resolve_to_protocol_objects():
    assert technology_names() == list(REGISTRY)
    assert list(REGISTRY) == ["pv", "wind", "agrivoltaic_pv", "roadside_pv", "pumped_storage"]
    assert technology_names(engine="parcels") == ["pv", "wind", "agrivoltaic_pv"]
    assert technology_names(engine="strips") == ["roadside_pv"]
    assert technology_names(engine="reservoir_pairs") == ["pumped_storage"]
    for name in REGISTRY:
        tech = get_technology(name)
        assert isinstance(tech, Technology)
        assert tech.name == name and tech.label_zh
    assert label_zh("pv+wind") == "风光合计"
    with pytest.raises(ConfigError, match=r"unknown technology 'solar'.*'roadside_pv'"):
        get_technology("solar")


def test_run_siting_refuses_a_strip_technology(world, tmp_path):
    grid, rasters, counties, bases = world
    with pytest.raises(ConfigError, match="not sited on raster parcels"):
        run_siting(grid, rasters, {}, counties, bases, CFG, tmp_path, techs=["roadside_pv"])


def test_capacity_and_energy_by_hand_through_the_protocol():
    cfg = SitingConfig.model_validate(CFG)
    pv, wind = get_technology("pv"), get_technology("wind")
    # 2 km2 x 36 MW/km2 x 0.5 = 36 MW; 36 MW x 1,500 kWh/kWp x 0.9 = 48.6 GWh.
    cap = pv.capacity_mw(np.array([2.0]), pv.settings(cfg))
    cols = pv.columns(cap, np.array([1500.0]), pv.settings(cfg))
    assert cap.tolist() == [36.0] and list(cols) == ["yield_kwh_per_kwp_yr", "energy_gwh_per_yr"]
    assert cols["energy_gwh_per_yr"] == pytest.approx([48.6])
    # 5 km2 x 3 MW/km2 = 15 MW at CF 0.3: 15 x 0.3 x 8760 / 1000 = 39.42 GWh; 15 MW / 3.2 MW.
    ws = wind.settings(cfg)
    cols = wind.columns(wind.capacity_mw(np.array([5.0]), ws), np.array([0.3]), ws)
    assert list(cols) == ["capacity_factor", "energy_gwh_per_yr", "turbines"]
    assert cols["energy_gwh_per_yr"] == pytest.approx([39.42])
    assert cols["turbines"] == pytest.approx([15 / 3.2])
    # Roadside: 0.01 km2 usable x 0.7 = 0.007 km2 of panels x 150 MW/km2 = 1.05 MW.
    road = get_technology("roadside_pv")
    rs = road.settings(RoadsidePVConfig())
    assert road.capacity_mw(0.01, rs) == pytest.approx(1.05)
    assert road.energy_gwh(1.05, 1400.0, rs) == pytest.approx(1.47)
    with pytest.raises(ConfigError, match="strips along roads"):
        road.cell_energy(rs)


def test_every_parcel_gets_capacity_py_numbers(world, tmp_path):
    res = _run(world, tmp_path / "out")
    pv = res.techs["pv"].parcels_with_outlines()
    assert len(pv) > 1 and pv["yield_kwh_per_kwp_yr"].nunique() == len(pv)  # varied yields
    cap = capacity.capacity_mw(pv["area_km2"].to_numpy(), 36.0, 0.5)
    np.testing.assert_array_equal(pv["capacity_mw"].to_numpy(), cap)
    energy = capacity.pv_energy_gwh(cap, pv["yield_kwh_per_kwp_yr"].to_numpy(), LOSSES)
    np.testing.assert_array_equal(pv["energy_gwh_per_yr"].to_numpy(), energy)
    wind = res.techs["wind"].parcels_with_outlines()
    cap = capacity.capacity_mw(wind["area_km2"].to_numpy(), 3.0, 1.0)
    np.testing.assert_array_equal(wind["capacity_mw"].to_numpy(), cap)
    energy = capacity.wind_energy_gwh(cap, wind["capacity_factor"].to_numpy())
    np.testing.assert_array_equal(wind["energy_gwh_per_yr"].to_numpy(), energy)
    # Per-county sums split the same parcel energies by cell share: totals agree.
    for tr in res.techs.values():
        total = tr.parcels["energy_gwh_per_yr"].sum() / 1000
        assert tr.per_county["energy_twh_per_yr"].sum() == pytest.approx(total)


def _cells_of(parcels, grid):
    """Boolean (parcel, row, col) masks: cell centres inside each parcel outline (grid CRS)."""
    h, w = grid.shape
    cols, rows = np.meshgrid(np.arange(w), np.arange(h))
    x, y = grid.transform * (cols + 0.5, rows + 0.5)
    centres = shapely.points(np.asarray(x).ravel(), np.asarray(y).ravel())
    outlines = parcels.to_crs(grid.pyproj_crs).geometry
    return np.array([shapely.contains(g, centres).reshape(h, w) for g in outlines])


def test_parcel_numbers_from_the_input_rasters_by_hand(world, tmp_path):
    # Independently of the engine: each parcel's cells are the cell centres inside its outline;
    # area = cells x 1 km2, mean yield / capacity factor = mean of the input raster over them.
    grid, rasters, _, _ = world
    res = _run(world, tmp_path / "out")
    pv = res.techs["pv"].parcels_with_outlines()
    cells = _cells_of(pv, grid)
    yields = rasters["pv_yield"].read(masked=False).astype("float64")
    n = cells.sum(axis=(1, 2))
    assert n.sum() == 100  # every cell is a candidate (GHI 1600 scores 0.6 >= 0.5)
    np.testing.assert_allclose(pv["area_km2"], n)
    mean_yield = np.array([yields[c].mean() for c in cells])
    np.testing.assert_allclose(pv["yield_kwh_per_kwp_yr"], mean_yield, rtol=1e-6)
    # 36 MW/km2 x 0.5 usable; energy = MW x kWh/kWp / 1000 x (1 - 0.1)
    np.testing.assert_allclose(pv["capacity_mw"], n * 18.0)
    np.testing.assert_allclose(pv["energy_gwh_per_yr"], n * 18.0 * mean_yield / 1000 * 0.9)
    wind = res.techs["wind"].parcels_with_outlines()
    cells = _cells_of(wind, grid)
    cf = capacity.wind_cf_table(SitingConfig.model_validate(CFG).wind.energy)(
        rasters["wind_proxy"].read(masked=False).astype("float64")
    )
    mean_cf = np.array([cf[c].mean() for c in cells])
    n = cells.sum(axis=(1, 2))
    np.testing.assert_allclose(wind["capacity_factor"], mean_cf, rtol=1e-6)
    np.testing.assert_allclose(
        wind["energy_gwh_per_yr"], n * 3.0 * mean_cf * 8760 / 1000, rtol=1e-6
    )


def test_run_calls_capacity_py_once_per_technology(world, tmp_path, monkeypatch):
    calls = []

    def spy(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls.append((module.__name__.rsplit(".", 1)[1], name, np.size(args[0])))
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    spy(tech_pv, "capacity_mw")
    spy(tech_pv, "pv_energy_gwh")
    spy(tech_wind, "capacity_mw")
    spy(tech_wind, "wind_energy_gwh")
    res = _run(world, tmp_path / "out")
    n_pv, n_wind = len(res.techs["pv"].parcels), len(res.techs["wind"].parcels)
    assert sorted(calls) == sorted([
        ("tech_pv", "capacity_mw", n_pv), ("tech_pv", "pv_energy_gwh", n_pv),
        ("tech_wind", "capacity_mw", n_wind), ("tech_wind", "wind_energy_gwh", n_wind),
    ])  # fmt: skip


def _technology_names_in(source: str) -> list[str]:
    """String constants (docstrings aside) that are registered technology names."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and id(node) not in docstrings and node.value in REGISTRY
    ]


def test_the_name_scan_is_not_blind():
    source = 'def f(tech):\n    """For pv."""\n    return 1 if tech == "wind" else 2\n'
    assert _technology_names_in(source) == ["wind"]


@pytest.mark.parametrize("module", ORCHESTRATORS)
def test_orchestrators_never_name_a_technology(module):
    named = _technology_names_in((SITING / module).read_text(encoding="utf-8"))
    assert not named, f"siting/{module} branches on technology names {named}"


def test_tables_name_the_technology_from_the_registry(world, tmp_path):
    res = _run(world, tmp_path / "out")
    sl = res.shortlist
    assert set(sl["technology_zh"]) == {label_zh("pv"), label_zh("wind")}
    assert set(res.bases["technology"]) == {"pv", "wind", "pv+wind"}
    parcels = gpd.read_file(tmp_path / "out" / "parcels_wind.gpkg", layer="parcels_wind")
    assert parcels["parcel_id"].str.startswith("WIND-").all()


def test_every_parcel_technology_has_its_config_section():
    # The config's list of parcel technologies (defaults of run_siting, `technologies:` of a
    # rule) must agree with the registry: a new technology adds both.
    from typing import get_args

    from sxplan.siting.config import TECHNOLOGIES
    from sxplan.siting.config_rules import Tech

    assert TECHNOLOGIES == tuple(technology_names(engine="parcels"))
    # rules also apply to technologies with their own engine on the grid (pumped storage)
    assert get_args(Tech) == TECHNOLOGIES + tuple(technology_names(engine="reservoir_pairs"))
    cfg = SitingConfig()
    for name in TECHNOLOGIES:
        assert get_technology(name).settings(cfg) is getattr(cfg, name)
