"""Agrivoltaic PV: its own density and energy, on cropland, never on utility-PV land; by hand.

World: 10 x 10 cells of 1 km2; columns 0-4 cropland (IGBP 12), 5-9 grassland (IGBP 10). A red
line covers rows 0-1 (20 cells; PV and agrivoltaics). ``cropland_pv`` keeps utility PV off
cropland except in a mining area (columns 3-4 of rows 5-9, 10 cells) where a preference rule
waives it. Utility PV: grassland of rows 2-9 (40) + the mining cropland (10) = 50 km2.
Agrivoltaics, rules in order: ``outside_agrivoltaic_land`` removes the 50 grassland cells,
``utility_pv_land`` the 10 mining cropland cells utility PV may use (its other 40 eligible
cells are grassland, already removed), the red line the 10 cropland cells of rows 0-1; 30 km2
stay eligible. Every cell scores 0.6 >= 0.5, so parcels cover all eligible land: agrivoltaics
30 km2 x 36 x 6 / 10 = 21.6 MW/km2 = 648 MW, x 1,400 kWh/kWp = 907.2 GWh/yr; utility PV
50 x 36 = 1,800 MW.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely

from sxplan.siting import run_siting
from sxplan.siting.bases import Base, BasesTable

_CRIT = {
    "criteria": [{"name": "ghi_kwh_m2_yr", "layer": "ghi",
                  "transform": {"type": "linear", "x0": 1000, "x1": 2000}}],
    "weights": {"ghi_kwh_m2_yr": 1.0}, "score_threshold": 0.5,
    "min_parcel_area_km2": 1, "max_parcel_area_km2": 9,
}  # fmt: skip
CFG = {
    "exclusions": [
        {"name": "redline", "type": "vector", "layer": "redline",
         "technologies": ["pv", "wind", "agrivoltaic_pv"]},
        {"name": "cropland_pv", "type": "categorical", "layer": "landcover",
         "classes": ["crop"], "technologies": ["pv"]},
        {"name": "mining_pv", "type": "vector", "layer": "mining", "mode": "preference",
         "waives": ["cropland_pv"], "technologies": ["pv"]},
    ],
    "pv": _CRIT,
    "wind": {"enabled": False},
    "agrivoltaic_pv": {"enabled": True, **_CRIT},
    "stability": {"draws": 0},
}  # fmt: skip


@pytest.fixture
def run(tmp_path, grid10, make_layers, counties_frame):
    lc = np.full((10, 10), 10, "uint8")
    lc[:, :5] = 12
    rasters = make_layers(
        tmp_path, grid10,
        {"landcover": lc, "ghi": np.full((10, 10), 1600.0, "float32"),
         "pv_yield": np.full((10, 10), 1400.0, "float32")},
        kinds={"landcover": "categorical"},
        units={"ghi": "kWh/m2/yr", "pv_yield": "kWh/kWp/yr"},
    )  # fmt: skip
    crs = grid10.pyproj_crs
    vectors = {
        "redline": gpd.GeoDataFrame(geometry=[shapely.box(0, 8000, 10_000, 10_000)], crs=crs),
        "mining": gpd.GeoDataFrame(geometry=[shapely.box(3000, 0, 5000, 5000)], crs=crs),
    }
    counties = counties_frame(
        grid10, [(140101, "甲县", "太原市", 140100, shapely.box(0, 0, 10_000, 10_000))]
    )
    bases = BasesTable((Base(id="b", name_zh="基地", name_en="B", counties=[140101]),))
    return run_siting(
        grid10, rasters, vectors, counties, bases, CFG, tmp_path / "out",
        techs=["pv", "agrivoltaic_pv"], cog=False, scheduler="sync",
    )  # fmt: skip


def test_agrivoltaic_exclusions_in_order(run):
    ex = run.exclusions[run.exclusions.technology == "agrivoltaic_pv"].set_index("rule")
    assert list(ex.index[:3]) == ["outside_agrivoltaic_land", "utility_pv_land", "redline"]
    assert ex.loc["outside_agrivoltaic_land", "km2_in_sequence"] == pytest.approx(50)
    assert ex.loc["utility_pv_land", "km2_alone"] == pytest.approx(50)
    assert ex.loc["utility_pv_land", "km2_in_sequence"] == pytest.approx(10)
    assert ex.loc["redline", "km2_in_sequence"] == pytest.approx(10)
    assert ex.loc["eligible", "km2_in_sequence"] == pytest.approx(30)
    pv = run.exclusions[run.exclusions.technology == "pv"].set_index("rule")
    assert pv.loc["eligible", "km2_in_sequence"] == pytest.approx(50)
    assert pv.loc["mining_pv", "km2_returned"] == pytest.approx(10)


def test_own_density_and_energy(run):
    agri = run.techs["agrivoltaic_pv"].parcels
    assert agri["area_km2"].sum() == pytest.approx(30)
    assert agri["capacity_mw"].sum() == pytest.approx(648)
    assert agri["energy_gwh_per_yr"].sum() == pytest.approx(907.2)
    assert set(agri["crop_yield_share_kept"]) == {0.8}
    assert set(agri["row_spacing_m"]) == {10.0} and set(agri["min_panel_height_m"]) == {2.5}
    assert run.techs["pv"].parcels["capacity_mw"].sum() == pytest.approx(1800)


def test_agrivoltaic_and_utility_pv_never_share_a_cell(run):
    scored = {}
    for tech in ("pv", "agrivoltaic_pv"):
        with rasterio.open(run.outputs[f"suitability_{tech}"]) as src:
            scored[tech] = ~np.isnan(src.read(1))
    assert scored["pv"].sum() == 50 and scored["agrivoltaic_pv"].sum() == 30
    assert not (scored["pv"] & scored["agrivoltaic_pv"]).any()
    a = run.techs["agrivoltaic_pv"].parcels_with_outlines().to_crs(3857).union_all()
    p = run.techs["pv"].parcels_with_outlines().to_crs(3857).union_all()
    assert a.intersection(p).area < 1.0  # outlines may touch, never overlap
