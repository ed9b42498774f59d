"""Bases file: the shipped file loads against the shipped counties; sums without double counting."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sxplan import siting
from sxplan.errors import ConfigError, LayerIOError
from sxplan.siting.bases import load_bases

DATA = Path(siting.__file__).resolve().parents[1] / "sxplan" / "data" / "shanxi"


def test_shipped_bases_match_shipped_counties():
    import geopandas as gpd

    counties = gpd.read_file(DATA / "admin.gpkg", layer="counties")
    b = load_bases(DATA / "bases.yaml", counties)
    assert len(b.bases) == 5
    assert {x.name_zh for x in b.bases} >= {
        "晋北风光火储一体化外送基地",
        "晋南源网荷储一体化示范基地",
    }
    assert "unofficial" in b.note
    assert b.union_counties() <= set(counties["adcode"].astype(int))


def _write(tmp_path, text, name="bases.yaml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_sum_by_base_counts_overlaps_once_in_the_union(tmp_path):
    p = _write(
        tmp_path,
        """
bases:
  - {id: a, name_zh: 甲, name_en: A, county_adcodes: [140101, 140102]}
  - {id: b, name_zh: 乙, name_en: B, counties: [140102, 140103], target_gw_2030: 5}
""",
    )
    b = load_bases(p)
    per_county = pd.DataFrame({"gw": [1.0, 2.0, 4.0]}, index=[140101, 140102, 140103])
    s = b.sum_by_base(per_county)["gw"]
    # a = 1 + 2, b = 2 + 4, union = 1 + 2 + 4 (140102 once, not 2 + 2)
    assert s.to_dict() == {"a": 3.0, "b": 6.0, "all_bases": 7.0}
    assert b.bases_of_county()[140102] == ["a", "b"]
    assert b.bases[1].target_gw_2030 == 5


def test_geojson_bases(tmp_path):
    props = '{"id": "a", "name_zh": "甲", "name_en": "A", "counties": "140101,140102"}'
    text = '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": null, '
    p = _write(tmp_path, text + f'"properties": {props}}}]}}', "bases.geojson")
    assert load_bases(p).bases[0].counties == [140101, 140102]


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("bases:\n  - {id: a, name_zh: x, name_en: x, counties: [1401]}\n", "6-digit"),
        ("bases:\n  - {id: a, name_zh: x, name_en: x, countys: [140101]}\n", "did you mean"),
        ("bases:\n  - {id: a, name_zh: x, name_en: x, counties: [140101]}\n"
         "  - {id: a, name_zh: y, name_en: y, counties: [140102]}\n", "repeated"),
        ("regions: []\n", "unknown top-level"),
    ],
)  # fmt: skip
def test_bad_bases_files(tmp_path, text, expect):
    with pytest.raises(ConfigError, match=expect):
        load_bases(_write(tmp_path, text))


def test_unknown_adcode_and_missing_file(tmp_path):
    p = _write(tmp_path, "bases:\n  - {id: a, name_zh: x, name_en: x, counties: [140199]}\n")
    with pytest.raises(ConfigError, match=r"\[140199\]"):
        load_bases(p, pd.DataFrame({"adcode": [140101]}))
    with pytest.raises(LayerIOError, match="does not exist"):
        load_bases(tmp_path / "nope.yaml")
