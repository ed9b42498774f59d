"""Typed, closed settings of roadside PV (the ``roadside_pv:`` section of a project YAML).

Every length is in metres, every angle in degrees, densities in MW per km2 of panel area; the
model and the sources of the defaults are described in :mod:`sxplan.siting.roadside`.

Inputs: a mapping (parsed YAML). Outputs: a frozen :class:`RoadsidePVConfig`.

Examples
--------
>>> RoadsidePVConfig(segment_length_m=500).strip_width_m
10.0
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sxplan.layers.specs import StrictModel
from sxplan.schema import COUNTY_COLUMNS as SCHEMA_COUNTY_COLUMNS

__all__ = ["COUNTY_COLUMNS", "RoadsidePVConfig", "RoadsideScoreWeights"]

#: County attributes carried by every output row (the run-folder contract).
COUNTY_COLUMNS = list(SCHEMA_COUNTY_COLUMNS)  # the standard county columns, as a list


class RoadsideScoreWeights(StrictModel):
    """Weights of the score components (normalised over the components present)."""

    orientation: float = Field(0.4, ge=0)
    shading: float = Field(0.2, ge=0)
    resource: float = Field(0.25, ge=0)
    grid: float = Field(0.15, ge=0)


class RoadsidePVConfig(StrictModel):
    """The ``roadside_pv:`` section of a project config.

    Every length is in metres, every angle in degrees, densities in MW per km2 of panel area.
    See the module docstring for the model and the sources of the defaults.
    """

    road_classes: list[str] = Field(default_factory=lambda: ["motorway", "trunk"])
    class_fields: list[str] = Field(default_factory=lambda: ["class", "highway", "fclass"])
    segment_length_m: float = Field(1000.0, gt=0)
    offset_m: float = Field(15.0, ge=0)
    strip_width_m: float = Field(10.0, gt=0)
    oneway_outer_side_only: bool = True
    density_mw_per_km2: float = Field(150.0, gt=0)
    usable_share: float = Field(0.7, gt=0, le=1)
    min_strip_length_m: float = Field(100.0, ge=0)
    sample_spacing_m: float = Field(100.0, gt=0)
    flat_max_cross_slope_deg: float = Field(3.0, ge=0, lt=90)
    flat_facing: Literal["toward_road", "south"] = "toward_road"
    flat_panel_tilt_deg: float = Field(25.0, ge=0, le=90)
    slope_panel_tilt_deg: float | None = Field(None, ge=0, le=90)
    min_panel_tilt_deg: float = Field(5.0, ge=0, le=90)
    max_panel_tilt_deg: float = Field(40.0, ge=0, le=90)
    horizon_distance_m: float = Field(1000.0, ge=0)
    albedo: float = Field(0.2, ge=0, le=1)
    transposition: Literal["perez", "haydavies"] = "perez"
    performance_ratio: float = Field(0.80, gt=0, le=1)
    pv_yield_reference_tilt_deg: float | None = Field(None, ge=0, le=90)
    pv_yield_reference_azimuth_deg: float = Field(180.0, ge=0, lt=360)
    dem_layer: str = "dem"
    ghi_layer: str = "ghi"
    pv_yield_layer: str | None = "pv_yield"
    landcover_layer: str | None = "landcover"  # its class scheme: layers.<name>.scheme
    excluded_landcover: list[str] = Field(default_factory=lambda: ["built", "water"])
    exclusion_layers: list[str] = Field(default_factory=lambda: ["redline_proxy", "water"])
    grid_points_layer: str | None = None
    grid_max_distance_km: float = Field(20.0, gt=0)
    ghi_score_range_kwh_m2_yr: tuple[float, float] = (1200.0, 1700.0)
    score_weights: RoadsideScoreWeights = Field(default_factory=RoadsideScoreWeights)
    shortlist_min_score: float = Field(0.5, ge=0, le=1)
    shortlist_min_capacity_mw: float = Field(0.5, ge=0)
    shortlist_max_rows: int = Field(200, ge=0)
    target_mw: float | None = Field(None, gt=0)
    target_year: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _scheme_lives_on_the_layer(cls, data):
        from sxplan.layers.landcover import refuse_section_scheme

        refuse_section_scheme("roadside_pv", data)
        return data

    @model_validator(mode="after")
    def _check(self) -> RoadsidePVConfig:
        lo, hi = self.ghi_score_range_kwh_m2_yr
        if not hi > lo:
            raise ValueError(
                f"ghi_score_range_kwh_m2_yr must be (low, high) with high > low, got {(lo, hi)}"
            )
        if self.min_panel_tilt_deg > self.max_panel_tilt_deg:
            raise ValueError(
                f"min_panel_tilt_deg ({self.min_panel_tilt_deg}) exceeds max_panel_tilt_deg "
                f"({self.max_panel_tilt_deg})"
            )
        from sxplan.layers.landcover import COMMON_CLASSES

        bad = [c for c in self.excluded_landcover if c not in COMMON_CLASSES]
        if bad:
            raise ValueError(
                f"excluded_landcover names {bad}, which are not common classes; use names from "
                f"{list(COMMON_CLASSES)}"
            )
        return self
