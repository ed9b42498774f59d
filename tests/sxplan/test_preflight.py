"""Family 7 of docs/errors.md: ``sxplan validate`` is the pre-flight every run starts with.

"valid" means a run will start: each case here passed the old ``validate`` (which only looked
for the files) and then failed in the run, or ran with wrong input.
"""

import time

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _badinputs import DEM_TRANSFORM, cli, demo, listing, tiny, write
from rasterio.transform import from_origin

from _sxtest import write_tif
from sxplan.config import load_config
from sxplan.preflight import (
    DERIVED_BYTES_PER_CELL,
    SINKS_BYTES_PER_CELL,
    preflight,
    siting_bytes_per_cell,
)
from sxplan.siting.config import load_siting_config


def _validate(tmp_path, cfg, capsys):
    return cli(["validate", write(tmp_path, cfg)], capsys)


def test_validate_prints_grid_and_estimates_and_writes_nothing(tmp_path, capsys):
    cfg = demo(tmp_path)
    path = write(tmp_path, cfg)
    before = listing(tmp_path)
    code, out, _ = cli(["validate", path], capsys)
    assert code == 0 and "a run will start" in out
    assert listing(tmp_path) == before
    grid_line = next(line for line in out.splitlines() if line.startswith("grid: "))
    w, h = (
        int(v.replace(",", ""))
        for v in grid_line.split("grid: ")[1].split(" cells")[0].split(" x ")
    )
    assert f"= {w * h:,} cells" in grid_line
    report = preflight(load_config(path))
    # rasters: dem int16 (2) + landcover uint8 (1) + 4 float32 (ghi, pv_yield, wind, precip:
    # 16); 8 vectors at 1 byte (6 + the schematic substations and grid lines). Siting, counted
    # by hand from the demo config: PV 4 suitability + 1 code + 1 (8 rules: uint8) + 3 x 4
    # criteria = 18; wind 4 + 1 + 2 (10 rules: uint16) + 12 = 19; twice (tile files and COGs)
    # = 74, plus one highway distance raster (4) = 78.
    assert report.disk_bytes == w * h * (
        2 + 1 + 16 + 8 + DERIVED_BYTES_PER_CELL + 78 + SINKS_BYTES_PER_CELL
    )
    assert report.layers["landcover"]["coverage"] == 1.0


def test_raster_without_crs_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    write_tif(tmp_path / "inputs" / "dem.tif", np.ones((30, 30), "int16"), DEM_TRANSFORM, None)
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'dem'" in err and "has no CRS; set `crs:`" in err


def test_vector_without_crs_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    gpd.GeoDataFrame(geometry=[shapely.box(112.45, 37.75, 112.55, 37.85)]).to_file(
        tmp_path / "inputs" / "zone.shp"
    )
    cfg["layers"]["zone"] = {"type": "vector", "path": "inputs/zone.shp"}
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'zone'" in err and "has no CRS; set `crs:` in `layers.zone`" in err


def test_declared_crs_contradicting_the_file_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    cfg["layers"]["dem"]["crs"] = "EPSG:4490"
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'dem'" in err and "but its spec says crs: EPSG:4490" in err


def test_raster_outside_the_study_area_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    write_tif(tmp_path / "inputs" / "dem.tif", np.ones((30, 30), "int16"),
              from_origin(100.0, 30.0, 0.01, 0.01), "EPSG:4326", -32768)  # fmt: skip
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'dem'" in err and "does not overlap the study area" in err


def test_vector_outside_the_study_area_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    gpd.GeoDataFrame(geometry=[shapely.box(100, 30, 101, 31)], crs="EPSG:4326").to_file(
        tmp_path / "inputs" / "far.gpkg"
    )
    cfg["layers"]["far"] = {"type": "vector", "path": "inputs/far.gpkg"}
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'far'" in err and "does not overlap the study area" in err


