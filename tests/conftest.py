"""Shared test helpers: tiny real GeoTIFFs and grids with known answers."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("SXPLAN_NO_PROGRESS", "1")


@pytest.fixture
def rng():
    """A seeded random generator."""
    return np.random.default_rng(20231017)
