"""AHP weights and consistency against closed-form answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sxplan.errors import ConfigError
from sxplan.siting.ahp import RANDOM_INDEX, ahp_weights, weights_from_config
from sxplan.siting.config import PVConfig


def test_saaty_three_by_three_known_answer():
    # Saaty's 1-9 scale example [[1,3,5],[1/3,1,3],[1/5,1/3,1]] (Saaty 1980; widely reproduced).
    # For n = 3 the principal eigenvector equals the normalised row geometric means:
    #   g = (15^(1/3), 1, (1/15)^(1/3)) = (2.4662, 1, 0.4055) -> w = g / 3.8717
    # and lambda_max = 1 + (b/(ac))^(1/3) + (ac/b)^(1/3) with a=3, b=5, c=3:
    #   1 + (5/9)^(1/3) + (9/5)^(1/3) = 3.03851; CI = 0.01926; CR = CI / 0.58 = 0.03320.
    r = ahp_weights([[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]], ["a", "b", "c"])
    g = np.array([15 ** (1 / 3), 1.0, (1 / 15) ** (1 / 3)])
    np.testing.assert_allclose(r.weights, g / g.sum(), rtol=1e-9)
    lam = 1 + (5 / 9) ** (1 / 3) + (9 / 5) ** (1 / 3)
    assert math.isclose(r.lambda_max, lam, rel_tol=1e-9)
    assert math.isclose(r.consistency_index, (lam - 3) / 2, rel_tol=1e-6)
    assert math.isclose(r.consistency_ratio, (lam - 3) / 2 / 0.58, rel_tol=1e-6)
    assert round(r.consistency_ratio, 3) == 0.033
    assert r.as_dict()["a"] == r.weights[0]


def test_consistent_matrix_recovers_weights_with_zero_cr():
    w = np.array([0.5, 0.25, 0.15, 0.1])
    r = ahp_weights(w[:, None] / w[None, :])
    np.testing.assert_allclose(r.weights, w, atol=1e-12)
    assert abs(r.consistency_ratio) < 1e-9


def test_two_criteria_and_random_index_table():
    r = ahp_weights([[1, 3], [1 / 3, 1]])
    assert r.weights == pytest.approx((0.75, 0.25))
    assert r.consistency_ratio == 0
    assert RANDOM_INDEX[3] == 0.58 and RANDOM_INDEX[4] == 0.90 and RANDOM_INDEX[10] == 1.49


@pytest.mark.parametrize(
    ("matrix", "expect"),
    [
        ([[1, 3], [3, 1]], "not reciprocal"),
        ([[1, -1], [-1, 1]], "positive"),
        ([[2, 1], [1, 1]], "diagonal"),
        ([[1, 2, 3]], "square"),
    ],
)
def test_bad_matrices(matrix, expect):
    with pytest.raises(ConfigError, match=expect):
        ahp_weights(matrix)


def _pv(matrix, allow=False):
    crit = [
        {"name": n, "layer": n, "transform": {"type": "linear", "x0": 0, "x1": 1}}
        for n in ("a", "b", "c")
    ]
    return PVConfig(
        criteria=crit,
        ahp={"criteria": ["a", "b", "c"], "matrix": matrix, "allow_inconsistent": allow},
    )


def test_inconsistent_matrix_refused_unless_overridden():
    # a > b (9), b > c (9) but c > a (9): wildly intransitive.
    bad = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]
    with pytest.raises(ConfigError, match="consistency ratio .* > 0.1"):
        weights_from_config(_pv(bad))
    w, r = weights_from_config(_pv(bad, allow=True))
    assert r.consistency_ratio > 0.1
    assert sum(w.values()) == pytest.approx(1)
