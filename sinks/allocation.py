"""Allocate the province afforestation target (hectares) to counties.

Three strategies, each capped by a county's eligible land:

- ``proportional``: shares proportional to a weight (default the eligible land itself); a county
  whose share exceeds its cap is held at the cap and the excess is redistributed over the rest
  (cap-and-redistribute) until the target is met.
- ``equal_points``: every county gains the same number of percentage points of forest cover,
  ``gain_i = min(p x area_i, eligible_i)``, with ``p`` found exactly by water-filling over the
  sorted saturation points ``eligible_i / area_i``.
- ``priority``: counties in order of a suitability score (highest first) are filled to their
  cap until the target is met.

When the province's eligible land cannot hold the target, every county gets all its eligible
land, the result is marked infeasible and the shortfall is reported; nothing is trimmed silently.
When feasible, the allocation sums to the target (to rounding of a few 1e-9 ha).

Inputs: required hectares, per-county eligible hectares and areas or scores.
Outputs: :class:`Allocation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sxplan.errors import ConfigError

__all__ = [
    "STRATEGIES",
    "Allocation",
    "allocate",
    "allocate_equal_points",
    "allocate_priority",
    "allocate_proportional",
]

STRATEGIES = ("proportional", "equal_points", "priority")


@dataclass(frozen=True)
class Allocation:
    """Hectares allocated per county and whether the province target is met.

    Attributes
    ----------
    allocated_ha : numpy.ndarray
        Hectares allocated to each county (never above its eligible land).
    required_ha : float
        The province target in hectares.
    feasible : bool
        True when the allocation meets the target.
    shortfall_ha : float
        ``required_ha - allocated_ha.sum()`` when infeasible, else 0.
    strategy : str
        The strategy used.
    """

    allocated_ha: np.ndarray
    required_ha: float
    feasible: bool
    shortfall_ha: float
    strategy: str

    @property
    def allocated_total_ha(self) -> float:
        """Sum of the allocation in hectares."""
        return math.fsum(self.allocated_ha.tolist())


def _check(required_ha: float, eligible_ha) -> np.ndarray:
    eligible = np.asarray(eligible_ha, dtype="float64")
    if eligible.ndim != 1:
        raise ConfigError(f"eligible_ha must be one value per county, got shape {eligible.shape}")
    if not np.all(np.isfinite(eligible)) or np.any(eligible < 0):
        raise ConfigError("eligible_ha must be finite and >= 0 for every county")
    if not (math.isfinite(required_ha) and required_ha >= 0):
        raise ConfigError(f"required_ha must be a finite number >= 0, got {required_ha}")
    return eligible


def _infeasible(required_ha: float, eligible: np.ndarray, strategy: str) -> Allocation | None:
    total = math.fsum(eligible.tolist())
    if total < required_ha:
        return Allocation(eligible.copy(), required_ha, False, required_ha - total, strategy)
    return None


def _close_residual(alloc: np.ndarray, caps: np.ndarray, required_ha: float) -> np.ndarray:
    """Move the floating-point residual onto the counties with room, so the sum is the target."""
    for _ in range(3):
        residual = required_ha - math.fsum(alloc.tolist())
        if residual == 0:
            break
        if residual > 0:
            i = int(np.argmax(caps - alloc))
            alloc[i] = min(caps[i], alloc[i] + residual)
        else:
            i = int(np.argmax(alloc))
            alloc[i] = max(0.0, alloc[i] + residual)
    return alloc


def allocate_proportional(required_ha: float, eligible_ha, weights=None) -> Allocation:
    """Allocate proportionally to ``weights`` (default eligible land), capped by eligible land.

    Parameters
    ----------
    required_ha : float
        Province target, hectares.
    eligible_ha : array_like
        Eligible hectares per county (caps).
    weights : array_like, optional
        Non-negative weights; default ``eligible_ha``.

    Returns
    -------
    Allocation

    Examples
    --------
    >>> a = allocate_proportional(30.0, [10.0, 20.0, 30.0])
    >>> a.allocated_ha.tolist(), a.feasible
    ([5.0, 10.0, 15.0], True)
    """
    caps = _check(required_ha, eligible_ha)
    bad = _infeasible(required_ha, caps, "proportional")
    if bad is not None:
        return bad
    w = caps.copy() if weights is None else np.asarray(weights, dtype="float64")
    if w.shape != caps.shape or np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ConfigError("weights must be finite, >= 0 and one per county")
    w = np.where(caps > 0, w, 0.0)
    alloc = np.zeros_like(caps)
    active = (caps > 0) & (w > 0)
    remaining = required_ha
    while remaining > 0 and active.any():
        share = remaining * w / w[active].sum()
        over = active & (share >= caps)
        if not over.any():
            alloc[active] = share[active]
            remaining = 0.0
            break
        alloc[over] = caps[over]
        remaining = required_ha - math.fsum(alloc.tolist())
        active &= ~over
    if remaining > 0:
        # Weights were zero where land remains: fill the rest in proportion to the room left.
        room = caps - alloc
        alloc += remaining * room / room.sum()
    return Allocation(
        _close_residual(alloc, caps, required_ha), required_ha, True, 0.0, "proportional"
    )


def allocate_equal_points(required_ha: float, eligible_ha, area_ha) -> Allocation:
    """Allocate the same percentage-point gain to every county, capped by eligible land.

    Solves ``sum_i min(p x area_i, eligible_i) = required_ha`` for the common fraction ``p``
    exactly (water-filling over the sorted saturation points ``eligible_i / area_i``).

    Parameters
    ----------
    required_ha : float
        Province target, hectares.
    eligible_ha : array_like
        Eligible hectares per county.
    area_ha : array_like
        County areas in hectares (> 0).

    Returns
    -------
    Allocation

    Examples
    --------
    >>> a = allocate_equal_points(30.0, [1.0, 100.0], [100.0, 100.0])
    >>> a.allocated_ha.tolist()  # the first county saturates at 1 ha
    [1.0, 29.0]
    """
    caps = _check(required_ha, eligible_ha)
    area = np.asarray(area_ha, dtype="float64")
    if area.shape != caps.shape or np.any(~(area > 0)):
        raise ConfigError("area_ha must be > 0 and one per county for equal_points allocation")
    bad = _infeasible(required_ha, caps, "equal_points")
    if bad is not None:
        return bad
    saturation = caps / area
    order = np.argsort(saturation, kind="stable")
    saturated_ha = 0.0
    unsaturated_area = math.fsum(area.tolist())
    p = 0.0
    for i in order:
        p = (required_ha - saturated_ha) / unsaturated_area
        if p <= saturation[i]:
            break
        saturated_ha += caps[i]
        unsaturated_area -= area[i]
    alloc = np.minimum(p * area, caps)
    return Allocation(
        _close_residual(alloc, caps, required_ha), required_ha, True, 0.0, "equal_points"
    )


def allocate_priority(required_ha: float, eligible_ha, score) -> Allocation:
    """Fill counties to their eligible land in order of ``score`` (highest first).

    Ties are broken by larger eligible land, then by input order.

    Parameters
    ----------
    required_ha : float
        Province target, hectares.
    eligible_ha : array_like
        Eligible hectares per county.
    score : array_like
        Suitability score per county (NaN counties come last).

    Returns
    -------
    Allocation

    Examples
    --------
    >>> allocate_priority(15.0, [10.0, 10.0, 10.0], [0.1, 0.9, 0.5]).allocated_ha.tolist()
    [0.0, 10.0, 5.0]
    """
    caps = _check(required_ha, eligible_ha)
    s = np.asarray(score, dtype="float64")
    if s.shape != caps.shape:
        raise ConfigError("score must have one value per county")
    bad = _infeasible(required_ha, caps, "priority")
    if bad is not None:
        return bad
    key = np.where(np.isnan(s), -np.inf, s)
    order = np.lexsort((np.arange(caps.size), -caps, -key))
    alloc = np.zeros_like(caps)
    remaining = required_ha
    for i in order:
        if remaining <= 0:
            break
        take = min(caps[i], remaining)
        alloc[i] = take
        remaining -= take
    return Allocation(_close_residual(alloc, caps, required_ha), required_ha, True, 0.0, "priority")


def allocate(
    strategy: str, required_ha: float, eligible_ha, *, area_ha=None, score=None
) -> Allocation:
    """Dispatch to one allocation strategy by name.

    Parameters
    ----------
    strategy : {"proportional", "equal_points", "priority"}
        Which strategy.
    required_ha : float
        Province target, hectares.
    eligible_ha : array_like
        Eligible hectares per county.
    area_ha : array_like, optional
        County areas (``equal_points``).
    score : array_like, optional
        Suitability scores (``priority``).

    Returns
    -------
    Allocation
    """
    if strategy == "proportional":
        return allocate_proportional(required_ha, eligible_ha)
    if strategy == "equal_points":
        if area_ha is None:
            raise ConfigError("equal_points allocation needs area_ha")
        return allocate_equal_points(required_ha, eligible_ha, area_ha)
    if strategy == "priority":
        if score is None:
            raise ConfigError("priority allocation needs a score per county")
        return allocate_priority(required_ha, eligible_ha, score)
    raise ConfigError(f"allocation strategy {strategy!r} is not known; use one of {STRATEGIES}")
