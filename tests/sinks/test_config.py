import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from sxplan.errors import ConfigError
from sxplan.sinks.config import SinksConfig

SHANXI = Path(__file__).resolve().parents[2] / "sxplan" / "data" / "shanxi.yaml"


def test_shipped_sinks_section_validates():
    section = yaml.safe_load(SHANXI.read_text(encoding="utf-8"))["sinks"]
    cfg = SinksConfig.model_validate(section)
    assert cfg.target_gain_points == 2.5
    assert cfg.report_years == [2025, 2030, 2060]


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"forest_credit": {8: 0.7}}, "exceeds one cell"),
        ({"landcover_scheme": "igbp"}, r"Move it to `layers.landcover.scheme: igbp`"),
        ({"class_basis": "common", "forest_credit": {"trees": 1.0}}, "not a common class"),
        ({"forest_mix": {"broadleaf": 0.5, "conifer": 0.6}}, "sum to 1"),
        ({"report_years": [2070]}, "outside the trajectory"),
        ({"target_year": 2019}, "after baseline_year"),
        ({"unknown_key": 1}, "unknown key .unknown_key. in SinksConfig"),
    ],
)
def test_bad_settings_are_refused_with_a_fix(bad, match):
    with pytest.raises(ValidationError, match=match):
        SinksConfig.model_validate(bad)


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"eligible_credit": {12: 1.0}}, "never planted"),
        ({"eligible_credit": {13: 1.0}}, "never planted"),
        ({"eligible_credit": {0: 1.0}}, "never planted"),
        ({"forest_credit": {99: 1.0}}, "not in the 'igbp' scheme"),
    ],
)
def test_credits_are_checked_against_the_layer_scheme(bad, match):
    cfg = SinksConfig.model_validate(bad)  # the scheme is not known from the section alone
    with pytest.raises(ConfigError, match=match):
        cfg.check_scheme("igbp")


def test_old_landcover_scheme_key_points_to_the_layer():
    with pytest.raises(ValidationError) as err:
        SinksConfig.model_validate({"landcover_layer": "lc", "landcover_scheme": "clcd"})
    msg = str(err.value)
    assert "layers.lc.scheme: clcd" in msg
    assert "unknown key" not in msg


def test_common_class_basis():
    cfg = SinksConfig(
        class_basis="common",
        forest_credit={"forest": 1.0},
        eligible_credit={"grass": 1.0, "shrub": 1.0, "barren": 1.0},
    )
    assert cfg.eligible_credit["grass"] == 1.0
    with pytest.raises(ValidationError, match="never planted"):
        SinksConfig(
            class_basis="common", forest_credit={"forest": 1.0}, eligible_credit={"crop": 1.0}
        )


def test_import_is_cheap():
    code = "import sys, sinks; print('folium' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
