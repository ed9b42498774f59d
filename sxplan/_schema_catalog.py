"""The catalog of a run folder: every output file, layer and column, with unit and meaning.

Read through :mod:`sxplan.schema` (:data:`sxplan.schema.DATASETS`); this module only lists.
Columns are written as ``name | unit | meaning`` lines, one fact per line.

Inputs: none. Outputs: :data:`DATASETS`, :data:`COUNTY_COLUMNS`.
"""

from __future__ import annotations

from ._schema_catalog_economics import EXTRA_DATASETS, RANKED_EXTRA, STRIP_EXTRA
from ._schema_catalog_report import REPORT
from ._schema_catalog_trust import AGRIVOLTAIC_COLUMNS, EXCLUSIONS, PUMPED_STORAGE
from ._schema_types import Column, Dataset
from ._schema_types import columns_from_table as _columns

__all__ = ["COUNTY_COLUMNS", "DATASETS"]

# ---------------------------------------------------------------------------------------------
# Column sets shared by several tables.

#: Standard columns of the county layer after validation (sxplan.layers.counties), in order.
COUNTY_COLUMNS = ("adcode", "name", "prefecture", "prefecture_adcode")

_COUNTIES = _columns("""
adcode | | county code (6 digits, GB/T 2260)
name | | county name (Chinese)
prefecture | | prefecture name (Chinese)
prefecture_adcode | | prefecture code (6 digits)
""")
assert tuple(c.name for c in _COUNTIES) == COUNTY_COLUMNS

_LOCATION = _columns("""
adcode | | county code (6 digits) of the county holding most of the parcel
county | | county name (Chinese)
prefecture | | prefecture name (Chinese)
prefecture_adcode | | prefecture code (6 digits)
""")

_PARCEL_CORE = _columns("""
parcel_id | | stable id within the run: technology prefix and rank (PV-00001)
rank | rank | 1 = best score within the technology
technology | | technology key (pv, wind, agrivoltaic_pv, roadside_pv)
area_km2 | km2 | parcel area on the equal-area grid
capacity_mw | MW | installable capacity: area x power density x usable share
energy_gwh_per_yr | GWh/yr | annual energy
score_mean | 0-1 | mean suitability score of the parcel's cells
score_max | 0-1 | highest cell score in the parcel
""")

_PARCEL_PLACE = _columns("""
county_share | 1 | share of the parcel's cells in its main county
counties | | every county the parcel touches, adcodes joined by ';', largest share first
bases | | regional bases whose counties hold parcel cells, ids joined by ';'
bases_zh | | the same bases by Chinese name
bases_share | 1 | share of the parcel's cells in its main base
lon | deg | longitude of a point inside the parcel, WGS84
lat | deg | latitude of a point inside the parcel, WGS84
lon_gcj02 | deg | the same point in GCJ-02 (for Amap/Baidu-derived tools)
lat_gcj02 | deg | the same point in GCJ-02
""")

_PARCEL_OPTIONAL = _columns(
    """
mean_slope_pct | % | mean slope of the parcel's cells (when a slope layer is set)
dist_highway_km | km | distance from the parcel to the nearest highway (when a highway layer is set)
""",
    required=False,
)

_PARCEL_FAMILIES = _columns(
    """
mean_{resource} | | mean of the technology's resource layer, unit suffix in the name
lc_{landcover_class}_share | 1 | share of cells in one common land-cover class
crit_{criterion} | | parcel mean of a criterion's raw value, unit suffix in the name
score_{criterion} | 0-1 | parcel mean of a criterion's score
""",
    required=False,
)

_TECH_COLUMNS: dict[str, tuple[Column, ...]] = {
    "pv": _columns(
        """
yield_kwh_per_kwp_yr | kWh/kWp/yr | mean specific yield of the parcel's cells
""",
        required=False,
    ),
    "wind": _columns(
        """
capacity_factor | 1 | mean capacity factor from the turbine power curve over the speed distribution
turbines | count | capacity / turbine rating
""",
        required=False,
    ),
    "agrivoltaic_pv": AGRIVOLTAIC_COLUMNS,
    "roadside_pv": _columns(
        """
road_ref | | road number (G5, G20, ...)
side_compass | | side of the road the strip lies on
facing_compass | | direction the panels face
ghi_kwh_m2_yr | kWh/m2/yr | global horizontal irradiation at the strip
""",
        required=False,
    ),
}

