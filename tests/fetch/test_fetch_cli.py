"""`sxplan data fetch` end to end against the 127.0.0.1 fixture server (via the
SXPLAN_FETCH_MIRROR variable, in a real subprocess), then `sxplan validate` and `sxplan site`
on the generated project."""

import os
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import yaml

from _fetchfix import AREA, build_mirror, clcd_bytes, dem_value, ghi_value, write_area
from sxplan.cli import main

LAYERS = "dem,landcover,wind,solar,roads"


def fetch(server, tmp_path, dest, *extra, layers=LAYERS):
    env = {**os.environ, "SXPLAN_FETCH_MIRROR": server.url + "/m"}
    cmd = [sys.executable, "-c", "import sys; from sxplan.cli import main; sys.exit(main())",
           "data", "fetch", "--area", str(tmp_path / "area.gpkg"), "--layers", layers,
           "--dest", str(dest), "--margin-m", "1000", "--no-progress", *extra]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def fetched(server, tmp_path):
    server.files.update(build_mirror(tmp_path / "fixtures"))
    write_area(tmp_path / "area.gpkg")
    dest = tmp_path / "dest"
    proc = fetch(server, tmp_path, dest)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dest, proc


def test_fetch_mosaics_clips_and_writes_a_runnable_project(fetched, server, tmp_path):
    dest, _ = fetched
    rasters = ["dem.tif", "landcover.tif", "wind.tif", "ghi.tif", "pv_yield.tif"]
    for name in [*rasters, "roads.gpkg", "boundaries.gpkg", "sources.md", "project.yaml"]:
        assert (dest / name).exists(), name
    assert not (dest / "missing.md").exists()
    # DEM: four 1-degree tiles mosaicked; every pixel equals the plane the tiles were cut from
    with rasterio.open(dest / "dem.tif") as src:
        assert src.driver == "GTiff" and src.tags()["units"] == "m"
        assert src.profile["tiled"] and src.overviews(1) is not None
        arr = src.read(1)
        rows, cols = np.mgrid[0 : src.height, 0 : src.width]
        lons, lats = rasterio.transform.xy(src.transform, rows, cols)
        expected = dem_value(np.reshape(lons, arr.shape), np.reshape(lats, arr.shape))
        np.testing.assert_allclose(arr, expected, atol=1e-3)
        b = src.bounds
    # clipped to the area plus 1 km (about 0.011 deg in longitude at 37 N), snapped to 0.01 deg
    assert AREA[0] - 0.03 < b.left < AREA[0] - 0.01 and AREA[2] + 0.01 < b.right < AREA[2] + 0.03
    assert AREA[1] - 0.03 < b.bottom < AREA[1] and AREA[3] < b.top < AREA[3] + 0.03
    assert all(abs(v * 100 - round(v * 100)) < 1e-6 for v in (b.left, b.right, b.top, b.bottom))
    with rasterio.open(dest / "landcover.tif") as src:
        assert set(np.unique(src.read(1))) == {10, 30, 40, 50} and src.nodata == 0
    # roads: motorway and trunk only, tunnel and bridge tags kept, clipped to the box
    roads = gpd.read_file(dest / "roads.gpkg", layer="roads")
    assert set(roads["highway"]) == {"motorway", "trunk"}
    assert sorted(roads["osm_id"].unique()) == [100, 101, 102, 103]
    assert roads.set_index("osm_id").loc[101, "tunnel"] == "yes"
    assert roads.set_index("osm_id").loc[102, "bridge"] == "viaduct"
    assert roads.total_bounds[0] >= AREA[0] - 0.03 and roads.total_bounds[2] <= AREA[2] + 0.03
    text = (dest / "sources.md").read_text(encoding="utf-8")
    for s in ("CC BY 4.0", "ODbL", "Copernicus", "unverified", "© OpenStreetMap contributors"):
        assert s in text, s
    # the project: fetched layers, the GHI score spanning the fetched GHI's 5th-95th percentile
    cfg = yaml.safe_load((dest / "project.yaml").read_text(encoding="utf-8"))
    assert cfg["layers"]["wind_speed"]["path"] == "wind.tif"
    assert cfg["layers"]["landcover"]["scheme"] == "worldcover"
    assert cfg["layers"]["highways"]["path"] == "roads.gpkg"
    with rasterio.open(dest / "ghi.tif") as src:
        ghi = src.read(1)
        lats = np.array(rasterio.transform.xy(src.transform, np.arange(src.height), 0)[1])
    np.testing.assert_allclose(ghi[:, 0], ghi_value(0, lats), atol=1e-3)
    lo, hi = np.percentile(ghi, [5, 95])
    crit = next(c for c in cfg["siting"]["pv"]["criteria"] if c.get("layer") == "ghi")
    assert crit["transform"]["x0"] == np.floor(lo / 10) * 10
    assert crit["transform"]["x1"] == np.ceil(hi / 10) * 10
    assert "wind_proxy" not in (dest / "project.yaml").read_text(encoding="utf-8").split("#")[-1]
    assert main(["validate", str(dest / "project.yaml")]) == 0
    run = tmp_path / "run"
    assert main(["site", str(dest / "project.yaml"), "--out", str(run), "--no-progress"]) == 0
    assert (run / "siting" / "parcels_pv.gpkg").exists()
    assert (run / "siting" / "roadside_pv.csv").exists()
    # a second fetch finds everything in the cache: no request reaches the server
    n = len(server.requests)
    proc = fetch(server, tmp_path, dest)
    assert proc.returncode == 0, proc.stderr
    assert len(server.requests) == n
    assert proc.stdout.count("in the cache") == 8  # 4 DEM, 1 WorldCover, wind, solar, OSM


