"""Parcel outlines traced by GDAL: which need the OGC validity test (polygonize.pinched_values)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from rasterio import features
from rasterio.transform import from_origin
from scipy import ndimage

from sxplan.siting.polygonize import _shapes_to_polygons, pinched_values


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
