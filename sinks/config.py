"""Typed configuration of the sinks stage (the ``sinks:`` section of a project YAML).

Inputs: a mapping parsed from YAML. Outputs: a validated, closed :class:`SinksConfig`.

Class credits say how much of a land-cover cell counts as forest (``forest_credit``) and how
much of it may be planted (``eligible_credit``). Keys are source codes of the land-cover layer's
scheme (``class_basis: source``, e.g. IGBP ``8: 0.5`` for woody savannas) or common class names
(``class_basis: common``, e.g. ``forest: 1.0``). Cropland, built-up, water and wetland are never
eligible for afforestation; a credit naming them is refused.

The scheme is not set here: it is declared once, on the land-cover layer
(``layers.<landcover_layer>.scheme``). Checks that need it (source codes known to the scheme,
never-plantable classes) run in :meth:`SinksConfig.check_scheme`, which the project config calls
when it is loaded and the sinks stage calls with the aligned layer's scheme.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from sxplan.errors import ConfigError
from sxplan.layers.landcover import refuse_section_scheme
from sxplan.layers.specs import StrictModel

__all__ = ["ClimateLimit", "ClimateZones", "SinksConfig", "UrbanDistricts"]

#: Common classes that may never be planted (checked for both class bases).
NEVER_ELIGIBLE = ("crop", "built", "water", "wetland")


class ClimateLimit(StrictModel):
    """A raster on the run grid whose value must lie in ``[min_value, max_value]`` for trees.

    Cells where the layer has no data are not eligible (unknown climate is not assumed good).
    """

    layer: str = Field(description="name of an aligned raster, e.g. precip_mm_per_yr")
    min_value: float | None = None
    max_value: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> ClimateLimit:
        if self.min_value is None and self.max_value is None:
            raise ValueError(
                f"climate limit on layer '{self.layer}' has neither min_value nor max_value; "
                "set at least one, e.g. `min_value: 400` for annual rainfall in mm"
            )
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value > self.max_value
        ):
            raise ValueError(
                f"climate limit on '{self.layer}': min_value {self.min_value} > max_value "
                f"{self.max_value}; swap them"
            )
        return self


class ClimateZones(StrictModel):
    """Three planting zones from a precipitation (or aridity) raster: trees, shrubs only, none.

    A cell with ``value >= tree_min_value`` may take trees; ``shrub_min_value <= value <
    tree_min_value`` only shrubs (with the shrub growth and carbon factors); below
    ``shrub_min_value`` nothing is planted. Cells where the layer has no data are not planted.
    Defaults follow the rainfall zoning of 以水定绿 planning: under 200 mm no planting, 200-400 mm
    drought-tolerant shrubs and grass, trees from 400 mm (source and status: sinks/README.md).
    """

    layer: str = Field("precip_mm_per_yr", description="aligned raster, higher = wetter")
    tree_min_value: float = Field(400.0, description="e.g. annual precipitation in mm")
    shrub_min_value: float = Field(200.0, description="below this nothing is planted")

    @model_validator(mode="after")
    def _ordered(self) -> ClimateZones:
        if self.shrub_min_value > self.tree_min_value:
            raise ValueError(
                f"climate_zones on '{self.layer}': shrub_min_value {self.shrub_min_value} > "
                f"tree_min_value {self.tree_min_value}; the shrub zone lies below the tree zone"
            )
        return self


class UrbanDistricts(StrictModel):
    """Which counties count as urban districts (no unmapped forest, no new planting).

    A county is urban when its name ends with one of ``name_suffixes`` (市辖区 names end in 区)
    and, if ``min_builtup_share`` is set, its built-up land-cover share is at least that; or
    when its adcode is listed in ``adcodes``. Counties in ``not_adcodes`` are never urban.
    An official county table row with ``plantable_ha`` overrides the rule for that county.
    """

    name_suffixes: list[str] = Field(default_factory=lambda: ["区"])
    min_builtup_share: float | None = Field(
        0.05, ge=0, le=1, description="built-up share of the county for a 区 to count as urban"
    )
    adcodes: list[int] = Field(default_factory=list)
    not_adcodes: list[int] = Field(default_factory=list)


class SinksConfig(StrictModel):
    """Settings of the county forest-sink estimate (baseline, eligibility, allocation, sink).

    Units are in the field names. Every field has a default suitable for Shanxi with MODIS
    IGBP land cover, so ``SinksConfig()`` is a valid configuration. The land-cover scheme is
    read from the land-cover layer (``layers.<landcover_layer>.scheme``), not set here.
    """

    @model_validator(mode="before")
    @classmethod
    def _scheme_lives_on_the_layer(cls, data: Any) -> Any:
        refuse_section_scheme("sinks", data)
        return data

    # --- land cover (its class scheme is declared on the layer: layers.<name>.scheme) ----
    landcover_layer: str = "landcover"
    class_basis: Literal["source", "common"] = "source"
    # IGBP codes (class meanings recalled from the MCD12Q1 user guide, not re-read: unverified):
    # 1-5 forests, 6/7 closed/open shrubland,
    # 8 woody savanna (30-60 % tree cover), 9 savanna (10-30 %), 10 grassland, 16 barren.
    # The credits themselves are assumptions (unverified), not taken from a source; the demo
    # overrides eligible_credit (sxplan/data/shanxi.yaml, sinks/README.md "Other defaults").
    forest_credit: dict[int | str, float] = Field(
        default_factory=lambda: {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 1.0, 8: 0.5}
    )
    eligible_credit: dict[int | str, float] = Field(
        default_factory=lambda: {6: 1.0, 7: 1.0, 8: 0.5, 9: 1.0, 10: 1.0, 16: 1.0}
    )

    # --- where forest can grow ----------------------------------------------------------
    dem_layer: str | None = "dem"
    slope_layer: str | None = "slope_deg"
    max_slope_deg: float | None = Field(35.0, ge=0, le=90)
    min_elevation_m: float | None = None
    max_elevation_m: float | None = 2600.0
    climate_limits: list[ClimateLimit] = Field(default_factory=list)
    climate_zones: ClimateZones | None = Field(
        None, description="trees / shrubs only / none from a precipitation or aridity layer"
    )
    farmland_layer: str | None = Field(
        None,
        description="永久基本农田: a raster (value > 0) or polygon layer of permanent basic "
        "farmland; its cells are never planted (cropland classes are excluded anyway)",
    )
    built_margin_m: float = Field(
        0.0, ge=0, description="cells within this distance of built-up land are not planted"
    )
    reserved_min_value: float = Field(
        0.0,
        description="a cell of the reserved (renewables) raster with a value above this is "
        "kept for renewables and not planted",
    )

    # --- baseline and calibration -------------------------------------------------------
    baseline_year: int = 2020
    target_year: int = 2025
    target_gain_points: float = Field(2.5, gt=0, le=100)
    calibration: Literal["none", "replace", "rescale", "distribute"] = "distribute"
    deduct_calibrated_forest: bool = Field(
        True,
        description="forest the official figures add beyond the raster is taken off eligible "
        "land (it cannot be planted again)",
    )
    official_csv: Path | None = Field(
        None,
        description="CSV adcode,year,forest_cover_pct; default the packaged provincial figure",
    )
    province_adcode: int = 140000
    urban_districts: UrbanDistricts = Field(default_factory=UrbanDistricts)
    # 0.5 and the likelihood weights below are assumptions (unverified); the demo uses 0.8
    # (sinks/README.md, "Calibrated county cover")
    calibration_max_cell_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="distribute: at most this share of a cell's likely land becomes forest",
    )
    calibration_likelihood: dict[int | str, float] = Field(
        default_factory=lambda: {"forest": 1.0, "shrub": 1.0, "grass": 0.2, "barren": 0.0},
        description="distribute: weight of unmapped forest on the part of a cell not yet "
        "counted as forest, per common class name or source code of the layer's scheme "
        "(woody classes first; IGBP savannas are common 'grass')",
    )

    # --- allocation ---------------------------------------------------------------------
    allocation: Literal["proportional", "equal_points", "priority"] = "proportional"
    priority_score: str = Field(
        "eligible_share",
        description="'eligible_share' or the name of an aligned raster averaged over "
        "eligible land (higher = planted first)",
    )

    # --- sequestration ------------------------------------------------------------------
    planting_start_year: int = 2021
    planting_end_year: int = 2025
    trajectory_end_year: int = 2060
    report_years: list[int] = Field(default_factory=lambda: [2025, 2030, 2060])
    forest_mix: dict[Literal["broadleaf", "conifer"], float] = Field(
        default_factory=lambda: {"broadleaf": 0.4, "conifer": 0.6}
    )
    ecological_zone: Literal["temperate_continental", "temperate_mountain", "by_elevation"] = (
        "by_elevation"
    )
    mountain_min_elevation_m: float = Field(
        800.0, description="FAO GEZ temperate mountain systems: above about 800 m"
    )
    parameter_table: Path | None = Field(None, description="default sinks/data/ipcc_tier1.csv")
    existing_forest_mix: dict[Literal["broadleaf", "conifer"], float] = Field(
        default_factory=lambda: {"broadleaf": 0.5, "conifer": 0.5},
        description="type shares of existing forest (growth and BCEFs of the stock estimate)",
    )
    stock_m3_per_ha: float = Field(
        34.49,
        gt=0,
        description="growing stock of existing forest: 9739.12万m3 on 4236万亩 (8th inventory, "
        "F5), derived",
    )
    stock_targets_m3: dict[int, float] = Field(
        default_factory=lambda: {2025: 1.69e8, 2035: 1.95e8},
        description="province forest growing-stock targets (林长制 opinion 2020, F10)",
    )
    grid_emission_factor_tco2_per_mwh: float = Field(
        0.5366,
        ge=0,
        description="tCO2 avoided per MWh of wind/PV: national average electricity CO2 factor "
        "0.5366 kgCO2/kWh (unverified secondary source, sinks/README.md)",
    )
    monte_carlo_draws: int = Field(2000, ge=100, le=100_000)
    seed: int = 20250101

    @field_validator("forest_credit", "eligible_credit")
    @classmethod
    def _fractions(cls, v: dict) -> dict:
        for key, credit in v.items():
            if not 0.0 <= float(credit) <= 1.0:
                raise ValueError(
                    f"credit for class {key!r} is {credit}; credits are fractions of a cell "
                    "between 0 and 1"
                )
        return v

    @field_validator("calibration_likelihood")
    @classmethod
    def _likelihood_classes(cls, v: dict) -> dict:
        from sxplan.layers.landcover import COMMON_CLASSES

        for key, w in v.items():
            if isinstance(key, int):
                if not 0 <= w <= 1:
                    raise ValueError(f"calibration_likelihood: weight of code {key} must be 0-1")
                continue  # source codes are checked against the scheme in check_scheme
            if key not in COMMON_CLASSES:
                raise ValueError(
                    f"calibration_likelihood: {key!r} is not a common class; use names from "
                    f"{sorted(COMMON_CLASSES)}"
                )
            if key in NEVER_ELIGIBLE and w > 0:
                raise ValueError(
                    f"calibration_likelihood: {key!r} land never holds unmapped forest "
                    "(built-up, cropland, water and wetland); set it to 0 or remove it"
                )
            if not 0 <= w <= 1:
                raise ValueError(f"calibration_likelihood: weight of {key!r} must be 0-1")
        return v

    @field_validator("forest_mix", "existing_forest_mix")
    @classmethod
    def _mix_sums_to_one(cls, v: dict) -> dict:
        total = sum(v.values())
        if abs(total - 1.0) > 1e-9 or any(x < 0 for x in v.values()):
            raise ValueError(
                f"forest_mix shares must be >= 0 and sum to 1, got {dict(v)} (sum {total}); "
                "e.g. `forest_mix: {broadleaf: 0.4, conifer: 0.6}`"
            )
        return v

    @model_validator(mode="after")
    def _years_and_classes(self) -> SinksConfig:
        if not self.baseline_year < self.target_year:
            raise ValueError(
                f"target_year {self.target_year} must be after baseline_year {self.baseline_year}"
            )
        if not self.planting_start_year <= self.planting_end_year <= self.trajectory_end_year:
            raise ValueError(
                "need planting_start_year <= planting_end_year <= trajectory_end_year, got "
                f"{self.planting_start_year}, {self.planting_end_year}, "
                f"{self.trajectory_end_year}"
            )
        for y in self.report_years:
            if not self.planting_start_year <= y <= self.trajectory_end_year:
                raise ValueError(
                    f"report year {y} is outside the trajectory {self.planting_start_year}-"
                    f"{self.trajectory_end_year}; extend trajectory_end_year or drop it"
                )
        if self.class_basis == "common":
            from sxplan.layers.landcover import COMMON_CLASSES

            for field in ("forest_credit", "eligible_credit"):
                for key in getattr(self, field):
                    if key not in COMMON_CLASSES:
                        raise ValueError(
                            f"{field}: {key!r} is not a common class; with class_basis: common "
                            f"use names from {sorted(COMMON_CLASSES)}"
                        )
        else:
            for field in ("forest_credit", "eligible_credit"):
                for key in getattr(self, field):
                    if not isinstance(key, int):
                        raise ValueError(
                            f"{field}: {key!r} is not an integer source code; with class_basis: "
                            "source use the codes of the land-cover scheme, e.g. `8: 0.5`, or "
                            "set class_basis: common"
                        )
        _check_class_credits(self, None)
        return self

    def check_scheme(self, scheme: str, *, where: str = "sinks") -> None:
        """Check the class credits against the land-cover layer's scheme.

        Parameters
        ----------
        scheme : str
            The land-cover layer's scheme (``AlignedLayer.scheme`` or the layer spec's).
        where : str
            Prefix for messages (the config file and section).

        Raises
        ------
        ConfigError
            A source code the scheme does not define, or credit on never-plantable land.

        Examples
        --------
        >>> SinksConfig().check_scheme("igbp")
        >>> SinksConfig(eligible_credit={12: 1.0}).check_scheme("igbp")
        Traceback (most recent call last):
        ...
        sxplan.errors.ConfigError: sinks.eligible_credit: class 12 is crop land, ...
        """
        try:
            _check_class_credits(self, scheme)
        except ValueError as exc:
            raise ConfigError(
                f"{where}.{exc} (the land-cover layer '{self.landcover_layer}' declares "
                f"`scheme: {scheme}` in `layers.{self.landcover_layer}`)"
            ) from None


def _check_class_credits(cfg: SinksConfig, scheme_name: str | None) -> None:
    """Refuse eligible credit on never-plantable classes and forest + eligible above 1.

    With ``scheme_name`` None (config time, before the layer is known) source codes are not
    looked up; :meth:`SinksConfig.check_scheme` repeats the check with the layer's scheme.
    """
    from sxplan.layers.landcover import COMMON_CLASSES, SCHEMES

    names = {code: name for name, code in COMMON_CLASSES.items()}
    scheme = SCHEMES[scheme_name] if scheme_name is not None else None
    source = cfg.class_basis == "source"
    for key, credit in cfg.eligible_credit.items():
        if credit == 0:
            continue
        if not source:
            common = key
        elif scheme is None:
            continue
        else:
            if key not in scheme:
                raise ValueError(
                    f"eligible_credit: code {key} is not in the '{scheme_name}' scheme "
                    f"(known: {sorted(scheme)})"
                )
            common = names[scheme[key][0]]
        if common in NEVER_ELIGIBLE:
            raise ValueError(
                f"eligible_credit: class {key!r} is {common} land, which is never planted "
                f"(cropland, built-up, water and wetland are excluded); remove it"
            )
    for key, w in cfg.calibration_likelihood.items():
        if not isinstance(key, int) or scheme is None or w == 0:
            continue
        if key not in scheme:
            raise ValueError(
                f"calibration_likelihood: code {key} is not in the '{scheme_name}' scheme "
                f"(known: {sorted(scheme)})"
            )
        if names[scheme[key][0]] in NEVER_ELIGIBLE:
            raise ValueError(
                f"calibration_likelihood: class {key} is {names[scheme[key][0]]} land, which "
                "never holds unmapped forest (built-up, cropland, water, wetland); set it to 0"
            )
    for key, credit in cfg.forest_credit.items():
        if source and scheme is not None and key not in scheme:
            raise ValueError(
                f"forest_credit: code {key} is not in the '{scheme_name}' scheme "
                f"(known: {sorted(scheme)})"
            )
        both = credit + cfg.eligible_credit.get(key, 0.0)
        if both > 1.0 + 1e-9:
            raise ValueError(
                f"class {key!r}: forest_credit {credit} + eligible_credit "
                f"{cfg.eligible_credit[key]} = {both} exceeds one cell; lower one of them"
            )
