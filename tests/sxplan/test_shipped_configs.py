"""Every shipped YAML validates, and config cross-checks catch typos before a run."""

import shutil
from pathlib import Path

import pytest
import yaml

from sxplan.cli import main
from sxplan.config import demo_config_path, load_config
from sxplan.errors import ConfigError

TEMPLATE = Path(__file__).resolve().parents[2] / "sxplan" / "templates" / "project.yaml"


def test_demo_config_validates_with_every_section():
    cfg = load_config(demo_config_path())
    assert cfg.siting is not None and cfg.roadside_pv is not None
    assert cfg.sinks is not None and cfg.maps is not None
    for name, spec in cfg.layers.items():
        assert Path(spec.path).exists(), f"demo layer {name} points at a missing file"


def test_init_writes_a_template_that_validates(tmp_path, capsys):
    assert main(["init", str(tmp_path / "proj")]) == 0
    written = tmp_path / "proj" / "project.yaml"
    assert written.read_text(encoding="utf-8") == TEMPLATE.read_text(encoding="utf-8")
    cfg = load_config(written)
    assert {"dem", "landcover", "redline", "highways"} <= set(cfg.layers)
    assert main(["init", str(tmp_path / "proj")]) == 2  # no silent overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert main(["validate", str(written)]) == 2  # its data files do not exist yet
    assert "files not found" in capsys.readouterr().err


def test_a_section_naming_an_undeclared_layer_is_refused(tmp_path):
    shutil.copy(TEMPLATE, tmp_path / "p.yaml")
    raw = yaml.safe_load((tmp_path / "p.yaml").read_text(encoding="utf-8"))
    raw["sinks"]["slope_layer"] = "slope_degs"
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"sinks.slope_layer: 'slope_degs' \(did you mean 'slope_deg'"
    ):
        load_config(tmp_path / "p.yaml")


def test_demo_validate_command(capsys):
    assert main(["validate", str(demo_config_path())]) == 0
    assert "valid" in capsys.readouterr().out


def _template_with(tmp_path, edit):
    raw = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    edit(raw)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return tmp_path / "p.yaml"


def test_old_sinks_landcover_scheme_points_to_the_layer(tmp_path):
    path = _template_with(tmp_path, lambda r: r["sinks"].update(landcover_scheme="clcd"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "`layers.landcover.scheme: clcd`" in str(err.value)
    assert "unknown key" not in str(err.value)


def test_every_stage_reading_land_cover_needs_a_scheme_on_the_layer(tmp_path):
    path = _template_with(tmp_path, lambda r: r["layers"]["landcover"].pop("scheme"))
    with pytest.raises(ConfigError, match=r"the layer declares none: siting.landcover_layer") as e:
        load_config(path)
    msg = str(e.value)
    for setting in ("roadside_pv.landcover_layer", "sinks.landcover_layer", "classes"):
        assert setting in msg
    assert "Add `scheme:` to `layers.landcover`" in msg


@pytest.mark.parametrize("section", ["siting", "roadside_pv", "sinks"])
def test_old_section_scheme_keys_point_to_the_layer(tmp_path, section):
    path = _template_with(tmp_path, lambda r: r[section].update(landcover_scheme="clcd"))
    with pytest.raises(ConfigError, match=rf"`{section}.landcover_scheme`.*`layers.landcover"):
        load_config(path)


def test_sinks_credits_are_checked_against_the_layer_scheme_at_load(tmp_path):
    path = _template_with(tmp_path, lambda r: r["layers"]["landcover"].update(scheme="clcd"))
    with pytest.raises(
        ConfigError, match=r"sinks.eligible_credit: class 8 is built land.*declares .scheme: clcd."
    ):
        load_config(path)
