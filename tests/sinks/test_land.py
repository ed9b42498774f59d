import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from sxplan.errors import ConfigError, CRSMismatchError, GridMismatchError, UnknownCodeError
from sxplan.layers.counties import validate_counties
from sxplan.layers.grid import ALBERS_CHINA, GridSpec
from sxplan.layers.io import write_raster
from sxplan.sinks.baseline import county_sums_ha
from sxplan.sinks.config import ClimateLimit, SinksConfig
from sxplan.sinks.eligible import compute_land_rasters

# IGBP codes: 1 evergreen needleleaf forest, 8 woody savanna, 10 grassland, 12 cropland
X0, Y1 = 1_000_000.0, 4_000_000.0  # somewhere in Albers China, whole km


def grid_of(h, w, res=1000.0):
    return GridSpec.from_bounds((X0, Y1 - h * res, X0 + w * res, Y1), res, ALBERS_CHINA)


def layer(tmp_path, name, array, grid, nodata, kind="continuous", scheme=None):
    return write_raster(
        tmp_path / f"{name}.tif",
        array,
        grid,
        nodata=nodata,
        name=name,
        kind=kind,
        cog=False,
        scheme=scheme,
    )


def lc_layer(tmp_path, codes, grid, scheme="igbp"):
    codes = np.asarray(codes, dtype="uint8")
    return layer(tmp_path, "landcover", codes, grid, 255, "categorical", scheme)


def counties(grid, *geoms):
    n = len(geoms)
    raw = gpd.GeoDataFrame(
        {"adcode": list(range(140101, 140101 + n)), "name": ["县"] * n, "prefecture": ["市"] * n},
        geometry=list(geoms),
        crs=ALBERS_CHINA,
    )
    return validate_counties(raw, grid)


def read(layer_):
    return layer_.read()


CFG_NO_LIMITS = dict(max_slope_deg=None, max_elevation_m=None)


def test_county_half_covered_by_forest_reports_50_percent(tmp_path):
    g = grid_of(4, 4)
    codes = np.full((4, 4), 10)
    codes[:, :2] = 1  # left half forest
    rasters = {"landcover": lc_layer(tmp_path, codes, g)}
    land = compute_land_rasters(g, rasters, SinksConfig(**CFG_NO_LIMITS), tmp_path, mem_limit_mb=64)
    c = counties(g, box(*g.bounds))
    s = county_sums_ha(c, {"forest": land.forest}, g, mem_limit_mb=64)
    # 16 cells of 100 ha, 8 forest
    assert s["valid_ha"].iloc[0] == pytest.approx(1600.0)
    assert s["forest_ha"].iloc[0] == pytest.approx(800.0)
    assert s["forest_ha"].iloc[0] / s["valid_ha"].iloc[0] == pytest.approx(0.5)


def test_pixel_half_inside_a_county_counts_half(tmp_path):
    g = grid_of(1, 2)
    # cell 0 grass, cell 1 forest; the county covers cell 0 and the left half of cell 1
    rasters = {"landcover": lc_layer(tmp_path, [[10, 1]], g)}
    land = compute_land_rasters(g, rasters, SinksConfig(**CFG_NO_LIMITS), tmp_path, mem_limit_mb=64)
    xmin, ymin, _, ymax = g.bounds
    c = counties(g, box(xmin, ymin, xmin + 1500.0, ymax))
    s = county_sums_ha(c, {"forest": land.forest, "eligible": land.eligible}, g, mem_limit_mb=64)
    # forest: half of one 100 ha cell = 50 ha; county land: 1.5 cells = 150 ha
    assert s["forest_ha"].iloc[0] == pytest.approx(50.0)
    assert s["valid_ha"].iloc[0] == pytest.approx(150.0)
    # eligible: the whole grass cell (IGBP 10 credit 1.0) = 100 ha
    assert s["eligible_ha"].iloc[0] == pytest.approx(100.0)


