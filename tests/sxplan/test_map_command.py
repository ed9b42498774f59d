"""`sxplan map RUN` through the real CLI on a real run folder: it draws with the run's settings."""

import json

import pytest
import yaml

from sxplan.cli import main
from sxplan.config import demo_config_path


@pytest.fixture(scope="module")
def english_run(tmp_path_factory):
    """A real PV siting run (``sxplan site``) of the demo project whose ``maps:`` says English.

    The demo YAML is copied with ``maps.language: en`` and ``max_parcels_per_tech: 5``; its data
    folder is linked beside it so its relative paths still resolve. 2 km cells keep it quick.
    """
    root = tmp_path_factory.mktemp("english")
    shipped = demo_config_path()
    raw = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    raw["project"]["resolution_m"] = 2000
    raw["maps"].update({"language": "en", "max_parcels_per_tech": 5})
    (root / "shanxi").symlink_to(shipped.parent / "shanxi", target_is_directory=True)
    config = root / "english.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    out = root / "run"
    args = ["site", str(config), "--tech", "pv", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    assert not (out / "maps").exists()  # `sxplan site` draws no map: `sxplan map` does
    return out


def test_map_uses_the_runs_maps_settings(english_run, capsys):
    recorded = json.loads((english_run / "run.json").read_text(encoding="utf-8"))
    assert recorded["config"]["maps"]["language"] == "en"
    assert main(["map", str(english_run)]) == 0
    out = capsys.readouterr().out
    assert "run.json" in out and "siting.html" in out
    page = (english_run / "maps" / "siting.html").read_text(encoding="utf-8")
    assert '"PV parcels"' in page and "光伏候选地块" not in page
    assert "only the best 5 of" in page  # max_parcels_per_tech came from the run too


def test_command_line_options_override_the_run(english_run):
    assert main(["map", str(english_run), "--language", "zh"]) == 0
    page = (english_run / "maps" / "siting.html").read_text(encoding="utf-8")
    assert "光伏候选地块" in page and '"PV parcels"' not in page
    assert "仅显示得分最高的 5 个" in page  # the other recorded settings still apply
