"""Issue 14: plantable land that can be planted, calibration that respects towns, shrub zones,
forest stock, and net carbon on contested land. Every expected value is derived by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from _sinkstest import X0, Y1, make_province
from shapely.geometry import box

from sxplan.layers import ALBERS_CHINA, GridSpec, write_raster
from sxplan.sinks import SinksConfig, run_sinks
from sxplan.sinks.baseline import calibrate_forest_cover, read_official
from sxplan.sinks.eligible import compute_land_rasters
from sxplan.sinks.net_carbon import parcel_net_carbon
from sxplan.sinks.sequestration import CO2_PER_C, load_tier1_table
from sxplan.sinks.stock import existing_forest


def _lc_grid(tmp_path, codes):
    g = GridSpec.from_bounds(
        (X0, Y1 - 1000 * codes.shape[0], X0 + 1000 * codes.shape[1], Y1), 1000.0, ALBERS_CHINA
    )
    lc = write_raster(
        tmp_path / "lc.tif", codes.astype("uint8"), g, nodata=255, name="landcover",
        kind="categorical", scheme="igbp", cog=False,
    )  # fmt: skip
    return g, {"landcover": lc}


def _read(layer):
    return layer.read(masked=False)


@pytest.mark.parametrize("tile_size", [None, 3])
def test_cropland_and_town_cells_are_never_plantable(tmp_path, tile_size):
    # one row: grass, crop, grass, grass, built, grass, grass (IGBP 10, 12, 13)
    codes = np.array([[10, 12, 10, 10, 13, 10, 10]])
    g, rasters = _lc_grid(tmp_path, codes)
    cfg = SinksConfig(dem_layer=None, slope_layer=None, built_margin_m=1000)
    land = (
        compute_land_rasters(g, rasters, cfg, tmp_path / "w", mem_limit_mb=64, tile_size=tile_size)
        if (tmp_path / "w").mkdir() is None
        else None
    )
    e = _read(land.eligible)[0]
    # crop (col 1) and built (col 4) are never plantable; 1 km around the town (cols 3, 5)
    # is the built-up margin; cols 0, 2, 6 keep grassland's credit 1.0
    np.testing.assert_array_equal(e, [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(_read(land.removed["built_margin"])[0], [0, 0, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(_read(land.builtup)[0], [0, 0, 0, 0, 1, 0, 0])


def test_farmland_polygon_layer_is_never_planted(tmp_path):
    codes = np.full((2, 4), 10)
    g, rasters = _lc_grid(tmp_path, codes)
    farm = gpd.GeoDataFrame(
        geometry=[box(X0, Y1 - 2000, X0 + 2000, Y1)], crs=ALBERS_CHINA
    )  # the two western columns
    cfg = SinksConfig(dem_layer=None, slope_layer=None, farmland_layer="basic_farmland")
    (tmp_path / "w").mkdir()
    land = compute_land_rasters(
        g, rasters, cfg, tmp_path / "w", mem_limit_mb=64, vectors={"basic_farmland": farm}
    )
    np.testing.assert_array_equal(_read(land.eligible), [[0, 0, 1, 1], [0, 0, 1, 1]])


def test_climate_zones_trees_shrubs_none(tmp_path):
    codes = np.full((1, 3), 10)
    g, rasters = _lc_grid(tmp_path, codes)
    rasters["precip_mm_per_yr"] = write_raster(
        tmp_path / "p.tif", np.array([[150.0, 300.0, 500.0]], "float32"), g, nodata=-9999.0,
        name="precip_mm_per_yr", cog=False,
    )  # fmt: skip
    cfg = SinksConfig(dem_layer=None, slope_layer=None, climate_zones={})
    (tmp_path / "w").mkdir()
    land = compute_land_rasters(g, rasters, cfg, tmp_path / "w", mem_limit_mb=64)
    np.testing.assert_array_equal(_read(land.eligible)[0], [0.0, 1.0, 1.0])  # < 200 mm: none
    np.testing.assert_array_equal(_read(land.eligible_shrub)[0], [0.0, 1.0, 0.0])  # 200-400
    np.testing.assert_array_equal(_read(land.removed["climate_zone"])[0], [1.0, 0.0, 0.0])


def test_shrub_zone_cells_get_shrub_factors(tmp_path):
    g, rasters, counties = make_province(tmp_path)
    rasters["precip_mm_per_yr"] = write_raster(
        tmp_path / "p.tif", np.full((10, 10), 300.0, "float32"), g, nodata=-9999.0,
        name="precip_mm_per_yr", cog=False,
    )  # fmt: skip
    cfg = SinksConfig(
        calibration="none", climate_zones={}, monte_carlo_draws=200, report_years=[2025]
    )
    res = run_sinks(
        grid=g, rasters=rasters, counties=counties, config=cfg, out_dir=tmp_path / "o",
        mem_limit_mb=64,
    )  # fmt: skip
    t = res.counties
    np.testing.assert_allclose(t["allocated_shrub_ha"], t["allocated_gain_ha"])
    # every cohort (2021-2025) is young in 2025; shrub row: G 1.0, R 1.0, CF 0.47, survival 0.85
    per_ha = 1.0 * (1 + 1.0) * 0.47 * CO2_PER_C * 0.85
    np.testing.assert_allclose(t["sink_tco2_per_yr_2025"], t["allocated_gain_ha"] * per_ha)


def test_county_table_overrides_the_estimate_any_year(tmp_path):
    off = tmp_path / "official.csv"
    off.write_text(
        "adcode,year,forest_cover_pct\n140000,2019,23.18\n1,2015,40.0\n1,2019,52.63\n",
        encoding="utf-8",
    )
    cal = calibrate_forest_cover(
        [1, 2], [100.0, 100.0], [48.0, 10.0], read_official(off), mode="replace",
        year=2020, province_adcode=140000,
    )  # fmt: skip
    # county 1: the 2019 row (nearest 2020) replaces 48 %; county 2 keeps its raster 10 %
    assert cal.forest_pct.tolist() == [52.63, 10.0]
    assert cal.source.tolist() == ["official", "raw"]
    assert cal.official_year.tolist() == [2019, 0]
    assert cal.official_province_year == 2019


def _urban_province(tmp_path):
    """make_province with the first county (小店区) 20 % built-up (5 of 25 cells)."""
    g, rasters, counties = make_province(tmp_path)
    codes = rasters["landcover"].read(masked=False).copy()
    codes[0, 3:5] = 13
    codes[1, 3:5] = 13
    codes[2, 4] = 13
    rasters["landcover"] = write_raster(
        tmp_path / "lc2.tif", codes, g, nodata=255, name="landcover", kind="categorical",
        scheme="igbp", cog=False,
    )  # fmt: skip
    return g, rasters, counties


def test_no_urban_district_gets_new_forest_unless_the_table_says_so(tmp_path):
    g, rasters, counties = _urban_province(tmp_path)
    off = tmp_path / "official.csv"
    off.write_text("adcode,year,forest_cover_pct\n140000,2020,45.0\n", encoding="utf-8")
    cfg = SinksConfig(monte_carlo_draws=200, calibration_likelihood={"grass": 1.0})
    res = run_sinks(
        grid=g, rasters=rasters, counties=counties, config=cfg, out_dir=tmp_path / "o",
        mem_limit_mb=64, official=off,
    )  # fmt: skip
    t = res.counties.set_index("adcode")
    assert t.loc[140105, "urban_district"] and not t.loc[140106, "urban_district"]
    assert t.loc[140105, "allocated_gain_ha"] == 0.0
    assert t.loc[140105, "eligible_source"] == "urban_district"
    # no unmapped forest in the urban district: it keeps its raster cover (10 of 25 cells)
    assert t.loc[140105, "calibrated_forest_pct"] == pytest.approx(40.0)
    assert res.province["urban_allocated_ha"] == 0.0
    # the same run with plantable_ha for the district in the table: it gets planting
    off.write_text(
        "adcode,year,forest_cover_pct,plantable_ha\n140000,2020,45.0,\n140105,2020,40.0,300\n",
        encoding="utf-8",
    )
    res = run_sinks(
        grid=g, rasters=rasters, counties=counties, config=cfg, out_dir=tmp_path / "o2",
        mem_limit_mb=64, official=off,
    )  # fmt: skip
    t = res.counties.set_index("adcode")
    assert t.loc[140105, "eligible_ha"] == 300.0
    assert t.loc[140105, "eligible_source"] == "official"
    assert t.loc[140105, "allocated_gain_ha"] > 0


def test_net_carbon_of_one_parcel_from_energy_and_area(tmp_path):
    # a 2 x 2 km parcel on four cells, each with 0.5 of its area plantable and reserved:
    # 4 x 100 ha x 0.5 = 200 ha contested; county factor 10 tCO2/ha/yr -> 2,000 tCO2/yr
    # forgone; 50 GWh/yr x 1000 x 0.5366 tCO2/MWh = 26,830 tCO2/yr avoided; net 24,830
    g = GridSpec.from_bounds((X0, Y1 - 4000, X0 + 4000, Y1), 1000.0, ALBERS_CHINA)
    removed = np.zeros((4, 4), "float32")
    removed[:2, :2] = 0.5
    layer = write_raster(
        tmp_path / "removed_reserved.tif", removed, g, nodata=-1.0, name="removed_reserved",
        cog=False,
    )  # fmt: skip
    sl = gpd.GeoDataFrame(
        {
            "rank": [1],
            "parcel_id": ["PV-00001"],
            "technology": ["pv"],
            "county": ["某县"],
            "adcode": [140101],
            "area_km2": [4.0],
            "energy_gwh_per_yr": [50.0],
        },  # fmt: skip
        geometry=[box(X0, Y1 - 2000, X0 + 2000, Y1)],
        crs=ALBERS_CHINA,
    ).to_crs("EPSG:4326")
    net = parcel_net_carbon(sl, layer, g, [140101], [10.0], 0.5366, mem_limit_mb=64)
    row = net.iloc[0]
    assert row["contested_plantable_ha"] == pytest.approx(200.0, rel=1e-6)
    assert row["avoided_tco2_per_yr"] == pytest.approx(26_830.0)
    assert row["forgone_sink_tco2_per_yr"] == pytest.approx(2_000.0, rel=1e-6)
    assert row["net_tco2_per_yr"] == pytest.approx(24_830.0, rel=1e-6)


def test_young_removal_factor_mixes_the_young_rows_by_hand():
    from sxplan.sinks.net_carbon import young_removal_factor

    # zones x (broadleaf young, broadleaf older, conifer young, conifer older, shrub young,
    # shrub older); only the young columns count
    factors = np.array([[10.0, 99.0, 6.0, 99.0, 2.0, 99.0], [20.0, 99.0, 12.0, 99.0, 4.0, 99.0]])
    mix = {"broadleaf": [0.4, 0.2], "conifer": [0.6, 0.3], "shrub": [0.0, 0.5]}
    # county 1 (zone 0): 0.4 x 10 + 0.6 x 6 = 7.6; county 2 (zone 1): 0.2 x 20 + 0.3 x 12 +
    # 0.5 x 4 = 9.6
    np.testing.assert_allclose(young_removal_factor(factors, [0, 1], mix), [7.6, 9.6])


def test_county_net_carbon_sums_parcels_and_zero_fills():
    from sxplan.sinks.net_carbon import county_net_carbon

    net = pd.DataFrame(
        {
            "adcode": [2, 1, 2],
            "contested_plantable_ha": [10.0, 5.0, 1.0],
            "avoided_tco2_per_yr": [100.0, 50.0, 20.0],
            "forgone_sink_tco2_per_yr": [30.0, 5.0, 2.0],
            "net_tco2_per_yr": [70.0, 45.0, 18.0],
        }
    )
    out = county_net_carbon(net, [1, 2, 3])
    np.testing.assert_allclose(out["contested_plantable_ha"], [5.0, 11.0, 0.0])
    np.testing.assert_allclose(out["net_tco2_per_yr"], [45.0, 88.0, 0.0])
    np.testing.assert_allclose(out["avoided_tco2_per_yr"], [50.0, 120.0, 0.0])


def test_existing_forest_stock_growth_and_sink_by_hand():
    table = load_tier1_table()
    r = existing_forest([100.0], [1], {"broadleaf": 1.0}, table, 34.49)
    # temperate mountain broadleaf older: G 3.0 t/ha/yr, BCEF_I 1.3, R 0.23, CF 0.47
    assert r["stock_m3"][0] == pytest.approx(3449.0)
    assert r["growth_m3_per_yr"][0] == pytest.approx(100 * 3.0 / 1.3)
    assert r["sink_tco2_per_yr"][0] == pytest.approx(100 * 3.0 * 1.23 * 0.47 * CO2_PER_C)


def test_run_writes_stock_and_reports_the_stock_target(tmp_path):
    g, rasters, counties = make_province(tmp_path)
    cfg = SinksConfig(calibration="none", monte_carlo_draws=200, stock_targets_m3={2035: 1e6})
    res = run_sinks(
        grid=g, rasters=rasters, counties=counties, config=cfg, out_dir=tmp_path / "o",
        mem_limit_mb=64,
    )  # fmt: skip
    stock = pd.read_csv(tmp_path / "o" / "stock.csv", encoding="utf-8-sig")
    # 4,000 ha of forest x 34.49 m3/ha at the 2020 baseline, plus growth from 2020
    growth = res.province["existing_growth_m3_per_yr"]
    row = stock[stock["year"] == 2035].iloc[0]
    assert row["existing_stock_m3"] == pytest.approx(4000 * 34.49 + growth * 15, rel=1e-6)
    assert res.province["stock_m3_2035"] == pytest.approx(row["stock_m3"])
    assert any("forest stock 2035" in x for x in res.summary_lines())


@pytest.mark.parametrize("tile_size", [None, 2])
def test_plantable_land_left_after_calibration_cell_by_cell(tmp_path, tile_size):
    # savanna (IGBP 9: plantable 1.0 by default, likelihood 1.0) and grassland (10:
    # plantable 1.0, likelihood 0.2), no mapped forest. With share 0.5 calibration puts 0.5
    # of a savanna cell and 0.1 of a grass cell under forest: left min(1, 0.5) and min(1, 0.9)
    from sxplan.sinks.eligible import eligible_after_calibration

    codes = np.array([[9, 10, 9], [10, 9, 10]])
    g, rasters = _lc_grid(tmp_path, codes)
    cfg = SinksConfig(
        dem_layer=None, slope_layer=None, calibration_likelihood={9: 1.0, "grass": 0.2}
    )
    (tmp_path / "w").mkdir()
    land = compute_land_rasters(g, rasters, cfg, tmp_path / "w", mem_limit_mb=64)
    left = eligible_after_calibration(
        land, 0.5, tmp_path / "left.tif", mem_limit_mb=64, tile_size=tile_size
    )
    np.testing.assert_allclose(_read(left), [[0.5, 0.9, 0.5], [0.9, 0.5, 0.9]], atol=1e-6)
