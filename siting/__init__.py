"""siting: exclusions -> scores -> suitability -> parcels -> capacity -> bases -> shortlist.

Inputs: the run's grid, aligned rasters and vector layers, counties, the five bases, and the
``siting:`` config (:class:`~siting.config.SitingConfig`).
Outputs: suitability and exclusion rasters, parcels, a ranked shortlist, per-base potential
against the plan's targets (:func:`~siting.run.run_siting`).

Importing ``siting`` is cheap: heavy modules load when :func:`run_siting` is first used.
"""

from __future__ import annotations

from .ahp import AHPResult, ahp_weights
from .bases import BasesTable, load_bases
from .config import SitingConfig, load_siting_config

__all__ = [
    "AHPResult",
    "BasesTable",
    "SitingConfig",
    "SitingResult",
    "ahp_weights",
    "load_bases",
    "load_siting_config",
    "run_siting",
]


def __getattr__(name: str):
    if name in ("run_siting", "SitingResult"):
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module 'siting' has no attribute {name!r}")
