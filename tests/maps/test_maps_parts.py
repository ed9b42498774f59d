"""The parts of a map, each against an answer known by construction."""

from __future__ import annotations

import base64
import math
import warnings

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from shapely.geometry import Point, Polygon, box

from sxplan.errors import CRSError, LayerIOError, RunFolderError
from sxplan.layers.datum import wgs84_to_gcj02
from sxplan.layers.grid import ALBERS_CHINA
from sxplan.maps._common import class_breaks, classify
from sxplan.maps._geo import display_geometries, to_wgs84
from sxplan.maps._raster import RAMPS, colorize, read_overlay
from sxplan.maps._sinks import sink_metric_columns
from sxplan.maps._text import esc, format_value, js_literal, label, popup_spec


def _decode(url: str) -> np.ndarray:
    data = base64.b64decode(url.split(",", 1)[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(data) as mem, mem.open() as src:
            return src.read()


# --- text -------------------------------------------------------------------------------------


@given(st.text(max_size=40))
def test_escaped_text_has_no_markup(value):
    out = esc(value)
    assert "<" not in out and ">" not in out and '"' not in out
    assert js_literal(out).count("<") == 0


def test_popup_spec_escapes_labels_and_title():
    spec = popup_spec(
        ["<b>k</b>", "area_km2"], title="<i>t</i>", section_columns=["crit_x"], section_title="<s>"
    )
    assert spec["title"] == "&lt;i&gt;t&lt;/i&gt;"
    # crit_<criterion> is a family: an unknown criterion keeps its name, tagged as a score row.
    area, crit = "面积 (km²) / Area (km²)", "x (得分) / x (score)"
    assert spec["cols"] == ["&lt;b&gt;k&lt;/b&gt;", area, crit]
    assert spec["section_at"] == 2 and spec["section_title"] == "&lt;s&gt;"
    assert popup_spec(["a"])["section_at"] is None


def test_js_literal_cannot_close_a_script():
    text = js_literal({"a": "</script><script>alert(1)</script>", "b": "\u2028"})
    assert "</script" not in text and "<" not in text and "\u2028" not in text


def test_labels_and_values():
    assert label("县", "County", "zh+en") == "县 / County"
    assert label("县", "County", "zh") == "县"
    assert label("县", "County", "en") == "County"
    assert format_value(float("nan")) == "—"
    assert format_value(1447.2) == "1,447.2"
    assert format_value(0.123456) == "0.123"
    assert format_value(np.int64(140703)) == "140703"


# --- geometry ---------------------------------------------------------------------------------


def _gdf(geoms, crs=ALBERS_CHINA):
    return gpd.GeoDataFrame({"v": range(len(geoms))}, geometry=list(geoms), crs=crs)


def test_simplify_stays_within_tolerance_and_drops_vertices():
    # A 5 km circle with 2000 vertices, 500 km from the Albers origin in Shanxi's area.
    x0, y0 = 700_000.0, 4_200_000.0
    circle = Point(x0, y0).buffer(5000, quad_segs=500)
    [out] = display_geometries(_gdf([circle]), tolerance_m=120, decimals=7)
    back = gpd.GeoSeries([out], crs="EPSG:4326").to_crs(ALBERS_CHINA).iloc[0]
    assert len(out.exterior.coords) < len(circle.exterior.coords) / 10
    # Simplification moves no point by more than the tolerance (+ ~1 cm for 7 decimals).
    assert shapely.hausdorff_distance(back, circle) <= 121.0


def test_coverage_simplification_keeps_neighbours_touching():
    # Two counties sharing a zig-zag edge: after simplification no gap and no overlap.
    zig = [(700_000 + (i % 2) * 300.0, 4_200_000 + i * 400.0) for i in range(51)]
    left = Polygon([(690_000, zig[0][1])] + zig + [(690_000, zig[-1][1])])
    right = Polygon([(710_000, zig[0][1])] + zig + [(710_000, zig[-1][1])])
    a, b = display_geometries(_gdf([left, right]), tolerance_m=500, decimals=7, coverage=True)
    assert len(a.exterior.coords) < 10  # the zig-zag (300 m < 500 m tolerance) is gone
    assert a.intersection(b).area < 1e-12  # no overlap
    union = shapely.union(a, b)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0  # no gap
    # Simplifying each polygon alone moves the shared edge differently: they overlap.
    c, d = display_geometries(_gdf([left, right]), tolerance_m=500, decimals=7, coverage=False)
    assert c.intersection(d).area > 1e-5


def test_rounding_and_gcj02_shift():
    wgs = _gdf([Point(112.123456, 37.654321)], crs="EPSG:4326")
    [p] = display_geometries(wgs, tolerance_m=0, decimals=4)
    assert (p.x, p.y) == (112.1235, 37.6543)
    [q] = display_geometries(wgs, tolerance_m=0, decimals=6, to_gcj02=True)
    lon, lat = wgs84_to_gcj02(112.123456, 37.654321)
    assert q.x == pytest.approx(float(lon), abs=1e-6) and q.y == pytest.approx(float(lat), abs=1e-6)


def test_vector_without_crs_is_refused(tmp_path):
    path = tmp_path / "nocrs.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)]).to_file(path)
    with pytest.raises(CRSError, match="no CRS"):
        to_wgs84(gpd.read_file(path), what="x")
    albers = gpd.GeoDataFrame(geometry=[Point(112, 37), Point(0, 0)], crs="EPSG:4326")
    albers.loc[1, "geometry"] = Point()  # empty geometries are dropped
    out = to_wgs84(albers.to_crs(ALBERS_CHINA), what="x")
    assert len(out) == 1 and out.crs.equals("EPSG:4326")
    assert out.geometry.iloc[0].equals_exact(Point(112, 37), 1e-9)


# --- rasters ----------------------------------------------------------------------------------


def _write(path, array, transform, crs, nodata):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=array.shape[1],
        height=array.shape[0],
        count=1,
        dtype=array.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(array, 1)


def test_overlay_colours_bounds_and_size(tmp_path):
    # Albers raster, 300 x 200 cells of 1 km: left half 0, right half 1, top-left block nodata.
    a = np.zeros((200, 300), dtype="float32")
    a[:, 150:] = 1.0
    a[:50, :50] = -1.0
    transform = from_origin(600_000, 4_300_000, 1000, 1000)
    _write(tmp_path / "s.tif", a, transform, ALBERS_CHINA, -1.0)
    ov = read_overlay(tmp_path / "s.tif", what="s", max_px=120, ramp="suitability")
    assert max(ov.shape) <= 120
    assert (ov.vmin, ov.vmax) == (0.0, 1.0)  # data inside 0-1 -> the 0-1 range
    rgba = _decode(ov.url)
    assert rgba.shape == (4, *ov.shape)
    low, high = RAMPS["suitability"][0][1], RAMPS["suitability"][-1][1]
    rgb = lambda c: [int(c[i : i + 2], 16) for i in (1, 3, 5)]  # noqa: E731
    mid_row = ov.shape[0] * 3 // 4
    valid_cols = np.flatnonzero(rgba[3, mid_row] > 0)
    assert list(rgba[:3, mid_row, valid_cols[2]]) == rgb(low)
    assert list(rgba[:3, mid_row, valid_cols[-3]]) == rgb(high)
    # The nodata block (Albers x 600-650 km, y 4250-4300 km) is transparent; below it, opaque.
    from pyproj import Transformer

    to_merc = Transformer.from_crs(ALBERS_CHINA, "EPSG:3857", always_xy=True)
    (south, west), (north, east) = ov.bounds
    merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    mx0, my1 = merc.transform(west, north)
    mx1, my0 = merc.transform(east, south)

    def pixel(x_albers, y_albers):
        mx, my = to_merc.transform(x_albers, y_albers)
        col = int((mx - mx0) / (mx1 - mx0) * ov.shape[1])
        row = int((my1 - my) / (my1 - my0) * ov.shape[0])
        return rgba[3, row, col]

    assert pixel(625_000, 4_275_000) == 0
    assert pixel(625_000, 4_200_000) > 0
    # Bounds: the raster's own bounds in degrees (corners' bounding box, ~1 pixel slack).
    from rasterio.warp import transform_bounds

    w, s, e, n = transform_bounds(ALBERS_CHINA, "EPSG:4326", 600_000, 4_100_000, 900_000, 4_300_000)
    (bs, bw), (bn, be) = ov.bounds
    px_deg = (e - w) / ov.shape[1] * 2
    assert abs(bw - w) < px_deg and abs(be - e) < px_deg
    assert abs(bs - s) < px_deg and abs(bn - n) < px_deg


def test_overlay_nodata_is_transparent(tmp_path):
    a = np.full((100, 100), -1.0, dtype="float32")
    a[40:60, 40:60] = 0.5
    _write(tmp_path / "n.tif", a, from_origin(600_000, 4_300_000, 500, 500), ALBERS_CHINA, -1.0)
    ov = read_overlay(tmp_path / "n.tif", what="n", max_px=100, ramp="green")
    rgba = _decode(ov.url)
    assert rgba[3, 0, 0] == 0 and rgba[3, -1, -1] == 0
    assert rgba[3, ov.shape[0] // 2, ov.shape[1] // 2] > 0
    empty = np.full((10, 10), -1.0, dtype="float32")
    _write(tmp_path / "e.tif", empty, from_origin(600_000, 4_300_000, 500, 500), ALBERS_CHINA, -1.0)
    with pytest.raises(LayerIOError, match="no valid cell"):
        read_overlay(tmp_path / "e.tif", what="e", max_px=100, ramp="green")


def test_overlay_on_gcj02_grid_moves_edges_by_the_datum_shift(tmp_path):
    # Web Mercator raster with a sharp west/east edge at 112.5 E (0 west of it, 1 east of it).
    r = 6378137.0
    x_edge = r * math.radians(112.5)
    res = 50.0
    cols, rows = 400, 200
    left = x_edge - cols / 2 * res
    top = r * math.log(math.tan(math.pi / 4 + math.radians(37.8) / 2))
    a = np.zeros((rows, cols), dtype="float32")
    a[:, cols // 2 :] = 1.0
    _write(tmp_path / "m.tif", a, from_origin(left, top, res, res), "EPSG:3857", None)
    kw = {"what": "m", "max_px": 400, "ramp": "green", "value_range": (0.0, 1.0)}
    plain = read_overlay(tmp_path / "m.tif", **kw)
    shifted = read_overlay(tmp_path / "m.tif", to_gcj02=True, **kw)

    def edge_lon(ov):
        rgba = _decode(ov.url)
        row = rgba[:3, ov.shape[0] // 2].astype(int)
        high = np.array([int(RAMPS["green"][-1][1][i : i + 2], 16) for i in (1, 3, 5)])
        col = int(np.argmax(np.all(row.T == high, axis=1)))
        (s, w), (n, e) = ov.bounds
        x0, x1 = r * math.radians(w), r * math.radians(e)
        return math.degrees((x0 + col * (x1 - x0) / ov.shape[1]) / r), (s + n) / 2

    lon_plain, lat_mid = edge_lon(plain)
    lon_shift, _ = edge_lon(shifted)
    assert lon_plain == pytest.approx(112.5, abs=1e-3)
    expected, _ = wgs84_to_gcj02(112.5, lat_mid)
    pixel_deg = math.degrees(res / r) * 1.5
    assert lon_shift == pytest.approx(float(expected), abs=pixel_deg)
    assert lon_shift - lon_plain > 0.004  # ~0.5 km east


def test_colorize_ends_and_nan():
    v = np.array([[0.0, 0.5, 1.0, np.nan]])
    out = colorize(v, 0.0, 1.0, "yield")
    assert list(out[:3, 0, 0]) == [0xFD, 0xE7, 0x25]
    assert list(out[:3, 0, 2]) == [0x3B, 0x0F, 0x70]
    assert list(out[:3, 0, 1]) == [0x21, 0x91, 0x8C]
    assert out[3, 0, 3] == 0 and out[3, 0, 0] > 0


# --- classes and columns ----------------------------------------------------------------------


def test_quantile_classes():
    values = np.arange(1.0, 11.0)  # 1..10: quintile edges 1, 2.8, 4.6, 6.4, 8.2, 10
    edges = class_breaks(values, 5)
    assert edges == pytest.approx([1.0, 2.8, 4.6, 6.4, 8.2, 10.0])
    colors = ["a", "b", "c", "d", "e"]
    got = classify(values, edges, colors)
    assert got == ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"]
    assert classify(np.array([np.nan]), edges, colors) == [None]


@settings(max_examples=50)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30))
def test_every_value_gets_a_class(values):
    arr = np.array(values)
    edges = class_breaks(arr, 5)
    colors = [str(i) for i in range(max(len(edges) - 1, 1))]
    assert all(c is not None for c in classify(arr, edges, colors))


def test_sink_metric_columns():
    cols = [
        "adcode",
        "baseline_forest_pct",
        "calibrated_forest_pct",
        "allocated_gain_ha",
        "sink_tco2_per_yr_2025",
        "sink_tco2_per_yr_2030_p95",
        "sink_tco2_per_yr_2030",
    ]
    assert sink_metric_columns(cols) == {
        "forest": "calibrated_forest_pct",
        "gain": "allocated_gain_ha",
        "sink": "sink_tco2_per_yr_2030",
    }
    # Without 2030 the first reported year is drawn; a p05/p95 column is never the sink.
    no_2030 = ["sink_tco2_per_yr_2030_p05", "sink_tco2_per_yr_2060", "sink_tco2_per_yr_2025"]
    assert sink_metric_columns(no_2030)["sink"] == "sink_tco2_per_yr_2060"
    with pytest.raises(RunFolderError, match=r"no sink_tco2_per_yr_<year> column"):
        sink_metric_columns(["adcode", "sink_tco2_per_yr_2030_p05"])


def test_every_column_label_names_a_column_the_run_writes():
    # Labels are looked up by the schema's exact column names; a label for a name no writer
    # uses is dead (it was how the maps used to guess columns).
    from sxplan.maps._text import _COLUMN_LABELS
    from sxplan.schema import DATASETS

    dead = [k for k in _COLUMN_LABELS if not any(ds.known(k) for ds in DATASETS.values())]
    assert dead == []
