"""run_roadside_pv on tiny real GeoTIFFs and GeoPackages with hand-derivable answers.

The fixture is a 20 km x 20 km grid (50 m cells) in the Albers grid around Taiyuan
(112.55 E, 37.87 N): flat DEM at 1000 m, GHI 1450 kWh/m2/yr, IGBP grassland (10), two counties
split at the grid's centre line x = X0. Roads are drawn either along true parallels/meridians
(densified in lon/lat, then projected: they exercise the meridian-convergence correction, about
-4.3 degrees here) or straight along grid axes (for exact area arithmetic).
"""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from pyproj import Transformer

from sxplan.errors import ConfigError, CRSMismatchError
from sxplan.layers.counties import validate_counties
from sxplan.layers.grid import ALBERS_CHINA, GridSpec
from sxplan.layers.io import write_raster
from sxplan.siting._roadside_solar import poa_ratio
from sxplan.siting.roadside import RoadsidePVConfig, run_roadside_pv, select_roads

LON0, LAT0 = 112.55, 37.87
TO_GRID = Transformer.from_crs("EPSG:4326", ALBERS_CHINA, always_xy=True)
X0, Y0 = TO_GRID.transform(LON0, LAT0)
RES = 50.0
GRID = GridSpec.from_bounds((X0 - 10_000, Y0 - 10_000, X0 + 10_000, Y0 + 10_000), RES)
# Quiet defaults for the tests: no vector exclusions unless a test adds them.
BASE = {"exclusion_layers": [], "horizon_distance_m": 0.0}


def true_line(lon1, lat1, lon2, lat2, n=400):
    lon = np.linspace(lon1, lon2, n)
    lat = np.linspace(lat1, lat2, n)
    return shapely.LineString(np.column_stack(TO_GRID.transform(lon, lat)))


def grid_line(dx1, dy1, dx2, dy2):
    return shapely.LineString([(X0 + dx1, Y0 + dy1), (X0 + dx2, Y0 + dy2)])


def cell_centres():
    x, y = GRID.cell_centers()
    return x, y


def make_rasters(tmp_path, dem=None, landcover=None, pv_yield=None):
    shape = GRID.shape
    dem = np.full(shape, 1000.0, dtype="float32") if dem is None else dem.astype("float32")
    out = {
        "dem": write_raster(tmp_path / "dem.tif", dem, GRID, nodata=-9999.0, name="dem", units="m"),
        "ghi": write_raster(
            tmp_path / "ghi.tif",
            np.full(shape, 1450.0, dtype="float32"),
            GRID,
            nodata=-9999.0,
            name="ghi",
            units="kWh/m2/yr",
        ),
        "landcover": write_raster(
            tmp_path / "lc.tif",
            np.full(shape, 10, dtype="uint8") if landcover is None else landcover,
            GRID,
            nodata=255,
            name="landcover",
            kind="categorical",
            scheme="igbp",
            units="class",
        ),
    }
    if pv_yield is not None:
        out["pv_yield"] = write_raster(
            tmp_path / "pvy.tif",
            np.full(shape, pv_yield, dtype="float32"),
            GRID,
            nodata=-9999.0,
            name="pv_yield",
            units="kWh/kWp/yr",
        )
    return out


def counties():
    xmin, ymin, xmax, ymax = GRID.bounds
    gdf = gpd.GeoDataFrame(
        {
            "adcode": [140105, 140106],
            "name": ["小店区", "迎泽区"],
            "prefecture": ["太原市", "太原市"],
            "prefecture_adcode": [140100, 140100],
        },
        geometry=[shapely.box(xmin, ymin, X0, ymax), shapely.box(X0, ymin, xmax, ymax)],
        crs=GRID.crs,
    )
    return validate_counties(gdf, GRID)


def roads(geoms, **cols):
    n = len(geoms)
    data = {"ref": [f"G{i + 1}" for i in range(n)], "highway": ["motorway"] * n}
    data.update(cols)
    return gpd.GeoDataFrame(data, geometry=geoms, crs=GRID.crs)


def run(tmp_path, road_gdf, rasters=None, vectors=None, **cfg):
    config = RoadsidePVConfig(**{**BASE, **cfg})
    return run_roadside_pv(
        road_gdf,
        grid=GRID,
        rasters=rasters if rasters is not None else make_rasters(tmp_path),
        vectors=vectors or {},
        counties=counties(),
        config=config,
        out_dir=tmp_path / "out",
    )


