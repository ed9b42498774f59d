"""Windows as Dask tasks on a two-worker LocalCluster give bit-identical outputs."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from sxplan.layers import GridSpec, distance_to, features_from_vector, slope_aspect, write_raster
from sxplan.layers.windows import plan_tiles, run_tiles, use_scheduler


@pytest.fixture(scope="module")
def client():
    with use_scheduler("processes", n_workers=2) as c:
        yield c


def test_slope_and_distance_on_local_cluster_equal_sync(tmp_path, client, rng):
    res = 30.0
    g = GridSpec.from_bounds((0, 0, 90 * res, 70 * res), res)
    dem = rng.normal(0, 10, g.shape).cumsum(0).cumsum(1).astype("float32")
    layer = write_raster(tmp_path / "dem.tif", dem, g, nodata=-9999.0, name="dem")
    sync = slope_aspect(layer, tmp_path / "sync", tile_size=16, scheduler="sync")
    dask = slope_aspect(layer, tmp_path / "dask", tile_size=16, scheduler=client)
    for name in sync:
        np.testing.assert_array_equal(sync[name].read(masked=False), dask[name].read(masked=False))

    road = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (2700, 2100)])], crs=g.crs)
    feats = features_from_vector(road, g, all_touched=True)
    a = distance_to(feats, g, tmp_path / "a.tif", max_distance_m=400, tile_size=11)
    b = distance_to(
        feats, g, tmp_path / "b.tif", max_distance_m=400, tile_size=11, scheduler=client
    )
    np.testing.assert_array_equal(a.read(masked=False), b.read(masked=False))


def test_active_block_is_the_default_and_results_keep_order(client):
    g = GridSpec.from_bounds((0, 0, 200, 200), 10)
    tiles = plan_tiles(g, tile_size=3)
    got = []

    def compute(t):
        return (t.window.row_off, t.window.col_off)

    with use_scheduler("threads"):
        run_tiles(tiles, compute, lambda t, r: got.append(r))
    assert got == [(t.window.row_off, t.window.col_off) for t in tiles]
    got.clear()
    run_tiles(tiles, compute, lambda t, r: got.append(r), scheduler=client)
    assert got == [(t.window.row_off, t.window.col_off) for t in tiles]


def test_unknown_scheduler_and_unreachable_address():
    from sxplan.errors import ConfigError

    with pytest.raises(ConfigError, match="not known"), use_scheduler("gpu"):
        pass
    with (
        pytest.raises(ConfigError, match="cannot reach the dask scheduler"),
        use_scheduler("tcp://127.0.0.1:9"),
    ):
        pass
