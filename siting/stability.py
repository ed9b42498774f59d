"""Rank stability of parcels when the criterion weights are uncertain.

Weights are drawn around the configured ones, parcels are rescored from their per-criterion
mean scores (no new raster pass), and each parcel's rank is recorded in every draw:

* direct weights ``w``: Dirichlet draws with parameters ``concentration * w`` (mean ``w``;
  larger concentration, tighter draws; criteria weighted 0 stay at 0);
* AHP matrices: every judgment above the diagonal moves at most one step along Saaty's scale
  (1/9 ... 1/2, 1, 2 ... 9; a uniform choice of one step down, none, one step up), its
  reciprocal follows, and only matrices with a consistency ratio under the configured limit
  (Saaty's 0.1) are kept; their principal eigenvectors are the weights.

A parcel's score under weights ``w'`` is ``f * sum_k w'_k m_k`` with ``m_k`` its mean score of
criterion ``k`` and ``f = score_mean / sum_k w_k m_k`` its mean soft-rule factor (exact when the
factor is constant over the parcel, as it is for a parcel under one soft rule or none).
Parcels themselves stay as drawn with the configured weights: the question is whether the
ranking of the parcels the plan shows would change, not where other parcels would appear.

Ties in a draw keep the configured order (stable sort), so ranks are a permutation and the
Spearman correlation with the configured ranking is ``1 - 6 sum d^2 / (n (n^2 - 1))``.

Inputs: the parcel table (``score_mean``, ``score_<criterion>``), the technology's weights or
AHP settings, the ``siting.stability`` settings.
Outputs: columns ``top_n_share``, ``rank_p05``, ``rank_p95``; a JSON-ready summary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .ahp import RANDOM_INDEX

__all__ = [
    "SAATY_SCALE",
    "add_rank_stability",
    "ahp_weight_draws",
    "dirichlet_weight_draws",
    "rank_stability",
]

#: Saaty's 1-9 scale and its reciprocals, in increasing order (17 values).
SAATY_SCALE = np.array([1 / v for v in range(9, 1, -1)] + list(range(1, 10)), dtype="float64")


def dirichlet_weight_draws(
    weights: np.ndarray, concentration: float, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Weight vectors drawn from ``Dirichlet(concentration * weights)``.

    Parameters
    ----------
    weights : numpy.ndarray
        Configured weights (sum 1).
    concentration : float
        Sum of the Dirichlet parameters (> 0); the variance of weight ``k`` is
        ``w_k (1 - w_k) / (concentration + 1)``.
    draws : int
        Number of draws.
    rng : numpy.random.Generator
        Seeded generator.

    Returns
    -------
    numpy.ndarray
        ``(draws, n)`` weights, each row summing to 1.
    """
    w = np.asarray(weights, dtype="float64")
    pos = w > 0
    out = np.zeros((draws, w.size))
    out[:, pos] = rng.dirichlet(concentration * w[pos], size=draws)
    return out


def ahp_weight_draws(
    matrix, max_cr: float, draws: int, rng: np.random.Generator, max_tries: int = 50
) -> tuple[np.ndarray, int]:
    """Weights of AHP matrices whose judgments move at most one Saaty step, CR under a limit.

    Parameters
    ----------
    matrix : array_like, shape (n, n)
        The configured reciprocal matrix.
    max_cr : float
        Largest consistency ratio kept (Saaty: 0.1).
    draws : int
        Weight vectors wanted.
    rng : numpy.random.Generator
        Seeded generator.
    max_tries : int
        Matrices tried per wanted draw before giving up with fewer.

    Returns
    -------
    weights : numpy.ndarray
        ``(k, n)`` weights (``k <= draws``), in matrix order.
    tried : int
        Matrices drawn to get them.
    """
    a = np.asarray(matrix, dtype="float64")
    n = a.shape[0]
    iu = np.triu_indices(n, 1)
    # position of each judgment on the scale (nearest, in log space)
    pos = np.abs(np.log(SAATY_SCALE)[None, :] - np.log(a[iu])[:, None]).argmin(axis=1)
    kept, tried, batch = [], 0, max(draws, 64)
    while sum(len(k) for k in kept) < draws and tried < max_tries * draws:
        step = rng.integers(-1, 2, size=(batch, pos.size))
        p = np.clip(pos[None, :] + step, 0, SAATY_SCALE.size - 1)
        m = np.ones((batch, n, n))
        m[:, iu[0], iu[1]] = SAATY_SCALE[p]
        m[:, iu[1], iu[0]] = 1.0 / SAATY_SCALE[p]
        vals, vecs = np.linalg.eig(m)
        k = np.argmax(vals.real, axis=1)
        lam = vals.real[np.arange(batch), k]
        w = np.abs(vecs.real[np.arange(batch), :, k])
        w /= w.sum(axis=1, keepdims=True)
        cr = (lam - n) / (n - 1) / RANDOM_INDEX[n] if n > 2 else np.zeros(batch)
        kept.append(w[cr < max_cr])
        tried += batch
    out = np.concatenate(kept)[:draws] if kept else np.zeros((0, n))
    return out, tried


