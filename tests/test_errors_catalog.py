"""docs/errors.md is a catalog of real, tested failures: every row names a test that exists."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "docs" / "errors.md"
MIN_ROWS = 80
_ROW = re.compile(r"^\|\s*(E\d+-\d+)\s*\|(.*)\|\s*$")
_TEST = re.compile(r"`?(tests/[\w/]+\.py)::(\w+)`?")


def _rows() -> list[tuple[str, list[str]]]:
    rows = []
    for line in CATALOG.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            rows.append((match.group(1), [cell.strip() for cell in match.group(2).split("|")]))
    return rows


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def test_catalog_ids_are_unique():
    ids = [row_id for row_id, _ in _rows()]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_catalog_has_at_least_80_rows():
    assert len(_rows()) >= MIN_ROWS


@pytest.mark.parametrize("row_id,cells", _rows() or [("none", [])])
def test_catalog_row_names_an_existing_test(row_id, cells):
    if row_id == "none":
        pytest.skip("the catalog has no rows yet")
    assert len(cells) == 4, f"{row_id}: expected input | message | exit | test"
    assert cells[2] in {"0", "1", "2", "130", "143"}, f"{row_id}: exit code {cells[2]!r}"
    match = _TEST.search(cells[3])
    assert match, f"{row_id}: the test column must read tests/<file>.py::<function>"
    path = ROOT / match.group(1)
    assert path.is_file(), f"{row_id}: {match.group(1)} does not exist"
    assert match.group(2) in _functions(path), f"{row_id}: no function {match.group(2)}"
