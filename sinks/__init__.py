"""sinks: county forest baseline, afforestation toward the cover target, and sequestration.

Data flow: counties + land cover -> forest baseline (exact coverage fractions, calibrated to
official statistics) -> afforestation-eligible land (land cover, slope, elevation, climate,
renewables reservation) -> allocation of the +2.5-point target -> IPCC Tier-1 sequestration
with Monte Carlo ranges. :func:`run_sinks` is the one entry point the CLI calls.

Inputs: aligned rasters on the run grid, county polygons, a :class:`SinksConfig`.
Outputs: ``counties.csv``, ``counties.gpkg``, ``afforestation_eligible.tif``, ``trajectory.csv``.
"""

from __future__ import annotations

from sxplan._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "config": ["ClimateLimit", "SinksConfig"],
        "run": ["SinksResult", "run_sinks"],
    },
)
