"""The study area: the embedded province, one county by adcode, or a user file."""

import geopandas as gpd
import pytest
import shapely

from sxplan.errors import ConfigError, CRSError
from sxplan.fetch.area import resolve_area


def test_county_adcode_gives_that_county_and_its_prefecture():
    a = resolve_area("140105", margin_m=0)
    assert a.kind == "county" and a.name == "小店区" and len(a.counties) == 1
    assert list(a.prefectures["name"]) == ["太原市"]
    w, s, e, n = a.bounds
    cw, cs, ce, cn = a.counties.total_bounds
    assert (w, s, e, n) == pytest.approx((cw, cs, ce, cn), abs=1e-6)  # no margin: the county box


def test_margin_grows_the_box_by_about_the_margin():
    a0, a5 = resolve_area("140105", margin_m=0), resolve_area("140105", margin_m=5000)
    # 5 km is 0.045 deg of latitude, 0.057 deg of longitude at 37.7 N
    assert a0.bounds[1] - a5.bounds[1] == pytest.approx(0.045, abs=0.002)
    assert a5.bounds[2] - a0.bounds[2] == pytest.approx(0.057, abs=0.003)


def test_unknown_adcode_and_missing_file_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="not a county adcode"):
        resolve_area("110101")
    with pytest.raises(ConfigError, match="no such file"):
        resolve_area(str(tmp_path / "nope.gpkg"))


def test_user_file_outside_shanxi_is_its_own_county(tmp_path):
    p = tmp_path / "far.gpkg"
    gdf = gpd.GeoDataFrame(geometry=[shapely.box(100, 30, 100.1, 30.1)], crs="EPSG:4326")
    gdf.to_file(p)
    a = resolve_area(str(p), margin_m=0)
    assert a.kind == "file" and list(a.counties["adcode"]) == [999999]


def test_user_file_without_crs_is_refused(tmp_path):
    shp = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="crs"):  # pyogrio warns when writing it
        gpd.GeoDataFrame(geometry=[shapely.box(112, 37, 112.1, 37.1)]).to_file(shp)
    with pytest.raises(CRSError):
        resolve_area(str(shp))
