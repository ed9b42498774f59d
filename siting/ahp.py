"""Analytic Hierarchy Process: criterion weights from a pairwise comparison matrix.

Weights are the normalised principal (Perron) eigenvector of the reciprocal matrix; the
consistency index is ``CI = (lambda_max - n) / (n - 1)`` and the consistency ratio
``CR = CI / RI(n)`` with Saaty's random index ``RI``. Saaty's rule refuses matrices with
``CR > 0.1``.

Reference: T. L. Saaty, *The Analytic Hierarchy Process*, McGraw-Hill, 1980 (random index
table, p. 21); T. L. Saaty, "How to make a decision: the analytic hierarchy process",
European Journal of Operational Research 48 (1990) 9-26.

Inputs: a square positive reciprocal matrix (list of lists or array) and criterion names.
Outputs: :class:`AHPResult` with weights, lambda_max, CI and CR.

Examples
--------
>>> r = ahp_weights([[1, 3, 5], [1/3, 1, 3], [1/5, 1/3, 1]])
>>> [round(w, 3) for w in r.weights], round(r.consistency_ratio, 3)
([0.637, 0.258, 0.105], 0.033)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sxplan.errors import ConfigError

__all__ = ["RANDOM_INDEX", "AHPResult", "ahp_weights", "weights_from_config"]

#: Saaty's random consistency index RI(n) for n = 1..10 (Saaty 1980).
RANDOM_INDEX = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
}


@dataclass(frozen=True)
class AHPResult:
    """Weights and consistency of one AHP matrix.

    Attributes
    ----------
    weights : tuple of float
        Principal eigenvector normalised to sum 1, in matrix order.
    lambda_max : float
        Principal eigenvalue.
    consistency_index : float
        ``(lambda_max - n) / (n - 1)`` (0 for n <= 2).
    consistency_ratio : float
        ``CI / RI(n)`` (0 for n <= 2, where every reciprocal matrix is consistent).
    names : tuple of str
        Criterion names, if given.
    """

    weights: tuple[float, ...]
    lambda_max: float
    consistency_index: float
    consistency_ratio: float
    names: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, float]:
        """Weights keyed by criterion name."""
        return dict(zip(self.names, self.weights, strict=True))


def ahp_weights(matrix, names: Sequence[str] | None = None, *, tol: float = 1e-6) -> AHPResult:
    """Compute AHP weights and the consistency ratio of a pairwise comparison matrix.

    Parameters
    ----------
    matrix : array_like, shape (n, n)
        ``matrix[i][j]`` = importance of criterion i relative to j; positive, ones on the
        diagonal, ``matrix[j][i] == 1 / matrix[i][j]`` (to relative ``tol``).
    names : sequence of str, optional
        Criterion names, in matrix order.
    tol : float
        Relative tolerance of the reciprocal check (1/3 written as 0.333 passes at 1e-3).

    Returns
    -------
    AHPResult

    Raises
    ------
    ConfigError
        If the matrix is not square, not positive, not reciprocal, or n > 10 (no RI).
    """
    a = np.asarray(matrix, dtype="float64")
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
        raise ConfigError(f"AHP matrix must be square, got shape {a.shape}")
    n = a.shape[0]
    if names is not None and len(names) != n:
        raise ConfigError(f"AHP matrix is {n}x{n} but {len(names)} criteria are named")
    if n > max(RANDOM_INDEX):
        raise ConfigError(f"AHP with {n} criteria: Saaty's random index covers n <= 10")
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ConfigError("AHP matrix entries must be positive finite numbers (Saaty 1/9..9)")
    if not np.allclose(np.diag(a), 1.0, rtol=tol):
        raise ConfigError(f"AHP matrix diagonal must be 1, got {np.diag(a).tolist()}")
    bad = np.argwhere(~np.isclose(a * a.T, 1.0, rtol=max(tol, 1e-3)))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        label = (lambda k: names[k]) if names is not None else (lambda k: str(k))
        raise ConfigError(
            f"AHP matrix is not reciprocal: [{label(i)}][{label(j)}] = {a[i, j]} but "
            f"[{label(j)}][{label(i)}] = {a[j, i]}; it should be {1 / a[i, j]:.4g}"
        )
    if n <= 2:
        # Every 2x2 reciprocal matrix is consistent: w = (a12, 1) / (1 + a12).
        w = np.array([a[0, 1], 1.0])[:n] if n == 2 else np.array([1.0])
        w = w / w.sum()
        return AHPResult(tuple(w.tolist()), float(n), 0.0, 0.0, tuple(names or ()))
    vals, vecs = np.linalg.eig(a)
    k = int(np.argmax(vals.real))
    lam = float(vals[k].real)
    w = np.abs(vecs[:, k].real)
    w = w / w.sum()
    ci = (lam - n) / (n - 1)
    cr = ci / RANDOM_INDEX[n]
    return AHPResult(tuple(w.tolist()), lam, float(ci), float(cr), tuple(names or ()))


def weights_from_config(tech_cfg) -> tuple[dict[str, float], AHPResult | None]:
    """Normalised criterion weights of a technology's config, and the AHP result if used.

    Parameters
    ----------
    tech_cfg : siting.config.PVConfig or siting.config.WindConfig
        The technology's settings.

    Returns
    -------
    weights : dict
        Criterion name -> weight, summing to 1 (empty when there are no criteria).
    ahp : AHPResult or None

    Raises
    ------
    ConfigError
        If the AHP consistency ratio exceeds the limit and ``allow_inconsistent`` is false.
    """
    if not tech_cfg.criteria:
        return {}, None
    if tech_cfg.weights is not None:
        total = float(sum(tech_cfg.weights.values()))
        return {c.name: tech_cfg.weights[c.name] / total for c in tech_cfg.criteria}, None
    ahp = tech_cfg.ahp
    result = ahp_weights(ahp.matrix, ahp.criteria)
    if result.consistency_ratio > ahp.max_consistency_ratio and not ahp.allow_inconsistent:
        raise ConfigError(
            f"AHP matrix for criteria {ahp.criteria} has consistency ratio "
            f"{result.consistency_ratio:.3f} > {ahp.max_consistency_ratio} (Saaty's limit); "
            "revise the pairwise judgements, or set `allow_inconsistent: true` to accept it"
        )
    by_name = result.as_dict()
    return {c.name: by_name[c.name] for c in tech_cfg.criteria}, result
