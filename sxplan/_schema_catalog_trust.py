"""Catalog entries for trusting a run: the backtest against existing sites, rank stability.

Part of the run-folder catalog (:mod:`sxplan._schema_catalog` adds these to
:data:`sxplan.schema.DATASETS`); kept apart so the main catalog stays one screenful per stage.

Inputs: none. Outputs: :data:`STABILITY_COLUMNS`, :data:`SITING_RECORD`, :data:`BACKTEST`,
:data:`EXCLUSIONS` (the per-rule accounting), :data:`PUMPED_STORAGE` (re-exported).
"""

from __future__ import annotations

from ._schema_catalog_storage import PUMPED_STORAGE
from ._schema_types import Dataset
from ._schema_types import columns_from_table as _columns

__all__ = [
    "AGRIVOLTAIC_COLUMNS",
    "BACKTEST",
    "EXCLUSIONS",
    "PUMPED_STORAGE",
    "SITING_RECORD",
    "STABILITY_COLUMNS",
]

#: Parcel columns of agrivoltaic PV (besides PV's yield and energy).
AGRIVOLTAIC_COLUMNS = _columns(
    """
yield_kwh_per_kwp_yr | kWh/kWp/yr | mean specific yield of the parcel's cells
crop_yield_share_kept | 1 | share of the crop yield kept under the arrays (siting.agrivoltaic_pv)
min_panel_height_m | m | lowest module edge above ground the parcel is sized for
row_spacing_m | m | distance between array rows the parcel's density assumes
""",
    required=False,
)

#: Columns of ``siting/exclusions.csv`` (every excluded cell knows why).
EXCLUSIONS = _columns("""
technology | | technology key
order | | position of the rule in the config (totals have none)
code | code | value of the rule in excluded_by_rule_<tech>.tif
rule | | rule name (or no_data, total_excluded, eligible, study_area)
label_zh | | rule name in Chinese
mode | | hard (excludes), soft (lowers the score) or preference (raises it, waives rules)
type | | rule type (categorical, range, vector, implicit, total)
layer | | the layer the rule reads
km2_alone | km2 | area the rule would remove on its own
km2_in_sequence | km2 | area the rule removes after the rules before it
share_of_study_area | 1 | km2_in_sequence / study area
note | | the rule's note
""") + _columns(
    """
km2_returned | km2 | preference rules: eligible area that a rule it waives would have excluded
km2_scored_up | km2 | preference rules: eligible area whose score it multiplied up
""",
    required=False,
)


#: Rank-stability columns of parcels and shortlist (absent when ``stability.draws`` is 0).
STABILITY_COLUMNS = _columns(
    """
top_n_share | 1 | share of weight draws in which the parcel ranks in the top N of its technology
rank_p05 | rank | 5th percentile of the parcel's rank over the weight draws
rank_p95 | rank | 95th percentile of the parcel's rank over the weight draws
""",
    required=False,
)

#: Per-cell records of the siting pass that backtests read (written beside the suitability).
SITING_RECORD: tuple[Dataset, ...] = (
    Dataset(
        "siting.rules_applying",
        "siting/rules_applying_{tech}.tif",
        "tif",
        "every rule (hard or soft) selecting each cell: bit i set = rule of order i+1 in "
        "exclusions.csv; 0 also outside the study area (see excluded_by_rule_<tech>.tif)",
        "siting",
        unit="bit set",
    ),
    Dataset(
        "siting.criterion",
        "siting/criterion_{tech}_{criterion}.tif",
        "tif",
        "one criterion's score on the whole study area, before exclusions and weights",
        "siting",
        unit="score 0-1",
    ),
)

_SITES = _columns("""
site_id | | id of the site: the file's id field, else its row number from 1
technology | | technology the site is scored for
name | | site name (the file's name field when it has one)
lon | deg | longitude of the site (polygons: a point inside), WGS84
lat | deg | latitude of the site, WGS84
geometry_type | | Point or Polygon
capacity_mw | MW | installed capacity from the capacity field (empty without one)
accuracy | | location accuracy from the accuracy field (empty without one)
shared_coordinate_sites | count | sites at exactly this point (1 = unique; many = a placeholder)
dropped | | why the site is not scored (outside_study_area, shared_coordinate), else empty
inside_study_area | | True when the site (polygons: any of its cells) lies in the study area
cells | count | study-area grid cells the site covers (points: 1; polygons: any overlap)
eligible_share | 1 | area share of the site on eligible land
eligible | | True when most of the site lies on eligible land
score | 0-1 | suitability at the site, excluded land counted as 0 (polygons: area-weighted mean)
score_eligible | 0-1 | suitability on the site's eligible cells only (empty when none is eligible)
first_rule | | the first hard rule in sequence excluding the site (polygons: of most of its area)
all_rules | | every hard rule selecting the site, ';'-joined, in rule order
soft_rules | | every soft rule selecting the site, ';'-joined
""")

_SITE_CRITERIA = _columns(
    "score_{criterion} | 0-1 | the criterion's score at the site (polygons: area-weighted mean)",
    required=False,
)

_SUMMARY = _columns("""
technology | | technology key
measure | | score (excluded = 0), score_eligible (eligible sites and cells only), a criterion
auc | 1 | ROC AUC: chance a site outranks a background cell (ties count half); 0.5 = chance
auc_p05 | 1 | 5th percentile of the AUC over bootstrap resamples of sites and background
auc_p95 | 1 | 95th percentile of the AUC over the same resamples
n_sites | count | scored sites with a value of the measure
n_background | count | background cells with a value of the measure
site_median | | median of the measure at the sites
background_median | | median of the measure at the background cells
""")

BACKTEST: tuple[Dataset, ...] = (
    Dataset(
        "backtest.sites",
        "backtest/backtest.csv",
        "csv",
        "per site and technology: score, rules, criterion scores, study-area check",
        "backtest",
        columns=_SITES,
        patterns=_SITE_CRITERIA,
    ),
    Dataset(
        "backtest.sites_gpkg",
        "backtest/backtest.gpkg",
        "gpkg",
        "the scored sites with their geometry, EPSG:4326 (for the siting map)",
        "backtest",
        layer="backtest_sites",
        columns=_SITES,
        patterns=_SITE_CRITERIA,
    ),
    Dataset(
        "backtest.summary",
        "backtest/backtest_auc.csv",
        "csv",
        "ROC AUC of the score and of each criterion, sites against a random background",
        "backtest",
        columns=_SUMMARY,
    ),
    Dataset(
        "backtest.plot",
        "backtest/score_distribution_{tech}.png",
        "png",
        "score distributions at the sites and at the background",
        "backtest",
    ),
)
