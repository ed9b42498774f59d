"""write_gpkg_blocks: a table written block by block reads back as the table written whole."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from sxplan.errors import CRSError
from sxplan.layers.io import write_gpkg, write_gpkg_blocks


def _table(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(0)
    return gpd.GeoDataFrame(
        {
            "parcel_id": [f"PV-{i:05d}" for i in range(1, n + 1)],
            "rank": np.arange(1, n + 1),
            "score_mean": rng.random(n),
            "county": ["太原市小店区"] * n,
        },
        geometry=shapely.box(rng.random(n), rng.random(n), 2, 2),
        crs="EPSG:4326",
    )


def test_blocks_read_back_as_the_whole_table(tmp_path):
    t = _table(1_000)
    whole = write_gpkg(t, tmp_path / "whole.gpkg", "parcels_pv")
    blocks = write_gpkg_blocks(
        (t.iloc[i : i + 300] for i in range(0, len(t), 300)), tmp_path / "b.gpkg", "parcels_pv"
    )
    a, b = gpd.read_file(whole), gpd.read_file(blocks)
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")),
                                  pd.DataFrame(b.drop(columns="geometry")))  # fmt: skip
    assert shapely.equals_exact(
        np.asarray(a.geometry.values), np.asarray(b.geometry.values), 0
    ).all()
    assert b.crs == "EPSG:4326"


def test_an_empty_table_keeps_its_columns(tmp_path):
    path = write_gpkg_blocks([_table(0)], tmp_path / "e.gpkg", "parcels_pv")
    back = gpd.read_file(path)
    assert len(back) == 0 and list(back.columns) == list(_table(0).columns)


def test_refused_without_a_crs_and_nothing_left(tmp_path):
    t = _table(10)
    with pytest.raises(CRSError, match="without a CRS"):
        write_gpkg_blocks([t, t.set_crs(None, allow_override=True)], tmp_path / "x.gpkg", "p")
    assert not list(tmp_path.iterdir())  # no half-written file