# --- known answers from the issue ----------------------------------------------------------
def test_east_west_road_north_strip_faces_south(tmp_path):
    # A true east-west road (along the 37.87 N parallel), digitised eastward and westward.
    east = true_line(112.52, LAT0 + 0.02, 112.58, LAT0 + 0.02)
    west = true_line(112.58, LAT0 - 0.02, 112.52, LAT0 - 0.02)
    res = run(tmp_path, roads([east, west]))
    seg = res.segments
    assert set(seg["terrain_form"]) == {"flat"}
    north, south = seg[seg["side_compass"] == "N"], seg[seg["side_compass"] == "S"]
    assert len(north) == len(south) == len(seg) / 2
    # Within 0.5 degree of due south / north; without the convergence correction the grid
    # bearing would be off by about 4.3 degrees.
    np.testing.assert_allclose(north["panel_azimuth_deg"], 180.0, atol=0.5)
    assert set(north["facing_compass"]) == {"S"}
    dev = (south["panel_azimuth_deg"] + 180.0) % 360.0 - 180.0
    np.testing.assert_allclose(dev, 0.0, atol=0.5)
    assert set(south["facing_compass"]) == {"N"}
    # The north strip really lies north of its segment (true north, in lon/lat).
    to_geo = Transformer.from_crs(GRID.crs, "EPSG:4326", always_xy=True)
    _, lat_c = to_geo.transform(*shapely.get_coordinates(seg.geometry.centroid.values).T)
    assert np.all((lat_c > seg["lat"]) == (seg["side_compass"] == "N"))
    # South-facing strips yield more than north-facing ones on the same road.
    assert north["specific_yield_kwh_per_kwp"].min() > south["specific_yield_kwh_per_kwp"].max()
    assert north["score"].min() > south["score"].max()


def test_the_solar_caches_serve_one_run_and_are_emptied_after_it(tmp_path):
    from sxplan.siting import _roadside_solar as solar

    road = roads([true_line(112.52, LAT0 + 0.02, 112.58, LAT0 + 0.02)])
    first = run(tmp_path / "a", road).segments
    # nothing is held for the later steps of a run (46 MB at 30 m, s35)
    assert solar._weather.cache_info().currsize == 0
    assert solar._clear_year.cache_info().currsize == 0
    assert solar._CACHE == {}
    again = run(tmp_path / "b", road).segments  # computed again from nothing: the same values
    pd.testing.assert_series_equal(
        first["specific_yield_kwh_per_kwp"], again["specific_yield_kwh_per_kwp"]
    )


def test_north_south_road_strips_face_east_and_west(tmp_path):
    ns = true_line(112.58, 37.84, 112.58, 37.90)
    res = run(tmp_path, roads([ns]))
    seg = res.segments
    east, west = seg[seg["side_compass"] == "E"], seg[seg["side_compass"] == "W"]
    assert len(east) == len(west) == len(seg) / 2 > 0
    np.testing.assert_allclose(east["panel_azimuth_deg"], 270.0, atol=0.5)
    np.testing.assert_allclose(west["panel_azimuth_deg"], 90.0, atol=0.5)


def test_flat_facing_south_option(tmp_path):
    east = true_line(112.52, LAT0 + 0.02, 112.58, LAT0 + 0.02)
    seg = run(tmp_path, roads([east]), flat_facing="south").segments
    np.testing.assert_allclose(seg["panel_azimuth_deg"], 180.0)


@pytest.mark.parametrize("form, sign", [("cut", 1.0), ("embankment", -1.0)])
def test_cut_faces_road_embankment_faces_away(tmp_path, form, sign):
    # DEM rising (valley road: cut) or falling (road on a ridge: embankment) at 20 % away from
    # a straight grid-east road; cross-slope atan(0.2) = 11.31 degrees.
    road = grid_line(-3000, 0, 2000, 0)
    x, y = cell_centres()
    dist = shapely.distance(shapely.points(x.ravel(), y.ravel()), road).reshape(x.shape)
    dem = 1000.0 + sign * 0.2 * dist
    seg = run(tmp_path, roads([road]), rasters=make_rasters(tmp_path, dem=dem)).segments
    assert set(seg["terrain_form"]) == {form}
    np.testing.assert_allclose(
        seg["cross_slope_deg"], sign * math.degrees(math.atan(0.2)), atol=1.0
    )
    np.testing.assert_allclose(seg["panel_tilt_deg"], math.degrees(math.atan(0.2)), atol=1.0)
    north = seg[seg["side_compass"] == "N"]
    south = seg[seg["side_compass"] == "S"]
    # Grid east at X0 is true azimuth 90 - convergence, so allow the few degrees.
    expected_north = 180.0 if form == "cut" else 0.0
    dn = (north["panel_azimuth_deg"] - expected_north + 180.0) % 360.0 - 180.0
    ds = (south["panel_azimuth_deg"] - (180.0 - expected_north) + 180.0) % 360.0 - 180.0
    assert np.abs(dn).max() < 6.0 and np.abs(ds).max() < 6.0
    assert (north["relief_m"] > 0).all()