_SHORTLIST = _columns("""
rank | rank | 1 = best score within the technology
parcel_id | | parcel or roadside strip id
technology | | technology key (pv, wind, agrivoltaic_pv, roadside_pv)
technology_zh | | technology in Chinese
county | | county name (Chinese)
adcode | | county code
prefecture | | prefecture name
prefecture_adcode | | prefecture code
bases | | bases the parcel lies in, ids joined by ';'
bases_zh | | the same bases by Chinese name
lon | deg | longitude, WGS84
lat | deg | latitude, WGS84
lon_gcj02 | deg | longitude, GCJ-02
lat_gcj02 | deg | latitude, GCJ-02
area_km2 | km2 | area
capacity_mw | MW | installable capacity
energy_gwh_per_yr | GWh/yr | annual energy
score_mean | 0-1 | mean suitability score (roadside: the strip's score)
score_max | 0-1 | highest cell score (roadside: the strip's score)
""")

_SHORTLIST_PARCEL = (
    _columns(
        """
county_share | 1 | share of the parcel's cells in its main county (parcels)
counties | | every county the parcel touches, adcodes joined by ';' (parcels)
bases_share | 1 | share of the parcel's cells in its main base (parcels)
""",
        required=False,
    )
    + _PARCEL_OPTIONAL
)

_BASES = _columns("""
level | | base, all_bases, prefecture or province
id | | base id, prefecture adcode, 'all_bases' or 'province'
name_zh | | name in Chinese
name_en | | name in English
technology | | pv, wind or pv+wind
technology_zh | | technology in Chinese
eligible_km2 | km2 | land no hard rule excludes
candidate_km2 | km2 | eligible land scoring at or above the threshold
parcel_area_km2 | km2 | area of the parcels
potential_gw | GW | installable capacity of the parcels
energy_twh_per_yr | TWh/yr | annual energy of the parcels
parcels | count | parcels touching the unit's counties
target_gw_2025 | GW | the plan's 2025 wind+PV target for the unit (pv+wind rows)
target_gw_2030 | GW | the plan's 2030 wind+PV target for the unit (pv+wind rows)
installed_gw | GW | installed capacity when an installed-capacity table is given
note | | caveat for the row
potential_to_target_2030 | 1 | potential_gw / target_gw_2030
""")


_RULE_LEGEND = _columns("""
code | code | cell value
rule | | rule name
label_zh | | rule name in Chinese
mode | | hard, or empty for eligible/outside
""")

_ROADSIDE_SUMMARY = _columns("""
level | | road, county or province
road_ref | | road number (road rows)
road_name | | road name (road rows)
adcode | | county code (county rows)
name | | county name (county rows)
prefecture | | prefecture name (county rows)
prefecture_adcode | | prefecture code (county rows)
n_segments | count | road segments (of at most the configured length)
road_km | km | road length
usable_strip_km | km | length of strip left after exclusions
usable_area_km2 | km2 | strip area left after exclusions
panel_area_km2 | km2 | panel area: usable area x usable share
capacity_mw | MW | installable capacity
energy_gwh_per_yr | GWh/yr | annual energy
target_mw | MW | roadside-PV target when configured (province row)
target_year | | year of the target
target_share_pct | % | capacity / target
""")

_ROADSIDE_SEGMENTS = _columns("""
road_id | | id of the source road line
road_ref | | road number
road_name | | road name
road_class | | road class (OSM highway=motorway, ...)
tunnel | | tunnel flag from the road layer
bridge | | bridge flag from the road layer
oneway | | oneway flag from the road layer
adcode | | county code
name | | county name
prefecture | | prefecture name
prefecture_adcode | | prefecture code
piece | | piece of the road within the county
segment_no | | segment number along the piece
segment_length_m | m | segment length
bearing_deg | deg | road bearing, true north
grid_north_deg | deg | meridian convergence at the segment
lon | deg | segment midpoint longitude, WGS84
lat | deg | segment midpoint latitude, WGS84
seg_index | | segment index in the run
side | | left or right of the road direction
side_sign | | -1 left, +1 right
toward_road_azimuth_deg | deg | azimuth from the strip toward the road, true north
side_compass | | side of the road the strip lies on
strip_width_m | m | strip width
strip_area_km2 | km2 | strip area
strip_id | | strip id (segment and side)
cross_slope_deg | deg | terrain slope across the road from the DEM profile
relief_m | m | height difference across the strip
elev_m | m | elevation
terrain_form | | cut, embankment or flat
panel_tilt_deg | deg | panel tilt
panel_azimuth_deg | deg | panel azimuth, true north
facing_compass | | direction the panels face
horizon_deg | deg | horizon angle from the slope
usable_area_km2 | km2 | strip area left after exclusions
usable_strip_km | km | strip length left after exclusions
excluded_by | | the rule that removed most of the strip
panel_area_km2 | km2 | panel area
capacity_mw | MW | installable capacity
ghi_kwh_m2_yr | kWh/m2/yr | global horizontal irradiation
poa_ratio | 1 | plane-of-array / horizontal irradiation for the strip's orientation
poa_ratio_optimal | 1 | the same at the optimal tilt facing south
optimal_tilt_deg | deg | optimal tilt
yield_correction | 1 | strip yield / reference yield
specific_yield_kwh_per_kwp | kWh/kWp/yr | specific yield of the strip
yield_source | | pv_yield layer or computed from GHI
energy_gwh_per_yr | GWh/yr | annual energy
shading_factor | 1 | horizon shading factor
orientation_factor | 1 | orientation factor
score_orientation | 0-1 | orientation score
score_shading | 0-1 | shading score
score_resource | 0-1 | resource score
score | 0-1 | strip score
""")

