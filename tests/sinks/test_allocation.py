import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sxplan.sinks.allocation import (
    allocate,
    allocate_equal_points,
    allocate_priority,
    allocate_proportional,
)


def test_proportional_by_hand():
    a = allocate_proportional(30.0, [10.0, 20.0, 30.0])
    assert a.allocated_ha.tolist() == [5.0, 10.0, 15.0]
    assert a.feasible and a.shortfall_ha == 0


def test_proportional_cap_and_redistribute():
    # weights 1:1:2 of 40 ha -> 10, 10, 20; county 0 capped at 4 -> 36 left over weights 1:2
    a = allocate_proportional(40.0, [4.0, 100.0, 100.0], weights=[1.0, 1.0, 2.0])
    np.testing.assert_allclose(a.allocated_ha, [4.0, 12.0, 24.0])


def test_equal_points_by_hand():
    # areas 100 and 300 ha, target 40 ha -> p = 10 % each: 10 and 30 ha
    a = allocate_equal_points(40.0, [50.0, 50.0], [100.0, 300.0])
    np.testing.assert_allclose(a.allocated_ha, [10.0, 30.0])
    # first county can take only 2 ha -> p = 38/300 on the second
    a = allocate_equal_points(40.0, [2.0, 50.0], [100.0, 300.0])
    np.testing.assert_allclose(a.allocated_ha, [2.0, 38.0])


def test_priority_by_hand():
    a = allocate_priority(15.0, [10.0, 10.0, 10.0], [0.1, 0.9, 0.5])
    assert a.allocated_ha.tolist() == [0.0, 10.0, 5.0]


@pytest.mark.parametrize("strategy", ["proportional", "equal_points", "priority"])
def test_infeasible_reported_not_trimmed(strategy):
    a = allocate(strategy, 100.0, [10.0, 20.0], area_ha=[50.0, 50.0], score=[1.0, 2.0])
    assert not a.feasible
    assert a.shortfall_ha == pytest.approx(70.0)
    assert a.allocated_ha.tolist() == [10.0, 20.0]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0, 1e5), min_size=1, max_size=40),
    st.floats(0, 1),
    st.sampled_from(["proportional", "equal_points", "priority"]),
    st.randoms(use_true_random=False),
)
def test_sums_to_target_when_feasible(caps, frac, strategy, rnd):
    caps = np.array(caps)
    area = caps * 2 + np.array([rnd.uniform(1, 1e5) for _ in caps])
    score = np.array([rnd.random() for _ in caps])
    required = frac * math.fsum(caps.tolist())
    a = allocate(strategy, required, caps, area_ha=area, score=score)
    assert a.feasible
    assert abs(a.allocated_total_ha - required) <= 1e-6
    assert np.all(a.allocated_ha <= caps + 1e-9) and np.all(a.allocated_ha >= 0)
    if strategy == "equal_points":
        # unsaturated counties all gain the same fraction of their area
        unsat = a.allocated_ha < caps - 1e-6
        if unsat.sum() > 1:
            p = a.allocated_ha[unsat] / area[unsat]
            assert np.ptp(p) <= 1e-9 * max(1.0, p.max()) + 1e-9
