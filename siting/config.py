"""Typed, closed configuration of the siting stage (the ``siting:`` section of a project YAML).

Every model rejects unknown keys and suggests the key most likely meant ("unknown key
'buffer_meters'; did you mean 'buffer_m'?"). Units are part of field names. Defaults that are
assumptions carry their source in the field description.

Exclusion rules, selectors, criteria and AHP weights are defined in
:mod:`sxplan.siting.config_rules` (re-exported here); this module holds the technologies'
capacity and energy settings, the plan's targets and the section itself.

Inputs: a mapping (parsed YAML) or a path to a YAML file.
Outputs: a frozen :class:`SitingConfig`.

Examples
--------
>>> cfg = load_siting_config({"exclusions": [
...     {"name": "steep", "type": "range", "layer": "slope_pct", "above": 25}]})
>>> cfg.exclusions[0].above, cfg.pv.min_parcel_area_km2, cfg.wind.min_parcel_area_km2
(25.0, 0.5, 5.0)
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from sxplan.errors import ConfigError
from sxplan.layers.landcover import refuse_section_scheme
from sxplan.layers.specs import format_validation_error

from .config_rules import (
    AHPConfig,
    CategoricalRule,
    CategoricalSelector,
    Criterion,
    InverseDistanceTransform,
    LinearTransform,
    PiecewiseTransform,
    RangeRule,
    RangeSelector,
    Rule,
    Selector,
    VectorRule,
    VectorSelector,
    _Closed,
)
from .economics_config import EconomicsConfig

__all__ = [
    "AHPConfig",
    "AgrivoltaicConfig",
    "CategoricalRule",
    "CategoricalSelector",
    "CapacityConfig",
    "Criterion",
    "InverseDistanceTransform",
    "LinearTransform",
    "PVConfig",
    "PVEnergyConfig",
    "PiecewiseTransform",
    "PlanTargets",
    "RangeRule",
    "RangeSelector",
    "Rule",
    "Selector",
    "SitingConfig",
    "StabilityConfig",
    "TECHNOLOGIES",
    "VectorRule",
    "VectorSelector",
    "WindConfig",
    "WindEnergyConfig",
    "format_validation_error",
    "load_siting_config",
]

#: Technologies the siting engine knows.
TECHNOLOGIES = ("pv", "wind", "agrivoltaic_pv")


class CapacityConfig(_Closed):
    """Capacity = area x ``density_mw_per_km2`` x ``usable_share``."""

    density_mw_per_km2: float = Field(gt=0)
    usable_share: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Share of a parcel's area that carries plant; default 1 (no discount, as "
        "reV's technical potential). A planner's assumption: set it in the project YAML.",
    )


class PVEnergyConfig(_Closed):
    """PV energy from specific yield: GWh/yr = MW x kWh/kWp/yr / 1000 x (1 - extra_losses)."""

    yield_layer: str = Field("pv_yield", description="Raster of specific yield, kWh/kWp/yr.")
    extra_losses_share: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Losses not already in the yield layer (the demo yield already includes "
        "system losses).",
    )


class WindEnergyConfig(_Closed):
    """Wind energy from a turbine power curve over a Weibull speed distribution.

    The default GE130/3200 (3.2 MW, 130 m rotor, IEC IIIa per windpowerlib's oedb turbine
    library) is a low-wind-speed class turbine, the class installed on Shanxi's inland sites
    (mean speeds of roughly 5-7 m/s at hub height). ``weibull_k = 2`` is the Rayleigh
    distribution, the usual assumption when only a mean speed is known (IEC 61400-12-1
    annual energy production uses Rayleigh distributions).
    """

    speed_layer: str = Field("wind_proxy", description="Mean wind speed raster, m/s.")
    speed_height_m: float = Field(100.0, gt=0, description="Height of the speed layer, m.")
    turbine_type: str = Field("GE130/3200", description="windpowerlib oedb turbine type.")
    hub_height_m: float = Field(110.0, gt=0)
    shear_exponent: float = Field(
        1 / 7, ge=0, le=0.6, description="Power-law shear from speed height to hub height."
    )
    weibull_k: float = Field(2.0, gt=0, description="Weibull shape; 2 = Rayleigh.")
    losses_share: float = Field(
        0.15,
        ge=0,
        lt=1,
        description="Wake, availability and electrical losses; ~15 % total is the typical "
        "range in NREL's Annual Technology Baseline for land-based wind.",
    )


def _pv_capacity() -> CapacityConfig:
    return CapacityConfig(density_mw_per_km2=36.0)


def _wind_capacity() -> CapacityConfig:
    return CapacityConfig(density_mw_per_km2=3.0)


class _TechCommon(_Closed):
    enabled: bool = True
    criteria: list[Criterion] = Field(default_factory=list)
    weights: dict[str, float] | None = Field(
        None,
        description="Direct weights by criterion name; they must sum to 1 (within 0.01).",
    )
    ahp: AHPConfig | None = None
    score_threshold: float = Field(
        0.5, ge=0, le=1, description="Parcels hold eligible cells with score >= this."
    )
    connectivity: Literal[4, 8] = Field(
        8, description="Cell neighbourhood for connected parcels (4 = edges, 8 = + corners)."
    )
    max_parcel_area_km2: float = Field(
        50.0,
        gt=0,
        description="Regions larger than this are cut into square blocks of at most this "
        "area (slivers under the minimum join a neighbouring piece).",
    )
    resource_layer: str = Field(description="Layer reported as the parcel's mean resource.")

    @model_validator(mode="after")
    def _weights(self):
        names = [c.name for c in self.criteria]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"criterion names must be unique; repeated: {dup}")
        if not self.criteria:
            if self.weights or self.ahp:
                raise ValueError("weights or ahp given but no criteria")
            return self
        if (self.weights is None) == (self.ahp is None):
            raise ValueError(
                "give exactly one of `weights:` (direct) and `ahp:` (pairwise matrix) for "
                f"criteria {names}"
            )
        keys = list(self.weights) if self.weights is not None else list(self.ahp.criteria)
        missing = [n for n in names if n not in keys]
        extra = [k for k in keys if k not in names]
        if missing or extra:
            hint = ""
            for k in extra:
                close = difflib.get_close_matches(k, names, n=1)
                if close:
                    hint += f"; {k!r} -> did you mean {close[0]!r}?"
            raise ValueError(
                f"weights must name every criterion exactly once: missing {missing}, "
                f"unknown {extra}{hint}"
            )
        if self.weights is not None:
            bad = {k: v for k, v in self.weights.items() if not v >= 0}
            if bad or sum(self.weights.values()) <= 0:
                raise ValueError(f"weights must be >= 0 with a positive sum, got {self.weights}")
            total = sum(self.weights.values())
            if abs(total - 1) > 0.01:  # a silent rescale hides a typo (0.6 + 0.6 + 0.3)
                scaled = {k: round(v / total, 3) for k, v in self.weights.items()}
                raise ValueError(
                    f"weights sum to {total:g}, not 1; give weights that sum to 1, e.g. "
                    f"{scaled} (the same proportions), or use `ahp:` for pairwise judgements"
                )
        return self

    @model_validator(mode="after")
    def _sizes(self):
        if self.max_parcel_area_km2 < self.min_parcel_area_km2:
            raise ValueError(
                f"max_parcel_area_km2 ({self.max_parcel_area_km2}) is below "
                f"min_parcel_area_km2 ({self.min_parcel_area_km2})"
            )
        return self


class PVConfig(_TechCommon):
    """Utility-scale PV: criteria, weights, parcel sizes, capacity and energy.

    ``capacity.density_mw_per_km2`` defaults to 36 MWdc/km2, the physical PV power density
    quoted for NREL's reV supply curves in the project's issue 4; it is a plant-footprint
    density, so parcels' capacities are technical potential, not a forecast.
    """

    min_parcel_area_km2: float = Field(0.5, gt=0, description="Default 0.5 km2 (~18 MWdc).")
    max_parcel_area_km2: float = 20.0
    resource_layer: str = Field("ghi", description="GHI raster, kWh/m2/yr.")
    capacity: CapacityConfig = Field(default_factory=_pv_capacity)
    energy: PVEnergyConfig = Field(default_factory=PVEnergyConfig)


class WindConfig(_TechCommon):
    """Onshore wind: criteria, weights, parcel sizes, capacity and energy.

    ``capacity.density_mw_per_km2`` defaults to 3 MW/km2, the land-use power density of
    NREL's reV reference wind supply curves and PyPSA-Eur's `onwind: capacity_per_sqkm: 3`.
    """

    min_parcel_area_km2: float = Field(5.0, gt=0, description="Default 5 km2 (~15 MW).")
    max_parcel_area_km2: float = 100.0
    resource_layer: str = Field("wind_proxy", description="Mean wind speed raster, m/s.")
    capacity: CapacityConfig = Field(default_factory=_wind_capacity)
    energy: WindEnergyConfig = Field(default_factory=WindEnergyConfig)


def _cropland() -> CategoricalSelector:
    return CategoricalSelector(type="categorical", layer="landcover", classes=["crop"])


class AgrivoltaicConfig(PVConfig):
    """Agrivoltaic PV (农光互补): arrays raised over crops on cropland, with wide rows.

    Off by default. Its parcels may only lie on ``land`` (cropland) and never on cells utility
    PV's own hard rules leave eligible, so agrivoltaic and utility-PV parcels can never share a
    cell and the two are reported (and summed) without counting land twice. Its rules are the
    ``exclusions`` that list ``agrivoltaic_pv`` (usually red lines, water, settlements, slope),
    plus those two implicit rules (:mod:`sxplan.siting.tech_agrivoltaic_pv`).

    Density: arrays of the same tables as utility PV on rows ``row_spacing_m`` apart instead of
    ``reference_row_pitch_m`` hold ``utility_density_mw_per_km2 x reference_row_pitch_m /
    row_spacing_m`` (36 x 6 / 10 = 21.6 MW/km2 by default).
    """

    enabled: bool = False
    land: CategoricalSelector = Field(
        default_factory=_cropland,
        description="Cells agrivoltaics may use (default cropland of the landcover layer).",
    )
    min_panel_height_m: float = Field(
        2.5,
        gt=0,
        description="Lowest module edge above ground, m: >= 2.5 m in the Shandong "
        "and Tianjin rules (reference land_use_densities.csv, source D9, a secondary page).",
    )
    row_spacing_m: float = Field(
        10.0,
        gt=0,
        description="Distance between array rows, m: > 10 m in Shandong's rule "
        "(D9; Tianjin > 6.5 m, Zhejiang >= 7 m centre spacing).",
    )
    reference_row_pitch_m: float = Field(
        6.0,
        gt=0,
        description="Row pitch behind the utility-PV density, m (fixed tilt at "
        "Shanxi latitudes; unverified assumption).",
    )
    utility_density_mw_per_km2: float = Field(
        36.0,
        gt=0,
        description="Utility-PV density the agrivoltaic one is scaled from "
        "(the siting.pv default, reV's 36 MWdc/km2).",
    )
    crop_yield_share_kept: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Share of the crop yield kept under the arrays, reported "
        "per parcel (unverified: no rule with this value was read; set your province's).",
    )

    capacity: CapacityConfig | None = Field(
        None, description="Set to override the derived density (and to set a usable share)."
    )

    @property
    def density_mw_per_km2(self) -> float:
        """MW per km2: ``capacity.density_mw_per_km2``, else utility density x pitch / spacing."""
        if self.capacity is not None:
            return self.capacity.density_mw_per_km2
        return self.utility_density_mw_per_km2 * self.reference_row_pitch_m / self.row_spacing_m

    @property
    def usable_share(self) -> float:
        """Share of a parcel carrying arrays (``capacity.usable_share``, default 1)."""
        return self.capacity.usable_share if self.capacity is not None else 1.0


class PlanTargets(_Closed):
    """Province-wide wind+PV targets of the Shanxi Carbon Peak Implementation Plan (2023)."""

    wind_pv_gw_2025: float | None = Field(80.0, ge=0, description="About 80 GW by 2025.")
    wind_pv_gw_2030: float | None = Field(120.0, ge=0, description="About 120 GW by 2030.")
    source: str = (
        "山西省碳达峰实施方案 (2023): 风电光伏装机 2025 年约 8000 万千瓦, 2030 年约 1.2 亿千瓦"
    )


class StabilityConfig(_Closed):
    """Rank stability under uncertain weights (:mod:`sxplan.siting.stability`).

    Direct weights are drawn from a Dirichlet around the configured ones; AHP judgments move
    at most one Saaty step and only matrices under the AHP consistency limit are kept.
    """

    draws: int = Field(1000, ge=0, description="Weight draws per technology; 0 turns it off.")
    concentration: float = Field(
        100.0,
        gt=0,
        description="Dirichlet concentration for direct weights: sd of a weight w is "
        "sqrt(w (1 - w) / (concentration + 1)), 0.05 for w = 0.5 at 100 (planner's choice).",
    )
    seed: int = Field(0, description="Seed of the draws (same seed, same columns).")
    top_n: int | None = Field(
        None, ge=1, description="Size of the top group; default shortlist_top_n."
    )


class SitingConfig(_Closed):
    """The ``siting:`` section of a project YAML.

    The land-cover layer's class scheme (for ``classes:`` in rules and the parcels' land-cover
    shares) is declared on the layer, ``layers.<landcover_layer>.scheme``, not here.
    """

    @model_validator(mode="before")
    @classmethod
    def _scheme_lives_on_the_layer(cls, data):
        refuse_section_scheme("siting", data)
        return data

    landcover_layer: str = "landcover"
    slope_layer: str = Field("slope_pct", description="Reported as parcels' mean slope, %.")
    highways_layer: str | None = Field(
        "highways", description="Vector layer for parcels' distance to the nearest highway."
    )
    exclusions: list[Rule] = Field(default_factory=list)
    pv: PVConfig = Field(default_factory=PVConfig)
    wind: WindConfig = Field(default_factory=WindConfig)
    agrivoltaic_pv: AgrivoltaicConfig = Field(default_factory=AgrivoltaicConfig)
    bases_path: str | None = Field(
        None,
        description="Bases YAML/GeoJSON; default the shipped sxplan/data/shanxi/bases.yaml.",
    )
    installed_capacity_path: str | None = Field(
        None, description="Optional CSV: adcode, technology (pv|wind), capacity_mw."
    )
    targets: PlanTargets = Field(default_factory=PlanTargets)
    shortlist_top_n: int = Field(50, ge=1, description="Parcels per technology in shortlist.")
    stability: StabilityConfig = Field(default_factory=StabilityConfig)
    economics: EconomicsConfig | None = Field(
        None, description="Grid connection, LCOE and supply curves; none when absent."
    )
    shortlist_rank_by: Literal["score", "lcoe"] = Field(
        "score", description="Shortlist by suitability score or by LCOE (needs economics)."
    )
    criterion_rasters: bool = Field(
        True,
        description="Write criterion_<tech>_<name>.tif, each criterion's 0-1 score on the study "
        "area (QGIS checks; the backtest's per-criterion AUCs read them). false leaves them out: "
        "the parcels' crit_/score_ columns and every other output stay the same; a 30 m "
        "province (benchmarks/run.py) then writes 1.04 GB instead of 2.80 and takes 80-83 s "
        "instead of 101-105 (benchmarks/README.md, s43).",
    )

    @model_validator(mode="after")
    def _unique_rules(self):
        names = [r.name for r in self.exclusions]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"exclusion rule names must be unique; repeated: {dup}")
        hard = {r.name: r for r in self.exclusions if r.mode == "hard"}
        for r in self.exclusions:
            for w in r.waives:
                if w not in hard:
                    close = difflib.get_close_matches(w, list(hard), n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    raise ValueError(
                        f"preference rule {r.name!r} waives {w!r}, which is not a hard rule "
                        f"of `exclusions` (hard rules: {list(hard)}){hint}"
                    )
                if not set(r.technologies) & set(hard[w].technologies):
                    raise ValueError(
                        f"preference rule {r.name!r} waives {w!r} but they share no technology "
                        f"({r.technologies} vs {hard[w].technologies})"
                    )
        if len(names) > 250:
            raise ValueError(f"at most 250 exclusion rules, got {len(names)}")
        if self.shortlist_rank_by == "lcoe" and self.economics is None:
            raise ValueError("shortlist_rank_by: lcoe needs an `economics:` section")
        return self

    def technology(self, tech: str) -> PVConfig | WindConfig:
        """The settings of ``tech`` ("pv", "wind" or "agrivoltaic_pv")."""
        if tech not in TECHNOLOGIES:
            raise ConfigError(f"unknown technology {tech!r}; use one of {list(TECHNOLOGIES)}")
        return getattr(self, tech)

    def rules_for(self, tech: str) -> list:
        """Exclusion rules that apply to ``tech``, in config order."""
        return [r for r in self.exclusions if tech in r.technologies]


def load_siting_config(source: Mapping | str | Path | None, where: str | None = None):
    """Validate a ``siting:`` mapping (or a YAML file holding one) into a :class:`SitingConfig`.

    Parameters
    ----------
    source : mapping, str, Path or None
        The parsed section, or a path to a YAML file whose top level is the section or has a
        ``siting:`` key. ``None`` gives the defaults.
    where : str, optional
        Name of the file/section for messages.

    Returns
    -------
    SitingConfig

    Raises
    ------
    ConfigError
        With one line per problem, naming the field and the fix.
    """
    if source is None:
        source = {}
    if isinstance(source, str | Path):
        import yaml

        path = Path(source)
        where = where or str(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError as exc:
            raise ConfigError(f"siting config file {path} does not exist") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
        if isinstance(data, Mapping) and "siting" in data:
            data = data["siting"] or {}
        source = data
    if not isinstance(source, Mapping):
        raise ConfigError(f"{where or 'siting'}: expected a mapping, got {type(source).__name__}")
    try:
        return SitingConfig.model_validate(dict(source))
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, where or "siting")) from None
