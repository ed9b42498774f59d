"""Exclusion rules: hand-counted areas, exact buffers, accounting, monotonicity, tiling."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from sxplan.errors import ConfigError
from sxplan.layers.grid import GridSpec
from sxplan.layers.windows import plan_tiles
from sxplan.siting._context import LayerSet, TileContext
from sxplan.siting.config import load_siting_config
from sxplan.siting.exclusions import OUTSIDE_CODE, compile_rules, study_area_tile


def _world(make_layers, tmp_path, grid, *, slope=None, lc=None):
    h, w = grid.shape
    slope = np.zeros((h, w), "float32") if slope is None else slope
    lc = np.full((h, w), 10, "uint8") if lc is None else lc
    rasters = make_layers(
        tmp_path, grid, {"slope_pct": slope, "landcover": lc},
        kinds={"landcover": "categorical"}, nodata={"landcover": 255},
    )  # fmt: skip
    return rasters


def _codes(cfg_dict, grid, rasters, vectors, counties=None, tile_size=None, tech="pv"):
    cfg = load_siting_config(cfg_dict)
    layers = LayerSet(grid, rasters, vectors)
    rules = compile_rules(cfg, tech, layers)
    if counties is None:
        xmin, ymin, xmax, ymax = grid.bounds
        counties = [shapely.box(xmin, ymin, xmax, ymax)]
    geoms = np.asarray(counties)
    tree = shapely.STRtree(geoms)
    code = np.zeros(grid.shape, "uint8")
    factor = np.zeros(grid.shape, "float32")
    alone = np.zeros(len(rules.rules), "int64")
    for tile in plan_tiles(grid, halo=rules.halo, tile_size=tile_size):
        ctx = TileContext(layers, tile)
        study = study_area_tile(geoms, tree, grid, tile.window) > 0
        ex = rules.evaluate(ctx, study)
        sl = tile.window.toslices()
        code[sl], factor[sl] = ex.code, ex.score_factor
        alone += ex.alone_cells
    return code, factor, alone


def test_quarter_box_leaves_three_quarters(make_layers, tmp_path, grid10):
    rasters = _world(make_layers, tmp_path, grid10)
    quarter = gpd.GeoDataFrame(geometry=[shapely.box(0, 5000, 5000, 10_000)], crs=grid10.crs)
    cfg = {"exclusions": [{"name": "q", "type": "vector", "layer": "q"}]}
    code, _, alone = _codes(cfg, grid10, rasters, {"q": quarter})
    assert (code == 0).sum() == 75 and (code[:5, :5] == 1).all()
    assert alone.tolist() == [25]


def test_categorical_buffer_is_an_exact_circle(make_layers, tmp_path, grid10):
    lc = np.full(grid10.shape, 10, "uint8")
    lc[5, 5] = 13  # one built cell
    rasters = _world(make_layers, tmp_path, grid10, lc=lc)
    cfg = {"exclusions": [{"name": "b", "type": "categorical", "layer": "landcover",
                           "classes": ["built"], "buffer_m": 2500}]}  # fmt: skip
    # Cell centres within 2.5 cells: dx^2 + dy^2 <= 6.25 -> 1 + 4 + 4 + 4 + 8 = 21 cells
    # (d^2 = 0, 1, 2, 4, 5); a square kernel would give 25, a diamond 13.
    for ts in (None, 3):
        code, _, _ = _codes(cfg, grid10, rasters, {}, tile_size=ts)
        assert (code == 1).sum() == 21


def test_vector_buffer_is_an_exact_circle(make_layers, tmp_path, grid10):
    rasters = _world(make_layers, tmp_path, grid10)
    pt = gpd.GeoDataFrame(geometry=[shapely.Point(5500, 4500)], crs=grid10.crs)  # a cell centre
    cfg = {"exclusions": [{"name": "p", "type": "vector", "layer": "p", "buffer_m": 2500}]}
    code, _, _ = _codes(cfg, grid10, rasters, {"p": pt}, tile_size=4)
    assert (code == 1).sum() == 21
    cfg0 = {"exclusions": [{"name": "p", "type": "vector", "layer": "p"}]}
    code, _, _ = _codes(cfg0, grid10, rasters, {"p": pt})
    assert (code == 1).sum() == 1  # a point with no buffer excludes the cell it touches


def test_range_within_soft_and_accounting(make_layers, tmp_path, grid10):
    slope = np.tile(np.arange(10, dtype="float32") * 3, (10, 1))  # columns 0..27 %
    lc = np.full(grid10.shape, 10, "uint8")
    lc[:, :2] = 12  # cropland in the two western columns
    lc[8:, :] = 1  # forest in the two southern rows
    rasters = _world(make_layers, tmp_path, grid10, slope=slope, lc=lc)
    cfg = {"exclusions": [
        {"name": "steep", "type": "range", "layer": "slope_pct", "above": 20},      # cols 7-9
        {"name": "crop", "type": "categorical", "layer": "landcover", "classes": ["crop"]},
        {"name": "forest_steepish", "type": "categorical", "layer": "landcover",
         "classes": ["forest"], "within": {"type": "range", "layer": "slope_pct", "above": 10}},
        {"name": "forest_soft", "type": "categorical", "layer": "landcover",
         "classes": ["forest"], "mode": "soft", "score_factor": 0.5},
    ]}  # fmt: skip
    code, factor, alone = _codes(cfg, grid10, rasters, {})
    # steep (slope 21, 24, 27 %): 3 cols x 10 = 30; crop: 2 cols x 8 rows = 16 (the forest
    # rows overwrite the crop columns); forest within slope > 10 (cols 4-9): 2 x 6 = 12 alone,
    # of which cols 4-6 (6 cells) remain after the steep rule.
    assert alone.tolist() == [30, 16, 12, 20]
    assert [(code == k).sum() for k in (1, 2, 3)] == [30, 16, 6]
    excluded = (code > 0).sum()
    assert excluded == 30 + 16 + 6 == 100 - (code == 0).sum()
    # soft: forest rows, multiplied by 0.5 wherever selected (eligible or not)
    assert factor[9, 3] == pytest.approx(0.5) and factor[0, 3] == 1.0


def test_outside_study_area_is_nodata(make_layers, tmp_path, grid10):
    rasters = _world(make_layers, tmp_path, grid10)
    code, _, _ = _codes({}, grid10, rasters, {}, counties=[shapely.box(0, 0, 5000, 10_000)])
    assert (code == OUTSIDE_CODE).sum() == 50 and (code == 0).sum() == 50


def test_unknown_layer_suggests(make_layers, tmp_path, grid10):
    rasters = _world(make_layers, tmp_path, grid10)
    cfg = {"exclusions": [{"name": "s", "type": "range", "layer": "slope_pc", "above": 1}]}
    with pytest.raises(ConfigError, match="did you mean 'slope_pct'"):
        _codes(cfg, grid10, rasters, {})
    cfg = {"exclusions": [{"name": "s", "type": "range", "layer": "landcover", "above": 1}]}
    with pytest.raises(ConfigError, match="categorical"):
        _codes(cfg, grid10, rasters, {})


_rule = st.one_of(
    st.builds(lambda a: {"type": "range", "layer": "slope_pct", "above": a},
              st.floats(0, 30)),
    st.builds(lambda b: {"type": "range", "layer": "slope_pct", "below": b},
              st.floats(0, 30)),
    st.builds(lambda cl, buf: {"type": "categorical", "layer": "landcover", "classes": cl,
                               "buffer_m": buf},
              st.sampled_from([["crop"], ["built"], ["forest", "grass"]]),
              st.sampled_from([0, 700, 1500])),
    st.builds(lambda r: {"type": "vector", "layer": "pts", "buffer_m": r},
              st.sampled_from([0, 1200])),
)  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(rules=st.lists(_rule, min_size=1, max_size=4), seed=st.integers(0, 1000))
def test_an_exclusion_never_adds_area(make_layers, tmp_path_factory, rules, seed):
    tmp = tmp_path_factory.mktemp("mono")
    grid = GridSpec.from_bounds((0, 0, 9000, 7000), 1000)
    rng = np.random.default_rng(seed)
    slope = rng.uniform(0, 30, grid.shape).astype("float32")
    lc = rng.choice(np.array([1, 10, 12, 13], "uint8"), grid.shape)
    rasters = _world(make_layers, tmp, grid, slope=slope, lc=lc)
    pts = gpd.GeoDataFrame(
        geometry=[shapely.Point(rng.uniform(0, 9000), rng.uniform(0, 7000))], crs=grid.crs
    )
    named = [dict(r, name=f"r{i}") for i, r in enumerate(rules)]
    previous = None
    for k in range(len(named) + 1):
        code, _, alone = _codes({"exclusions": named[:k]}, grid, rasters, {"pts": pts})
        eligible = code == 0
        if previous is not None:
            assert not (eligible & ~previous).any()  # no cell becomes eligible
        previous = eligible
    # accounting: in-sequence counts add up to the excluded area; alone >= in sequence
    seq = [(code == i + 1).sum() for i in range(len(named))]
    assert sum(seq) == (~eligible).sum()
    assert all(a >= s for a, s in zip(alone, seq, strict=True))
    # windowed == whole-array
    code_t, _, _ = _codes({"exclusions": named}, grid, rasters, {"pts": pts}, tile_size=3)
    np.testing.assert_array_equal(code, code_t)