def test_codes_outside_the_declared_scheme_are_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    codes = np.full((30, 30), 10, "uint8")
    codes[5:10, 5:10] = 99  # IGBP has codes 1..17 (and 255 for fill)
    write_tif(tmp_path / "inputs" / "lc.tif", codes, DEM_TRANSFORM, "EPSG:4326", 0)
    cfg["layers"]["lc"] = {"type": "raster", "path": "inputs/lc.tif", "kind": "categorical",
                           "scheme": "igbp"}  # fmt: skip
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'lc'" in err and "99" in err and "igbp" in err


def test_inconsistent_ahp_is_refused_by_validate(tmp_path, capsys):
    cfg = demo(tmp_path)
    cfg["siting"]["pv"]["ahp"]["matrix"] = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "siting.pv" in err and "consistency ratio" in err
    assert "allow_inconsistent: true" in err


def test_where_field_missing_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    cfg["layers"]["counties"]["where"] = {"highway": ["motorway"]}
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "`where:` names field 'highway'" in err and "'cname'" in err


def test_where_matching_nothing_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    cfg["layers"]["roads"] = {"type": "vector", "path": "inputs/admin.gpkg", "layer": "counties",
                              "where": {"pref": ["太原市"]}}  # fmt: skip
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'roads'" in err and "no feature matches `where:" in err


def test_burn_field_missing_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    cfg["layers"]["zones"] = {"type": "vector", "path": "inputs/admin.gpkg", "layer": "counties",
                              "burn_field": "zone_code"}  # fmt: skip
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "`burn_field:` names field 'zone_code'" in err


def test_county_fields_missing_are_refused_by_validate(tmp_path, capsys):
    cfg = tiny(tmp_path)
    cfg["project"]["county_fields"]["name"] = "NAME_ZH"
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "county layer 'counties'" in err and "['NAME_ZH']" in err
    assert "project.county_fields" in err


def test_run_logs_the_preflight_and_valid_config_runs(tmp_path, capsys):
    cfg = tiny(tmp_path)
    code, out, err = cli(["layers", write(tmp_path, cfg), "--out", tmp_path / "run"], capsys)
    assert code == 0, err
    assert "grid: 20 x 25 cells of 1000 m = 500 cells" in out
    assert (tmp_path / "run" / "layers" / "dem.tif").exists()


def test_preflight_of_a_large_raster_reads_a_sample_only(tmp_path):
    # 6000 x 6000 int16 (a 30 m province is ~20000 x 13000): the pre-flight reads a decimated
    # window, so it stays well under the time a full read-and-check would need
    cfg = tiny(tmp_path)
    big = np.add.outer(np.arange(6000, dtype="int16") // 10, np.arange(6000, dtype="int16") // 10)
    fine = from_origin(112.35, 37.95, 0.00005, 0.00005)
    write_tif(tmp_path / "inputs" / "dem.tif", big + 800, fine, "EPSG:4326", -32768,
              tiled=True, compress="deflate")  # fmt: skip
    cfg["project"]["resolution_m"] = 30
    loaded = load_config(write(tmp_path, cfg))
    t0 = time.perf_counter()
    report = preflight(loaded)
    elapsed = time.perf_counter() - t0
    assert report.layers["dem"]["coverage"] == 1.0
    assert elapsed < 10, elapsed


@pytest.mark.parametrize("command", ["layers", "site", "sinks"])
def test_every_run_command_runs_the_preflight_first(tmp_path, capsys, command):
    cfg = tiny(tmp_path)
    dem = np.full((30, 30), 900, "int16")
    dem[:10] = -9999
    write_tif(tmp_path / "inputs" / "dem.tif", dem, DEM_TRANSFORM, "EPSG:4326")
    path = write(tmp_path, cfg)
    before = listing(tmp_path)
    code, _, err = cli([command, path, "--out", tmp_path / "run"], capsys)
    assert code == 2 and "holds -9999" in err
    assert listing(tmp_path) == before


def test_bases_listing_counties_not_in_the_county_layer_are_refused(tmp_path, capsys):
    # the tiny project's counties are 140101/140102; the shipped Shanxi bases list others
    cfg = tiny(tmp_path)
    codes = np.full((30, 30), 10, "uint8")
    write_tif(tmp_path / "inputs" / "lc.tif", codes, DEM_TRANSFORM, "EPSG:4326", 255)
    cfg["layers"]["landcover"] = {"type": "raster", "path": "inputs/lc.tif",
                                  "kind": "categorical", "scheme": "igbp"}  # fmt: skip
    cfg["siting"] = {"highways_layer": None, "wind": {"enabled": False, "resource_layer": "dem",
                     "energy": {"speed_layer": "dem"}},
                     "pv": {"resource_layer": "dem", "energy": {"yield_layer": "dem"}}}  # fmt: skip
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "bases.yaml" in err and "that are not in the counties layer" in err


def test_vector_crs_contradicting_its_spec_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    cfg["layers"]["zones"] = {"type": "vector", "path": "inputs/admin.gpkg", "layer": "counties",
                              "crs": "EPSG:3857"}  # fmt: skip
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'zones'" in err and "but its spec says crs: EPSG:3857" in err


def test_siting_disk_counts_each_technology_rule_bits_and_distinct_distances():
    rules = [
        {"name": f"r{i}", "type": "range", "layer": "slope_pct", "above": i, "technologies": ["pv"]}
        for i in range(17)
    ]
    crit = [
        {"name": n, "distance_to": "highways", "max_distance_m": cap,
         "transform": {"type": "linear", "x0": 0, "x1": 1}}
        for n, cap in (("near", 5_000), ("far", 30_000))
    ]  # fmt: skip
    cfg = load_siting_config(
        {
            "exclusions": rules,
            "pv": {"criteria": crit, "weights": {"near": 0.5, "far": 0.5}},
            "wind": {"enabled": False},
        }
    )
    # PV only: 4 + 1 + 4 (17 rules: uint32) + 2 x 4 criteria = 17, twice = 34; two distance
    # rasters (the same layer at two caps) = 8
    assert siting_bytes_per_cell(cfg) == 42
    assert siting_bytes_per_cell(None) == 0
    # without criterion rasters: 4 + 1 + 4 = 9, twice = 18; the distance rasters stay (8)
    assert siting_bytes_per_cell(cfg.model_copy(update={"criterion_rasters": False})) == 26


def test_disk_warning_names_the_folder_and_both_sizes_only_when_short(tmp_path):
    import shutil

    from sxplan.layers.grid import GridSpec
    from sxplan.preflight import PreflightReport

    grid = GridSpec.from_bounds((0, 0, 10, 10), 1)
    out = tmp_path / "not" / "yet" / "made"
    free = shutil.disk_usage(tmp_path).free
    assert PreflightReport(grid, 100, 0, 1.0).disk_warning(out) is None
    short = PreflightReport(grid, 100, 2 * free + 10**12, 1.0).disk_warning(out)
    assert str(out) in short and f"{(2 * free + 10**12) / 1e9:.2f} GB" in short
    assert "GB free" in short and "--out" in short
    assert not out.exists()  # nothing made


def test_a_run_short_of_disk_logs_the_warning_before_it_starts(tmp_path, monkeypatch):
    import sxplan.preflight as pf
    from sxplan.run import run_project

    cfg = load_config(write(tmp_path, tiny(tmp_path)))
    monkeypatch.setattr(pf, "DERIVED_BYTES_PER_CELL", 10**15)  # an estimate no disk holds
    lines: list[str] = []
    run_project(cfg, tmp_path / "out", steps=("layers",), log=lines.append)
    warning = next(i for i, s in enumerate(lines) if "GB free; this run may need" in s)
    assert lines[warning].startswith("WARNING: the disk holding ")
    assert warning < lines.index("[layers] ...")  # said before the first step


def test_pumped_storage_search_over_the_budget_is_refused_before_any_step(tmp_path, capsys):
    # the demo at 100 m with the search on the project grid: 3,474 x 7,265 = 25.2 M cells
    # at 110 bytes = 2,776 MB, against the 503 MB a 1,024 MB run gives its tiles; 200 m
    # (6.3 M cells, 694 MB) does not fit either, 300 m (2.8 M, 309 MB) does
    cfg = demo(tmp_path)
    cfg["project"]["resolution_m"] = 100
    cfg["pumped_storage"]["resolution_m"] = None
    path = write(tmp_path, cfg)
    before = listing(tmp_path)
    code, _, err = cli(["validate", path], capsys)
    assert code == 2 and "pumped_storage: the terrain search holds its whole grid" in err
    assert "Set `pumped_storage.resolution_m: 300`" in err
    args = ["site", path, "--tech", "pumped_storage", "--out", tmp_path / "run"]
    code, _, err = cli(args, capsys)
    assert code == 2 and "pumped_storage.resolution_m" in err
    assert listing(tmp_path) == before
    # a run without the step is not refused for it; the step's own setting makes it fit
    preflight(load_config(path), steps=("layers", "siting"))
    cfg["pumped_storage"]["resolution_m"] = 300
    preflight(load_config(write(tmp_path, cfg)))


def test_time_estimate_is_the_measured_demo_runs_and_counts_only_the_steps_taken(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("os.cpu_count", lambda: 2)  # the machine the figures come from
    # measured wall times of `sxplan demo` on this 2-core machine (benchmarks/README.md, issue
    # 17, s25): 1 km 30.5-31.9 s, 250 m 38-39 s and 100 m 68.5 s (not fitted), 30 m 458.5 s
    cfg = demo(tmp_path)
    est = {}
    for res in (1000, 250, 100, 30):
        cfg["project"]["resolution_m"] = res
        est[res] = preflight(load_config(write(tmp_path, cfg))).time_s
    assert 30.5 * 0.9 < est[1000] < 31.9 * 1.1
    assert 38 * 0.85 < est[250] < 39 * 1.15
    assert 68.5 * 0.9 < est[100] < 68.5 * 1.1
    assert 458.5 * 0.9 < est[30] < 458.5 * 1.1
    # `sxplan site --tech pv --tech wind --tech pumped_storage` at 250 m with the search on the
    # 250 m grid itself (4.04 M search cells): 44.8 s measured
    cfg["project"]["resolution_m"] = 250
    cfg["pumped_storage"]["resolution_m"] = None
    steps = ("layers", "siting", "pumped_storage", "figures")
    site = preflight(load_config(write(tmp_path, cfg)), steps=steps).time_s
    assert 44.8 * 0.9 < site < 44.8 * 1.1
    cfg["project"]["resolution_m"] = 1000
    layers_only = preflight(load_config(write(tmp_path, cfg)), steps=("layers",)).time_s
    # by hand: run 2.5 s + 2.75e-8 s a cell, layers 1.1 s + 4.74e-7 s a cell for 6 rasters
    cells = 348 * 728
    assert layers_only == pytest.approx(2.5 + cells * 2.75e-8 + 1.1 + cells * 4.74e-7)


@pytest.mark.parametrize(
    ("resolution_m", "logged"),
    [
        (2500, "cells of 2000 m (pumped_storage.resolution_m: 2500; the DEM averaged over 2 x 2"),
        (300, "cells of 1000 m (pumped_storage.resolution_m: 300; no finer than the 1000 m grid"),
    ],
)
def test_pumped_search_grid_is_logged_as_rounded(tmp_path, capsys, resolution_m, logged):
    # the 1000 m grid of the tiny project: 2,500 m rounds to 2 x 2 cells (2,000 m), 300 m
    # to the grid itself; the run says so instead of searching another size silently
    cfg = tiny(tmp_path)
    cfg["pumped_storage"] = {"resolution_m": resolution_m}
    args = ["site", write(tmp_path, cfg), "--tech", "pumped_storage", "--out", tmp_path / "run"]
    code, out, err = cli(args, capsys)
    assert code == 0, err
    assert logged in out


def test_misspelt_float_predictor_variable_is_refused_by_validate(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SXPLAN_FLOAT_PREDICTOR", "off")
    code, out, err = _validate(tmp_path, demo(tmp_path), capsys)
    assert code == 2
    assert "environment variable SXPLAN_FLOAT_PREDICTOR='off': use 'none'" in out + err