def test_missing_layer_exit_2_names_url_and_from_dir_then_picks_it_up(server, tmp_path):
    server.files.update(build_mirror(tmp_path / "fixtures", skip=("global_wind_atlas",)))
    write_area(tmp_path / "area.gpkg")
    dest = tmp_path / "dest"
    proc = fetch(server, tmp_path, dest)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "could not fetch wind" in proc.stderr
    missing = (dest / "missing.md").read_text(encoding="utf-8")
    assert "https://globalwindatlas.info/api/gis/country/CHN/wind-speed/100" in missing
    assert "save as: `CHN_wind-speed_100m.tif`" in missing and "--from-dir" in missing
    # what could be had was fetched and kept; the project runs on the demo's wind proxy meanwhile
    assert len(list((dest / "cache" / "copernicus_dem_glo30").glob("*.tif"))) == 4
    text = (dest / "project.yaml").read_text(encoding="utf-8")
    assert "wind: NOT FETCHED: embedded demo layer `wind_proxy`" in text
    assert main(["validate", str(dest / "project.yaml")]) == 0
    # the hand-downloaded file in --from-dir is used; nothing is downloaded again
    hand = tmp_path / "hand"
    hand.mkdir()
    (hand / "CHN_wind-speed_100m.tif").write_bytes(
        build_mirror(tmp_path / "fx2")["/m/global_wind_atlas/CHN/wind-speed/100"]
    )
    before = (hand / "CHN_wind-speed_100m.tif").read_bytes()
    n = len(server.requests)
    proc = fetch(server, tmp_path, dest, "--from-dir", str(hand))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(server.requests) == n
    assert not (dest / "missing.md").exists()
    assert (hand / "CHN_wind-speed_100m.tif").read_bytes() == before  # the user's file untouched
    assert yaml.safe_load((dest / "project.yaml").read_text())["layers"]["wind_speed"]


def test_refuses_a_folder_it_did_not_write(server, tmp_path):
    write_area(tmp_path / "area.gpkg")
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    proc = fetch(server, tmp_path, dest)
    assert proc.returncode == 2 and "not written by `sxplan data fetch`" in proc.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["notes.txt"]
    assert server.requests == []


def test_absent_dem_tile_is_left_nodata_and_said_so(server, tmp_path):
    # Copernicus publishes no tile over the sea; an absent tile is nodata, never 0, and the
    # project header, sources.md and the log say which one
    server.files.update(build_mirror(tmp_path / "fixtures", skip=("N36_00_E111",)))
    write_area(tmp_path / "area.gpkg")
    dest = tmp_path / "dest"
    proc = fetch(server, tmp_path, dest)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARNING: Copernicus_DSM_COG_10_N36_00_E111_00_DEM.tif: absent" in proc.stdout
    with rasterio.open(dest / "dem.tif") as src:
        arr = src.read(1, masked=True)
        row, col = src.index(111.95, 36.95)  # in the absent tile
        assert arr.mask[row, col]
        row, col = src.index(112.05, 37.05)
        assert arr[row, col] == pytest.approx(dem_value(112.055, 37.055), abs=1.5)
    assert "N36_00_E111" in (dest / "sources.md").read_text(encoding="utf-8")
    assert "N36_00_E111" in (dest / "project.yaml").read_text(encoding="utf-8").split("project:")[0]


