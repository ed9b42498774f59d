"""Rank stability under weight draws: limits with known answers, AHP steps, seeds, speed."""

import time

import numpy as np
import pandas as pd
import pytest

from sxplan.siting.ahp import ahp_weights
from sxplan.siting.config import SitingConfig, WindConfig
from sxplan.siting.stability import (
    SAATY_SCALE,
    add_rank_stability,
    ahp_weight_draws,
    dirichlet_weight_draws,
    rank_stability,
)

W = np.array([0.6, 0.2, 0.2])
WD = {"a": 0.6, "b": 0.2, "c": 0.2}


def _parcels(n=200, seed=0):
    rng = np.random.default_rng(seed)
    m = rng.uniform(0.2, 0.9, (n, 3))
    score = m @ W
    order = np.argsort(-score, kind="stable")
    return m[order], score[order]


def test_huge_concentration_gives_shares_of_zero_or_one():
    m, s = _parcels()
    draws = dirichlet_weight_draws(W, 1e9, 300, np.random.default_rng(1))
    cols, summ = rank_stability(m, s, W, draws, top_n=20)
    assert set(np.unique(cols["top_n_share"])) == {0.0, 1.0}
    assert cols["top_n_share"][:20].tolist() == [1.0] * 20  # exactly the configured top 20
    assert summ["top_n_always"] == 20 and summ["top_n_sometimes"] == 0
    assert summ["spearman_median"] == pytest.approx(1.0)
    np.testing.assert_array_equal(cols["rank_p05"], np.arange(1, 201))


def test_a_dominant_parcel_stays_first_under_wide_draws():
    m, s = _parcels()
    m = np.vstack([[1.0, 1.0, 1.0], m])  # best on every criterion
    s = np.concatenate([[1.0], s])
    draws = dirichlet_weight_draws(W, 2.0, 1000, np.random.default_rng(2))
    cols, summ = rank_stability(m, s, W, draws, top_n=5)
    assert cols["top_n_share"][0] == 1.0
    assert cols["rank_p05"][0] == cols["rank_p95"][0] == 1
    assert summ["top_n_sometimes"] > 0  # the others do move
    assert summ["spearman_p05"] < summ["spearman_median"] < 1


def test_spearman_by_hand():
    # two parcels swap in the one draw: d = (1, -1), rho = 1 - 6 * 2 / (3 * 8) = 0.5
    m = np.array([[1.0, 0.0], [0.0, 0.9], [0.0, 0.0]])
    w = np.array([0.5, 0.5])
    cols, summ = rank_stability(m, m @ w, w, np.array([[0.1, 0.9]]), top_n=1)
    assert summ["spearman_median"] == pytest.approx(0.5)
    assert cols["top_n_share"].tolist() == [0.0, 1.0, 0.0]


def test_soft_factor_carries_through_rescoring():
    # parcel 1 lies under a soft rule (factor 0.5): criterion means give 1.0, its score 0.5,
    # so parcel 0 (0.6, no soft rule) stays first in a draw equal to the configured weights
    m = np.array([[0.6, 0.6], [1.0, 1.0]])
    w = np.array([0.5, 0.5])
    cols, _ = rank_stability(m, np.array([0.6, 0.5]), w, w[None], 1)
    assert cols["top_n_share"].tolist() == [1.0, 0.0]


def test_ahp_draws_move_one_saaty_step_and_keep_consistency():
    w, tried = ahp_weight_draws([[1, 2], [0.5, 1]], 0.1, 600, np.random.default_rng(0))
    # a12 = 2 moves to 1, 2 or 3: w1 = 1/2, 2/3 or 3/4, each about a third of the draws
    vals, counts = np.unique(np.round(w[:, 0], 6), return_counts=True)
    assert vals.tolist() == pytest.approx([0.5, 2 / 3, 0.75], abs=1e-6)
    assert counts.min() > 150
    a = [[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]]
    w3, tried = ahp_weight_draws(a, 0.1, 400, np.random.default_rng(0))
    assert len(w3) == 400 and tried >= 400
    # every kept vector is the eigenvector of a one-step matrix with CR < 0.1: check by search
    allowed = []
    for i, j, k in np.ndindex(3, 3, 3):
        mat = np.ones((3, 3))
        for (r, c), v, step in zip([(0, 1), (0, 2), (1, 2)], [3, 5, 3], [i, j, k], strict=True):
            p = int(np.argmin(np.abs(SAATY_SCALE - v))) + step - 1
            mat[r, c], mat[c, r] = SAATY_SCALE[p], 1 / SAATY_SCALE[p]
        res = ahp_weights(mat)
        if res.consistency_ratio < 0.1:
            allowed.append(res.weights)
    allowed = np.array(allowed)
    dist = np.abs(w3[:, None, :] - allowed[None, :, :]).max(axis=2).min(axis=1)
    assert dist.max() < 1e-9


