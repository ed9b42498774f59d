"""County sums formed inside the land tile pass equal exactextract's on the fraction rasters."""

import numpy as np
import pytest
from shapely.geometry import Polygon, box

from sxplan.layers.zonal import zone_cover
from sxplan.sinks._land_pass import sum_land_by_county
from sxplan.sinks.baseline import county_means, county_sums_ha
from sxplan.sinks.config import ClimateLimit, ClimateZones, SinksConfig
from sxplan.sinks.eligible import compute_land_rasters, eligible_after_calibration

from .test_land import CFG_NO_LIMITS, counties, grid_of, layer, lc_layer, read


def test_a_county_over_half_a_column_of_forest_cells(tmp_path):
    # 4 x 4 cells of 1 km (100 ha), all forest (IGBP 1, credit 1.0); the county covers
    # columns 0-1 and half of column 2: 8 whole cells + 4 halves = 10 cells = 1,000 ha
    g = grid_of(4, 4)
    rasters = {"landcover": lc_layer(tmp_path, np.full((4, 4), 1), g)}
    xmin, ymin, _, ymax = g.bounds
    c = counties(g, box(xmin, ymin, xmin + 2500.0, ymax))
    land = sum_land_by_county(
        g,
        rasters,
        SinksConfig(**CFG_NO_LIMITS),
        zone_cover(c, g, mem_limit_mb=64),
        eligible_path=tmp_path / "e.tif",
        mem_limit_mb=64,
    )
    assert land.sums["forest_ha"].tolist() == [1000.0]
    assert land.sums["valid_ha"].tolist() == [1000.0]
    assert land.sums["eligible_ha"].tolist() == [0.0]  # forest is not plantable


def _province(g):
    """Counties cutting cells: A left of a slanted line, B / C right of it above / below a
    horizontal line (one cell cut by all three), D smaller than a cell (cut out of B)."""
    xmin, ymin, xmax, ymax = g.bounds
    frame = box(xmin, ymin, xmax, ymax)
    a = Polygon(
        [(xmin, ymin), (xmin + 9_300, ymin), (xmin + 9_500, ymin + 12_500), (xmin + 9_900, ymax)]
        + [(xmin, ymax)]
    )
    right = frame.difference(a)
    d = box(xmin + 20_100, ymin + 15_200, xmin + 20_700, ymin + 15_600)
    b = right.intersection(box(xmin, ymin + 12_500, xmax, ymax)).difference(d)
    c = right.intersection(box(xmin, ymin, xmax, ymin + 12_500))
    return counties(g, a, b, c, d)


def _rasters(tmp_path, g, rng):
    codes = rng.choice([1, 6, 8, 9, 10, 12, 13, 16], size=g.shape).astype("uint8")
    codes[rng.random(g.shape) < 0.05] = 255  # nodata
    slope = (rng.random(g.shape) * 50).astype("float32")
    dem = (rng.random(g.shape) * 3000).astype("float32")
    dem[rng.random(g.shape) < 0.03] = -9999.0
    rain = (rng.random(g.shape) * 700).astype("float32")
    rasters = {
        "landcover": lc_layer(tmp_path, codes, g),
        "slope_deg": layer(tmp_path, "slope_deg", slope, g, -9999.0),
        "dem": layer(tmp_path, "dem", dem, g, -9999.0),
        "precip": layer(tmp_path, "precip", rain, g, -9999.0),
        "aridity": layer(tmp_path, "aridity", rain * 0.9, g, -9999.0),
    }
    res = (rng.random(g.shape) > 0.8).astype("float32")
    return rasters, layer(tmp_path, "reserved", res, g, -1.0)


CONFIGS = {
    "all limits": dict(
        climate_limits=[ClimateLimit(layer="aridity", min_value=150)],
        climate_zones=ClimateZones(layer="precip"),
    ),
    "defaults": {},
    "no limits": CFG_NO_LIMITS,
}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("tile_size", [None, 7])
def test_pass_sums_equal_exactextract_on_the_fraction_rasters(tmp_path, rng, name, tile_size):
    g = grid_of(31, 29)
    c = _province(g)
    rasters, reserved = _rasters(tmp_path, g, rng)
    cfg = SinksConfig(**CONFIGS[name])
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    land = compute_land_rasters(g, rasters, cfg, ref_dir, mem_limit_mb=64, reserved=reserved)
    zonal = {
        "forest": land.forest,
        "eligible": land.eligible,
        "eligible_landcover": land.eligible_landcover,
        "eligible_shrub": land.eligible_shrub,
        "likely_forest": land.likely_forest,
        "builtup": land.builtup,
    } | {f"removed_{r}": v for r, v in land.removed.items()}
    ref = county_sums_ha(c, zonal, g, mem_limit_mb=64)
    new = sum_land_by_county(
        g,
        rasters,
        cfg,
        zone_cover(c, g, mem_limit_mb=64),
        eligible_path=tmp_path / "e.tif",
        mem_limit_mb=64,
        reserved=reserved,
        removed_reserved_path=tmp_path / "rr.tif",
        mean_layer=rasters["dem"],
        tile_size=tile_size,
    )
    assert list(new.sums.columns) == list(ref.columns)
    np.testing.assert_allclose(new.sums.to_numpy(), ref.to_numpy(), rtol=1e-9, atol=1e-9)
    assert ref["forest_ha"].min() > 0 and ref["eligible_ha"].sum() > 0  # sums were exercised
    # the rasters the stage keeps are the same bytes
    np.testing.assert_array_equal(read(new.eligible).filled(9), read(land.eligible).filled(9))
    np.testing.assert_array_equal(
        read(new.removed_reserved).filled(9), read(land.removed["reserved"]).filled(9)
    )
    # DEM means as exactextract forms them
    means = county_means(c, rasters["dem"], g, mem_limit_mb=64)
    np.testing.assert_allclose(new.mean, means, rtol=1e-9)
    # plantable land left after calibration, for several shares, without a second pass
    for share in (0.0, 0.3, 0.8):
        left = eligible_after_calibration(land, share, tmp_path / f"l{share}.tif", mem_limit_mb=64)
        ref_left = county_sums_ha(c, {"left": left}, g, mem_limit_mb=64)["left_ha"]
        np.testing.assert_allclose(new.eligible_after_calibration_ha(share), ref_left, rtol=1e-9)


