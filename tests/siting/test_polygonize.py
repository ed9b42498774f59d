"""Parcel outlines traced by GDAL: which need the OGC validity test (polygonize.pinched_values),
and the union of a parcel's pieces from several tiles (polygonize._merged)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from affine import Affine
from rasterio import features
from rasterio.transform import from_origin
from scipy import ndimage

from sxplan.siting.polygonize import (
    _finish,
    _merged,
    _noded_on_seams,
    _seam_lines,
    _shapes_to_polygons,
    _without_straight_vertices,
    pinched_values,
)


def test_pinched_values_by_hand():
    pid = np.array(
        [
            [1, 0, 2, 2],
            [0, 1, 2, 0],
            [3, 3, 0, 2],
        ]
    )
    # 1 on the main diagonal of the block at (0, 0), 2 on that of the block at (1, 2)
    # (cells (1, 2) and (2, 3), with 0 on the other diagonal); 3 meets no value at a corner
    assert pinched_values(pid).tolist() == [1, 2]
    assert pinched_values(np.array([[0, 4], [4, 0]])).tolist() == [4]
    assert pinched_values(np.array([[5, 5], [5, 0]])).tolist() == []
    assert pinched_values(np.zeros((1, 3), "int32")).size == 0


@pytest.mark.parametrize("connectivity", [4, 8])
def test_an_outline_gdal_traces_is_valid_unless_its_value_is_pinched(connectivity):
    """Over random rasters of parcels (patches cut into labelled parts, holes, parts meeting
    at corners): every traced polygon of a value outside pinched_values is OGC-valid, and
    every invalid one has a pinched value (so skipping is_valid for the others is exact)."""
    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    n_invalid = n_checked = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        shape = (int(rng.integers(5, 40)), int(rng.integers(5, 40)))
        mask = rng.random(shape) < rng.uniform(0.35, 0.75)
        pid, n = ndimage.label(mask, structure=structure)
        # split some parcels where a random block grid cuts them (parcels in blocks)
        blocks = (np.arange(shape[0])[:, None] // 7) * 100 + np.arange(shape[1])[None, :] // 9
        pid = np.where(pid > 0, pid * 1000 + blocks * (rng.random() < 0.5), 0).astype("int32")
        shapes = features.shapes(
            pid, mask=pid > 0, connectivity=connectivity, transform=from_origin(0, 0, 30, 30)
        )
        values, polys = _shapes_to_polygons(shapes)
        pinched = set(pinched_values(pid).tolist())
        valid = shapely.is_valid(polys)
        for v, ok in zip(values.tolist(), valid.tolist(), strict=True):
            n_checked += 1
            if not ok:
                n_invalid += 1
                assert v in pinched, (seed, v)
    assert n_checked > 1000
    if connectivity == 8:  # GDAL's 8-connected traces through a corner: the case exists
        assert n_invalid > 10


def _tile_pieces(pid, transform, tile, connectivity):
    """Each value's polygons traced tile by tile (tiles of ``tile`` cells), and the seams."""
    pieces: dict[int, list] = {}
    xs, ys = [], []
    for r0 in range(0, pid.shape[0], tile[0]):
        for c0 in range(0, pid.shape[1], tile[1]):
            part = pid[r0 : r0 + tile[0], c0 : c0 + tile[1]]
            tr = transform * Affine.translation(c0, r0)
            xs += [tr.c, tr.c + part.shape[1] * tr.a]
            ys += [tr.f, tr.f + part.shape[0] * tr.e]
            shapes = features.shapes(part, mask=part > 0, connectivity=connectivity, transform=tr)
            for v, g in zip(*_shapes_to_polygons(shapes), strict=True):
                pieces.setdefault(int(v), []).append(g)
    return pieces, (np.unique(xs), np.unique(ys))


@pytest.mark.parametrize("connectivity", [4, 8])
def test_merged_pieces_equal_their_general_union(connectivity):
    """Parcels cut by tile seams: the coverage union of the pieces, noded on the seams, is the
    general union (OverlayNG) with its straight-run vertices dropped, vertex for vertex; it is
    valid and its area is the parcel's cells'."""
    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    transform = from_origin(371_250.0, 4_213_770.0, 30.0, 30.0)
    n_merged = 0
    for seed in range(40):
        rng = np.random.default_rng(100 + seed)
        shape = (int(rng.integers(12, 45)), int(rng.integers(12, 45)))
        pid, _ = ndimage.label(rng.random(shape) < rng.uniform(0.4, 0.8), structure=structure)
        tile = (int(rng.integers(3, 12)), int(rng.integers(3, 12)))
        pieces, seams = _tile_pieces(pid, transform, tile, connectivity)
        cells = np.bincount(pid.ravel())
        for v, ps in pieces.items():
            if len(ps) < 2:
                continue
            n_merged += 1
            got = _merged(ps, seams)
            # the coverage union itself succeeded (no fallback): the pieces were noded alike
            shapely.coverage_union_all(_noded_on_seams(np.asarray(ps, dtype=object), *seams))
            want = shapely.simplify(shapely.union_all(ps), 0.0)
            assert shapely.equals_exact(shapely.normalize(got), shapely.normalize(want), 0)
            assert shapely.is_valid(got)
            assert got.area == pytest.approx(cells[v] * 900.0, rel=1e-12)
    assert n_merged > 50


