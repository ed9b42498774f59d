"""Family 5 of docs/errors.md: inputs that used to end in a traceback now get one message.

Each case builds its bad input, runs the real ``sxplan`` command and checks exit 2, a message
naming the file, the field and the fix, and (for run commands) that nothing was written.
"""

import numpy as np
import pytest
import rasterio
import shapely
from _badinputs import DEM_TRANSFORM, cli, listing, tiny, write

from _sxtest import write_tif


def _validate(tmp_path, cfg, capsys):
    return cli(["validate", write(tmp_path, cfg)], capsys)


def test_gbk_encoded_yaml_is_refused_with_the_fix(tmp_path, capsys):
    cfg = tiny(tmp_path)
    cfg["project"]["name"] = "山西省碳达峰"
    text = write(tmp_path, cfg).read_text(encoding="utf-8")
    path = tmp_path / "gbk.yaml"
    path.write_bytes(text.encode("gbk"))
    code, _, err = cli(["validate", path], capsys)
    assert code == 2 and str(path) in err and "not UTF-8" in err
    assert "GBK/GB18030" in err and "iconv -f gbk -t utf-8" in err


def test_utf8_yaml_with_bom_is_read(tmp_path, capsys):
    cfg = tiny(tmp_path)
    cfg["project"]["name"] = "山西省"
    text = write(tmp_path, cfg).read_text(encoding="utf-8")
    path = tmp_path / "bom.yaml"
    path.write_bytes(text.encode("utf-8-sig"))
    assert cli(["validate", path], capsys)[0] == 0


def test_band_beyond_the_file_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    cfg["layers"]["dem"]["band"] = 3
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'dem'" in err and "dem.tif" in err
    assert "`band: 3` but the file has 1 band;" in err and "1..1" in err


def _bowtie_counties(tmp_path):
    import geopandas as gpd

    bowtie = shapely.Polygon([(112.4, 37.7), (112.5, 37.9), (112.5, 37.7), (112.4, 37.9)])
    gpd.GeoDataFrame(
        {"code": [140101, 140102], "cname": ["甲县", "乙县"], "pref": ["示范市", "示范市"]},
        geometry=[bowtie, shapely.box(112.5, 37.7, 112.6, 37.9)],
        crs="EPSG:4326",
    ).to_file(tmp_path / "inputs" / "admin.gpkg", layer="counties", mode="w")


def test_self_intersecting_county_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    _bowtie_counties(tmp_path)
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'counties'" in err and "admin.gpkg" in err
    assert "1 invalid polygon(s) (cname ['甲县']" in err and "Self-intersection" in err
    assert "Fix Geometries" in err


def test_self_intersecting_study_area_is_refused(tmp_path, capsys):
    import geopandas as gpd

    cfg = tiny(tmp_path)
    bowtie = shapely.Polygon([(112.4, 37.7), (112.6, 37.9), (112.6, 37.7), (112.4, 37.9)])
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[bowtie], crs="EPSG:4326").to_file(
        tmp_path / "inputs" / "admin.gpkg", layer="province", mode="w"
    )
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'province'" in err and "invalid polygon" in err


def test_corrupt_tiff_header_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    path = tmp_path / "inputs" / "dem.tif"
    data = bytearray(path.read_bytes())
    data[:8] = b"\x00" * 8  # the TIFF magic number and first IFD offset
    path.write_bytes(bytes(data))
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'dem'" in err and str(path) in err
    assert "is not a raster GDAL can read" in err


def test_truncated_tiff_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    path = tmp_path / "inputs" / "dem.tif"
    big = (np.random.default_rng(1).integers(800, 2000, (600, 600))).astype("int16")
    write_tif(path, big, rasterio.transform.from_origin(112.35, 37.95, 0.0005, 0.0005),
              "EPSG:4326", -32768, compress="deflate", tiled=True)  # fmt: skip
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'dem'" in err and str(path) in err
    assert "damaged or incomplete" in err or "is not a raster GDAL can read" in err


@pytest.mark.parametrize("content", [b"", b"not a tiff at all\n"])
def test_non_raster_file_is_refused(tmp_path, capsys, content):
    cfg = tiny(tmp_path)
    (tmp_path / "inputs" / "dem.tif").write_bytes(content)
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "is not a raster GDAL can read" in err


def test_non_vector_file_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    (tmp_path / "inputs" / "roads.gpkg").write_text("not a geopackage", encoding="utf-8")
    cfg["layers"]["roads"] = {"type": "vector", "path": "inputs/roads.gpkg"}
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'roads'" in err and "cannot read" in err


def test_missing_layer_inside_geopackage_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    cfg["layers"]["roads"] = {"type": "vector", "path": "inputs/admin.gpkg", "layer": "roads"}
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "layer 'roads'" in err and "is there a layer 'roads'?" in err


def test_complex_raster_is_refused(tmp_path, capsys):
    cfg = tiny(tmp_path)
    arr = np.ones((30, 30), "complex64")
    write_tif(tmp_path / "inputs" / "dem.tif", arr, DEM_TRANSFORM, "EPSG:4326")
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "holds complex64 values" in err


@pytest.mark.parametrize("res", [0.0064, 0.1])
def test_absurd_cell_count_is_refused(tmp_path, capsys, res):
    cfg = tiny(tmp_path)
    cfg["project"]["resolution_m"] = res
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "project.resolution_m" in err and "project.max_cells" in err
    # independent: the study box projected to Albers (densified edges), extent / res**2
    from pyproj import Transformer

    from sxplan.layers import ALBERS_CHINA

    tr = Transformer.from_crs("EPSG:4326", ALBERS_CHINA, always_xy=True)
    lon = np.r_[np.linspace(112.4, 112.6, 50), np.full(50, 112.6), np.linspace(112.6, 112.4, 50),
                np.full(50, 112.4)]  # fmt: skip
    lat = np.r_[np.full(50, 37.7), np.linspace(37.7, 37.9, 50), np.full(50, 37.9),
                np.linspace(37.9, 37.7, 50)]  # fmt: skip
    x, y = tr.transform(lon, lat)
    expected = (x.max() - x.min()) * (y.max() - y.min()) / res**2  # ~3.9e8 m2: 1e13 at 6.4 mm
    shown = float(err.split(" = ")[1].split(" cells")[0])
    assert shown == pytest.approx(expected, rel=0.01)


