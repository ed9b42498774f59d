"""Layer access for the siting engine: named rasters and vectors on one grid, read per tile.

Inputs: the run's grid, aligned rasters by name, vector layers by name (GeoDataFrames).
Outputs: :class:`LayerSet` (validated lookups with helpful errors) and :class:`TileContext`
(cached reads of a tile's core or halo'd window).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

import numpy as np
from pyproj import CRS

from sxplan.errors import ConfigError, CRSError
from sxplan.layers.grid import GridSpec
from sxplan.layers.io import AlignedLayer
from sxplan.layers.windows import Tile

__all__ = ["LayerSet", "TileContext"]


class LayerSet:
    """The rasters and vectors a siting run may use, checked to be on the run's grid.

    Parameters
    ----------
    grid : GridSpec
        The run's grid.
    rasters : mapping of str to AlignedLayer
        Aligned rasters by name.
    vectors : mapping of str to geopandas.GeoDataFrame
        Vector layers by name (reprojected to the grid CRS here if they carry another CRS).
    """

    def __init__(self, grid: GridSpec, rasters: Mapping, vectors: Mapping) -> None:
        self.grid = grid
        self.rasters: dict[str, AlignedLayer] = {}
        for name, layer in rasters.items():
            grid.require_same(layer.grid, f"raster layer '{name}' ({layer.path})")
            self.rasters[name] = layer
        self.vectors = {}
        for name, gdf in vectors.items():
            if gdf.crs is None:
                raise CRSError(
                    f"vector layer '{name}' has no CRS; load it with sxplan.layers.load_vector"
                )
            if CRS.from_user_input(gdf.crs) != grid.pyproj_crs:
                gdf = gdf.to_crs(grid.pyproj_crs)
            self.vectors[name] = gdf

    def raster(self, name: str, what: str) -> AlignedLayer:
        """The raster ``name``; ``what`` names the rule/criterion asking, for the message."""
        if name not in self.rasters:
            raise ConfigError(f"{what}: {_missing(name, self.rasters, 'raster')}")
        return self.rasters[name]

    def vector(self, name: str, what: str):
        """The vector layer ``name``; ``what`` names the rule/criterion asking."""
        if name not in self.vectors:
            raise ConfigError(f"{what}: {_missing(name, self.vectors, 'vector')}")
        return self.vectors[name]


def _missing(name: str, have: Mapping, kind: str) -> str:
    close = difflib.get_close_matches(name, list(have), n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"no {kind} layer named '{name}' (the run has {sorted(have)}){hint}"


class TileContext:
    """Reads for one tile, cached so each layer is read once per tile.

    Parameters
    ----------
    layers : LayerSet
        Where rasters come from.
    tile : Tile
        The tile (core window and halo'd outer window).
    """

    def __init__(self, layers: LayerSet, tile: Tile) -> None:
        self.layers = layers
        self.tile = tile
        self.grid = layers.grid
        self._cache: dict[tuple[str, bool], tuple[np.ndarray, np.ndarray]] = {}
        self._derived: dict = {}

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the core window."""
        return (int(self.tile.window.height), int(self.tile.window.width))

    def read(self, name: str, *, outer: bool = False, what: str = "siting"):
        """``(values, valid)`` of raster ``name`` over the core (or outer) window."""
        key = (name, outer)
        if key in self._cache:
            return self._cache[key]
        if not outer and (name, True) in self._cache:
            values, valid = self._cache[(name, True)]
            got = (values[self.tile.inner], valid[self.tile.inner])
        else:
            layer = self.layers.raster(name, what)
            got = layer.read_valid(self.tile.outer if outer else self.tile.window)
        self._cache[key] = got
        return got

    def read_float(self, name: str, *, what: str = "siting") -> np.ndarray:
        """Core-window values of ``name`` as float64 with NaN where the layer has no data.

        The array is cached and shared by every caller of the tile: do not modify it.
        """

        def make():
            values, valid = self.read(name, what=what)
            out = values.astype("float64", copy=True)
            if not valid.all():
                np.copyto(out, np.nan, where=~valid)
            out.flags.writeable = False
            return out

        return self.cached(("float", name), make)

    def cached(self, key, make):
        """``make()`` computed once per tile and key (results shared by technologies)."""
        if key not in self._derived:
            self._derived[key] = make()
        return self._derived[key]