def test_two_counties_split_a_cell_and_sum_to_the_whole(tmp_path):
    g = grid_of(3, 3)
    rasters = {"landcover": lc_layer(tmp_path, np.full((3, 3), 1), g)}
    land = compute_land_rasters(g, rasters, SinksConfig(**CFG_NO_LIMITS), tmp_path, mem_limit_mb=64)
    xmin, ymin, xmax, ymax = g.bounds
    cut = xmin + 1234.5
    c = counties(g, box(xmin, ymin, cut, ymax), box(cut, ymin, xmax, ymax))
    s = county_sums_ha(c, {"forest": land.forest}, g, mem_limit_mb=64)
    assert s["forest_ha"].tolist() == pytest.approx([1234.5 * 3000 / 1e4, 1765.5 * 3000 / 1e4])
    assert s["forest_ha"].sum() == pytest.approx(900.0)


def test_partial_forest_credit_woody_savanna(tmp_path):
    g = grid_of(2, 2)
    rasters = {"landcover": lc_layer(tmp_path, np.full((2, 2), 8), g)}
    land = compute_land_rasters(g, rasters, SinksConfig(**CFG_NO_LIMITS), tmp_path, mem_limit_mb=64)
    # default credits: woody savanna 0.5 forest, 0.5 eligible
    assert read(land.forest).sum() == pytest.approx(2.0)
    assert read(land.eligible).sum() == pytest.approx(2.0)


def test_quarter_too_steep_leaves_three_quarters_eligible(tmp_path):
    g = grid_of(10, 10)
    slope = np.full((10, 10), 5.0, dtype="float32")
    slope[:5, :5] = 40.0
    rasters = {
        "landcover": lc_layer(tmp_path, np.full((10, 10), 10), g),
        "slope_deg": layer(tmp_path, "slope_deg", slope, g, -9999.0),
    }
    cfg = SinksConfig(max_slope_deg=35.0, max_elevation_m=None)
    land = compute_land_rasters(g, rasters, cfg, tmp_path, mem_limit_mb=64)
    assert read(land.eligible).sum() == pytest.approx(75.0)
    assert read(land.eligible_landcover).sum() == pytest.approx(100.0)
    assert read(land.removed["slope"]).sum() == pytest.approx(25.0)


def test_reserved_climate_elevation_and_cropland_never_eligible(tmp_path):
    g = grid_of(4, 4)
    codes = np.full((4, 4), 10)
    codes[3, :] = 12  # a row of cropland: never eligible
    dem = np.full((4, 4), 1000.0, dtype="float32")
    dem[0, 0] = 3000.0  # too high
    rain = np.full((4, 4), 500.0, dtype="float32")
    rain[0, 1] = 300.0  # too dry
    rain[0, 2] = -9999.0  # no data: not eligible
    reserved = np.zeros((4, 4), dtype="float32")
    reserved[1, :] = 0.7  # a row kept for PV
    rasters = {
        "landcover": lc_layer(tmp_path, codes, g),
        "dem": layer(tmp_path, "dem", dem, g, -9999.0),
        "precip": layer(tmp_path, "precip", rain, g, -9999.0),
    }
    res = layer(tmp_path, "reserved", reserved, g, -1.0)
    cfg = SinksConfig(
        max_slope_deg=None,
        max_elevation_m=2600,
        climate_limits=[ClimateLimit(layer="precip", min_value=400)],
    )
    land = compute_land_rasters(g, rasters, cfg, tmp_path, mem_limit_mb=64, reserved=res)
    e = read(land.eligible)
    expected = np.ones((4, 4))
    expected[3, :] = 0
    expected[1, :] = 0
    expected[0, 0] = expected[0, 1] = expected[0, 2] = 0
    np.testing.assert_array_equal(e, expected)
    assert read(land.removed["elevation"]).sum() == 1
    assert read(land.removed["climate"]).sum() == 2
    assert read(land.removed["reserved"]).sum() == 4


