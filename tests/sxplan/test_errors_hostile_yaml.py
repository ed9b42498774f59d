"""Family 6 of docs/errors.md: hostile YAML is refused quickly, in bounded memory.

The billion-laughs file is run through the installed ``sxplan`` command in a subprocess with a
2 GB address-space limit and a timeout: before the fix it hung and ate gigabytes.
"""

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _badinputs import cli, tiny, write

from sxplan._yaml import MAX_ALIASES, MAX_NODES, read_yaml, short
from sxplan.errors import ConfigError

SXPLAN = str(Path(sys.executable).with_name("sxplan"))


def _billion_laughs(levels: int = 9, width: int = 9) -> str:
    lines = ['a0: &a0 ["' + '","'.join(["lol"] * width) + '"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    lines.append(f"project: {{name: *a{levels - 1}, study_area: x, counties: y}}")
    return "\n".join(lines) + "\n"


def _limit_memory():  # runs in the child before exec
    two_gb = 2 * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (two_gb, two_gb))


def test_billion_laughs_is_refused_fast_in_bounded_memory(tmp_path):
    text = _billion_laughs()
    text += "# padding " + "x" * (12 * 1024 - len(text) - 20) + "\n"  # the 12 KB of the report
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    assert 11 * 1024 < path.stat().st_size < 13 * 1024
    t0 = time.perf_counter()
    proc = subprocess.run(
        [SXPLAN, "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
    )
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 2, proc.stderr
    assert "expands to more than 20,000 values" in proc.stderr and str(path) in proc.stderr
    assert len(proc.stderr) < 1000  # the input is never formatted into the message
    assert elapsed < 30


def test_recursive_alias_is_refused(tmp_path, capsys):
    path = tmp_path / "rec.yaml"
    path.write_text("project: &p {name: x, again: *p}\n", encoding="utf-8")
    code, _, err = cli(["validate", path], capsys)
    assert code == 2 and "recursive alias" in err and "line 1" in err


def test_too_many_aliases_are_refused(tmp_path):
    n = MAX_ALIASES + 1
    text = "base: &b 1\nitems: [" + ", ".join(["*b"] * n) + "]\n"
    path = tmp_path / "many.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{n:,} aliases"):
        read_yaml(path)


def test_wide_flat_expansion_beyond_the_node_limit_is_refused(tmp_path):
    # no alias at all, just a list longer than any config: refused by the same bound
    path = tmp_path / "wide.yaml"
    path.write_text("project: [" + ",".join(["1"] * (MAX_NODES + 10)) + "]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expands to more than"):
        read_yaml(path)


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path, capsys):
    path = tmp_path / "deep.yaml"
    path.write_text("project: " + "[" * 20000 + "]" * 20000 + "\n", encoding="utf-8")
    code, _, err = cli(["validate", path], capsys)
    assert code == 2 and "nested too deeply" in err


def test_python_tags_are_refused(tmp_path, capsys):
    path = tmp_path / "tag.yaml"
    path.write_text("project: !!python/object/apply:os.system ['echo hacked']\n", encoding="utf-8")
    code, out, err = cli(["validate", path], capsys)
    assert code == 2 and "not valid YAML" in err and "hacked" not in out


def test_huge_line_in_a_syntax_error_is_cut(tmp_path, capsys):
    path = tmp_path / "long.yaml"
    path.write_text("project: {name: '" + "x" * 500_000 + "'\n  bad: [\n", encoding="utf-8")
    code, _, err = cli(["validate", path], capsys)
    assert code == 2 and "not valid YAML" in err and len(err) < 2000


@pytest.mark.parametrize("where", ["section", "layer_key", "value"])
def test_huge_user_text_is_never_formatted_whole(tmp_path, capsys, where):
    cfg = tiny(tmp_path)
    key = "k" * 1000  # YAML keys stop at 1024 characters; values do not
    if where == "section":
        cfg[key] = 1
    elif where == "layer_key":
        cfg["layers"]["dem"][key] = 1
    else:
        cfg["project"]["resolution_m"] = "k" * 200_000
    code, _, err = cli(["validate", write(tmp_path, cfg)], capsys)
    expected = {"section": "unknown section(s) 'kkk", "layer_key": "unknown key 'kkk",
                "value": "project.resolution_m"}[where]  # fmt: skip
    assert code == 2 and expected in err and "k" * 100 not in err and len(err) < 1000


def test_anchors_and_merge_keys_still_work(tmp_path, capsys):
    cfg = tiny(tmp_path)
    text = write(tmp_path, cfg).read_text(encoding="utf-8")
    text = text.replace(
        "  dem:\n", "  dem2:\n    <<: &rast {type: raster, kind: continuous}\n"
        "    path: inputs/dem.tif\n  dem:\n"
    )  # fmt: skip
    path = tmp_path / "anchors.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = cli(["validate", path], capsys)
    assert code == 0, err
    assert "valid (4 layers)" in out


def test_short_cuts_long_reprs():
    assert short("abc") == "'abc'"
    cut = short("x" * 1000, 40)
    assert len(cut) < 60 and cut.endswith("(1002 chars)")
