import geopandas as gpd
import numpy as np
import pytest
import shapely

from sxplan.errors import ConfigError, CRSError, LayerIOError, NoOverlapError
from sxplan.layers import GridSpec, VectorLayerSpec, load_vector, parse_layer_spec, rasterize


def test_gcj02_layer_is_shifted_back_to_wgs84(tmp_path):
    # a point at a published reference location, written in GCJ-02 coordinates
    glon, glat = 116.38404722455657, 39.91334545536069
    path = tmp_path / "amap.geojson"
    gpd.GeoDataFrame(
        {"name": ["天安门"]}, geometry=[shapely.Point(glon, glat)], crs="EPSG:4326"
    ).to_file(path)
    out = load_vector(VectorLayerSpec(path=path, datum="gcj02"))
    p = out.geometry.iloc[0]
    assert abs(p.x - 116.377817) < 1e-7 and abs(p.y - 39.911954) < 1e-7


def test_missing_crs_and_where_and_burn_field_errors(tmp_path):
    path = tmp_path / "roads.gpkg"
    gdf = gpd.GeoDataFrame(
        {"highway": ["motorway", "residential"]},
        geometry=[shapely.LineString([(0, 0), (1, 1)])] * 2,
        crs="EPSG:4326",
    )
    gdf.to_file(path)
    sel = load_vector(VectorLayerSpec(path=path, where={"highway": ["motorway"]}))
    assert list(sel["highway"]) == ["motorway"]
    with pytest.raises(ConfigError, match="fields are"):
        load_vector(VectorLayerSpec(path=path, burn_field="lanes"))
    with pytest.raises(ConfigError, match="has fields"):
        load_vector(VectorLayerSpec(path=path, where={"class": ["motorway"]}))
    with pytest.raises(LayerIOError, match="does not exist"):
        load_vector(VectorLayerSpec(path=tmp_path / "none.gpkg"))
    nocrs = tmp_path / "nocrs.geojson"
    nocrs.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        '"geometry":{"type":"Point","coordinates":[0,0]}}]}'
    )
    # GeoJSON is WGS84 by definition: GDAL reports EPSG:4326, so use a shapefile without .prj
    shp = tmp_path / "noprj.shp"
    gdf.to_file(shp)
    shp.with_suffix(".prj").unlink()
    with pytest.raises(CRSError, match="set `crs:` in its spec"):
        load_vector(VectorLayerSpec(path=shp))
    assert load_vector(VectorLayerSpec(path=shp, crs="EPSG:4326")).crs.to_epsg() == 4326


def test_layer_outside_study_area_is_refused(tmp_path):
    g = GridSpec.from_geometry(shapely.box(111, 37, 112, 38), "EPSG:4326", 1000)
    path = tmp_path / "far.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.Point(2.35, 48.85)], crs="EPSG:4326").to_file(path)
    with pytest.raises(NoOverlapError, match="does not overlap the study area"):
        load_vector(VectorLayerSpec(path=path), g)


def test_rasterize_all_touched_and_windowed_equals_whole(tmp_path):
    g = GridSpec.from_bounds((0, 0, 1000, 1000), 100)
    poly = shapely.box(160, 160, 460, 460)  # centres inside: x,y in {250,350,450} -> 3x3 cells
    gdf = gpd.GeoDataFrame({"v": [7]}, geometry=[poly], crs=g.crs)
    centres = rasterize(gdf, g, tmp_path / "c.tif", all_touched=False).read(masked=False)
    touched = rasterize(gdf, g, tmp_path / "t.tif", all_touched=True).read(masked=False)
    assert centres.sum() == 9 and touched.sum() == 16
    burned = rasterize(gdf, g, tmp_path / "b.tif", all_touched=False, burn="v").read(masked=False)
    assert set(np.unique(burned)) == {0, 7}

    rng = np.random.default_rng(1)
    polys = [shapely.Point(rng.uniform(0, 1000, 2)).buffer(rng.uniform(20, 200)) for _ in range(30)]
    many = gpd.GeoDataFrame({"id": np.arange(1, 31)}, geometry=polys, crs=g.crs)
    one = rasterize(many, g, tmp_path / "1.tif", all_touched=True, burn="id").read(masked=False)
    from sxplan.layers.vector import burn_tile
    from sxplan.layers.windows import plan_tiles, run_tiles

    out = np.zeros(g.shape, "uint8")
    geoms, vals = np.asarray(many.geometry.values), many["id"].to_numpy()

    def put(t, arr):
        w = t.window
        out[w.row_off : w.row_off + w.height, w.col_off : w.col_off + w.width] = arr

    run_tiles(
        plan_tiles(g, tile_size=3),
        lambda t: burn_tile(geoms, vals, g, t.window, all_touched=True),
        put,
    )
    np.testing.assert_array_equal(out, one)


def test_parse_layer_spec_suggests_the_intended_key(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'nodata'"):
        parse_layer_spec(
            "dem", {"type": "raster", "path": "d.tif", "kind": "continuous", "no_data": -999}
        )
    with pytest.raises(ConfigError, match="type: raster"):
        parse_layer_spec("dem", {"path": "d.tif"})
    spec = parse_layer_spec(
        "dem", {"type": "raster", "path": "d.tif", "kind": "continuous"}, base_dir=tmp_path
    )
    assert spec.path == (tmp_path / "d.tif").resolve()


def test_rasterize_tiles_share_the_budget_and_burn_what_one_whole_call_burns(tmp_path):
    import tracemalloc

    import rasterio.features

    from sxplan.layers.windows import use_scheduler

    res, n = 30.0, 4000
    g = GridSpec.from_bounds((0, 0, n * res, n * res), res)
    disc = shapely.Point(n * res / 2, n * res / 3).buffer(n * res / 4)
    gdf = gpd.GeoDataFrame(geometry=[disc], crs=g.crs)
    with use_scheduler("threads"):
        tracemalloc.start()
        layer = rasterize(gdf, g, tmp_path / "r.tif", all_touched=False, mem_limit_mb=8)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # 8 MB shared by two threads at 4 B/cell planned; at 1 B/cell for one thread the tiles
    # were 8 M cells and the peak traced 23 MB
    assert peak < 8 * 2**20
    whole = rasterio.features.rasterize(
        [(disc, 1)], out_shape=g.shape, transform=g.transform, fill=0, dtype="uint8"
    )
    np.testing.assert_array_equal(layer.read(masked=False), whole)
