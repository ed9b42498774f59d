"""Siting config: closed models, suggestions, shipped YAML validates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sxplan.errors import ConfigError
from sxplan.siting.ahp import weights_from_config
from sxplan.siting.config import SitingConfig, load_siting_config


def _demo_section():
    from pathlib import Path

    from sxplan import siting

    root = Path(siting.__file__).resolve().parents[1]
    data = yaml.safe_load((root / "sxplan" / "data" / "shanxi.yaml").read_text("utf-8"))
    return data["siting"]


def test_shipped_shanxi_section_validates_and_is_sensible():
    cfg = load_siting_config(_demo_section(), "shanxi.yaml")
    names = {r.name: r for r in cfg.exclusions}
    assert names["redline"].mode == "hard" and names["redline"].layer == "redline_proxy"
    assert names["water"].buffer_m > 0
    assert names["steep_pv"].above <= 25 and names["steep_wind"].above > names["steep_pv"].above
    assert any(r.within is not None for r in cfg.exclusions)  # the conditional form is shown
    assert any(r.mode == "soft" for r in cfg.exclusions)
    w, ahp = weights_from_config(cfg.pv)
    assert ahp is not None and ahp.consistency_ratio < 0.1
    assert abs(sum(w.values()) - 1) < 1e-12
    assert cfg.pv.capacity.density_mw_per_km2 == 36 and cfg.wind.capacity.density_mw_per_km2 == 3


def test_defaults_and_cited_values():
    cfg = SitingConfig()
    assert cfg.pv.min_parcel_area_km2 == 0.5 and cfg.wind.min_parcel_area_km2 == 5.0
    assert cfg.pv.capacity.density_mw_per_km2 == 36.0
    assert cfg.wind.capacity.density_mw_per_km2 == 3.0
    assert cfg.targets.wind_pv_gw_2025 == 80 and cfg.targets.wind_pv_gw_2030 == 120


@pytest.mark.parametrize(
    ("data", "expect"),
    [
        (
            {"exclusions": [{"name": "w", "type": "vector", "layer": "water", "buffer_meters": 1}]},
            "did you mean 'buffer_m'",
        ),
        ({"pv": {"min_parcel_area": 1}}, "did you mean 'min_parcel_area_km2'"),
        ({"wind": {"capacity": {"density_mw_km2": 3}}}, "did you mean 'density_mw_per_km2'"),
        ({"exclusions": [{"name": "w", "type": "vectr", "layer": "x"}]}, "vectr"),
        (
            {"exclusions": [{"name": "s", "type": "range", "layer": "slope_pct"}]},
            "needs `below:` and/or `above:`",
        ),
        (
            {"exclusions": [{"name": "c", "type": "categorical", "layer": "landcover",
                             "classes": ["crop"], "mode": "soft"}]},
            "score_factor",
        ),
        (
            {"exclusions": [{"name": "a", "type": "range", "layer": "x", "above": 1},
                            {"name": "a", "type": "range", "layer": "x", "above": 2}]},
            "repeated",
        ),
        (
            {"pv": {"criteria": [{"name": "ghi", "layer": "ghi",
                                  "transform": {"type": "linear", "x0": 1, "x1": 2}}],
                    "weights": {"gh": 1}}},
            "did you mean 'ghi'",
        ),
        (
            {"pv": {"criteria": [{"name": "d", "layer": "dist_km",
                                  "transform": {"type": "inverse_distance", "half_value_m": 5}}],
                    "weights": {"d": 1}}},
            "metres",
        ),
        ({"pv": {"min_parcel_area_km2": 30, "max_parcel_area_km2": 20}}, "below"),
    ],
)  # fmt: skip
def test_bad_config_names_field_and_fix(data, expect):
    with pytest.raises(ConfigError, match=expect) as info:
        load_siting_config(data, "project.yaml")
    assert "project.yaml" in str(info.value)


def test_config_from_yaml_file(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("siting:\n  shortlist_top_n: 7\n", encoding="utf-8")
    assert load_siting_config(p).shortlist_top_n == 7
    with pytest.raises(ConfigError, match="does not exist"):
        load_siting_config(tmp_path / "missing.yaml")


def test_template_siting_section_validates():
    # One template (the one `sxplan init` writes); tests/sxplan/test_template.py checks it
    # mentions every field of every section model.
    from sxplan import siting

    root = Path(siting.__file__).resolve().parents[1]
    template = root / "sxplan" / "templates" / "project.yaml"
    data = yaml.safe_load(template.read_text(encoding="utf-8"))
    cfg = load_siting_config(data["siting"], "template")
    assert cfg.exclusions and cfg.pv.criteria and cfg.wind.criteria
