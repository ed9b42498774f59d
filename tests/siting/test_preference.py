"""Preference rules (PV on mining land): scores raised and exclusions waived, by hand.

World: 10 x 10 cells of 1 km2. Columns 0-4 are cropland (IGBP 12), 5-9 grassland (IGBP 10).
A mining layer covers x 3-7 km, y 0-5 km: columns 3-6 of rows 5-9, 20 cells, 10 of them
cropland. ``cropland_pv`` (hard) selects 50 cells; ``mining_pv`` (preference) waives it in the
mining area and multiplies scores by 1.25. So cropland_pv removes 50 - 10 = 40 km2 in
sequence, 60 km2 stay eligible, the waiver returns 10 km2 and 20 km2 are scored up. GHI is
1,600 (score 0.6) except column 6 at 1,900 (0.9): 0.6 x 1.25 = 0.75 in the mining area, and
0.9 x 1.25 = 1.125 capped at 1.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely

from sxplan.errors import ConfigError
from sxplan.siting import run_siting
from sxplan.siting.bases import Base, BasesTable
from sxplan.siting.config import load_siting_config

RULES = [
    {"name": "cropland_pv", "type": "categorical", "layer": "landcover", "classes": ["crop"],
     "technologies": ["pv"]},
    {"name": "mining_pv", "type": "vector", "layer": "mining", "mode": "preference",
     "score_multiplier": 1.25, "waives": ["cropland_pv"], "technologies": ["pv"]},
]  # fmt: skip
CFG = {
    "exclusions": RULES,
    "pv": {
        "criteria": [{"name": "ghi_kwh_m2_yr", "layer": "ghi",
                      "transform": {"type": "linear", "x0": 1000, "x1": 2000}}],
        "weights": {"ghi_kwh_m2_yr": 1.0}, "score_threshold": 0.5,
        "min_parcel_area_km2": 1, "max_parcel_area_km2": 9,
    },
    "wind": {"enabled": False},
}  # fmt: skip


@pytest.fixture
def run(tmp_path, grid10, make_layers, counties_frame):
    lc = np.full((10, 10), 10, "uint8")
    lc[:, :5] = 12
    ghi = np.full((10, 10), 1600.0, "float32")
    ghi[:, 6] = 1900.0
    rasters = make_layers(
        tmp_path, grid10,
        {"landcover": lc, "ghi": ghi, "pv_yield": np.full((10, 10), 1400.0, "float32")},
        kinds={"landcover": "categorical"},
        units={"ghi": "kWh/m2/yr", "pv_yield": "kWh/kWp/yr"},
    )  # fmt: skip
    mining = gpd.GeoDataFrame(geometry=[shapely.box(3000, 0, 7000, 5000)], crs=grid10.pyproj_crs)
    counties = counties_frame(
        grid10, [(140101, "甲县", "太原市", 140100, shapely.box(0, 0, 10_000, 10_000))]
    )
    bases = BasesTable((Base(id="b", name_zh="基地", name_en="B", counties=[140101]),))
    return run_siting(
        grid10, rasters, {"mining": mining}, counties, bases, CFG, tmp_path / "out",
        techs=["pv"], cog=False, scheduler="sync",
    )  # fmt: skip


def test_waiver_and_score_up_accounting(run):
    ex = run.exclusions.set_index("rule")
    assert ex.loc["cropland_pv", "km2_alone"] == pytest.approx(50)
    assert ex.loc["cropland_pv", "km2_in_sequence"] == pytest.approx(40)
    assert ex.loc["mining_pv", "mode"] == "preference"
    assert ex.loc["mining_pv", "km2_alone"] == pytest.approx(20)
    assert ex.loc["mining_pv", "km2_in_sequence"] == pytest.approx(0)
    assert ex.loc["mining_pv", "km2_returned"] == pytest.approx(10)
    assert ex.loc["mining_pv", "km2_scored_up"] == pytest.approx(20)
    assert ex.loc["eligible", "km2_in_sequence"] == pytest.approx(60)
    assert np.isnan(ex.loc["cropland_pv", "km2_returned"])


def test_scores_raised_and_capped(run):
    with rasterio.open(run.outputs["suitability_pv"]) as src:
        s = src.read(1)
    assert s[7, 3] == pytest.approx(0.75)  # waived cropland in the mining area
    assert s[7, 5] == pytest.approx(0.75)  # grassland in the mining area
    assert s[7, 6] == pytest.approx(1.0)  # 0.9 x 1.25 capped at 1
    assert s[2, 6] == pytest.approx(0.9)  # outside the mining area
    assert s[2, 8] == pytest.approx(0.6)
    assert np.isnan(s[2, 3])  # cropland outside the mining area stays excluded


@pytest.mark.parametrize(
    "change, match",
    [
        ({"waives": ["cropland"]}, "not a hard rule.*did you mean 'cropland_pv'"),
        ({"score_multiplier": None, "waives": []}, "neither `score_multiplier:`"),
        ({"score_factor": 0.5}, "use `score_multiplier:`"),
        ({"score_multiplier": 0.8}, "greater than or equal to 1"),
        ({"mode": "soft", "score_factor": 0.5}, "belong to preference rules"),
    ],
)
def test_bad_preference_rules_are_refused(change, match):
    rules = [RULES[0], {**RULES[1], **change}]
    with pytest.raises(ConfigError, match=match):
        load_siting_config({"exclusions": rules})
