"""Typed, closed configuration of grid connection, LCOE and supply curves (``siting.economics``).

Every default is a planning-level figure for China in CNY with its price year and source. The
values could not be checked against the cited publications while this was written, so each
carries ``unverified`` in its description: replace them with the project's own figures (the
provincial grid company's cost norms, a design institute's estimate) before quoting a result.

Inputs: the ``economics:`` mapping of the ``siting:`` section.
Outputs: a frozen :class:`EconomicsConfig`.

Examples
--------
>>> cfg = EconomicsConfig()
>>> cfg.discount_rate, cfg.pv.lifetime_yr, cfg.voltage_for(150.0).voltage_kv
(0.06, 25, 220.0)
>>> cfg.voltage_for(20.0).voltage_kv, cfg.voltage_for(20.1).voltage_kv
(35.0, 110.0)
>>> cfg.voltage_for(800.0).voltage_kv
500.0
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .config_rules import _Closed

__all__ = [
    "CostSensitivity",
    "EconomicsConfig",
    "FrictionConfig",
    "TechCosts",
    "VoltageClass",
]

_UNVERIFIED = "unverified (not checked against the source while written)"


class TechCosts(_Closed):
    """Plant costs of one technology, CNY of :attr:`EconomicsConfig.price_year`."""

    capex_cny_per_kw: float = Field(gt=0, description="Overnight plant cost, CNY per kW.")
    fixed_opex_cny_per_kw_yr: float = Field(ge=0, description="Fixed O&M, CNY per kW and year.")
    variable_opex_cny_per_mwh: float = Field(0.0, ge=0, description="Variable O&M, CNY/MWh.")
    lifetime_yr: int = Field(gt=0, le=60, description="Economic lifetime, years.")
    source: str = ""


def _pv_costs() -> TechCosts:
    return TechCosts(
        capex_cny_per_kw=3500.0,
        fixed_opex_cny_per_kw_yr=45.0,
        lifetime_yr=25,
        source="ground-mounted PV, China 2023: system capex about 3.4-3.6 CNY/W and O&M about "
        "0.045 CNY/W/yr (CPIA 中国光伏产业发展路线图 2023); lifetime 25 yr (module warranty); "
        + _UNVERIFIED,
    )


def _wind_costs() -> TechCosts:
    return TechCosts(
        capex_cny_per_kw=5000.0,
        fixed_opex_cny_per_kw_yr=100.0,
        lifetime_yr=20,
        source="onshore wind, China 2023: total installed cost about 4,500-5,500 CNY/kW "
        "(IRENA Renewable Power Generation Costs in 2023, China onshore wind); O&M about "
        "100 CNY/kW/yr; lifetime 20 yr (design life of turbines, GB/T 18451.1); " + _UNVERIFIED,
    )


def _roadside_costs() -> TechCosts:
    return TechCosts(
        capex_cny_per_kw=4000.0,
        fixed_opex_cny_per_kw_yr=60.0,
        lifetime_yr=25,
        source="roadside PV strips: utility PV cost plus about 15% for narrow strips, barriers "
        "and traffic management during works (planner's assumption, " + _UNVERIFIED + ")",
    )


class VoltageClass(_Closed):
    """One voltage class a parcel connects at, chosen by the parcel's capacity."""

    voltage_kv: float = Field(gt=0, description="Nominal voltage, kV.")
    max_parcel_mw: float | None = Field(
        None, gt=0, description="Parcels up to this capacity connect here; None = no upper limit."
    )
    line_cost_cny_per_km: float = Field(ge=0, description="New line, CNY per km (single circuit).")
    substation_cost_cny_per_kw: float = Field(
        ge=0, description="Bay / transformer extension at the substation, CNY per kW connected."
    )
    source: str = ""


def _default_classes() -> list[VoltageClass]:
    return [
        VoltageClass(
            voltage_kv=35,
            max_parcel_mw=20,
            line_cost_cny_per_km=300_000,
            substation_cost_cny_per_kw=100,
            source="35 kV overhead line about 0.25-0.4 million CNY/km; up to ~20 MW per 35 kV "
            "connection, to the 35 kV side of a 110/220 kV substation (planning practice); "
            + _UNVERIFIED,
        ),
        VoltageClass(
            voltage_kv=110,
            max_parcel_mw=100,
            line_cost_cny_per_km=500_000,
            substation_cost_cny_per_kw=120,
            source="110 kV single-circuit overhead line about 0.4-0.6 million CNY/km "
            "(国家电网 电网工程限额设计控制指标 2022); up to ~100 MW per 110 kV connection "
            "(planning practice); " + _UNVERIFIED,
        ),
        VoltageClass(
            voltage_kv=220,
            max_parcel_mw=300,
            line_cost_cny_per_km=800_000,
            substation_cost_cny_per_kw=150,
            source="220 kV single-circuit overhead line about 0.6-1.0 million CNY/km and bay "
            "extension (国家电网 电网工程限额设计控制指标 2022); up to ~300 MW per 220 kV "
            "connection (planning practice); " + _UNVERIFIED,
        ),
        VoltageClass(
            voltage_kv=500,
            max_parcel_mw=None,
            line_cost_cny_per_km=2_000_000,
            substation_cost_cny_per_kw=200,
            source="500 kV single-circuit overhead line about 1.5-2.5 million CNY/km "
            "(国家电网 电网工程限额设计控制指标 2022); " + _UNVERIFIED,
        ),
    ]


