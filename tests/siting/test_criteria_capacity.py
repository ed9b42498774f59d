"""Criterion transforms, weighted sums, capacity and energy by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sxplan.errors import ConfigError
from sxplan.siting.capacity import (
    PowerCurve,
    capacity_mw,
    load_power_curve,
    pv_energy_gwh,
    weibull_capacity_factor,
    wind_cf_table,
    wind_energy_gwh,
)
from sxplan.siting.config import WindEnergyConfig
from sxplan.siting.criteria import inverse_distance, linear, piecewise, weighted_sum


def test_transforms_by_hand():
    np.testing.assert_allclose(linear(np.array([0, 5, 10, 20.0]), 0, 10), [0, 0.5, 1, 1])
    np.testing.assert_allclose(linear(np.array([0, 5, 10, 20.0]), 10, 0), [1, 0.5, 0, 0])
    np.testing.assert_allclose(
        piecewise(np.array([-1, 0, 5, 10, 15, 99.0]), [(0, 0), (10, 1), (20, 0)]),
        [0, 0, 0.5, 1, 0.5, 0],
    )
    np.testing.assert_allclose(inverse_distance(np.array([0, 1000, 3000.0]), 1000), [1, 0.5, 0.25])
    assert np.isnan(linear(np.array([np.nan]), 0, 1)[0])
    assert np.isnan(piecewise(np.array([np.nan]), [(0, 0), (1, 1)])[0])


def test_weighted_sum():
    s = weighted_sum({"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}, {"a": 0.7, "b": 0.3})
    np.testing.assert_allclose(s, [0.7, 0.3], rtol=1e-6)
    with pytest.raises(ValueError, match="sum to 1"):
        weighted_sum({"a": np.ones(1)}, {"a": 0.5})


def test_capacity_and_pv_energy():
    # 2 km2 x 36 MW/km2 x 0.5 = 36 MW; 36 MW x 1,400 kWh/kWp = 50,400 MWh = 50.4 GWh.
    assert capacity_mw(2.0, 36.0, 0.5) == 36.0
    assert pv_energy_gwh(36.0, 1400.0) == pytest.approx(50.4)
    assert pv_energy_gwh(36.0, 1400.0, 0.1) == pytest.approx(45.36)


def test_wind_energy():
    # 10 MW at CF 0.25 run 0.25 x 8760 = 2,190 full-load hours: 21,900 MWh = 21.9 GWh.
    assert wind_energy_gwh(10.0, 0.25) == pytest.approx(21.9)
    # 3 MW at CF 1/3 for 8760 h: 8,760 MWh = 8.76 GWh; vectorised over parcels.
    got = wind_energy_gwh(np.array([3.0, 0.0]), np.array([1 / 3, 0.5]))
    np.testing.assert_allclose(got, [8.76, 0.0])


def test_weibull_cf_of_an_ideal_curve_is_a_cdf_difference():
    # Rated power exactly between 5 and 20 m/s, zero elsewhere: CF = F(20) - F(5) with
    # F(v) = 1 - exp(-(v/A)^k), A = mean / Gamma(1 + 1/k).
    v = np.array([0.0, 4.999999, 5.0, 20.0, 20.000001, 25.0])
    p = np.array([0.0, 0.0, 1e6, 1e6, 0.0, 0.0])
    curve = PowerCurve("ideal", v, p, 1e6)
    for mean, k in [(6.0, 2.0), (7.5, 2.4)]:
        a = mean / math.gamma(1 + 1 / k)
        expect = math.exp(-((5 / a) ** k)) - math.exp(-((20 / a) ** k))
        got = float(weibull_capacity_factor(mean, curve, k, dv_ms=0.001))
        assert got == pytest.approx(expect, abs=2e-4)


def test_real_turbine_from_oedb_offline():
    curve = load_power_curve("GE130/3200")
    assert curve.nominal_power_w == 3.2e6 and curve.rotor_diameter_m == 130
    table = wind_cf_table(WindEnergyConfig(losses_share=0.0, hub_height_m=100.0))
    cf = table(np.array([3.0, 5.0, 6.0, 7.0, 9.0]))
    assert np.all(np.diff(cf) > 0) and 0 < cf[0] < cf[-1] < 0.7
    # Independent check at 6 m/s: brute-force the Rayleigh expectation on a fine grid.
    vv = np.linspace(0, 25, 250_001)
    a = 6.0 / math.gamma(1.5)
    pdf = 2 * vv / a**2 * np.exp(-((vv / a) ** 2))
    expect = np.trapezoid(curve.power(vv) * pdf, vv) / curve.nominal_power_w
    assert cf[2] == pytest.approx(expect, abs=3e-3)
    with pytest.raises(ConfigError, match="no power curve"):
        load_power_curve("GE130/320")
