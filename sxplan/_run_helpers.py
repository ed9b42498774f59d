"""Helpers of the run steps, kept out of the orchestrator :mod:`sxplan.run`.

The figures step and the loading of the regional bases.

Inputs: a :class:`~sxplan.run.RunContext`. Outputs: ``figures/*.png|svg`` and
``report.html`` in the run folder; a :class:`~sxplan.siting.bases.BasesTable`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .run import RunContext

__all__ = ["load_run_bases", "run_figures_step"]


def run_figures_step(ctx: RunContext) -> dict[str, Path]:
    """Figures: ``figures/*.png|svg`` and ``report.html`` from the run folder (via the schema)."""
    from sxplan.maps.figures import run_figures
    from sxplan.maps.report_page import write_report

    maps_cfg = ctx.config.maps
    language = ctx.options.get("language") or (maps_cfg.language if maps_cfg else "zh+en")
    figures = run_figures(ctx.out, language=language)
    maps = [
        m
        for m in ("siting", "sinks")
        if "maps" in ctx.options.get("steps", ("maps",)) and (ctx.out / m).is_dir()
    ]  # the maps step, run next, draws one map per stage
    report = write_report(
        ctx.out, figures, language=language, title=ctx.config.project.name, maps=maps
    )
    files = {f"{n}.{ext}": e[ext] for n, e in figures.items() for ext in ("png", "svg")}
    return {**files, "report": report}


def load_run_bases(ctx: RunContext):
    """The bases of ``siting.bases_path``, or the shipped Shanxi delineation when unset."""
    from sxplan.siting.bases import load_bases

    bases_path = ctx.config.siting.bases_path
    if not bases_path:
        from .demo_data import demo_file

        bases_path = demo_file("bases.yaml")
        ctx.log(
            f"  siting.bases_path not set: using the shipped five-base delineation {bases_path}"
        )
    return load_bases(bases_path, ctx.counties)
