import numpy as np
import pandas as pd
import pytest

from sxplan.errors import ConfigError
from sxplan.sinks.sequestration import (
    CATEGORIES,
    ZONES,
    annual_removal_tco2_per_ha,
    cohort_exposure_ha,
    load_tier1_table,
    parameter_draws,
    removal_factor_draws,
    removal_factors,
    sink_trajectory,
)


@pytest.fixture(scope="module")
def table():
    return load_tier1_table()


def test_one_hectare_young_temperate_broadleaf_by_hand(table):
    # Cited defaults (sinks/data/ipcc_tier1.csv):
    #   growth  G = 4.0 t d.m./ha/yr  (2006 IPCC V4 Ch4 Table 4.9, temperate continental, <=20 y)
    #   R       = 0.46                (Table 4.4, temperate other broadleaf, AGB < 75 t/ha)
    #   CF      = 0.47 t C / t d.m.   (Table 4.3)
    # removal = 4.0 x (1 + 0.46) x 0.47 x 44/12
    #         = 5.84 x 0.47 x 3.666667 = 2.7448 t C x 3.666667 = 10.064267 tCO2/ha/yr
    # with the default survival 0.85: 10.064267 x 0.85 = 8.554627 tCO2 per planted ha per yr
    g = table.row("growth_agb", "temperate_continental", "broadleaf", "young")["value"]
    r = table.row("root_to_shoot", "temperate_continental", "broadleaf", "young")["value"]
    cf = table.row("carbon_fraction")["value"]
    surv = table.row("survival")["value"]
    assert (g, r, cf, surv) == (4.0, 0.46, 0.47, 0.85)
    assert annual_removal_tco2_per_ha(g, r, cf) == pytest.approx(10.064267, abs=1e-6)
    k = CATEGORIES.index(("broadleaf", "young"))
    z = ZONES.index("temperate_continental")
    assert removal_factors(table)[z, k] == pytest.approx(8.554627, abs=1e-6)

    # Through the whole trajectory machinery: 1 ha planted in 2021, all broadleaf, year 2021
    traj = sink_trajectory(
        np.array([[1.0]]),
        np.array([2021]),
        np.arange(2021, 2023),
        np.array([z]),
        {"broadleaf": 1.0, "conifer": 0.0},
        table,
        n_draws=200,
        seed=1,
    )
    assert traj.county_tco2_per_yr[0, 0] == pytest.approx(8.554627, abs=1e-6)


def test_every_default_cites_a_table(table):
    rows = table.rows
    assert rows["source"].str.len().min() > 20
    ipcc = rows[rows["source"].str.contains("IPCC")]
    assert ipcc["table"].notna().all()
    # rows with no IPCC table are declared assumptions or the national standard
    other = rows[~rows["source"].str.contains("IPCC")]
    assert set(other["confidence"]) <= {"assumption", "unverified"}


def test_confidence_is_honest(table):
    """Only values read in /work/shared/reference (S1, S3, S3b) may say 'verified'."""
    rows = table.rows
    verified = rows[rows["confidence"].str.startswith("verified")]
    assert set(verified["source_id"]) <= {"S1", "S3", "S3b"}
    assert set(verified["parameter"]) == {"carbon_fraction", "root_to_shoot", "bcef_s", "bcef_i"}
    # every growth rate (Tables 4.9 / 4.10 not found in the reference) stays unverified
    growth = rows[rows["parameter"].str.startswith("growth_agb")]
    assert set(growth["confidence"]) <= {"unverified", "assumption"}
    # new planting uses plantation rows (Table 4.10), existing forest natural rows (Table 4.9)
    assert set(rows.loc[rows["parameter"] == "growth_agb", "table"]) == {"4.10", "none"}
    assert set(rows.loc[rows["parameter"] == "growth_agb_natural", "table"]) == {"4.9"}