def test_straight_strip_areas_equal_length_times_width(tmp_path):
    road = grid_line(-4000, 500, 3000, 500)
    seg = run(tmp_path, roads([road]), strip_width_m=12.0, offset_m=20.0).segments
    np.testing.assert_allclose(seg["strip_area_km2"], seg["segment_length_m"] * 12.0 / 1e6)
    # With nothing excluded, all of it is usable (no slivers lost to the overlap rule).
    np.testing.assert_allclose(seg["usable_area_km2"], seg["strip_area_km2"], rtol=1e-9)
    assert seg.drop_duplicates("seg_index")["segment_length_m"].sum() == pytest.approx(7000.0)
    # Capacity = area x usable_share x density: 1 km x 12 m x 0.7 x 150 MW/km2 = 1.26 MW.
    full = seg[np.isclose(seg["segment_length_m"], 1000.0)]
    np.testing.assert_allclose(full["capacity_mw"], 0.012 * 0.7 * 150.0)


def test_tunnel_and_red_line_segments_get_no_capacity(tmp_path):
    tunnel = grid_line(-6000, 3000, -2000, 3000)
    open_road = grid_line(-6000, -3000, 4000, -3000)
    in_redline = grid_line(1000, 6000, 3000, 6000)
    g = roads([tunnel, open_road, in_redline], tunnel=["yes", "no", None])
    red = gpd.GeoDataFrame(
        {"basis": ["whole", "part"]},
        geometry=[
            shapely.box(X0 + 500, Y0 + 5000, X0 + 3500, Y0 + 7000),  # covers road 3
            shapely.box(X0 - 1000, Y0 - 3500, X0 - 500, Y0 - 2500),  # 500 m of road 2
        ],
        crs=GRID.crs,
    )
    res = run(tmp_path, g, vectors={"redline_proxy": red}, exclusion_layers=["redline_proxy"])
    seg = res.segments
    t = seg[seg["road_ref"] == "G1"]
    assert (t["capacity_mw"] == 0).all() and set(t["excluded_by"]) == {"tunnel"}
    np.testing.assert_allclose(t["excluded_tunnel_km2"], t["strip_area_km2"])
    r = seg[seg["road_ref"] == "G3"]
    assert (r["capacity_mw"] == 0).all() and set(r["excluded_by"]) == {"redline_proxy"}
    assert (r["score"] == 0).all()
    # Road 2 loses 500 m x 10 m on each side = 0.01 km2 in all.
    o = seg[seg["road_ref"] == "G2"]
    assert o["excluded_redline_proxy_km2"].sum() == pytest.approx(0.01, rel=1e-9)
    assert o["usable_area_km2"].sum() == pytest.approx(2 * 10_000 * 10 / 1e6 - 0.01, rel=1e-9)
    assert not set(res.shortlist["road_ref"]) & {"G1", "G3"}


def test_bridge_flag_and_osm_values(tmp_path):
    g = roads(
        [grid_line(-3000, 0, 0, 0), grid_line(-3000, 2000, 0, 2000)], bridge=["viaduct", "no"]
    )
    seg = run(tmp_path, g).segments
    assert (seg.loc[seg["road_ref"] == "G1", "capacity_mw"] == 0).all()
    assert (seg.loc[seg["road_ref"] == "G2", "capacity_mw"] > 0).all()