_COUNTY_SINKS = (
    _columns("""
adcode | | county code
name | | county name
prefecture | | prefecture name
prefecture_adcode | | prefecture code
area_km2 | km2 | county area
landcover_coverage_pct | % | share of the county with land-cover data
baseline_forest_pct | % | forest cover from the land-cover raster (exact coverage fractions)
calibrated_forest_pct | % | forest cover after calibration to official statistics
calibration_source | | where the calibration figure comes from
ecological_zone | | IPCC ecological zone used for growth rates
mean_elevation_m | m | mean elevation
eligible_landcover_ha | ha | land whose cover class can be planted
builtup_pct | % | share of the county's land-cover cells that are built-up
urban_district | | whether the urban-district rule applies (no unmapped forest, no planting)
official_year | | year of the official county figure used (0 where none)
likely_forest_ha | ha | likelihood-weighted land that may hold unmapped forest (calibration)
""")
    + _columns(
        """
removed_slope_ha | ha | of it, removed as too steep (when a slope layer is set)
removed_elevation_ha | ha | of it, removed as too high (when a DEM is set)
removed_climate_ha | ha | of it, removed by the climate limits (when some are set)
removed_reserved_ha | ha | of it, reserved for shortlisted renewables (when siting ran)
removed_farmland_ha | ha | of it, on permanent basic farmland (when a farmland layer is set)
removed_built_margin_ha | ha | of it, within the built-up margin (when built_margin_m > 0)
removed_climate_zone_ha | ha | of it, too dry for any planting (when climate_zones is set)
contested_plantable_ha | ha | plantable land inside the county's shortlisted PV/wind parcels
avoided_tco2_per_yr | tCO2/yr | emissions those parcels' energy avoids (grid emission factor)
forgone_sink_tco2_per_yr | tCO2/yr | sequestration forgone by not planting that land
net_tco2_per_yr | tCO2/yr | avoided minus forgone
""",
        required=False,
    )
    + _columns("""
eligible_raster_ha | ha | plantable land from the raster
eligible_shrub_zone_ha | ha | of the raster's plantable land, in the shrubs-only climate zone
eligible_ha | ha | plantable land used for allocation
eligible_source | | raster, urban_district (none) or official (plantable_ha of the table)
required_gain_ha | ha | planting needed for the county to reach the target on its own
required_gain_points | points | the same in percentage points of cover
feasible_locally | | whether the county has the land for it
local_shortfall_ha | ha | land the county lacks to reach the target on its own
allocated_gain_ha | ha | new forest allocated to the county
allocated_shrub_ha | ha | of it, shrub planting (shrubs-only climate zone)
allocated_gain_points | points | the same in percentage points of cover
forest_stock_m3 | m3 | growing stock of existing forest in the baseline year
existing_growth_m3_per_yr | m3/yr | annual volume growth of existing forest (Tier 1, no harvest)
existing_sink_tco2_per_yr | tCO2/yr | biomass sink of existing forest (Tier 1, no harvest)
""")
    + _columns(
        """
priority_score | | county priority of the 'priority' allocation (higher = planted first)
""",
        required=False,
    )
)

_SINK_FAMILIES = _columns(
    """
cover_{year}_pct | % | forest cover in the target year after the allocated gain
sink_tco2_per_yr_{year} | tCO2/yr | sequestration of the new planting in a year
sink_tco2_per_yr_{year}_p05 | tCO2/yr | 5th percentile (Monte Carlo)
sink_tco2_per_yr_{year}_p95 | tCO2/yr | 95th percentile (Monte Carlo)
""",
    required=False,
)

