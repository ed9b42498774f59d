"""Criteria on tiles: distance criteria by hand, precomputed == halo'd == whole."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from sxplan.layers.windows import plan_tiles
from sxplan.siting._context import LayerSet, TileContext
from sxplan.siting.config import Criterion
from sxplan.siting.suitability import CompiledCriteria, precompute_distances


def _scores(layers, crits, weights, tile_size=None):
    cc = CompiledCriteria(crits, weights, layers)
    out = np.zeros(layers.grid.shape, "float32")
    raw = np.zeros(layers.grid.shape)
    for tile in plan_tiles(layers.grid, halo=cc.halo, tile_size=tile_size):
        res = cc.evaluate(TileContext(layers, tile))
        out[tile.window.toslices()] = res.combined
        raw[tile.window.toslices()] = res.raw["d"]
    return out, raw


def test_distance_criterion_by_hand(tmp_path, grid10, make_layers):
    rasters = make_layers(tmp_path, grid10, {"ghi": np.full(grid10.shape, 1500.0, "float32")})
    line = gpd.GeoDataFrame(geometry=[shapely.LineString([(9500, 0), (9500, 10_000)])],
                            crs=grid10.crs)  # fmt: skip
    crits = [
        Criterion(name="d", distance_to="hw", max_distance_m=4000,
                  transform={"type": "inverse_distance", "half_value_m": 2000}),
        Criterion(name="g", layer="ghi", transform={"type": "linear", "x0": 1000, "x1": 2000}),
    ]  # fmt: skip
    weights = {"d": 0.5, "g": 0.5}
    # The line burns column 9; column j lies (9 - j) km away, capped at 4 km.
    d_expect = np.minimum((9 - np.arange(10)) * 1000.0, 4000.0)
    s_expect = 0.5 * 2000 / (2000 + d_expect) + 0.5 * 0.5
    layers = LayerSet(grid10, rasters, {"hw": line})
    s_halo, d_halo = _scores(layers, crits, weights, tile_size=3)
    np.testing.assert_allclose(d_halo, np.tile(d_expect, (10, 1)))
    np.testing.assert_allclose(s_halo, np.tile(s_expect, (10, 1)), rtol=1e-6)
    precompute_distances(crits, layers, tmp_path, mem_limit_mb=64, tile_size=4)
    s_pre, d_pre = _scores(layers, crits, weights)
    np.testing.assert_array_equal(d_pre, d_halo)
    np.testing.assert_array_equal(s_pre, s_halo)