#: Working memory of :func:`rank_stability` (bytes): the (parcels x draws) matrices are
#: processed in blocks of about this size (float64 scores, int64 sort order, int32 ranks).
RANK_BLOCK_BYTES = 64 * 2**20


class _RankStore:
    """The (n, d) int32 rank matrix, whole in memory or as one scratch file per column block."""

    def __init__(self, n: int, d: int, in_memory: bool) -> None:
        self.n, self.d, self.in_memory = n, d, in_memory
        self.blocks: list[tuple[int, int, object]] = []

    def __enter__(self):
        if self.in_memory:
            self.whole = np.empty((self.n, self.d), dtype="int32")
        else:
            import tempfile

            self._tmp = tempfile.TemporaryDirectory(prefix="sxplan-ranks-")
        return self

    def __exit__(self, *exc) -> None:
        if not self.in_memory:
            self._tmp.cleanup()

    def put(self, c0: int, ranks: np.ndarray) -> None:
        if self.in_memory:
            self.whole[:, c0 : c0 + ranks.shape[1]] = ranks
            return
        from pathlib import Path

        path = Path(self._tmp.name) / f"ranks_{c0}.i32"
        np.ascontiguousarray(ranks, dtype="int32").tofile(path)
        self.blocks.append((c0, ranks.shape[1], path))

    def rows(self, r0: int, r1: int) -> np.ndarray:
        if self.in_memory:
            return self.whole[r0:r1]
        out = np.empty((r1 - r0, self.d), dtype="int32")
        for c0, width, path in self.blocks:
            part = np.fromfile(path, dtype="int32", count=(r1 - r0) * width, offset=r0 * width * 4)
            out[:, c0 : c0 + width] = part.reshape(r1 - r0, width)
        return out


def _ranks(scores: np.ndarray) -> np.ndarray:
    """Rank (1 = best) of each row in each column; ties keep row order. int32 ``(n, d)``."""
    # each column sorted as one contiguous row of the transposed copy (the same stable sort
    # of the same values, several times faster than strided columns for many parcels)
    cols = np.ascontiguousarray(-scores.T)
    order = np.argsort(cols, axis=1, kind="stable")
    ranks = np.empty(cols.shape, dtype="int32")
    rows = np.arange(1, cols.shape[1] + 1, dtype="int32")[None, :]
    np.put_along_axis(ranks, order, np.broadcast_to(rows, cols.shape), axis=1)
    return ranks.T


