"""Helpers of :mod:`sxplan.run` kept out of the orchestrator.

The bases and their outlines, an earlier run's reservation, and the figures step.

Inputs: a :class:`~sxplan.run.RunContext`. Outputs: as each function says.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd

from .schema import dataset

if TYPE_CHECKING:
    from .run import RunContext

__all__ = ["bases_outlines", "load_run_bases", "load_siting_reservation", "run_figures_step"]


def load_siting_reservation(ctx: RunContext, run_dir: Path):
    """The reservation raster and shortlist of an earlier siting run (``sxplan sinks --siting``).

    The earlier run must be on this run's grid (same CRS, resolution and extent); a raster on
    another grid raises :class:`~sxplan.errors.GridMismatchError`.
    """
    from sxplan.errors import RunFolderError
    from sxplan.layers.io import AlignedLayer

    target = dataset("layers.reserved")
    tif = target.path_in(run_dir)
    gpkg_set = dataset("siting.shortlist_gpkg")
    gpkg = gpkg_set.path_in(run_dir)
    for path, what in ((tif, "reservation raster"), (gpkg, "shortlist")):
        if not path.is_file():
            raise RunFolderError(
                f"--siting {run_dir}: the {what} {path} is missing; give the folder of a run "
                "whose siting step finished (sxplan run or sxplan site)"
            )
    reserved = AlignedLayer.open(
        tif, "reserved_for_renewables", "categorical", target.unit, ctx.grid
    )
    shortlist = gpd.read_file(gpkg, layer=gpkg_set.layer_name(), engine="pyogrio")
    ctx.log(f"  sinks: reservation and shortlist taken from siting run {run_dir}")
    return reserved, shortlist


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


def bases_outlines(bases, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One polygon per base: the union of its counties (bases may overlap)."""
    rows = []
    for b in bases.bases:
        sel = counties[counties["adcode"].isin(b.counties)]
        rows.append(
            {
                "id": b.id,
                "name_zh": b.name_zh,
                "name_en": b.name_en,
                "n_counties": len(sel),
                "target_gw_2025": b.target_gw_2025,
                "target_gw_2030": b.target_gw_2030,
                "geometry": sel.union_all(),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=counties.crs)


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
