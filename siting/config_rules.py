"""Typed, closed models of exclusion rules, selectors, criteria and weights (``siting:``).

Part of the ``siting:`` configuration (:mod:`sxplan.siting.config` gathers it): which cells a
rule or zone selects, how a rule excludes or down-weights them, how a criterion turns a layer
into a 0-1 score, and weights by AHP matrix. Every model rejects unknown keys and suggests the
key most likely meant; units are part of field names.

Inputs: mappings (parsed YAML). Outputs: frozen pydantic models.

Examples
--------
>>> RangeSelector(type="range", layer="slope_pct", above=25).above
25.0
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from sxplan.layers.specs import StrictModel

__all__ = [
    "AHPConfig",
    "CategoricalRule",
    "CategoricalSelector",
    "Criterion",
    "InverseDistanceTransform",
    "LinearTransform",
    "PiecewiseTransform",
    "RangeRule",
    "RangeSelector",
    "Rule",
    "Selector",
    "Transform",
    "VectorRule",
    "VectorSelector",
]

Tech = Literal["pv", "wind", "agrivoltaic_pv", "pumped_storage"]
_NAME = r"^[a-z][a-z0-9_]*$"


class _Closed(StrictModel):
    """Base for every siting model: frozen, unknown keys refused with a suggestion."""


# --------------------------------------------------------------------------------------------
# Selectors: which cells a rule (or a rule's `within` zone) matches
# --------------------------------------------------------------------------------------------
class CategoricalSelector(_Closed):
    """Cells of a categorical raster whose value is one of ``codes`` or ``classes``.

    ``codes`` are raw values of the layer; ``classes`` are common land-cover class names
    (forest, shrub, grass, crop, built, water, wetland, barren) and need the layer to declare
    its class scheme (``layers.<name>.scheme``), through which codes map to classes. With
    ``buffer_m``
    the selection grows to every cell whose centre lies within that Euclidean distance of a
    matching cell's centre.
    """

    type: Literal["categorical"]
    layer: str
    codes: list[int] = Field(default_factory=list)
    classes: list[str] = Field(default_factory=list)
    buffer_m: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _some_codes(self):
        if not self.codes and not self.classes:
            raise ValueError(
                f"categorical selection on layer {self.layer!r} lists no `codes` and no "
                "`classes`; give e.g. `classes: [built]` or `codes: [13]`"
            )
        return self


class RangeSelector(_Closed):
    """Cells of a continuous raster with value ``< below`` or ``> above`` (units of the layer).

    Examples: ``{layer: slope_pct, above: 25}`` selects slopes steeper than 25 %;
    ``{layer: wind_proxy, below: 5.0}`` selects wind speeds under 5 m/s.
    """

    type: Literal["range"]
    layer: str
    below: float | None = None
    above: float | None = None

    @model_validator(mode="after")
    def _some_bound(self):
        if self.below is None and self.above is None:
            raise ValueError(
                f"range selection on layer {self.layer!r} needs `below:` and/or `above:` "
                "(cells with value < below or > above are selected)"
            )
        if self.below is not None and self.above is not None and self.above < self.below:
            raise ValueError(
                f"range selection on layer {self.layer!r}: above={self.above} < "
                f"below={self.below} selects every cell; did you swap them?"
            )
        return self


class VectorSelector(_Closed):
    """Cells whose centre lies within ``buffer_m`` metres of a feature of a vector layer.

    With ``buffer_m: 0`` polygons select cells whose centre is inside; lines and points select
    every cell they touch (``all_touched`` overrides either default).
    """

    type: Literal["vector"]
    layer: str
    buffer_m: float = Field(0.0, ge=0)
    all_touched: bool | None = None


Selector = Annotated[
    CategoricalSelector | RangeSelector | VectorSelector, Field(discriminator="type")
]


# --------------------------------------------------------------------------------------------
# Exclusion rules
# --------------------------------------------------------------------------------------------
class _RuleCommon(_Closed):
    name: str = Field(pattern=_NAME, description="Rule id (lower_snake_case), used in outputs.")
    label_zh: str | None = Field(None, description="Chinese label for tables and maps.")
    mode: Literal["hard", "soft", "preference"] = Field(
        "hard",
        description="hard: selected cells are excluded. soft: their score is multiplied by "
        "`score_factor`. preference: their score is multiplied by `score_multiplier` (capped "
        "at 1) and the hard rules named in `waives` do not apply to them (e.g. PV on mining "
        "and subsidence land, allowed on cropland there).",
    )
    score_factor: float | None = Field(
        None, ge=0.0, lt=1.0, description="Score multiplier for soft rules (0 <= f < 1)."
    )
    score_multiplier: float | None = Field(
        None, ge=1.0, description="Score multiplier for preference rules (>= 1; scores cap at 1)."
    )
    waives: list[str] = Field(
        default_factory=list,
        description="Preference rules: names of hard rules lifted inside the selected cells.",
    )
    technologies: list[Tech] = Field(default_factory=lambda: ["pv", "wind"])
    within: Selector | None = Field(
        None,
        description="Apply the rule only to cells inside this zone (as reV's `extent`).",
    )
    note: str | None = Field(None, description="Why the rule exists; its source.")

    @model_validator(mode="after")
    def _soft_needs_factor(self):
        if self.mode == "soft" and self.score_factor is None:
            raise ValueError(
                f"rule {self.name!r} is soft but has no `score_factor`; add e.g. "
                "`score_factor: 0.5` (the score of affected cells is multiplied by it)"
            )
        if self.mode == "hard" and self.score_factor is not None:
            raise ValueError(
                f"rule {self.name!r} is hard (cells are excluded) but sets `score_factor`; "
                "remove it or set `mode: soft`"
            )
        if self.mode == "preference":
            if self.score_factor is not None:
                raise ValueError(
                    f"rule {self.name!r} is a preference (raises scores); use "
                    "`score_multiplier:` (>= 1) instead of `score_factor`"
                )
            if self.score_multiplier is None and not self.waives:
                raise ValueError(
                    f"rule {self.name!r} is a preference but sets neither `score_multiplier:` "
                    "(e.g. 1.2) nor `waives:` (hard rules lifted in its cells, e.g. [cropland_pv])"
                )
        elif self.score_multiplier is not None or self.waives:
            raise ValueError(
                f"rule {self.name!r}: `score_multiplier` and `waives` belong to preference "
                "rules; set `mode: preference` or remove them"
            )
        if not self.technologies:
            raise ValueError(f"rule {self.name!r} applies to no technology; list pv and/or wind")
        return self


class CategoricalRule(_RuleCommon, CategoricalSelector):
    """Exclude cells of given codes or land-cover classes, optionally with a buffer in metres."""


class RangeRule(_RuleCommon, RangeSelector):
    """Exclude cells whose continuous value is below ``below`` or above ``above``."""


class VectorRule(_RuleCommon, VectorSelector):
    """Exclude cells within ``buffer_m`` of the features of a vector layer."""


Rule = Annotated[CategoricalRule | RangeRule | VectorRule, Field(discriminator="type")]


# --------------------------------------------------------------------------------------------
# Criteria and weights
# --------------------------------------------------------------------------------------------
class LinearTransform(_Closed):
    """0 at ``x0``, 1 at ``x1``, linear between and clipped outside (``x1 < x0`` decreases)."""

    type: Literal["linear"]
    x0: float
    x1: float

    @model_validator(mode="after")
    def _distinct(self):
        if self.x0 == self.x1:
            raise ValueError(f"linear transform needs x0 != x1, got both {self.x0}")
        return self


class PiecewiseTransform(_Closed):
    """Piecewise-linear through ``points`` ``[[x, score], ...]``, constant beyond the ends."""

    type: Literal["piecewise"]
    points: list[tuple[float, float]] = Field(min_length=2)

    @field_validator("points")
    @classmethod
    def _increasing(cls, points):
        xs = [p[0] for p in points]
        if any(b <= a for a, b in zip(xs, xs[1:], strict=False)):
            raise ValueError(f"piecewise points need strictly increasing x, got x = {xs}")
        bad = [p[1] for p in points if not 0.0 <= p[1] <= 1.0]
        if bad:
            raise ValueError(f"piecewise scores must lie in [0, 1], got {bad}")
        return points


class InverseDistanceTransform(_Closed):
    """Score ``h / (h + d)`` of a distance ``d`` in metres: 1 at 0 m, 0.5 at ``half_value_m``."""

    type: Literal["inverse_distance"]
    half_value_m: float = Field(gt=0)


Transform = Annotated[
    LinearTransform | PiecewiseTransform | InverseDistanceTransform,
    Field(discriminator="type"),
]


class Criterion(_Closed):
    """One scoring criterion: a raster layer (or a distance to a vector layer) and a transform.

    Exactly one of ``layer`` (a raster on the run grid) and ``distance_to`` (a vector layer;
    Euclidean distance in metres from each cell centre, capped at ``max_distance_m``).
    """

    name: str = Field(pattern=_NAME)
    layer: str | None = None
    distance_to: str | None = None
    max_distance_m: float = Field(
        30_000.0,
        gt=0,
        description="Cap for `distance_to` distances; sets the tile halo, keep it modest.",
    )
    transform: Transform

    @model_validator(mode="after")
    def _one_source(self):
        if (self.layer is None) == (self.distance_to is None):
            raise ValueError(
                f"criterion {self.name!r} needs exactly one of `layer:` (a raster) and "
                "`distance_to:` (a vector layer)"
            )
        if isinstance(self.transform, InverseDistanceTransform) and self.layer is not None:
            if not self.layer.endswith("_m"):
                raise ValueError(
                    f"criterion {self.name!r}: inverse_distance needs distances in metres; use "
                    "`distance_to: <vector layer>` or a raster layer whose name ends in `_m`"
                )
        return self


class AHPConfig(_Closed):
    """Weights from an AHP pairwise comparison matrix (Saaty 1-9 scale).

    ``matrix[i][j]`` says how much more important criterion ``i`` is than ``j``; the matrix
    must be positive and reciprocal. Weights are the principal eigenvector; a consistency
    ratio above ``max_consistency_ratio`` (Saaty's 0.1) is refused unless
    ``allow_inconsistent`` is true.
    """

    criteria: list[str] = Field(min_length=1)
    matrix: list[list[float]]
    max_consistency_ratio: float = Field(0.1, gt=0)
    allow_inconsistent: bool = False
