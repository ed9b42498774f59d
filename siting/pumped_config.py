"""Typed, closed settings of the pumped-storage search (the ``pumped_storage:`` section).

The search follows the method of the ANU RE100 group's global closed-loop pumped hydro atlas
(Stocks, Stocks, Lu, Cheng, Blakers 2021, "Global Atlas of Closed-Loop Pumped Hydro Energy
Storage", Joule 5(1): 270-284; Lu et al. 2018, "Geographic information system algorithms to
locate prospective sites for pumped hydro energy storage", Applied Energy 222: 300-312): dam
sites on streams at contour steps, reservoirs from the DEM behind walls of several heights,
pairs by head and slope, water-to-rock ratio, energy ``rho g h V eta``. The parameter names
mirror the ones of the group's open-source search code (``min_head``, ``max_head``,
``min_slope``, ``min_pair_water_rock``, ``dambatter``, ``cwidth``, ``freeboard``,
``usable_volume``, ``generation_efficiency``); their default *values* were not read in this
project and are planner's choices here, labelled ``unverified`` where they are.

Inputs: a mapping (parsed YAML). Outputs: a frozen :class:`PumpedStorageConfig`.

Examples
--------
>>> cfg = PumpedStorageConfig()
>>> cfg.min_head_m, cfg.max_head_m, cfg.cycle_hours
(200.0, 800.0, 6.0)
"""

from __future__ import annotations

from pydantic import Field, model_validator

from .config_rules import _Closed

__all__ = ["PumpedStorageConfig"]


class PumpedStorageConfig(_Closed):
    """Reservoir pairs for closed-loop pumped hydro from the DEM (``pumped_storage:``).

    Exclusion rules come from ``siting.exclusions``: every rule whose ``technologies`` lists
    ``pumped_storage`` removes the reservoirs (water and dam wall) touching its cells.
    """

    enabled: bool = True
    dem_layer: str = Field("dem", description="DEM raster, m above sea level.")
    min_head_m: float = Field(
        200.0,
        gt=0,
        description="Least head (upper minus lower dam-site "
        "elevation), m; 200-800 m as the plan's examples (issue 19).",
    )
    max_head_m: float = Field(800.0, gt=0, description="Greatest head, m.")
    max_distance_km: float = Field(
        10.0, gt=0, description="Greatest horizontal distance between the two dam sites, km."
    )
    max_distance_to_head: float = Field(
        15.0,
        gt=0,
        description="Greatest ratio of horizontal distance to head (1/slope); the atlas's "
        "`min_slope` as its inverse. 15 is a planner's choice (unverified).",
    )
    dam_wall_heights_m: list[float] = Field(
        default_factory=lambda: [10.0, 20.0, 40.0, 60.0, 80.0, 100.0],
        min_length=1,
        description="Wall heights tried at every dam site, m (the atlas's `dam_wall_heights`).",
    )
    contour_interval_m: float = Field(
        20.0,
        gt=0,
        description="Dam sites are stream cells where the elevation crosses a "
        "multiple of this, m (the atlas's `contour_height`).",
    )
    min_watershed_km2: float = Field(
        10.0,
        gt=0,
        description="Least catchment of a stream cell, km2 (`min_watershed_area`; 10 km2 is a "
        "planner's choice that keeps the search of a 1 km province under a minute, unverified).",
    )
    min_reservoir_volume_gl: float = Field(
        1.0, gt=0, description="Least water volume of a reservoir, GL (1 GL = 1e6 m3)."
    )
    min_reservoir_water_rock: float = Field(
        3.0,
        gt=0,
        description="Least water-to-rock ratio of a reservoir at its best wall "
        "height (planner's choice, unverified).",
    )
    min_pair_water_rock: float = Field(
        1.5,
        gt=0,
        description="Least water-to-rock ratio of a pair: usable water / both walls "
        "(planner's choice, unverified).",
    )
    dam_batter: float = Field(
        3.0,
        gt=0,
        description="Horizontal run per metre of rise of each dam face "
        "(`dambatter`; 3 = rockfill-like 1:3 faces, unverified).",
    )
    crest_width_m: float = Field(10.0, ge=0, description="Crest width, m (`cwidth`, unverified).")
    freeboard_m: float = Field(2.0, ge=0, description="Crest above full supply level, m.")
    usable_share: float = Field(
        0.85,
        gt=0,
        le=1,
        description="Share of the water volume cycled (`usable_volume`, unverified).",
    )
    generation_efficiency: float = Field(
        0.9, gt=0, le=1, description="Generating efficiency in E = rho g h V eta (unverified)."
    )
    water_density_kg_m3: float = Field(1000.0, gt=0)
    gravity_m_s2: float = Field(9.8, gt=0)
    energy_classes_gwh: list[float] = Field(
        default_factory=lambda: [2.0, 5.0, 15.0, 50.0],
        min_length=1,
        description="Energy sizes a pair is tried at, GWh; it takes the largest it can hold "
        "(the atlas publishes sizes from 2 to 5000 GWh; this list is a planner's choice).",
    )
    cycle_hours: float = Field(
        6.0,
        gt=0,
        description="Hours of generation at full power (6 h daily; 18 h as the "
        "atlas's long-storage classes): power MW = energy / hours.",
    )
    substations_layer: str | None = Field(
        None, description="Optional vector layer of substations; pairs get the distance, km."
    )
    max_pairs: int = Field(50, ge=1, description="Non-overlapping pairs kept, best first.")
    resolution_m: float | None = Field(
        None,
        gt=0,
        description="Cell side of the terrain search, m (default: the project grid). Rounded "
        "to a whole number of grid cells; the DEM is averaged over each block and a block is "
        "excluded where any of its cells is. The search holds its whole grid in memory "
        "(about 110 bytes a cell, measured), so a fine project grid needs a coarser search: "
        "the pre-flight refuses one that does not fit `project.mem_limit_mb`.",
    )

    @model_validator(mode="after")
    def _ranges(self):
        if self.max_head_m <= self.min_head_m:
            raise ValueError(
                f"max_head_m ({self.max_head_m}) must exceed min_head_m ({self.min_head_m})"
            )
        if any(e <= 0 for e in self.energy_classes_gwh):
            raise ValueError(f"energy_classes_gwh must be > 0, got {self.energy_classes_gwh}")
        if any(h <= 0 for h in self.dam_wall_heights_m):
            raise ValueError(f"dam_wall_heights_m must be > 0, got {self.dam_wall_heights_m}")
        return self
