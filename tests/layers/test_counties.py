"""Counties are validated once (fields, adcodes, one CRS policy) and stages check the mark."""

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box

from sxplan.errors import ConfigError, CRSError, CRSMismatchError
from sxplan.layers.counties import require_validated_counties, validate_counties
from sxplan.layers.grid import ALBERS_CHINA, GridSpec

X0, Y1 = 1_000_000.0, 4_000_000.0
GRID = GridSpec.from_bounds((X0, Y1 - 2000, X0 + 4000, Y1), 1000.0, ALBERS_CHINA)


def raw(**cols):
    data = {"code": [140105, 140106], "cname": ["小店区", "迎泽区"], "pref": ["太原市"] * 2}
    data.update(cols)
    boxes = [box(X0, Y1 - 2000, X0 + 2000, Y1), box(X0 + 2000, Y1 - 2000, X0 + 4000, Y1)]
    return gpd.GeoDataFrame(data, geometry=boxes, crs=ALBERS_CHINA)


FIELDS = {"adcode": "code", "name": "cname", "prefecture": "pref"}


def test_standard_columns_and_derived_prefecture_code():
    c = validate_counties(raw(), GRID, fields=FIELDS, source="admin.gpkg")
    assert list(c.columns) == ["adcode", "name", "prefecture", "prefecture_adcode", "geometry"]
    assert c["adcode"].dtype == "int64" and c["prefecture_adcode"].tolist() == [140100] * 2
    assert c.crs == GRID.pyproj_crs and list(c.index) == [0, 1]
    assert require_validated_counties(c, GRID) is c


def test_string_adcodes_become_int64_and_a_given_prefecture_code_is_kept():
    c = validate_counties(
        raw(code=["140105", "140106"], pc=[140199, 140199]),
        GRID,
        fields={**FIELDS, "prefecture_adcode": "pc"},
    )
    assert c["adcode"].tolist() == [140105, 140106]
    assert c["prefecture_adcode"].tolist() == [140199, 140199]


def test_a_layer_with_a_crs_is_reprojected_to_the_grid():
    c = validate_counties(raw().to_crs("EPSG:4326"), GRID, fields=FIELDS)
    assert c.crs == GRID.pyproj_crs
    assert c.geometry.iloc[0].area == pytest.approx(4e6, rel=1e-6)


def test_a_layer_without_a_crs_is_refused_with_the_fix():
    r = raw().set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match=r"'counties' \(admin.gpkg\) has no CRS; set `crs:`"):
        validate_counties(r, GRID, fields=FIELDS, source="admin.gpkg")


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda r: r.drop(columns="pref"), r"lacks fields \['pref'\].*project.county_fields"),
        (lambda r: r.iloc[:0], "has no features"),
        (lambda r: r.assign(code=[140105, 140105]), r"adcodes repeat in field 'code': \[140105\]"),
        (lambda r: r.assign(code=["a", "b"]), r"field 'code' \(adcode\) must hold integer"),
        (lambda r: r.set_geometry([Polygon(), r.geometry.iloc[1]]), r"\[140105\] have no geometry"),
    ],
)
def test_bad_county_layers_are_refused_naming_file_field_and_fix(edit, match):
    with pytest.raises(ConfigError, match=match) as err:
        validate_counties(edit(raw()), GRID, fields=FIELDS, source="admin.gpkg", layer="cty")
    assert "county layer 'cty' (admin.gpkg)" in str(err.value)


def test_stages_refuse_unvalidated_or_changed_counties():
    c = validate_counties(raw(), GRID, fields=FIELDS)
    assert require_validated_counties(c[c["adcode"] > 140105], GRID) is not None  # a subset
    with pytest.raises(ConfigError, match="were not validated; pass the county layer"):
        require_validated_counties(raw(), GRID)
    other = GridSpec.from_bounds((X0, Y1 - 2000, X0 + 4000, Y1), 500.0, ALBERS_CHINA)
    with pytest.raises(ConfigError, match="validated for another grid"):
        require_validated_counties(c, other, who="sinks")
    with pytest.raises(CRSMismatchError, match="instead of reprojecting"):
        require_validated_counties(c.to_crs("EPSG:4326"), GRID)
    with pytest.raises(ConfigError, match=r"lack columns \['name'\]"):
        require_validated_counties(c.drop(columns="name"), GRID)
