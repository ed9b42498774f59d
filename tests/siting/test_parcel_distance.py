"""Distance from parcels to the nearest highway, in blocks of parcels (issue 17)."""

import numpy as np
import shapely

from sxplan.siting import _outline_store as outline_store


def test_blocked_distances_equal_geos_distances(monkeypatch):
    """Squares with holes and a multipolygon against two lines: the blocked helper (blocks of
    2 parcels) gives GEOS's own polygon-to-nearest-line distance for every parcel."""
    holed = shapely.Polygon(
        [(0, 0), (10, 0), (10, 10), (0, 10)], holes=[[(4, 4), (6, 4), (6, 6), (4, 6)]]
    )
    polys = np.array(
        [
            holed,  # a line inside its hole: 0.5 to the hole's edge
            shapely.box(20, 0, 22, 2),  # 8 from the vertical line x = 30
            shapely.MultiPolygon([shapely.box(40, 0, 41, 1), shapely.box(33, 0, 34, 1)]),
            shapely.box(0, 20, 1, 21),
            shapely.box(29, 5, 31, 6),  # crossed: 0
        ],
        dtype=object,
    )
    lines = np.array(
        [shapely.LineString([(5, 4.5), (5, 5.5)]), shapely.LineString([(30, -50), (30, 50)])],
        dtype=object,
    )
    want = np.array([min(shapely.distance(p, ln) for ln in lines) for p in polys])
    np.testing.assert_array_equal(want[[0, 1, 4]], [0.5, 8.0, 0.0])
    monkeypatch.setattr(outline_store, "DISTANCE_BLOCK_PARCELS", 2)
    got = outline_store.distance_to_nearest(shapely.STRtree(lines), polys)
    np.testing.assert_array_equal(got, want)
