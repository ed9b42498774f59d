"""siting: exclusions -> scores -> suitability -> parcels -> capacity -> bases -> shortlist.

Inputs: the run's grid, aligned rasters and vector layers, counties, the five bases, and the
``siting:`` config (:class:`~sxplan.siting.config.SitingConfig`).
Outputs: suitability and exclusion rasters, parcels, a ranked shortlist, per-base potential
against the plan's targets (:func:`~sxplan.siting.run.run_siting`); roadside PV strips
(:func:`~sxplan.siting.roadside.run_roadside_pv`).

Technologies (utility PV, wind, roadside PV) are objects implementing one protocol, looked up
by name (:mod:`sxplan.siting.technology`).

Importing ``sxplan.siting`` is cheap: each public name loads its module on first use.
"""

from __future__ import annotations

from sxplan._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "ahp": ["AHPResult", "ahp_weights"],
        "bases": ["BasesTable", "load_bases"],
        "config": ["SitingConfig", "load_siting_config"],
        "results": ["TechResult"],
        "roadside": ["RoadsidePVResult", "run_roadside_pv"],
        "roadside_config": ["RoadsidePVConfig"],
        "run": ["SitingResult", "run_siting"],
        "shortlist": ["merge_roadside_shortlist"],
        "technology": ["Technology", "get_technology", "technology_names"],
    },
)