def test_parallel_roads_do_not_double_count(tmp_path):
    # Roads 40 m apart: the strip between them at 15-25 m from each is the same land, and a
    # strip is not allowed within the other road's 15 m right-of-way. 3 strips remain.
    g = roads([grid_line(-2000, 0, 0, 0), grid_line(-2000, 40, 0, 40)])
    seg = run(tmp_path, g).segments
    assert seg["usable_area_km2"].sum() == pytest.approx(3 * 2000 * 10 / 1e6, rel=1e-6)
    assert seg["excluded_overlap_km2"].sum() == pytest.approx(2000 * 10 / 1e6, rel=1e-6)


def test_oneway_carriageway_gets_only_its_outer_strip(tmp_path):
    g = roads([grid_line(-2000, 0, 0, 0)], oneway=["yes"])
    seg = run(tmp_path, g).segments
    # Eastbound, driving on the right: the outer verge is the south (right) side.
    assert set(seg["side"]) == {"right"} and set(seg["side_compass"]) == {"S"}


def test_built_up_land_cover_is_excluded(tmp_path):
    x, y = cell_centres()
    lc = np.full(GRID.shape, 10, dtype="uint8")
    lc[(x < X0 - 1000) & (np.abs(y - Y0) < 500)] = 13  # IGBP urban and built-up
    g = roads([grid_line(-3000, 0, 1000, 0)])
    seg = run(tmp_path, g, rasters=make_rasters(tmp_path, landcover=lc)).segments
    built = seg[seg.geometry.centroid.x < X0 - 1000]
    assert len(built) == 4 and (built["capacity_mw"] == 0).all()
    assert set(built["excluded_by"]) == {"landcover"}
    assert (seg.loc[seg.geometry.centroid.x > X0 - 1000, "capacity_mw"] > 0).all()


def test_energy_from_pv_yield_and_fallback(tmp_path):
    east = true_line(112.52, LAT0 + 0.02, 112.58, LAT0 + 0.02)
    seg = run(
        tmp_path,
        roads([east]),
        rasters=make_rasters(tmp_path, pv_yield=1600.0),
        pv_yield_reference_tilt_deg=35.0,
    ).segments
    # Independent: the ratio of plane-of-array factors, from poa_ratio called directly.
    n = seg[seg["side_compass"] == "N"].iloc[0]
    r_strip = poa_ratio(n["lat"], n["lon"], 1450.0, 25.0, n["panel_azimuth_deg"])[()]
    r_ref = poa_ratio(n["lat"], n["lon"], 1450.0, 35.0, 180.0)[()]
    assert n["specific_yield_kwh_per_kwp"] == pytest.approx(1600.0 * r_strip / r_ref, rel=1e-9)
    assert n["energy_gwh_per_yr"] == pytest.approx(
        n["capacity_mw"] * n["specific_yield_kwh_per_kwp"] / 1000.0
    )
    fb = run(tmp_path, roads([east])).segments.iloc[0]
    assert fb["specific_yield_kwh_per_kwp"] == pytest.approx(
        1450.0 * fb["poa_ratio"] * 0.80, rel=1e-9
    )


def test_strips_get_capacity_py_numbers_and_grid_columns(tmp_path):
    from sxplan.siting import capacity

    # A grid connection point 3 km north of the road: strips score on distance to it, and the
    # optional grid columns pass the run-folder schema check.
    points = gpd.GeoDataFrame(geometry=[shapely.Point(X0, Y0 + 3000)], crs=GRID.crs)
    res = run(
        tmp_path,
        roads([grid_line(-4000, 0, 3000, 0)]),
        vectors={"substations": points},
        grid_points_layer="substations",
    )
    seg = res.segments
    assert {"dist_grid_km", "score_grid"} <= set(seg.columns)
    # Every strip: capacity and energy are exactly what capacity.py gives.
    cap = capacity.capacity_mw(seg["usable_area_km2"].to_numpy() * 0.7, 150.0)
    np.testing.assert_array_equal(seg["capacity_mw"].to_numpy(), cap)
    energy = capacity.pv_energy_gwh(cap, seg["specific_yield_kwh_per_kwp"].to_numpy())
    np.testing.assert_array_equal(seg["energy_gwh_per_yr"].to_numpy(), energy)
    assert (res.shortlist["technology"] == "roadside_pv").all()
    # The strips' shortlist rows speak the shortlist's column names (one id, one technology).
    from sxplan.schema import dataset
    from sxplan.siting.shortlist import roadside_rows_as_shortlist

    rows = roadside_rows_as_shortlist(res.shortlist)
    shortlist = dataset("siting.shortlist")
    assert [c for c in rows.columns if not shortlist.known(c)] == []
    assert {"rank", "parcel_id", "technology", "county", "score_mean"} <= set(rows.columns)


