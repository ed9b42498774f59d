"""The reservation of an earlier siting run, for ``sxplan sinks --siting RUN``.

A sinks run on its own does not know which land a siting run shortlisted for renewables. With
``--siting RUN`` it reads that run's reservation raster and shortlist through
:mod:`sxplan.schema`, so the land is not offered for planting and net carbon can be reported.

Inputs: the earlier run folder, the current run's grid. Outputs: an aligned reservation layer
and the shortlist as a GeoDataFrame.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .schema import dataset

if TYPE_CHECKING:
    from .run import RunContext

__all__ = ["load_siting_reservation"]


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
    import geopandas as gpd

    shortlist = gpd.read_file(gpkg, layer=gpkg_set.layer_name(), engine="pyogrio")
    ctx.log(f"  sinks: reservation and shortlist taken from siting run {run_dir}")
    return reserved, shortlist