def test_merged_pieces_not_noded_alike_take_the_general_union():
    """Seams a rounding step off the pieces' corners: GEOS refuses the coverage union, the
    general union is taken, and the outline is the same."""
    transform = from_origin(0.0, 300.0, 30.0, 30.0)
    pid = np.ones((6, 6), dtype="int32")
    pid[2:4, 3] = 0  # a notch on the seam at column 3
    pieces, (xs, ys) = _tile_pieces(pid, transform, (6, 3), 4)
    assert len(pieces[1]) == 2
    want = shapely.normalize(shapely.simplify(shapely.union_all(pieces[1]), 0.0))
    off = (np.nextafter(xs, np.inf), ys)  # seams no vertex lies on: nothing is added
    with pytest.raises(shapely.errors.GEOSException):
        shapely.coverage_union_all(_noded_on_seams(np.asarray(pieces[1], dtype=object), *off))
    assert shapely.equals_exact(shapely.normalize(_merged(pieces[1], off)), want, 0)
    assert shapely.equals_exact(shapely.normalize(_merged(pieces[1], None)), want, 0)
    assert shapely.equals_exact(shapely.normalize(_merged(pieces[1], (xs, ys))), want, 0)


def test_without_straight_vertices_by_hand():
    # a square with vertices on its straight runs, the first of them one; a hole with one
    ring = [(2, 0), (4, 0), (4, 2), (4, 4), (0, 4), (0, 0), (2, 0)]
    hole = [(1, 1), (1, 2), (1, 3), (3, 3), (3, 1), (1, 1)]
    got = _without_straight_vertices(shapely.Polygon(ring, [hole]))
    assert shapely.equals_exact(
        shapely.normalize(got),
        shapely.normalize(
            shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (1, 3), (3, 3), (3, 1)]])
        ),
        0,
    )
    multi = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.Polygon(ring)])
    got = _without_straight_vertices(multi)
    assert got.geom_type == "MultiPolygon" and shapely.get_num_coordinates(got) == 10
    square = shapely.box(0, 0, 1, 1)
    assert _without_straight_vertices(square) is square  # nothing to drop: the same object


@pytest.mark.parametrize(
    "pid",
    [
        [[1, 1, 0], [1, 1, 0], [0, 0, 1]],  # two parts meeting at a corner
        [[1, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 1]],  # two holes meeting at one
        [[1, 1, 1], [1, 0, 1], [1, 1, 0]],  # a hole meeting the outside at a corner
    ],
)
def test_a_pinched_piece_comes_out_valid_with_every_cell(pid):
    """One piece GDAL traces through a corner twice (8-connected): the outline is valid, has
    every cell, and is the one buffer(0) (the route before s31) gives."""
    pid = np.asarray(pid, dtype="int32")
    shapes = features.shapes(pid, mask=pid > 0, connectivity=8, transform=from_origin(0, 0, 30, 30))
    _, polys = _shapes_to_polygons(shapes)
    assert len(polys) == 1 and pinched_values(pid).tolist() == [1]
    got = _finish(1, [polys[0]], check=True)
    assert shapely.is_valid(got)
    assert got.area == pytest.approx(pid.sum() * 900.0, rel=1e-12)
    fixed = shapely.buffer(polys[0], 0)
    assert shapely.equals_exact(got, shapely.normalize(fixed), 0)


def test_seam_lines_by_hand():
    """The tiles' edges in map units: a 5 x 7 grid of 30 m cells cut into 3 x 4 tiles. If
    these were wrong the merges would fall back to the general union with the same outlines,
    so only this test would tell."""
    from types import SimpleNamespace

    from rasterio.windows import Window

    from sxplan.layers.grid import GridSpec

    grid = GridSpec.from_bounds((600.0, 3000.0, 810.0, 3150.0), 30.0)
    assert grid.shape == (5, 7)
    tiles = [
        SimpleNamespace(window=Window(c, r, min(4, 7 - c), min(3, 5 - r)))
        for r in (0, 3)
        for c in (0, 4)
    ]
    xs, ys = _seam_lines(tiles, grid)
    assert xs.tolist() == [600.0, 720.0, 810.0]  # columns 0, 4, 7
    assert ys.tolist() == [3000.0, 3060.0, 3150.0]  # rows 5, 3, 0 (north up)
