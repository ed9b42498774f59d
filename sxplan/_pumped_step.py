"""The ``pumped_storage`` step: reservoir pairs from the DEM -> ``siting/pumped_storage.*``.

Kept out of :mod:`sxplan.run` (whose size is capped) and imported by it; the search itself is
:func:`sxplan.siting.pumped_storage.run_pumped_storage`.

Inputs: a :class:`~sxplan.run.RunContext` after the layers step.
Outputs: ``siting/pumped_storage.csv``, ``siting/pumped_storage.gpkg`` and the result.
"""

from __future__ import annotations

__all__ = ["run_pumped_storage_step"]


def run_pumped_storage_step(ctx):
    """Pumped storage: reservoir pairs on the DEM, ranked by dam volume per MWh.

    Skipped (``None``) when the config has no ``pumped_storage:`` section or it is disabled;
    the exclusion rules are those of ``siting.exclusions`` that list ``pumped_storage``.
    """
    from sxplan.siting._pumped_grid import search_grid
    from sxplan.siting.pumped_storage import run_pumped_storage

    cfg = ctx.config.pumped_storage
    if cfg is None or not cfg.enabled:
        return None
    sgrid, k = search_grid(ctx.grid, cfg.resolution_m)
    if cfg.resolution_m is not None and (k > 1 or sgrid.res != cfg.resolution_m):
        # say what the setting became: whole blocks of grid cells, or the grid if finer
        how = (
            f"the DEM averaged over {k} x {k} cells"
            if k > 1
            else f"no finer than the {ctx.grid.res:g} m grid: its own cells"
        )
        ctx.log(
            f"pumped_storage: terrain search on {sgrid.width:,} x {sgrid.height:,} cells of "
            f"{sgrid.res:g} m (pumped_storage.resolution_m: {cfg.resolution_m:g}; {how})"
        )
    res = run_pumped_storage(
        ctx.grid, ctx.stack.rasters, ctx.stack.vectors, ctx.counties, ctx.config.siting, cfg,
        ctx.out / "siting", budget=ctx.config.project.budget,
    )  # fmt: skip
    if res.pairs.empty:
        ctx.warn(
            f"pumped_storage: no reservoir pair meets the criteria ({res.n_reservoirs} "
            f"reservoirs found; head {cfg.min_head_m:g}-{cfg.max_head_m:g} m within "
            f"{cfg.max_distance_km:g} km, distance/head <= {cfg.max_distance_to_head:g}); its "
            "files are written with zero rows"
        )
    return res
