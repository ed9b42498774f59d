import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from _sinkstest import make_province  # noqa: E402

from sxplan.errors import ConfigError
from sxplan.sinks import SinksConfig, run_sinks
from sxplan.sinks.baseline import calibrate_forest_cover, read_official


@pytest.mark.parametrize("strategy", ["proportional", "equal_points", "priority"])
def test_run_sinks_end_to_end(tmp_path, strategy):
    g, rasters, counties = make_province(tmp_path)
    cfg = SinksConfig(calibration="none", allocation=strategy, monte_carlo_draws=500)
    out = tmp_path / "sinks"
    res = run_sinks(
        grid=g, rasters=rasters, counties=counties, config=cfg, out_dir=out, mem_limit_mb=64
    )
    t = res.counties
    # each county: 25 cells, 10 forest (40 %), 5 cropland, 10 grassland (eligible, 1000 ha)
    np.testing.assert_allclose(t["area_km2"], 25.0)
    np.testing.assert_allclose(t["baseline_forest_pct"], 40.0)
    np.testing.assert_allclose(t["eligible_ha"], 1000.0)
    p = res.province
    assert p["baseline_raw_pct"] == pytest.approx(40.0)
    # target: +2.5 points of 10,000 ha = 250 ha
    assert p["required_gain_ha"] == pytest.approx(250.0)
    assert p["feasible"] and abs(p["allocated_gain_ha"] - 250.0) < 1e-6
    assert p["target_pct"] == pytest.approx(42.5)
    assert p["cover_target_year_pct"] == pytest.approx(42.5)
    # sink 2025: 250 ha planted evenly 2021-2025, all young in 2025; mountain zone (1000 m)
    # factor per ha = 3.0 x (1 + R) x 0.47 x 44/12 x 0.85, R: broadleaf 0.46 (40 %),
    # conifer 0.40 (60 %) -> 3.0 x 0.47 x 3.666667 x 0.85 x (0.4 x 1.46 + 0.6 x 1.40)
    per_ha = 3.0 * 0.47 * 44 / 12 * 0.85 * (0.4 * 1.46 + 0.6 * 1.40)
    assert p["sink_tco2_per_yr_2025"] == pytest.approx(250.0 * per_ha)
    assert p["sink_tco2_per_yr_2025_p05"] < p["sink_tco2_per_yr_2025"]
    assert p["sink_tco2_per_yr_2025_p95"] > p["sink_tco2_per_yr_2025"]
    assert set(t["ecological_zone"]) == {"temperate_mountain"}
    # files
    raw = (out / "counties.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    csv = pd.read_csv(out / "counties.csv", encoding="utf-8-sig")
    assert csv["name"].tolist() == ["小店区", "迎泽区", "杏花岭区", "尖草坪区"]
    for col in (
        "adcode",
        "name",
        "prefecture",
        "area_km2",
        "baseline_forest_pct",
        "calibrated_forest_pct",
        "eligible_ha",
        "allocated_gain_ha",
        "cover_2025_pct",
        "sink_tco2_per_yr_2030_p05",
        "sink_tco2_per_yr_2060_p95",
    ):
        assert col in csv.columns
    gp = gpd.read_file(out / "counties.gpkg")
    assert len(gp) == 4 and gp.crs is not None
    assert (out / "afforestation_eligible.tif").exists()
    assert not list(out.glob(".sinks_work_*"))
    assert any("MtCO2/yr" in line for line in res.summary_lines())


def test_infeasible_target_is_reported(tmp_path):
    g, rasters, counties = make_province(tmp_path, forest_cols=4)  # 0 grassland left
    cfg = SinksConfig(calibration="none", monte_carlo_draws=200)
    res = run_sinks(
        grid=g,
        rasters=rasters,
        counties=counties,
        config=cfg,
        out_dir=tmp_path / "o",
        mem_limit_mb=64,
    )
    p = res.province
    assert not p["feasible"]
    assert p["eligible_ha"] == pytest.approx(0.0)
    assert p["shortfall_ha"] == pytest.approx(250.0)
    assert any("INFEASIBLE" in line for line in res.summary_lines())
    assert not res.counties["feasible_locally"].any()


def test_rescale_to_official_province_figure(tmp_path):
    g, rasters, counties = make_province(tmp_path)
    off = tmp_path / "official.csv"
    off.write_text(
        "adcode,year,forest_cover_pct\n140000,2020,20.0\n140105,2020,10.0\n", encoding="utf-8"
    )
    cfg = SinksConfig(calibration="rescale", monte_carlo_draws=200)
    res = run_sinks(
        grid=g,
        rasters=rasters,
        counties=counties,
        config=cfg,
        out_dir=tmp_path / "o",
        mem_limit_mb=64,
        official=off,
    )
    t = res.counties
    # county 140105 takes its official 10 %; the other three share 4 x 20 - 10 = 70 points of
    # equal-area counties, raw 40 % each -> 70 / 3 = 23.333 % each (factor 0.58333)
    assert t["calibrated_forest_pct"].tolist() == pytest.approx([10.0] + [70 / 3] * 3)
    assert t["calibration_source"].tolist() == ["official", "rescaled", "rescaled", "rescaled"]
    assert res.province["baseline_calibrated_pct"] == pytest.approx(20.0)
    assert res.province["baseline_raw_pct"] == pytest.approx(40.0)
    assert res.province["calibration_factor"] == pytest.approx((70 / 3) / 40)


def test_calibration_caps_at_100_percent():
    # raw 50 % and 10 %; official province 80 % of two equal counties -> 160 points to share;
    # proportional 5:1 would give 133 % and 27 %: the first is capped at 100 %, the rest 60 %
    c = calibrate_forest_cover(
        [1, 2],
        [100.0, 100.0],
        [50.0, 10.0],
        pd.DataFrame({"adcode": [0], "year": [2020], "forest_cover_pct": [80.0]}),
        mode="rescale",
        year=2020,
        province_adcode=0,
    )
    assert c.forest_pct.tolist() == pytest.approx([100.0, 60.0])


def test_official_table_errors(tmp_path):
    p = tmp_path / "o.csv"
    p.write_text("adcode,year,cover\n1,2020,3\n")
    with pytest.raises(ConfigError, match="forest_cover_pct"):
        read_official(p)
    p.write_text("adcode,year,forest_cover_pct\n1,2020,300\n")
    with pytest.raises(ConfigError, match="0-100"):
        read_official(p)
    ok = pd.DataFrame({"adcode": [1], "year": [2020], "forest_cover_pct": [20.0]})
    with pytest.raises(ConfigError, match="province row"):
        calibrate_forest_cover(
            [1], [1.0], [5.0], ok, mode="rescale", year=2019, province_adcode=140000
        )


def test_packaged_official_figure_is_used_by_default(tmp_path):
    g, rasters, counties = make_province(tmp_path)
    res = run_sinks(
        grid=g,
        rasters=rasters,
        counties=counties,
        config=SinksConfig(calibration="rescale", monte_carlo_draws=200),
        out_dir=tmp_path / "o",
        mem_limit_mb=64,
    )
    assert res.province["official_province_pct"] == pytest.approx(23.18)
    assert res.province["baseline_calibrated_pct"] == pytest.approx(23.18)
    assert math.isclose(res.province["target_pct"], 23.18 + 2.5)
    # rescale lowers forest here, so nothing is taken off eligible land
    np.testing.assert_allclose(res.counties["eligible_ha"], 1000.0)
    # the default (distribute) refuses to lower forest, with a message naming the fix
    with pytest.raises(ConfigError, match="calibration: rescale"):
        run_sinks(
            grid=g,
            rasters=rasters,
            counties=counties,
            config=SinksConfig(),
            out_dir=tmp_path / "o2",
            mem_limit_mb=64,
        )


def test_distribute_gap_over_open_land_and_net_eligible(tmp_path):
    g, rasters, counties = make_province(tmp_path)
    off = tmp_path / "official.csv"
    off.write_text("adcode,year,forest_cover_pct\n140000,2020,50.0\n", encoding="utf-8")
    cfg = SinksConfig(
        calibration="distribute",
        monte_carlo_draws=200,
        calibration_likelihood={"grass": 1.0},
        calibration_max_cell_share=1.0,
    )
    res = run_sinks(
        grid=g,
        rasters=rasters,
        counties=counties,
        config=cfg,
        out_dir=tmp_path / "o",
        mem_limit_mb=64,
        official=off,
    )
    t = res.counties
    # raw 40 % of 10,000 ha = 4,000 ha; official 50 % = 5,000 ha -> gap 1,000 ha over the
    # 4 x 1,000 ha of grassland (likelihood 1) -> share 0.25; each county 40 % + 250/2500 = 50 %
    np.testing.assert_allclose(t["calibrated_forest_pct"], 50.0)
    assert set(t["calibration_source"]) == {"distributed"}
    assert res.province["calibration_factor"] == pytest.approx(0.25)
    # a quarter of the grassland is now forest: 750 ha per county stays eligible
    np.testing.assert_allclose(t["eligible_raster_ha"], 1000.0)
    np.testing.assert_allclose(t["eligible_ha"], 750.0)
    assert res.province["eligible_ha"] == pytest.approx(3000.0)
    assert res.province["calibration_shortfall_ha"] == 0.0


def test_distribute_capped_per_cell_reports_the_shortfall(tmp_path):
    g, rasters, counties = make_province(tmp_path)
    off = tmp_path / "official.csv"
    off.write_text("adcode,year,forest_cover_pct\n140000,2019,50.0\n", encoding="utf-8")
    res = run_sinks(
        grid=g,
        rasters=rasters,
        counties=counties,
        config=SinksConfig(monte_carlo_draws=200),  # grass likelihood 0.2, cap 0.5
        out_dir=tmp_path / "o",
        mem_limit_mb=64,
        official=off,
    )
    # likely land: 4 x 1,000 ha grass x 0.2 = 800 ha; the gap of 1,000 ha needs share 1.25,
    # capped at 0.5 -> 400 ha added (100 per county: 40 % + 4 points = 44 %), 600 ha short
    np.testing.assert_allclose(res.counties["calibrated_forest_pct"], 44.0, atol=1e-6)
    assert res.province["calibration_shortfall_ha"] == pytest.approx(600.0)
    assert res.province["official_province_year"] == 2019
    assert any("SHORT of the official figure by 600 ha" in x for x in res.summary_lines())


def test_missing_county_columns_raise(tmp_path):
    g, rasters, counties = make_province(tmp_path)
    with pytest.raises(ConfigError, match="prefecture"):
        run_sinks(
            grid=g,
            rasters=rasters,
            counties=counties.drop(columns="prefecture"),
            config=SinksConfig(),
            out_dir=tmp_path / "o",
            mem_limit_mb=64,
        )


def test_counties_not_validated_by_the_layers_step_are_refused(tmp_path):
    g, rasters, counties = make_province(tmp_path)
    raw = gpd.GeoDataFrame(pd.DataFrame(counties), geometry="geometry", crs=counties.crs)
    raw.attrs.clear()
    with pytest.raises(ConfigError, match="counties were not validated; .*validate_counties"):
        run_sinks(
            grid=g,
            rasters=rasters,
            counties=raw,
            config=SinksConfig(),
            out_dir=tmp_path / "o",
            mem_limit_mb=64,
        )
