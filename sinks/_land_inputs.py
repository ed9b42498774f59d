"""The inputs of the land tile passes, checked once: land cover, limit layers, lookups.

Shared by :func:`sxplan.sinks.eligible.compute_land_rasters` (fraction rasters) and
:func:`sxplan.sinks._land_pass.sum_land_by_county` (county sums inside the tile pass), so both
read the same layers with the same checks and apply the same limits.

Inputs: the run's rasters, :class:`~sxplan.sinks.config.SinksConfig`, an optional renewables
reservation and vector layers. Outputs: :class:`LandInputs`, whose :meth:`LandInputs.read`
gives one tile's land-cover codes and limit blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sxplan.errors import ConfigError, GridMismatchError
from sxplan.layers.distance import (
    code_mask,
    features_from_vector,
    halo_cells,
    within_distance,
)
from sxplan.layers.grid import GridSpec
from sxplan.layers.io import AlignedLayer
from sxplan.layers.landcover import scheme_of
from sxplan.layers.terrain import DerivedSlopeLayer

from .config import SinksConfig
from .eligible import built_codes, credit_lookups, likelihood_lookup

__all__ = ["LandInputs", "prepare_land_inputs"]


@dataclass(frozen=True)
class LandInputs:
    """What a land tile pass reads, and its lookups.

    Attributes
    ----------
    grid : GridSpec
        The run's grid.
    landcover : AlignedLayer
        The land-cover layer (categorical, with a scheme).
    scheme : str
        Its land-cover scheme.
    limit_layers : dict of str to AlignedLayer
        ``slope``, ``dem``, ``climate:<layer>``, ``zones``, ``reserved`` as configured.
    luts : tuple of numpy.ndarray
        ``(forest, eligible, likelihood, builtup)`` float32 lookups by source code.
    rules : list of str
        The limits applied, in order (a subset of :data:`sxplan.sinks.eligible.RULES`).
    halo : int
        Cells of context a tile needs (the built-up margin).
    margin_m : float
        The built-up margin in metres (0: none).
    farmland_raster, farmland_vector
        The farmland limit as a raster layer or a feature reader (or neither).
    built : numpy.ndarray or None
        Land-cover codes of built-up land, the margin's features (None without a margin).
    """

    grid: GridSpec
    landcover: AlignedLayer
    scheme: str
    limit_layers: dict
    luts: tuple
    rules: list
    halo: int
    margin_m: float
    farmland_raster: AlignedLayer | None
    farmland_vector: object
    built: np.ndarray | None

    def read(self, tile) -> tuple[np.ndarray, np.ndarray, dict]:
        """Land-cover codes, their valid mask and the limit blocks of one tile's core.

        Each raster is read once per tile: the land cover over the tile's halo when the
        built-up margin needs it (the codes are its core), and a DEM both derived into slope
        and used as a limit once, over the slope's 1-cell halo.
        """
        if self.built is None:
            codes, valid = self.landcover.read_valid(tile.window)
        else:
            around, around_ok = self.landcover.read_valid(tile.outer)
            codes, valid = around[tile.inner], around_ok[tile.inner]
            built = code_mask(around, around_ok, self.built)
        limits = {}
        slope, dem = self.limit_layers.get("slope"), self.limit_layers.get("dem")
        if isinstance(slope, DerivedSlopeLayer) and dem is not None and slope.dem is dem:
            limits["slope"], limits["dem"] = slope.read_valid_and_dem(tile.window)
        for k, layer in self.limit_layers.items():
            if k not in limits:
                limits[k] = layer.read_valid(tile.window)
        if self.farmland_raster is not None:
            f, fv = self.farmland_raster.read_valid(tile.window)
            limits["farmland"] = fv & (f > 0)
        elif self.farmland_vector is not None:
            limits["farmland"] = self.farmland_vector(tile.window)
        if self.built is not None:
            limits["built_near"] = within_distance(lambda _: built, self.grid, tile, self.margin_m)
        return codes, valid, limits


def prepare_land_inputs(
    grid: GridSpec,
    rasters: dict[str, AlignedLayer],
    config: SinksConfig,
    *,
    reserved: AlignedLayer | None = None,
    vectors: dict | None = None,
) -> LandInputs:
    """Check the layers a land pass needs and build its lookups (see :class:`LandInputs`)."""
    if config.landcover_layer not in rasters:
        raise ConfigError(
            f"sinks: land-cover layer '{config.landcover_layer}' is not among the run's rasters "
            f"{sorted(rasters)}; set `sinks.landcover_layer` to one of them"
        )
    lc = rasters[config.landcover_layer]
    grid.require_same(lc.grid, f"layer '{lc.name}' ({lc.path})")
    if lc.kind != "categorical":
        raise GridMismatchError(
            f"land-cover layer '{lc.name}' ({lc.path}) was aligned as {lc.kind}; class codes "
            "need categorical (mode/nearest) resampling: set `kind: categorical` in its spec"
        )
    scheme = scheme_of(lc, needed_by=f"sinks (landcover_layer: {lc.name})")
    config.check_scheme(scheme)
    limit_layers = _limit_layers(grid, rasters, config, reserved)
    farmland_raster = limit_layers.pop("farmland", None)
    farmland_vector = _farmland_vector(config, rasters, vectors, grid)
    built_lut = np.zeros(65536, dtype="float32")
    built_lut[built_codes(scheme)] = 1.0
    luts = (*credit_lookups(config, scheme), likelihood_lookup(config, scheme), built_lut)
    margin = config.built_margin_m
    built = np.asarray(sorted(set(built_codes(scheme)))) if margin > 0 else None
    rules = [
        r
        for r, present in (
            ("farmland", config.farmland_layer is not None),
            ("built_margin", margin > 0),
            ("slope", "slope" in limit_layers),
            ("elevation", "dem" in limit_layers),
            ("climate", bool(config.climate_limits)),
            ("climate_zone", "zones" in limit_layers),
            ("reserved", "reserved" in limit_layers),
        )
        if present
    ]
    halo = halo_cells(margin, grid.res) if margin > 0 else 0
    return LandInputs(
        grid, lc, scheme, limit_layers, luts, rules, halo, margin, farmland_raster,
        farmland_vector, built,
    )  # fmt: skip


def _limit_layers(
    grid: GridSpec,
    rasters: dict[str, AlignedLayer],
    config: SinksConfig,
    reserved: AlignedLayer | None,
) -> dict[str, AlignedLayer]:
    """The layers limiting eligibility, checked to exist and to be on the grid."""
    wanted: dict[str, str] = {}
    if config.max_slope_deg is not None and config.slope_layer:
        wanted["slope"] = config.slope_layer
    if config.dem_layer and (
        config.min_elevation_m is not None or config.max_elevation_m is not None
    ):
        wanted["dem"] = config.dem_layer
    for lim in config.climate_limits:
        wanted[f"climate:{lim.layer}"] = lim.layer
    if config.climate_zones is not None:
        wanted["zones"] = config.climate_zones.layer
    if config.farmland_layer and config.farmland_layer in rasters:
        wanted["farmland"] = config.farmland_layer
    layers: dict[str, AlignedLayer] = {}
    for key, name in wanted.items():
        if name not in rasters:
            raise ConfigError(
                f"sinks: layer '{name}' (needed for {key.split(':')[0]} limits) is not among "
                f"the run's rasters {sorted(rasters)}; add it to `layers:` or remove the limit "
                "from `sinks:`"
            )
        layers[key] = rasters[name]
    if reserved is not None:
        layers["reserved"] = reserved
    for layer in layers.values():
        grid.require_same(layer.grid, f"layer '{layer.name}' ({layer.path})")
    return layers


def _farmland_vector(config, rasters, vectors, grid):
    """A feature reader for a polygon farmland layer, or None (raster layer or none set)."""
    name = config.farmland_layer
    if not name or name in rasters:
        return None
    if vectors is None or name not in vectors:
        raise ConfigError(
            f"sinks.farmland_layer '{name}' is neither a raster {sorted(rasters)} nor a vector "
            f"layer {sorted(vectors or {})} of the run; add it to `layers:` or unset it"
        )
    return features_from_vector(vectors[name], grid, all_touched=False)
