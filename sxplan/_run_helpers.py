"""The figures step of a run, kept out of the orchestrator :mod:`sxplan.run`.

Inputs: a :class:`~sxplan.run.RunContext`. Outputs: ``figures/*.png|svg`` and
``report.html`` in the run folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .run import RunContext

__all__ = ["run_figures_step"]


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