def rank_stability(
    criterion_means: np.ndarray,
    score_mean: np.ndarray,
    weights: np.ndarray,
    weight_draws: np.ndarray,
    top_n: int,
) -> tuple[dict[str, np.ndarray], dict]:
    """Top-N share, 5-95% rank interval per parcel, and the Spearman correlation of rankings.

    Parameters
    ----------
    criterion_means : numpy.ndarray
        ``(n_parcels, n_criteria)`` mean criterion scores, parcels in their configured rank
        order (best first).
    score_mean : numpy.ndarray
        ``(n_parcels,)`` configured mean scores (soft factors included).
    weights : numpy.ndarray
        ``(n_criteria,)`` configured weights.
    weight_draws : numpy.ndarray
        ``(draws, n_criteria)`` drawn weights.
    top_n : int
        Size of the top group.

    Returns
    -------
    columns : dict of str to numpy.ndarray
        ``top_n_share``, ``rank_p05``, ``rank_p95`` per parcel.
    summary : dict
        ``draws``, ``top_n``, Spearman percentiles, parcels always/never/sometimes in the top N.
    """
    m = np.asarray(criterion_means, dtype="float64")
    n, d = m.shape[0], weight_draws.shape[0]
    base = m @ np.asarray(weights, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(base > 0, np.asarray(score_mean, dtype="float64") / base, 1.0)
    scaled = m * factor[:, None]
    top = min(top_n, n)
    base_rank = np.arange(1, n + 1)[:, None]
    # The (n, d) rank matrix grows with the number of parcels (a national run has hundreds of
    # thousands): draws are ranked in column blocks and, when the whole matrix would not fit
    # in RANK_BLOCK_BYTES, kept in scratch files and read back in row blocks for the
    # percentiles. Every column and every row is computed as in one block: same values.
    cols_per_block = max(1, min(d, RANK_BLOCK_BYTES // (24 * max(n, 1))))
    in_memory = n * d * 24 <= RANK_BLOCK_BYTES
    in_top = np.zeros(n, dtype="int64")
    sq = np.zeros(d, dtype="int64")
    with _RankStore(n, d, in_memory) as store:
        for c0 in range(0, d, cols_per_block):
            c1 = min(d, c0 + cols_per_block)
            ranks = _ranks(scaled @ weight_draws[c0:c1].T)  # (n, c1 - c0)
            in_top += (ranks <= top).sum(axis=1)
            sq[c0:c1] = ((ranks - base_rank) ** 2).sum(axis=0)
            store.put(c0, ranks)
        share = in_top / d if d else np.full(n, np.nan)
        p05, p95 = np.full(n, np.nan), np.full(n, np.nan)
        rows_per_block = max(1, RANK_BLOCK_BYTES // (24 * max(d, 1)))
        for r0 in range(0, n if d else 0, rows_per_block):
            r1 = min(n, r0 + rows_per_block)
            p05[r0:r1], p95[r0:r1] = np.percentile(store.rows(r0, r1), [5, 95], axis=1)
    rho = 1 - 6 * sq / (n * (n * n - 1.0)) if n > 1 else np.ones(d)
    cols = {"top_n_share": share, "rank_p05": p05, "rank_p95": p95}
    summary = {
        "draws": int(d),
        "top_n": int(top),
        "spearman_p05": _round(np.percentile(rho, 5)) if d else None,
        "spearman_median": _round(np.median(rho)) if d else None,
        "spearman_p95": _round(np.percentile(rho, 95)) if d else None,
        "top_n_always": int((share == 1).sum()),
        "top_n_sometimes": int(((share > 0) & (share < 1)).sum()),
        "configured_top_n_kept_share": _round(share[:top].mean()) if top and d else None,
    }
    return cols, summary


def _round(x) -> float:
    return round(float(x), 4)


def add_rank_stability(parcels, criteria: list[str], weights: dict, tech_cfg, cfg):
    """Add ``top_n_share``, ``rank_p05``, ``rank_p95`` to a ranked parcel table.

    Parameters
    ----------
    parcels : pandas.DataFrame
        Parcels in rank order with ``score_mean`` and ``score_<criterion>``.
    criteria : list of str
        Criterion names, in config order.
    weights : dict
        Configured normalised weights by criterion.
    tech_cfg : PVConfig or WindConfig
        The technology's settings (``ahp`` tells how weights are drawn).
    cfg : SitingConfig
        The ``siting:`` settings (``stability``, ``shortlist_top_n``).

    Returns
    -------
    parcels : pandas.DataFrame
        The same table with the three columns (unchanged when switched off or empty).
    summary : dict or None
        Settings and results for run.json and the console.
    """
    st = cfg.stability
    if st.draws == 0 or not criteria:
        return parcels, None
    if len(parcels) == 0:  # an empty result keeps every column of a full one
        out = parcels.copy()
        for name in ("top_n_share", "rank_p05", "rank_p95"):
            out[name] = pd.Series(dtype="float64")
        return out, None
    rng = np.random.default_rng(st.seed)
    w = np.array([weights[c] for c in criteria])
    if tech_cfg.ahp is not None:
        ahp = tech_cfg.ahp
        draws, tried = ahp_weight_draws(ahp.matrix, ahp.max_consistency_ratio, st.draws, rng)
        order = [ahp.criteria.index(c) for c in criteria]
        draws = draws[:, order]
        method = {"method": "ahp_one_saaty_step", "matrices_tried": int(tried),
                  "max_consistency_ratio": ahp.max_consistency_ratio}  # fmt: skip
    else:
        draws = dirichlet_weight_draws(w, st.concentration, st.draws, rng)
        method = {"method": "dirichlet", "concentration": st.concentration}
    means = parcels[[f"score_{c}" for c in criteria]].to_numpy(dtype="float64")
    cols, summary = rank_stability(
        means, parcels["score_mean"].to_numpy(), w, draws, st.top_n or cfg.shortlist_top_n
    )
    out = parcels.copy(deep=False)  # new columns on a view: the table is not copied whole
    for name, values in cols.items():
        out[name] = values
    summary = {**method, "seed": st.seed, **summary}
    summary["weight_sd"] = {c: _round(s) for c, s in zip(criteria, draws.std(axis=0),
                                                          strict=True)}  # fmt: skip
    return out, summary