class FrictionConfig(_Closed):
    """Friction of the least-cost path: cost of one km of line relative to flat open land.

    A cell's friction is ``landcover[class] * (1 + slope_factor_per_pct * slope_pct)``; classes
    not listed count 1. Defaults are planner's assumptions (``unverified``): steep, wooded,
    built-up and wet ground costs more per km of line (longer spans, towers, way-leaves).
    """

    slope_factor_per_pct: float = Field(
        0.02, ge=0, description="Friction added per % of slope (30% slope -> x1.6)."
    )
    landcover: dict[str, float] = Field(
        default_factory=lambda: {
            "forest": 1.5,
            "shrub": 1.2,
            "grass": 1.0,
            "crop": 1.1,
            "barren": 1.0,
            "built": 3.0,
            "water": 5.0,
            "wetland": 3.0,
        },
        description="Multiplier per common land-cover class; planner's assumption, unverified.",
    )
    least_cost_cell_m: float = Field(
        1000.0, gt=0, description="Cell size of the least-cost search (coarser than the grid "
        "is aggregated by block mean)."
    )  # fmt: skip

    @model_validator(mode="after")
    def _classes_known(self):
        from sxplan.layers.landcover import COMMON_CLASSES

        bad = sorted(set(self.landcover) - set(COMMON_CLASSES))
        if bad:
            raise ValueError(
                f"friction.landcover: unknown classes {bad}; use common classes "
                f"{sorted(COMMON_CLASSES)}"
            )
        if any(v <= 0 for v in self.landcover.values()):
            raise ValueError("friction.landcover multipliers must be > 0")
        return self


class CostSensitivity(_Closed):
    """Low/high cases of the supply-curve figure (one factor moved at a time).

    Defaults (discount rate 4% and 8% around the base 6%, capex -20% and +20%) are a planner's
    choice of range (``unverified``).
    """

    discount_rate_low: float = Field(0.04, ge=0, lt=1)
    discount_rate_high: float = Field(0.08, ge=0, lt=1)
    capex_factor_low: float = Field(0.8, gt=0, description="Capex x this factor (-20%).")
    capex_factor_high: float = Field(1.2, gt=0, description="Capex x this factor (+20%).")


class EconomicsConfig(_Closed):
    """Grid connection, LCOE and supply curves (``siting.economics``).

    Substations come from a vector layer of points with a voltage field (kV) and, optionally,
    a spare-capacity field (MW); a parcel connects to the nearest substation at or above the
    voltage class its capacity needs (:attr:`voltage_classes`; a 220 kV substation has 110 and
    35 kV sides), nearest along a least-cost path over a friction surface
    (``distance: least_cost``) or in a straight line.
    """

    substations_layer: str = Field("substations", description="Vector layer of points.")
    voltage_field: str = Field("voltage_kv", description="Substation voltage, kV.")
    name_field: str | None = Field("name", description="Substation name field (optional).")
    spare_capacity_field: str | None = Field(
        "spare_mw",
        description="Spare capacity, MW; empty values mean unlimited; absent field = no limits.",
    )
    lines_layer: str | None = Field(
        None, description="Transmission lines layer (drawn on the map only)."
    )
    distance: Literal["least_cost", "straight"] = "least_cost"
    max_connection_km: float = Field(
        150.0, gt=0, description="Longest connection (friction-weighted km); farther = none."
    )
    friction: FrictionConfig = Field(default_factory=FrictionConfig)
    voltage_classes: list[VoltageClass] = Field(default_factory=_default_classes, min_length=1)
    price_year: int = Field(2023, description="Price year of every CNY figure.")
    discount_rate: float = Field(
        0.06, ge=0, lt=1, description="Real discount rate (planner's choice; 6% is common in "
        "Chinese renewable LCOE studies, " + _UNVERIFIED + ")."
    )  # fmt: skip
    sensitivity: CostSensitivity = Field(default_factory=CostSensitivity)
    pv: TechCosts = Field(default_factory=_pv_costs)
    wind: TechCosts = Field(default_factory=_wind_costs)
    roadside_pv: TechCosts = Field(default_factory=_roadside_costs)

    @model_validator(mode="after")
    def _classes_ordered(self):
        kv = [c.voltage_kv for c in self.voltage_classes]
        if kv != sorted(kv) or len(set(kv)) != len(kv):
            raise ValueError(f"voltage_classes must be in rising voltage order, got {kv}")
        limits = [c.max_parcel_mw for c in self.voltage_classes]
        if limits[-1] is not None:
            raise ValueError(
                "the last (highest) voltage class needs max_parcel_mw: null so every parcel "
                f"has a class; got {limits[-1]}"
            )
        if any(m is None for m in limits[:-1]):
            raise ValueError("only the last voltage class may have max_parcel_mw: null")
        if limits[:-1] != sorted(limits[:-1]):
            raise ValueError(f"max_parcel_mw must rise with voltage, got {limits}")
        return self

    def voltage_for(self, capacity_mw: float) -> VoltageClass:
        """The lowest voltage class whose ``max_parcel_mw`` admits ``capacity_mw``."""
        for c in self.voltage_classes:
            if c.max_parcel_mw is None or capacity_mw <= c.max_parcel_mw:
                return c
        return self.voltage_classes[-1]

    def costs(self, tech: str) -> TechCosts | None:
        """Plant costs of ``tech`` (``pv``, ``wind``, ``roadside_pv``); None for others."""
        value = getattr(self, tech, None)
        return value if isinstance(value, TechCosts) else None
