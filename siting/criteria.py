"""Criterion transforms to a 0-1 score and their weighted sum.

Each criterion maps a layer value (slope %, GHI kWh/m2/yr, distance m, ...) to a score in
[0, 1] with a declared function; the suitability of a cell is the weighted sum of its scores
(weights sum to 1), multiplied by the score factors of any soft exclusion rules that select it.

Inputs: NumPy arrays of layer values (NaN where the layer has no data) and transform settings
from :mod:`sxplan.siting.config`.
Outputs: float32 score arrays (NaN propagates).

Examples
--------
>>> import numpy as np
>>> from sxplan.siting.config import LinearTransform
>>> apply_transform(np.array([0.0, 5.0, 10.0, 20.0]),
...                 LinearTransform(type="linear", x0=10, x1=0)).tolist()
[1.0, 0.5, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .config import InverseDistanceTransform, LinearTransform, PiecewiseTransform

__all__ = ["apply_transform", "inverse_distance", "linear", "piecewise", "weighted_sum"]


def linear(x: np.ndarray, x0: float, x1: float) -> np.ndarray:
    """Score 0 at ``x0`` and 1 at ``x1``, linear between, clipped to [0, 1] outside.

    Parameters
    ----------
    x : numpy.ndarray
        Values in the layer's units.
    x0, x1 : float
        Values scoring 0 and 1 (``x1 < x0`` gives a decreasing score).

    Returns
    -------
    numpy.ndarray
        float32 scores; NaN where ``x`` is NaN.
    """
    # float64 arithmetic in place: the same operations in the same order as
    # (clip((x - x0) / (x1 - x0), 0, 1) + 0.0), with one temporary instead of four
    t = np.asarray(x).astype("float64")  # a float64 copy (exact), then in place
    t -= x0
    t /= x1 - x0
    np.clip(t, 0.0, 1.0, out=t)
    t += 0.0  # no -0.0
    return t.astype("float32")


def piecewise(x: np.ndarray, points) -> np.ndarray:
    """Piecewise-linear score through ``points`` ``[(x, score), ...]``, constant beyond the ends.

    Parameters
    ----------
    x : numpy.ndarray
        Values in the layer's units.
    points : sequence of (float, float)
        Breakpoints with strictly increasing x and scores in [0, 1].

    Returns
    -------
    numpy.ndarray
        float32 scores; NaN where ``x`` is NaN.
    """
    x = np.asarray(x, dtype="float64")
    xs = np.array([p[0] for p in points], dtype="float64")
    ys = np.array([p[1] for p in points], dtype="float64")
    out = np.interp(x, xs, ys)
    out[np.isnan(x)] = np.nan
    return out.astype("float32")


def inverse_distance(d_m: np.ndarray, half_value_m: float) -> np.ndarray:
    """Score ``h / (h + d)``: 1 at distance 0, 0.5 at ``half_value_m``, towards 0 far away.

    Parameters
    ----------
    d_m : numpy.ndarray
        Distances in metres (>= 0).
    half_value_m : float
        Distance at which the score is one half, metres.

    Returns
    -------
    numpy.ndarray
        float32 scores; NaN where ``d_m`` is NaN.
    """
    t = np.asarray(d_m).astype("float64")
    np.maximum(t, 0.0, out=t)
    t += half_value_m  # a + b == b + a in IEEE arithmetic: the same as h + max(d, 0)
    np.divide(half_value_m, t, out=t)
    return t.astype("float32")


def apply_transform(x: np.ndarray, transform) -> np.ndarray:
    """Apply a transform model from :mod:`sxplan.siting.config` to an array of values.

    Parameters
    ----------
    x : numpy.ndarray
        Values in the layer's units (NaN for no data).
    transform : LinearTransform, PiecewiseTransform or InverseDistanceTransform
        The declared function.

    Returns
    -------
    numpy.ndarray
        float32 scores in [0, 1].
    """
    if isinstance(transform, LinearTransform):
        return linear(x, transform.x0, transform.x1)
    if isinstance(transform, PiecewiseTransform):
        return piecewise(x, transform.points)
    if isinstance(transform, InverseDistanceTransform):
        return inverse_distance(x, transform.half_value_m)
    raise TypeError(f"unknown transform {transform!r}")


def weighted_sum(scores: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """Weighted sum of criterion scores; weights must sum to 1.

    Parameters
    ----------
    scores : mapping of str to numpy.ndarray
        Score arrays by criterion name, all the same shape.
    weights : mapping of str to float
        Weight by criterion name (same names as ``scores``).

    Returns
    -------
    numpy.ndarray
        float32 suitability in [0, 1]; NaN where any score is NaN.

    Examples
    --------
    >>> import numpy as np
    >>> weighted_sum({"a": np.array([1.0]), "b": np.array([0.0])}, {"a": 0.25, "b": 0.75})
    array([0.25], dtype=float32)
    """
    if set(scores) != set(weights):
        raise ValueError(f"scores {sorted(scores)} and weights {sorted(weights)} differ")
    total = float(sum(weights.values()))
    if not abs(total - 1.0) <= 1e-8 + 1e-5:  # np.isclose(total, 1.0), without its overhead
        raise ValueError(f"weights must sum to 1, got {total}")
    out = None
    for name, w in weights.items():
        # (s0 * w0) + (s1 * w1) + ... in float64, in weight order, accumulated in place
        term = np.asarray(scores[name]).astype("float64")
        term *= w
        if out is None:
            out = term
        else:
            out += term
    np.clip(out, 0.0, 1.0, out=out)
    return out.astype("float32")