def test_max_cells_override_and_limit(tmp_path, capsys):
    cfg = tiny(tmp_path)
    cfg["project"]["max_cells"] = 100  # the 1 km grid has 20 x 25 = 500 cells
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "more than project.max_cells (100)" in err
    cfg["project"]["max_cells"] = 1000
    assert _validate(tmp_path, cfg, capsys)[0] == 0


@pytest.mark.parametrize(
    "layer_changes,needle",
    [
        ({"encoding": "klingon"}, "encoding 'klingon' is not known"),
        ({"min_coverage": 1.5}, "min_coverage"),
        ({"sentinels": "abc"}, "sentinels"),
    ],
)
def test_bad_new_layer_options_are_config_errors(tmp_path, capsys, layer_changes, needle):
    cfg = tiny(tmp_path)
    target = "counties" if "encoding" in layer_changes else "dem"
    cfg["layers"][target].update(layer_changes)
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and needle in err and f"layers.{target}" in err


@pytest.mark.parametrize("command", ["layers", "site", "sinks"])
def test_run_commands_refuse_before_writing_anything(tmp_path, capsys, command):
    cfg = tiny(tmp_path)
    cfg["layers"]["dem"]["band"] = 2
    path = write(tmp_path, cfg)
    before = listing(tmp_path)
    code, _, err = cli([command, path, "--out", tmp_path / "run"], capsys)
    assert code == 2 and "`band: 2` but the file has 1 band" in err
    assert listing(tmp_path) == before  # no run folder, no staging folder


def test_missing_files_are_listed_together(tmp_path, capsys):
    cfg = tiny(tmp_path)
    cfg["layers"]["dem"]["path"] = "inputs/nothere.tif"
    cfg["layers"]["roads"] = {"type": "vector", "path": "inputs/roads.gpkg"}
    code, _, err = _validate(tmp_path, cfg, capsys)
    assert code == 2 and "input files not found" in err
    assert "layers.dem.path" in err and "layers.roads.path" in err


@pytest.mark.parametrize("case", ["gbk_yaml", "corrupt_tiff", "band", "bowtie_county"])
def test_installed_command_prints_one_message_and_exits_2(tmp_path, case):
    # the console script in a subprocess, as a user runs it: no traceback, exit status 2
    import subprocess
    import sys
    from pathlib import Path

    cfg = tiny(tmp_path)
    cfg["project"]["name"] = "山西省碳达峰"
    if case == "band":
        cfg["layers"]["dem"]["band"] = 2
    if case == "bowtie_county":
        _bowtie_counties(tmp_path)
    path = write(tmp_path, cfg)
    if case == "gbk_yaml":
        path.write_bytes(path.read_text(encoding="utf-8").encode("gbk"))
    if case == "corrupt_tiff":
        tif = tmp_path / "inputs" / "dem.tif"
        tif.write_bytes(b"\0" * 8 + tif.read_bytes()[8:])
    exe = str(Path(sys.executable).with_name("sxplan"))
    proc = subprocess.run([exe, "validate", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("sxplan: error:") and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") <= 3


def test_missing_side_files_of_sections_are_listed(tmp_path, capsys):
    from _badinputs import demo

    cfg = demo(tmp_path)
    cfg["siting"]["bases_path"] = "nothere/bases.yaml"
    cfg["siting"]["installed_capacity_path"] = "nothere/installed.csv"
    code, _, err = cli(["validate", write(tmp_path, cfg)], capsys)
    assert code == 2 and "input files not found" in err
    assert "siting.bases_path:" in err and "siting.installed_capacity_path:" in err


@pytest.mark.parametrize("damage", ["band", "truncated"])
def test_alignment_without_the_preflight_still_gives_a_message(tmp_path, damage):
    # library callers (build_stack, align_raster) get the same errors, not IndexError or
    # RasterioIOError, if they skip the pre-flight
    from sxplan.errors import ConfigError, LayerIOError
    from sxplan.layers import GridSpec, RasterLayerSpec
    from sxplan.layers.align import align_raster

    tiny(tmp_path)
    path = tmp_path / "inputs" / "dem.tif"
    spec = {"path": path, "kind": "continuous"}
    if damage == "band":
        spec["band"] = 2
    else:
        big = np.random.default_rng(1).integers(800, 2000, (600, 600)).astype("int16")
        write_tif(path, big, rasterio.transform.from_origin(112.35, 37.95, 0.0005, 0.0005),
                  "EPSG:4326", -32768, compress="deflate", tiled=True)  # fmt: skip
        data = path.read_bytes()
        path.write_bytes(data[: len(data) * 3 // 4])
    grid = GridSpec.from_geometry(shapely.box(112.4, 37.7, 112.6, 37.9), "EPSG:4326", 100)
    expected = ConfigError if damage == "band" else LayerIOError
    with pytest.raises(expected, match="layer 'dem'") as err:
        align_raster(RasterLayerSpec(**spec), grid, tmp_path / "out.tif", name="dem")
    assert not (tmp_path / "out.tif").exists()
    assert ("band: 2" in str(err.value)) if damage == "band" else ("damaged" in str(err.value))
