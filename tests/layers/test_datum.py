import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from sxplan.errors import CRSError
from sxplan.layers import gcj02_to_wgs84, wgs84_to_gcj02
from sxplan.layers.datum import gdf_gcj02_to_wgs84, geometry_gcj02_to_wgs84

# Published reference pairs (wgs lat, wgs lon, gcj lat, gcj lon) from the test suite of the
# eviltransform project (googollee/eviltransform, MIT), used by many GCJ-02 libraries.
REFERENCE = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


@pytest.mark.parametrize("wlat,wlon,glat,glon", REFERENCE)
def test_forward_matches_published_pairs(wlat, wlon, glat, glon):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert abs(lon - glon) < 1e-9 and abs(lat - glat) < 1e-9


@pytest.mark.parametrize("wlat,wlon,glat,glon", REFERENCE)
def test_inverse_recovers_wgs84_to_a_millimetre(wlat, wlon, glat, glon):
    lon, lat = gcj02_to_wgs84(glon, glat)
    _, _, dist = Geod(ellps="WGS84").inv(float(lon), float(lat), wlon, wlat)
    assert dist < 1e-3


def test_offset_near_taiyuan_is_about_550_m_east():
    lon, lat = 112.55, 37.87
    glon, glat = wgs84_to_gcj02(lon, lat)
    geod = Geod(ellps="WGS84")
    _, _, east = geod.inv(lon, lat, float(glon), lat)
    assert glon > lon and 400 < east < 700


def test_outside_china_is_unchanged():
    lon, lat = wgs84_to_gcj02(2.35, 48.85)  # Paris
    assert float(lon) == 2.35 and float(lat) == 48.85


@settings(max_examples=100, deadline=None)
@given(lon=st.floats(73.5, 135.0), lat=st.floats(18.0, 53.5))
def test_round_trip_inside_china(lon, lat):
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert abs(back_lon - lon) < 1e-8 and abs(back_lat - lat) < 1e-8


def test_geometry_and_frame_shift():
    glat, glon = REFERENCE[2][2], REFERENCE[2][3]
    poly = shapely.Point(glon, glat).buffer(0.01)
    shifted = geometry_gcj02_to_wgs84(poly)
    assert shifted.geom_type == "Polygon"
    c = shifted.centroid
    # the shift varies over the 1 km circle, so its centroid moves by ~0.1 m relative to the centre
    assert abs(c.x - REFERENCE[2][1]) < 1e-5 and abs(c.y - REFERENCE[2][0]) < 1e-5
    gdf = gpd.GeoDataFrame({"name": ["北京"]}, geometry=[poly], crs="EPSG:4326")
    out = gdf_gcj02_to_wgs84(gdf)
    assert gdf.geometry.iloc[0].equals(poly)  # the input is not modified
    assert out.crs.to_epsg() == 4326 and out["name"].iloc[0] == "北京"
    with pytest.raises(CRSError, match="longitude/latitude"):
        gdf_gcj02_to_wgs84(gdf.to_crs("EPSG:32650"))
    np.testing.assert_allclose(out.geometry.iloc[0].centroid.x, c.x)