def test_horizon_wall_shades_the_strip_facing_it(tmp_path):
    x, y = cell_centres()
    dem = np.where(y < Y0 - 400, 1500.0, 1000.0)  # a 500 m wall 400 m south of the road
    g = roads([grid_line(-2000, 0, 0, 0)])
    rasters = make_rasters(tmp_path, dem=dem)
    seg = run(tmp_path, g, rasters=rasters, horizon_distance_m=1000.0).segments
    north = seg[seg["side_compass"] == "N"]  # faces south, toward the wall
    south = seg[seg["side_compass"] == "S"]  # faces north, away from it
    assert (north["horizon_deg"] > 30).all() and (north["shading_factor"] < 0.9).all()
    np.testing.assert_allclose(south["horizon_deg"], 0.0)
    np.testing.assert_allclose(south["shading_factor"], 1.0)


# --- outputs ---------------------------------------------------------------------------------
def test_outputs_county_split_and_target(tmp_path):
    g = roads([grid_line(-2500, 0, 1500, 0), grid_line(-2000, 3000, -1000, 3000)])
    res = run(tmp_path, g, target_mw=100.0, target_year=2025)
    seg_path, csv_path = res.paths["segments"], res.paths["summary"]
    assert seg_path.name == "roadside_pv_segments.gpkg" and csv_path.name == "roadside_pv.csv"
    back = gpd.read_file(seg_path, layer="roadside_pv_segments")
    assert back.crs.equals(GRID.pyproj_crs) and len(back) == len(res.segments)
    assert {"adcode", "name", "prefecture", "prefecture_adcode"} <= set(back.columns)
    assert csv_path.read_bytes()[:3] == b"\xef\xbb\xbf"
    table = pd.read_csv(csv_path, encoding="utf-8-sig")
    cty = table[table["level"] == "county"].set_index("adcode")
    # Road 1 crosses the county line x = X0: 2.5 km west, 1.5 km east; road 2 is 1 km west.
    assert cty.loc[140105, "road_km"] == pytest.approx(3.5)
    assert cty.loc[140106, "road_km"] == pytest.approx(1.5)
    assert cty.loc[140105, "name"] == "小店区"
    prov = table[table["level"] == "province"].iloc[0]
    # the CSV is rounded for people (MW and GWh to 0.01); sums agree to that rounding
    assert prov["capacity_mw"] == pytest.approx(cty["capacity_mw"].sum(), abs=0.02)
    roads_rows = table[table["level"] == "road"]
    assert prov["capacity_mw"] == pytest.approx(roads_rows["capacity_mw"].sum(), abs=0.02)
    assert prov["energy_gwh_per_yr"] == pytest.approx(
        res.segments["energy_gwh_per_yr"].sum(), abs=0.006
    )
    assert res.province["energy_gwh_per_yr"] == pytest.approx(
        res.segments["energy_gwh_per_yr"].sum()
    )
    assert prov["target_share_pct"] == pytest.approx(100.0 * prov["capacity_mw"] / 100.0, abs=1e-3)
    # usable strip km counts both sides: 5 km of road x 2 sides with nothing excluded.
    assert prov["usable_strip_km"] == pytest.approx(10.0)
    sl = res.shortlist
    assert set(sl["technology"]) == {"roadside_pv"} and sl["adcode"].dtype.kind == "i"
    assert list(sl["score"]) == sorted(sl["score"], reverse=True)
    assert (sl["score"] >= 0.5).all() and (sl["capacity_mw"] >= 0.5).all()


def test_outputs_not_half_written_on_error(tmp_path):
    g = roads([grid_line(-2000, 0, 0, 0)])
    with pytest.raises(ConfigError, match="redline_proxy"):
        run(tmp_path, g, exclusion_layers=["redline_proxy"])
    assert not (tmp_path / "out" / "roadside_pv.csv").exists()


