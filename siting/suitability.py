"""Criterion scores and suitability, tile by tile.

Each criterion reads a raster, or the exact Euclidean distance in metres from cell centres to
the cells of a vector layer's features, capped at ``max_distance_m`` (precomputed in its own
windowed pass by :func:`precompute_distances`, or else measured on a halo'd window so tiles
agree with the whole grid); it is transformed to [0, 1], and the weighted sum is multiplied
by soft-rule factors. Suitability is defined only on eligible cells.

Inputs: :class:`~sxplan.siting.config.Criterion` models, weights, a
:class:`~sxplan.siting._context.LayerSet`.
Outputs: :class:`CompiledCriteria` whose :meth:`~CompiledCriteria.evaluate` returns raw values,
scores and the weighted sum for a tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._context import LayerSet, TileContext
from .criteria import apply_transform, weighted_sum

__all__ = ["CompiledCriteria", "CriteriaTile", "distance_key", "precompute_distances"]


def distance_key(vector: str, max_distance_m: float) -> str:
    """Name of the precomputed distance raster for a vector layer and a cap."""
    return f"_distance_to_{vector}_{int(round(max_distance_m))}m"


def precompute_distances(
    criteria,
    layers: LayerSet,
    work_dir,
    *,
    mem_limit_mb: float,
    scheduler: str | None = None,
    tile_size: int | None = None,
) -> None:
    """Write capped distance rasters for ``distance_to`` criteria and add them to ``layers``.

    Distance needs a halo of ``max_distance_m / res`` cells, which at fine resolution is far
    larger than the halo the rest of the engine needs; computing it in its own windowed pass
    (:func:`sxplan.layers.distance.distance_to`, a few bytes per cell) keeps the main pass small.
    Rasters already present (another technology asked first) are reused.

    Parameters
    ----------
    criteria : list of siting.config.Criterion
        Criteria; only ``distance_to`` ones are computed.
    layers : LayerSet
        Layers of the run; gains rasters named by :func:`distance_key`.
    work_dir : str or pathlib.Path
        Folder for the rasters (temporary).
    mem_limit_mb : float or sxplan.layers.budget.Budget
        Memory budget.
    scheduler : str, optional
        Tile scheduler (default: the enclosing :func:`sxplan.layers.windows.use_scheduler`).
    tile_size : int, optional
        Force a tile side (tests).
    """
    from pathlib import Path

    from sxplan.layers.distance import distance_to, features_from_vector

    for crit in criteria:
        if crit.distance_to is None:
            continue
        key = distance_key(crit.distance_to, crit.max_distance_m)
        if key in layers.rasters:
            continue
        gdf = layers.vector(crit.distance_to, f"criterion '{crit.name}'")
        feats = features_from_vector(gdf, layers.grid)
        layers.rasters[key] = distance_to(
            feats, layers.grid, Path(work_dir) / f"{key}.tif",
            max_distance_m=crit.max_distance_m, name=key, mem_limit_mb=mem_limit_mb,
            scheduler=scheduler, tile_size=tile_size, compress="NONE",
        )  # fmt: skip


class _Criterion:
    def __init__(self, crit, layers: LayerSet):
        self.crit = crit
        self.name = crit.name
        what = f"criterion '{crit.name}'"
        self.what = what
        key = (
            distance_key(crit.distance_to, crit.max_distance_m)
            if crit.distance_to is not None
            else None
        )
        if crit.layer is not None or key in layers.rasters:
            self.raster = crit.layer or key
            layer = layers.raster(self.raster, what)
            self.units = layer.units
            self.halo = 0
        else:
            from sxplan.layers.distance import features_from_vector, halo_cells

            # the same features as precompute_distances, so both paths agree
            self.features = features_from_vector(layers.vector(crit.distance_to, what), layers.grid)
            self.units = "m"
            self.raster = None
            self.grid = layers.grid
            self.max_m = float(crit.max_distance_m)
            self.halo = halo_cells(self.max_m, self.grid.res)

    def raw(self, ctx: TileContext) -> np.ndarray:
        if self.raster is not None:
            return ctx.read_float(self.raster, what=self.what)
        from sxplan.layers.distance import distance_tile

        return distance_tile(self.features, self.grid, ctx.tile, self.max_m).astype("float64")


@dataclass
class CriteriaTile:
    """Criterion results of one tile (core window).

    Attributes
    ----------
    raw : dict of str to numpy.ndarray
        float64 criterion values in layer units (NaN = no data).
    scores : dict of str to numpy.ndarray
        float32 transformed scores in [0, 1].
    combined : numpy.ndarray
        float32 weighted sum (before soft factors); NaN where any input is missing. 1 when the
        technology has no criteria.
    """

    raw: dict
    scores: dict
    combined: np.ndarray


class CompiledCriteria:
    """The criteria of one technology with their normalised weights.

    Parameters
    ----------
    criteria : list of siting.config.Criterion
        Criteria in config order.
    weights : dict of str to float
        Normalised weights (sum 1).
    layers : LayerSet
        Layers of the run.
    """

    def __init__(self, criteria, weights: dict, layers: LayerSet):
        self.items = [_Criterion(c, layers) for c in criteria]
        self.weights = dict(weights)

    @property
    def halo(self) -> int:
        """Cells of halo the criteria need."""
        return max((c.halo for c in self.items), default=0)

    @property
    def names(self) -> list[str]:
        """Criterion names in order."""
        return [c.name for c in self.items]

    def units(self, name: str) -> str:
        """Units of criterion ``name``'s raw values."""
        return next(c.units for c in self.items if c.name == name)

    def evaluate(self, ctx: TileContext) -> CriteriaTile:
        """Raw values, scores and weighted sum for a tile."""
        raw, scores = {}, {}
        for c in self.items:
            raw[c.name] = c.raw(ctx)
            scores[c.name] = apply_transform(raw[c.name], c.crit.transform)
        if not self.items:
            return CriteriaTile(raw, scores, np.ones(ctx.shape, dtype="float32"))
        return CriteriaTile(raw, scores, weighted_sum(scores, self.weights))