_TRAJECTORY = _columns("""
year | | calendar year
sink_tco2_per_yr | tCO2/yr | province sequestration of the new planting
sink_tco2_per_yr_p05 | tCO2/yr | 5th percentile (Monte Carlo)
sink_tco2_per_yr_p95 | tCO2/yr | 95th percentile (Monte Carlo)
""")

_STOCK = _columns("""
year | | calendar year
stock_m3 | m3 | province forest growing stock
existing_stock_m3 | m3 | of it, existing forest (baseline stock plus growth)
new_planting_stock_m3 | m3 | of it, the new planting (shrubs hold none)
""")

_NET_CARBON = _columns("""
rank | rank | rank in the shortlist within the technology
parcel_id | | parcel id of the siting run
technology | | pv or wind
county | | county name (Chinese)
adcode | | county code
area_km2 | km2 | parcel area
energy_gwh_per_yr | GWh/yr | annual energy of the parcel
grid_emission_factor_tco2_per_mwh | tCO2/MWh | grid emission factor from the config
avoided_tco2_per_yr | tCO2/yr | energy x grid emission factor
contested_plantable_ha | ha | plantable land inside the parcel (removed by the reservation)
forgone_sink_tco2_per_ha_yr | tCO2/ha/yr | central removal of the county's planting, first 20 years
forgone_sink_tco2_per_yr | tCO2/yr | contested plantable land x that removal
net_tco2_per_yr | tCO2/yr | avoided minus forgone (positive: renewables win)
""")

_PROVENANCE = _columns("""
name | | layer name in the config
type | | raster or vector
source | | input file
features | count | vector features read
datum | | declared datum (wgs84, gcj02)
units | | declared units
sha256 | | SHA-256 of the input file
resampling | | resampling used to align a raster
source_res_m | m | source resolution
kind | | categorical or continuous
""")

_BASE_OUTLINES = _columns("""
id | | base id
name_zh | | name in Chinese
name_en | | name in English
n_counties | count | counties in the base
target_gw_2025 | GW | 2025 target when the bases file gives one
target_gw_2030 | GW | 2030 target when the bases file gives one
""")