def test_user_supplied_wdpa_becomes_an_exclusion(server, tmp_path):
    import shapely

    server.files.update(build_mirror(tmp_path / "fixtures"))
    write_area(tmp_path / "area.gpkg")
    hand = tmp_path / "hand"
    hand.mkdir()
    park = shapely.box(111.95, 36.95, 112.0, 37.0)
    wdpa = gpd.GeoDataFrame(
        {"NAME": ["测试保护区", "point site", "far away"]},
        geometry=[park, shapely.Point(112.05, 37.05), shapely.box(100, 30, 101, 31)],
        crs="EPSG:4326",
    )
    wdpa.to_file(hand / "WDPA_Dec2026_Public.gpkg", layer="polygons")
    dest = tmp_path / "dest"
    proc = fetch(server, tmp_path, dest, "--from-dir", str(hand), layers=LAYERS + ",protected")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = gpd.read_file(dest / "protected.gpkg", layer="protected")
    assert list(got["NAME"]) == ["测试保护区"]  # the point and the far polygon are left out
    assert got.to_crs("EPSG:32649").area.sum() == pytest.approx(
        gpd.GeoSeries([park], crs="EPSG:4326").to_crs("EPSG:32649").area.sum(), rel=1e-9
    )
    cfg = yaml.safe_load((dest / "project.yaml").read_text(encoding="utf-8"))
    rule = next(r for r in cfg["siting"]["exclusions"] if r["name"] == "protected_areas")
    assert rule["layer"] == "protected" and "protected" in cfg["roadside_pv"]["exclusion_layers"]
    assert main(["validate", str(dest / "project.yaml")]) == 0


def test_clcd_in_albers_is_clipped_in_its_own_crs(server, tmp_path):
    server.files.update(build_mirror(tmp_path / "fixtures", skip=("esa_worldcover",)))
    server.files["/m/clcd/CLCD_v01_2021_albert.tif"] = clcd_bytes(tmp_path)
    write_area(tmp_path / "area.gpkg")
    dest = tmp_path / "dest"
    proc = fetch(server, tmp_path, dest, layers="dem,landcover_clcd,wind,solar,roads")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with rasterio.open(dest / "landcover_clcd.tif") as src:
        assert "Albers" in src.crs.to_wkt() or src.crs.to_proj4().startswith("+proj=aea")
        assert src.res == (1000.0, 1000.0) and set(np.unique(src.read(1))) == {1, 2}
        # the box (area + 1 km, ~22 x 24 km) in Albers needs fewer than the file's 30 x 30 cells
        assert src.width < 30 and src.height < 30
    cfg = yaml.safe_load((dest / "project.yaml").read_text(encoding="utf-8"))
    assert cfg["layers"]["landcover"]["scheme"] == "clcd"
    assert cfg["layers"]["landcover"]["path"] == "landcover_clcd.tif"
    assert cfg["sinks"]["class_basis"] == "common" and cfg["sinks"]["calibration"] == "none"
    assert main(["validate", str(dest / "project.yaml")]) == 0


def test_offline_province_lists_every_file_and_still_writes_a_valid_project(tmp_path):
    # a mirror on a closed 127.0.0.1 port: the first file fails, the host is not tried again,
    # every file of every layer is listed for hand download, and the project falls back to the
    # demo layers (so it equals the demo's data) and validates
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dest = tmp_path / "sx"
    rc = main(["data", "fetch", "--area", "shanxi", "--dest", str(dest), "--retries", "0",
               "--mirror", f"http://127.0.0.1:{port}/m", "--no-progress"])  # fmt: skip
    assert rc == 2
    missing = (dest / "missing.md").read_text(encoding="utf-8")
    # Shanxi with 5 km margin spans 34.5-40.8 N, 110.2-114.6 E: 7 x 5 one-degree DEM tiles and
    # 3 x 3 WorldCover tiles
    assert missing.count("save as: `Copernicus_DSM_COG_10_") == 35
    assert missing.count("save as: `ESA_WorldCover_10m_2021_v200_") == 9
    assert "https://download.geofabrik.de/asia/china-latest.osm.pbf" in missing
    assert missing.count("did not answer earlier") == 35 + 9 + 3 - 1
    text = (dest / "project.yaml").read_text(encoding="utf-8")
    assert text.count("NOT FETCHED") >= 6
    cfg = yaml.safe_load(text)
    assert cfg["project"]["resolution_m"] == 1000 and cfg["siting"]["targets"]["wind_pv_gw_2030"]
    assert cfg["sinks"]["calibration"] == "distribute"
    assert main(["validate", str(dest / "project.yaml")]) == 0
