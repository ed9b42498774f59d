"""New map parts against answers known by construction: context names, popups, headline, labels."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from sxplan.layers.grid import ALBERS_CHINA
from sxplan.maps._basemap import hillshade
from sxplan.maps._common import MapContext
from sxplan.maps._context import ContextLayers, context_layers, rule_color
from sxplan.maps._labels import label_box_m, place_labels
from sxplan.maps._popups import MAX_POPUP_ROWS, popup_frame, round_number
from sxplan.maps.config import MapsConfig


def test_context_layers_come_from_run_json(run_folder, tmp_path):
    names = context_layers(run_folder)
    assert (names.study_area, names.prefectures, names.highways) == (
        "province",
        "prefectures",
        "highways",
    )
    # Vector hard rules only, highways once (drawn as highways), in config order and colours.
    assert [(c.layer, c.rule, c.color) for c in names.constraints] == [
        ("redline_proxy", "redline", rule_color(0)),
        ("water", "water", rule_color(1)),
    ]
    assert names.color_of_rule("cropland_pv", 9) == rule_color(3)
    # Renamed layers in the config are followed, not the demo's names.
    run = tmp_path / "run"
    run.mkdir()
    config = {
        "project": {"study_area": "shanxi", "prefectures": None},
        "siting": {
            "highways_layer": "motorways",
            "exclusions": [
                {"name": "eco", "type": "vector", "layer": "eco_lines", "label_zh": "红线"},
                {"name": "soft", "type": "vector", "layer": "x", "mode": "soft"},
            ],
        },
    }
    (run / "run.json").write_text(json.dumps({"config": config}), encoding="utf-8")
    names = context_layers(run)
    assert (names.study_area, names.prefectures, names.highways) == ("shanxi", None, "motorways")
    assert [c.layer for c in names.constraints] == ["eco_lines"]
    assert context_layers(tmp_path) == ContextLayers()  # no run.json: defaults


def test_popup_frame_caps_rows_and_names_values():
    n = 20
    frame = pd.DataFrame({f"c{i}": [float(i) + 0.123456] for i in range(n)})
    frame["technology"] = ["pv+wind"]
    frame["crit_a"], frame["score_a"] = [1540.4], [0.70349]
    out, cols, section = popup_frame(
        frame, ["technology", *frame.columns[:n]], language="zh", scored=[("crit_a", "score_a")]
    )
    assert len(cols) + len(section) == MAX_POPUP_ROWS
    assert out.loc[0, "technology"] == "光伏 + 风电"
    assert out.loc[0, "c3"] == "3.12"  # three significant digits
    out, cols, section = popup_frame(frame, ["c1"], language="en", scored=[("crit_a", "score_a")])
    assert (cols, section) == (["c1"], ["crit_a"])
    assert out.loc[0, "crit_a"] == "1,540 (0.703)"
    assert round_number(float("nan")) == "—" and round_number(-1234.5) == "-1,234"


def test_sinks_headline_matches_the_fixture(run_folder):
    from sxplan.maps._common import read_run_table
    from sxplan.maps._sinks import _COUNTY_COLUMNS, headline, sink_metric_columns

    ctx = MapContext(run_dir=run_folder, config=MapsConfig())
    counties = read_run_table(ctx, "sinks.counties_gpkg", columns=_COUNTY_COLUMNS)
    h = headline(ctx, counties, sink_metric_columns(counties.columns))
    # Four counties of equal area: the plain means of 11/21/31/41 and 13.5/.../43.5.
    assert h["cover_now_pct"] == 26.0 and h["cover_target_pct"] == 28.5
    assert h["cover_year"] == "2025" and h["sink_year"] == 2030
    assert (h["sink_tco2_per_yr"], h["sink_p05"], h["sink_p95"]) == (5000.0, 4100.0, 6300.0)


def test_labels_avoid_each_other_inside_their_polygons():
    # Two bases whose poles of inaccessibility coincide (same square): the second label moves.
    sq = box(0, 0, 3e5, 3e5)
    polys = gpd.GeoSeries([sq, sq], crs=ALBERS_CHINA)
    texts = ["晋东新能源基地", "晋东新能源基地"]
    pts = place_labels(polys, texts).to_crs(ALBERS_CHINA)
    w, h = label_box_m(texts[0])
    a, b = pts.iloc[0], pts.iloc[1]
    assert sq.contains(a) and sq.contains(b)
    assert abs(a.x - b.x) >= w or abs(a.y - b.y) >= h
    # A clip area keeps labels inside it (the province).
    clip = gpd.GeoSeries([box(0, 0, 1e5, 3e5)], crs=ALBERS_CHINA).to_crs("EPSG:4326").iloc[0]
    pt = place_labels(gpd.GeoSeries([sq], crs=ALBERS_CHINA).to_crs("EPSG:4326"), ["甲"], clip=clip)
    assert clip.contains(pt.iloc[0])


def test_hillshade_of_a_plane_by_hand():
    # A plane falling 1 m per 1 m eastward (45 deg slope facing east) lit from the east at
    # 45 deg altitude: cos(45)cos(45) + sin(45)sin(45)cos(0) = 1.
    dem = np.tile(-np.arange(5.0), (5, 1))
    lit = hillshade(dem, 1.0, 1.0, azimuth_deg=90.0, altitude_deg=45.0)
    assert np.allclose(lit[1:-1, 1:-1], 1.0)
    # Lit from the west it faces away: cos(45)cos(45) - sin(45)sin(45) = 0.
    dark = hillshade(dem, 1.0, 1.0, azimuth_deg=270.0, altitude_deg=45.0)
    assert np.allclose(dark[1:-1, 1:-1], 0.0)