_DATASETS: tuple[Dataset, ...] = (
    Dataset(
        "run.json",
        "run.json",
        "json",
        "config (secrets redacted), input and output checksums, versions, grid, timings, warnings",
        "run",
    ),
    Dataset("layers.grid", "layers/grid.json", "json", "the analysis grid", "layers"),
    Dataset(
        "layers.provenance",
        "layers/provenance.csv",
        "csv",
        "one row per input layer",
        "layers",
        columns=_PROVENANCE,
    ),
    Dataset(
        "layers.raster",
        "layers/{name}.tif",
        "tif",
        "an input raster aligned to the grid",
        "layers",
    ),
    Dataset("layers.vectors", "layers/vectors.gpkg", "gpkg", "vector layers, EPSG:4326", "layers"),
    Dataset(
        "layers.vector",
        "layers/vectors.gpkg",
        "gpkg",
        "one vector layer of the config under its config name (province, highways...), EPSG:4326",
        "layers",
        layer="{name}",
        columns=_columns(
            """
name | | feature name (input layers that have one)
name_zh | | feature name in Chinese (input layers that have one)
name_en | | feature name in English (input layers that have one)
""",
            required=False,
        ),
    ),
    Dataset(
        "layers.counties",
        "layers/vectors.gpkg",
        "gpkg",
        "counties, EPSG:4326",
        "layers",
        layer="counties",
        columns=_COUNTIES,
    ),
    Dataset(
        "layers.bases",
        "layers/vectors.gpkg",
        "gpkg",
        "outlines of the regional bases",
        "layers",
        layer="bases",
        columns=_BASE_OUTLINES,
    ),
    Dataset(
        "layers.reserved",
        "layers/reserved_for_renewables.tif",
        "tif",
        "1 inside every shortlisted PV or wind parcel",
        "siting",
        unit="1 = candidate parcel",
    ),
    Dataset(
        "siting.suitability",
        "siting/suitability_{tech}.tif",
        "tif",
        "suitability score of eligible cells",
        "siting",
        unit="score 0-1",
    ),
    Dataset(
        "siting.excluded_by_rule",
        "siting/excluded_by_rule_{tech}.tif",
        "tif",
        "code of the first hard rule excluding each cell",
        "siting",
        unit="rule code",
    ),
    Dataset(
        "siting.rule_legend",
        "siting/excluded_by_rule_{tech}.csv",
        "csv",
        "legend of excluded_by_rule_<tech>.tif",
        "siting",
        columns=_RULE_LEGEND,
    ),
    Dataset(
        "siting.parcels",
        "siting/parcels_{tech}.gpkg",
        "gpkg",
        "every candidate parcel, ranked",
        "siting",
        layer="parcels_{tech}",
        columns=_PARCEL_CORE + _LOCATION + _PARCEL_PLACE + _PARCEL_OPTIONAL + RANKED_EXTRA,
        patterns=_PARCEL_FAMILIES,
        by_technology={k: v for k, v in _TECH_COLUMNS.items() if k != "roadside_pv"},
    ),
    Dataset(
        "siting.shortlist",
        "siting/shortlist.csv",
        "csv",
        "the best parcels of every technology",
        "siting",
        columns=_SHORTLIST + _SHORTLIST_PARCEL + RANKED_EXTRA,
        patterns=_PARCEL_FAMILIES,
        by_technology=_TECH_COLUMNS,
    ),
    Dataset(
        "siting.shortlist_gpkg",
        "siting/shortlist.gpkg",
        "gpkg",
        "the shortlist with geometries, EPSG:4326",
        "siting",
        layer="shortlist",
        columns=_SHORTLIST + _SHORTLIST_PARCEL + RANKED_EXTRA,
        patterns=_PARCEL_FAMILIES,
        by_technology=_TECH_COLUMNS,
    ),
    Dataset(
        "siting.bases",
        "siting/bases.csv",
        "csv",
        "potential per base, all bases, prefecture and province against the targets",
        "siting",
        columns=_BASES,
    ),
    Dataset(
        "siting.exclusions",
        "siting/exclusions.csv",
        "csv",
        "area each rule removes, alone and in sequence",
        "siting",
        columns=EXCLUSIONS,
    ),
    Dataset(
        "roadside.segments",
        "siting/roadside_pv_segments.gpkg",
        "gpkg",
        "roadside PV strips, one per segment and side",
        "roadside_pv",
        layer="roadside_pv_segments",
        columns=_ROADSIDE_SEGMENTS
        + STRIP_EXTRA
        + _columns(
            """
dist_grid_km | km | distance to the nearest grid connection point (when a layer is set)
score_grid | 0-1 | grid connection score (when a grid points layer is set)
""",
            required=False,
        ),
        patterns=_columns("excluded_{rule}_km2 | km2 | strip area a rule removed", False),
    ),
    Dataset(
        "roadside.summary",
        "siting/roadside_pv.csv",
        "csv",
        "roadside PV per road, county and province",
        "roadside_pv",
        columns=_ROADSIDE_SUMMARY,
    ),
    Dataset(
        "sinks.counties",
        "sinks/counties.csv",
        "csv",
        "forest baseline, allocation and sink per county",
        "sinks",
        columns=_COUNTY_SINKS,
        patterns=_SINK_FAMILIES,
    ),
    Dataset(
        "sinks.counties_gpkg",
        "sinks/counties.gpkg",
        "gpkg",
        "the county table with outlines",
        "sinks",
        layer="counties",
        columns=_COUNTY_SINKS,
        patterns=_SINK_FAMILIES,
    ),
    Dataset(
        "sinks.trajectory",
        "sinks/trajectory.csv",
        "csv",
        "province sink by year",
        "sinks",
        columns=_TRAJECTORY,
    ),
    Dataset(
        "sinks.stock",
        "sinks/stock.csv",
        "csv",
        "province forest growing stock by year",
        "sinks",
        columns=_STOCK,
    ),
    Dataset(
        "sinks.net_carbon",
        "sinks/net_carbon.csv",
        "csv",
        "avoided emissions against forgone sequestration per shortlisted PV/wind parcel",
        "sinks",
        columns=_NET_CARBON,
    ),
    Dataset(
        "sinks.eligible",
        "sinks/afforestation_eligible.tif",
        "tif",
        "plantable share of each cell",
        "sinks",
        unit="fraction 0-1",
    ),
    *EXTRA_DATASETS,  # trust (siting records, backtest) and economics: side catalogs
    *PUMPED_STORAGE,
    Dataset("maps.siting", "maps/siting.html", "html", "interactive siting map", "maps"),
    Dataset("maps.sinks", "maps/sinks.html", "html", "interactive sinks map", "maps"),
)

#: Every output of a run folder, by key.
DATASETS: dict[str, Dataset] = {d.key: d for d in (*_DATASETS, *REPORT)}