# --- selection and bad input -----------------------------------------------------------------
def test_select_roads_osm_tags():
    lines = [grid_line(0, i * 100, 1000, i * 100) for i in range(5)]
    g = gpd.GeoDataFrame(
        {
            "highway": ["motorway", "trunk", "primary", "motorway_link", "Motorway"],
            "tunnel": ["yes", None, "no", "no", "building_passage"],
            "name": ["京昆高速", "", "", "", ""],
        },
        geometry=lines,
        crs=GRID.crs,
    )
    sel = select_roads(g, RoadsidePVConfig())
    assert sel["road_class"].tolist() == ["motorway", "trunk", "Motorway"]
    assert sel["tunnel"].tolist() == [True, False, True]
    assert sel["road_name"].iloc[0] == "京昆高速"
    with pytest.raises(ConfigError, match="class_fields"):
        select_roads(g.rename(columns={"highway": "kind"}), RoadsidePVConfig())
    assert (
        len(select_roads(g.rename(columns={"highway": "kind"}), RoadsidePVConfig(road_classes=[])))
        == 5
    )


def test_crs_mismatch_raises(tmp_path):
    g = roads([grid_line(-2000, 0, 0, 0)]).to_crs("EPSG:4326")
    with pytest.raises(CRSMismatchError, match="grid CRS"):
        run(tmp_path, g)


def test_config_is_closed_and_shipped_yaml_validates():
    with pytest.raises(ValueError, match="did you mean 'segment_length_m'"):
        RoadsidePVConfig(segment_lenght_m=500)
    with pytest.raises(ValueError, match="built-up|common classes"):
        RoadsidePVConfig(excluded_landcover=["urban"])
    from importlib.resources import files

    doc = yaml.safe_load(files("sxplan").joinpath("data/shanxi.yaml").read_text("utf-8"))
    cfg = RoadsidePVConfig(**(doc.get("roadside_pv") or {}))
    assert cfg.pv_yield_reference_tilt_deg == 35.0


def test_osm_style_geojson_end_to_end(tmp_path):
    # An OSM-style extract in lon/lat: motorway (one carriageway, oneway), trunk with a
    # tunnel part, a primary road and a motorway_link that must be ignored.
    from sxplan.layers.vector import load_vector

    lat = LAT0 + 0.03
    ways = gpd.GeoDataFrame(
        {
            "osm_id": [1, 2, 3, 4, 5],
            "highway": ["motorway", "trunk", "trunk", "primary", "motorway_link"],
            "ref": ["G5", "G208", "G208", "S1", ""],
            "name": ["京昆高速", "二广线", "二广线", "", ""],
            "oneway": ["yes", "no", "no", None, "yes"],
            "tunnel": [None, None, "yes", None, None],
            "bridge": [None, "no", None, None, None],
        },
        geometry=[
            shapely.LineString([(112.50, lat), (112.54, lat)]),
            shapely.LineString([(112.50, lat - 0.05), (112.53, lat - 0.05)]),
            shapely.LineString([(112.53, lat - 0.05), (112.56, lat - 0.05)]),
            shapely.LineString([(112.50, lat - 0.08), (112.56, lat - 0.08)]),
            shapely.LineString([(112.54, lat), (112.55, lat - 0.01)]),
        ],
        crs="EPSG:4326",
    )
    path = tmp_path / "osm_roads.geojson"
    ways.to_file(path, driver="GeoJSON")
    loaded = load_vector(path, GRID)
    seg = run(tmp_path, loaded).segments
    assert set(seg["road_ref"]) == {"G5", "G208"}
    g5 = seg[seg["road_ref"] == "G5"]
    assert set(g5["side"]) == {"right"}  # eastbound one-way carriageway: outer side is south
    assert set(g5["side_compass"]) == {"S"}
    tunnel = seg[(seg["road_ref"] == "G208") & seg["tunnel"]]
    assert len(tunnel) > 0 and (tunnel["capacity_mw"] == 0).all()
    assert (seg.loc[(seg["road_ref"] == "G208") & ~seg["tunnel"], "capacity_mw"] > 0).all()
    assert seg["strip_id"].is_unique


def test_demo_highway_layer_is_selected():
    from importlib.resources import files

    from sxplan.layers.specs import VectorLayerSpec
    from sxplan.layers.vector import load_vector

    path = files("sxplan").joinpath("data/shanxi/highways_schematic.gpkg")
    spec = VectorLayerSpec(path=str(path), layer="highways")
    gdf = load_vector(spec)
    sel = select_roads(gdf.to_crs(ALBERS_CHINA), RoadsidePVConfig())
    assert len(sel) >= len(gdf) and set(sel["road_class"]) == {"motorway"}
    assert not sel["tunnel"].any() and not sel["bridge"].any()
    assert (sel["road_name"] != "").all() and (sel["road_ref"] != "").all()