def test_columns_are_reproducible_with_the_seed_and_fast():
    n = 5000
    m, s = _parcels(n)
    df = pd.DataFrame(m, columns=["score_a", "score_b", "score_c"]).assign(score_mean=s)
    cfg = SitingConfig.model_validate({"stability": {"draws": 1000, "seed": 7}})
    tcfg = WindConfig.model_validate(
        {
            "criteria": [
                {"name": x, "layer": x, "transform": {"type": "linear", "x0": 0, "x1": 1}}
                for x in "abc"
            ],
            "weights": {"a": 0.6, "b": 0.2, "c": 0.2},
        }
    )
    t0 = time.perf_counter()
    out1, summ1 = add_rank_stability(df, ["a", "b", "c"], WD, tcfg, cfg)
    assert time.perf_counter() - t0 < 10  # seconds for thousands of parcels x 1000 draws
    out2, summ2 = add_rank_stability(df, ["a", "b", "c"], WD, tcfg, cfg)
    pd.testing.assert_frame_equal(out1, out2)
    assert summ1 == summ2 and summ1["draws"] == 1000 and summ1["top_n"] == 50
    cfg3 = SitingConfig.model_validate({"stability": {"draws": 1000, "seed": 8}})
    out3, _ = add_rank_stability(df, ["a", "b", "c"], WD, tcfg, cfg3)
    assert not out1["top_n_share"].equals(out3["top_n_share"])
    off = SitingConfig.model_validate({"stability": {"draws": 0}})
    assert add_rank_stability(df, ["a", "b", "c"], WD, tcfg, off)[1] is None


def test_ranks_in_blocks_and_scratch_files_equal_the_whole_matrix(monkeypatch):
    """A national run has ~10^5 parcels x 1000 draws: the rank matrix is blocked (issue 17).

    The reference is the whole (parcels x draws) computation written out here; the function
    with a tiny block budget (column blocks of 3 draws, ranks in scratch files, row blocks of
    22 parcels) must give the same numbers bit for bit.
    """
    import sxplan.siting.stability as stability

    m, s = _parcels(n=300, seed=4)
    draws = dirichlet_weight_draws(W, 5.0, 40, np.random.default_rng(5))
    scores = (m * (s / (m @ W))[:, None]) @ draws.T
    order = np.argsort(-scores, axis=0, kind="stable")
    ranks = np.empty(scores.shape, dtype="int32")
    np.put_along_axis(ranks, order, np.arange(1, 301, dtype="int32")[:, None] + 0 * order, 0)
    want_share = (ranks <= 20).mean(axis=1)
    want_p05, want_p95 = np.percentile(ranks, [5, 95], axis=1)
    rho = 1 - 6 * ((ranks - np.arange(1, 301)[:, None]) ** 2).sum(axis=0) / (300 * (300**2 - 1.0))
    whole, summ_whole = rank_stability(m, s, W, draws, top_n=20)
    monkeypatch.setattr(stability, "RANK_BLOCK_BYTES", 24 * 300 * 3)
    cols, summ = rank_stability(m, s, W, draws, top_n=20)
    for c in (whole, cols):
        np.testing.assert_array_equal(c["top_n_share"], want_share)
        np.testing.assert_array_equal(c["rank_p05"], want_p05)
        np.testing.assert_array_equal(c["rank_p95"], want_p95)
    assert summ == summ_whole
    assert summ["spearman_median"] == round(float(np.median(rho)), 4)