def test_windowed_equals_whole_array(tmp_path, rng):
    g = grid_of(37, 53)
    codes = rng.choice([1, 6, 8, 9, 10, 12, 13, 16], size=g.shape).astype("uint8")
    codes[rng.random(g.shape) < 0.05] = 255  # nodata
    slope = (rng.random(g.shape) * 50).astype("float32")
    dem = (rng.random(g.shape) * 3000).astype("float32")
    res = (rng.random(g.shape) > 0.8).astype("float32")
    rasters = {
        "landcover": lc_layer(tmp_path, codes, g),
        "slope_deg": layer(tmp_path, "slope_deg", slope, g, -9999.0),
        "dem": layer(tmp_path, "dem", dem, g, -9999.0),
    }
    reserved = layer(tmp_path, "reserved", res, g, -1.0)
    out = {}
    for label, ts in (("whole", None), ("tiles", 8)):
        d = tmp_path / label
        d.mkdir()
        land = compute_land_rasters(
            g, rasters, SinksConfig(), d, mem_limit_mb=64, reserved=reserved, tile_size=ts
        )
        out[label] = [read(land.forest).filled(-1), read(land.eligible).filled(-1)] + [
            read(v).filled(-1) for v in land.removed.values()
        ]
    for a, b in zip(out["whole"], out["tiles"], strict=True):
        np.testing.assert_array_equal(a, b)
    # nodata land cover stays nodata
    assert np.all(out["whole"][0][codes == 255] == -1)


def test_unknown_code_and_wrong_grid_and_crs_raise(tmp_path):
    g = grid_of(2, 2)
    # a land-cover layer with codes its scheme does not know never reaches the stage
    msg = r"layer 'landcover' .*: codes 99 are not in the 'igbp'"
    with pytest.raises(UnknownCodeError, match=msg):
        lc_layer(tmp_path, [[1, 99], [10, 10]], g)
    other = grid_of(3, 3)
    rasters = {"landcover": lc_layer(tmp_path, np.full((3, 3), 1), other)}
    with pytest.raises(GridMismatchError):
        compute_land_rasters(g, rasters, SinksConfig(**CFG_NO_LIMITS), tmp_path, mem_limit_mb=64)
    rasters = {"landcover": lc_layer(tmp_path, np.full((2, 2), 1), g)}
    land = compute_land_rasters(g, rasters, SinksConfig(**CFG_NO_LIMITS), tmp_path, mem_limit_mb=64)
    c = counties(g, box(*g.bounds)).to_crs("EPSG:3857")
    with pytest.raises(CRSMismatchError, match="instead of reprojecting them"):
        county_sums_ha(c, {"forest": land.forest}, g, mem_limit_mb=64)


def test_land_cover_without_a_scheme_is_refused_with_the_fix(tmp_path):
    g = grid_of(2, 2)
    rasters = {"landcover": lc_layer(tmp_path, np.full((2, 2), 1), g, scheme=None)}
    with pytest.raises(ConfigError, match=r"declares no class scheme; add `scheme:` to "):
        compute_land_rasters(g, rasters, SinksConfig(**CFG_NO_LIMITS), tmp_path, mem_limit_mb=64)


def test_credits_are_read_in_the_layer_scheme(tmp_path):
    # WorldCover: 10 tree cover, 30 grassland; credits keyed by WorldCover codes
    g = grid_of(1, 2)
    codes = np.array([[10, 30]], dtype="uint8")
    rasters = {"landcover": lc_layer(tmp_path, codes, g, scheme="worldcover")}
    cfg = SinksConfig(forest_credit={10: 1.0}, eligible_credit={30: 1.0}, **CFG_NO_LIMITS)
    land = compute_land_rasters(g, rasters, cfg, tmp_path, mem_limit_mb=64)
    assert read(land.forest).tolist() == [[1.0, 0.0]]
    assert read(land.eligible).tolist() == [[0.0, 1.0]]
    # the default (IGBP) credits name code 8, which WorldCover does not define
    with pytest.raises(ConfigError, match=r"code 6 is not in the 'worldcover' scheme"):
        compute_land_rasters(g, rasters, SinksConfig(**CFG_NO_LIMITS), tmp_path, mem_limit_mb=64)
