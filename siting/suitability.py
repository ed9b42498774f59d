"""Criterion scores and suitability, tile by tile.

Each criterion reads a raster (or measures the exact Euclidean distance in metres from cell
centres to a vector layer's features, capped at ``max_distance_m``, over a halo'd window so
tiles agree with the whole grid), transforms it to [0, 1], and the weighted sum is multiplied
by soft-rule factors. Suitability is defined only on eligible cells.

Inputs: :class:`~siting.config.Criterion` models, weights, a :class:`~siting._context.LayerSet`.
Outputs: :class:`CompiledCriteria` whose :meth:`~CompiledCriteria.evaluate` returns raw values,
scores and the weighted sum for a tile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage

from layers.vector import burn_tile

from ._context import LayerSet, TileContext
from .criteria import apply_transform, weighted_sum

__all__ = ["CompiledCriteria", "CriteriaTile"]


class _Criterion:
    def __init__(self, crit, layers: LayerSet):
        self.crit = crit
        self.name = crit.name
        what = f"criterion '{crit.name}'"
        self.what = what
        if crit.layer is not None:
            layer = layers.raster(crit.layer, what)
            self.units = layer.units
            self.raster = crit.layer
            self.halo = 0
        else:
            gdf = layers.vector(crit.distance_to, what)
            geoms = np.asarray(gdf.geometry.values)
            geoms = geoms[~(shapely.is_empty(geoms) | shapely.is_missing(geoms))]
            self.geoms = geoms
            self.tree = shapely.STRtree(geoms)
            kinds = set(shapely.get_type_id(geoms).tolist())
            self.all_touched = not kinds <= {3, 6}
            self.units = "m"
            self.raster = None
            self.res = layers.grid.res
            self.grid = layers.grid
            self.max_m = float(crit.max_distance_m)
            self.halo = int(math.ceil(self.max_m / self.res - 1e-9))

    def raw(self, ctx: TileContext) -> np.ndarray:
        if self.raster is not None:
            return ctx.read_float(self.raster, what=self.what)
        feat = burn_tile(
            self.geoms,
            None,
            self.grid,
            ctx.tile.outer,
            all_touched=self.all_touched,
            tree=self.tree,
        ).astype(bool)
        if not feat.any():
            return np.full(ctx.shape, self.max_m)
        dist = ndimage.distance_transform_edt(~feat, sampling=(self.res, self.res))
        return np.minimum(dist[ctx.tile.inner], self.max_m)


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
