"""Fixtures of tests/fetch: the 127.0.0.1 server (helpers in tests/_support/_fetchfix.py)."""

import pytest

from _fetchfix import FixtureServer


@pytest.fixture
def server():
    srv = FixtureServer()
    yield srv
    srv.close()