def test_cohort_ages_switch_from_young_to_older_after_20_years():
    # 10 ha planted in 2021: ages 1..20 in 2021..2040 are young; 2041 is age 21 (older)
    years = np.array([2021, 2040, 2041])
    e = cohort_exposure_ha(np.array([[10.0]]), np.array([2021]), years, {"broadleaf": 1.0})
    by = {c: e[0, :, k].tolist() for k, c in enumerate(CATEGORIES)}
    assert by[("broadleaf", "young")] == [10.0, 10.0, 0.0]
    assert by[("broadleaf", "older")] == [0.0, 0.0, 10.0]
    assert by[("conifer", "young")] == [0.0, 0.0, 0.0]


def test_cohort_not_growing_before_planting():
    e = cohort_exposure_ha(
        np.array([[5.0, 5.0]]),
        np.array([2021, 2025]),
        np.array([2024, 2025]),
        {"broadleaf": 0.5, "conifer": 0.5},
    )
    assert e.sum(axis=2)[0].tolist() == [5.0, 10.0]


def test_monte_carlo_is_seeded_and_brackets_central(table):
    a = removal_factor_draws(table, 2000, seed=7)
    b = removal_factor_draws(table, 2000, seed=7)
    np.testing.assert_array_equal(a, b)
    central = removal_factors(table)
    lo, hi = np.percentile(a, [5, 95], axis=0)
    assert np.all(lo < central) and np.all(central < hi)
    # draws stay inside the product of the ranges
    g_hi = table.rows.loc[table.rows.parameter == "growth_agb", "high"].max()
    r_hi = table.rows.loc[table.rows.parameter == "root_to_shoot", "high"].max()
    assert a.max() <= g_hi * (1 + r_hi) * 0.47 * 44 / 12 * 0.85 + 1e-9


def test_shared_source_rows_share_a_draw(table):
    # the shrub growth rows of young and older stands cite one source, so they share a draw;
    # broadleaf and conifer plantations cite different Table 4.10 rows and root-to-shoot ratios
    # different Table 4.4 rows, so those are drawn independently.
    d = parameter_draws(table, 500, seed=3)
    key = ("temperate_continental", "young")
    s_young = d[("growth_agb", key[0], "shrub", "young")]
    s_older = d[("growth_agb", key[0], "shrub", "older")]
    np.testing.assert_array_equal(s_young, s_older)
    b = d[("growth_agb", key[0], "broadleaf", key[1])]
    c = d[("growth_agb", key[0], "conifer", key[1])]
    assert abs(np.corrcoef(b, c)[0, 1]) < 0.2
    rb = d[("root_to_shoot", key[0], "broadleaf", key[1])]
    rc = d[("root_to_shoot", key[0], "conifer", key[1])]
    assert abs(np.corrcoef(rb, rc)[0, 1]) < 0.2
    assert 3.0 <= b.min() and b.max() <= 5.0


def test_province_range_is_sum_of_correlated_counties(table):
    z = np.array([0, 0])
    traj = sink_trajectory(
        np.array([[1.0], [3.0]]),
        np.array([2021]),
        np.array([2025]),
        z,
        {"broadleaf": 1.0},
        table,
        n_draws=1000,
        seed=2,
    )
    # fully correlated draws: province percentile = sum of county percentiles
    assert traj.province_p05[0] == pytest.approx(traj.county_p05[:, 0].sum(), rel=1e-9)
    assert traj.province_tco2_per_yr[0] == pytest.approx(traj.county_tco2_per_yr[:, 0].sum())


def test_bad_table_is_refused(tmp_path, table):
    bad = table.rows.copy()
    bad.loc[0, "low"] = 99.0
    p = tmp_path / "t.csv"
    bad.to_csv(p, index=False)
    with pytest.raises(ConfigError, match="low <= value <= high"):
        load_tier1_table(p)
    missing = table.rows[table.rows.parameter != "survival"]
    missing.to_csv(p, index=False)
    with pytest.raises(ConfigError, match="survival"):
        load_tier1_table(p)
    pd.DataFrame({"x": [1]}).to_csv(p, index=False)
    with pytest.raises(ConfigError, match="lacks columns"):
        load_tier1_table(p)