def test_sums_are_the_same_bits_whatever_the_tiles(tmp_path, rng):
    # runs of the county cover cut every 7 columns: tiles of 7, 14 cells or the whole grid
    # (other budgets) add the same numbers in the same order
    g = grid_of(31, 29)
    c = _province(g)
    rasters, reserved = _rasters(tmp_path, g, rng)
    cover = zone_cover(c, g, mem_limit_mb=64, piece_cols=7)
    out = []
    for i, tile_size in enumerate((7, 14, None)):
        land = sum_land_by_county(
            g,
            rasters,
            SinksConfig(),
            cover,
            eligible_path=tmp_path / f"e{i}.tif",
            mem_limit_mb=64,
            mean_layer=rasters["dem"],
            tile_size=tile_size,
        )
        out.append((land.sums.to_numpy(), land.mean, land.eligible_after_calibration_ha(0.4)))
    for other in out[1:]:
        for a, b in zip(out[0], other, strict=True):
            assert np.array_equal(a, b)


def test_tiles_plan_with_what_the_cover_and_sums_leave():
    from sxplan.layers.budget import Budget
    from sxplan.sinks._land_pass import _tile_budget

    mib = 2**20
    # nothing held: the whole run's tile share, 1,024 / 2 - 1,024 / 32 = 480
    assert _tile_budget(1024, 0).mem_limit_mb == 480.0
    # 512 MB held: Budget(512).run_tiles() = 512 / 2 - 32 (GDAL's cache is at least 32 MiB)
    assert _tile_budget(1024, 512 * mib).mem_limit_mb == 224.0
    # held beyond 3/4 of the budget: the floor, Budget(256).run_tiles() = 128 - 32 = 96
    assert _tile_budget(Budget(1024), 1000 * mib).mem_limit_mb == 96.0
    assert _tile_budget(1024, 5000 * mib).mem_limit_mb == 96.0


def test_a_tile_reads_the_land_cover_and_the_dem_once(tmp_path, rng, monkeypatch):
    # the land cover over the tile's halo gives both the codes (its core) and the built-up
    # margin's features; a DEM both derived into slope and used as a limit is read once
    import sxplan.layers.open_datasets as od
    from sxplan.layers.distance import features_from_codes, within_distance
    from sxplan.layers.terrain import slope_deg_layer
    from sxplan.layers.windows import plan_tiles
    from sxplan.sinks._land_inputs import prepare_land_inputs

    g = grid_of(40, 37, res=100.0)
    codes = rng.choice([1, 10, 13, 16], size=g.shape, p=[0.3, 0.4, 0.05, 0.25]).astype("uint8")
    codes[rng.random(g.shape) < 0.05] = 255
    dem = (rng.random(g.shape) * 300 + 1800).astype("float32")
    rasters = {"landcover": lc_layer(tmp_path, codes, g), "dem": layer(tmp_path, "dem", dem, g, -1)}
    rasters["slope_deg"] = slope_deg_layer(rasters["dem"])
    cfg = SinksConfig(max_slope_deg=60, max_elevation_m=2000, built_margin_m=300)
    inputs = prepare_land_inputs(g, rasters, cfg)
    assert inputs.halo == 3
    reads = []
    real = od.read_band_window
    monkeypatch.setattr(od, "read_band_window", lambda p, w: reads.append(str(p)) or real(p, w))
    built = features_from_codes(rasters["landcover"], [13])
    for tile in plan_tiles(g, tile_size=16, halo=inputs.halo):
        reads.clear()
        got_codes, got_valid, limits = inputs.read(tile)
        assert sorted(reads) == sorted([str(rasters["landcover"].path), str(rasters["dem"].path)])
        want_codes, want_valid = rasters["landcover"].read_valid(tile.window)
        np.testing.assert_array_equal(got_codes, want_codes)
        np.testing.assert_array_equal(got_valid, want_valid)
        for key, lay in (("slope", rasters["slope_deg"]), ("dem", rasters["dem"])):
            for a, b in zip(limits[key], lay.read_valid(tile.window), strict=True):
                np.testing.assert_array_equal(a, b)
        near = within_distance(built, g, tile, 300.0)
        np.testing.assert_array_equal(limits["built_near"], near)
        assert 0 < near.sum() < near.size or tile.window.width < 16  # the margin was exercised
