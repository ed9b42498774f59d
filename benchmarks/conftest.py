"""Fixtures of the benchmark scripts' checks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402


@pytest.fixture(scope="session")
def data2k(tmp_path_factory):
    """A 2 km synthetic province (``generate.py --res 2000``), made once per test process."""
    d = tmp_path_factory.mktemp("r2000")
    assert generate.main(["--res", "2000", "--out", str(d)]) == 0
    return d
