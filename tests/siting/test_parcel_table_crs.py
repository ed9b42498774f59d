"""Parcel outlines go to EPSG:4326 in blocks, with the same bytes as one whole transform."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from sxplan.siting import parcel_table


def test_blocked_transform_equals_whole(monkeypatch):
    rng = np.random.default_rng(0)
    n = 5_000
    x, y = rng.uniform(-5e5, 5e5, n), rng.uniform(3.5e6, 4.5e6, n)
    outlines = shapely.buffer(shapely.points(x, y), 500, quad_segs=2)
    outlines[7] = shapely.union(outlines[7], shapely.box(0, 4e6, 300, 4.0003e6))  # multipart
    gdf = gpd.GeoDataFrame(
        {"parcel_id": [f"PV-{i:05d}" for i in range(n)], "score_mean": rng.random(n)},
        geometry=outlines,
        crs=parcel_table_crs(),
    )
    ref = gdf.to_crs("EPSG:4326")
    monkeypatch.setattr(parcel_table, "_CRS_BLOCK", 700)  # 8 blocks, the last one short
    got = parcel_table._to_wgs84(gdf)
    assert got.crs == ref.crs and list(got.columns) == list(ref.columns)
    assert (
        shapely.to_wkb(np.asarray(got.geometry.values)).tolist()
        == shapely.to_wkb(np.asarray(ref.geometry.values)).tolist()
    )
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.drop(columns="geometry")), pd.DataFrame(ref.drop(columns="geometry"))
    )
    assert gdf.crs != ref.crs  # the input is left as it was


def parcel_table_crs() -> str:
    """The default grid's Albers equal-area projection for China (metres)."""
    return "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +datum=WGS84 +units=m +no_defs"
