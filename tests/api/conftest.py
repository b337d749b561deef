"""Fixtures shared by the HTTP tests; a module defining its own ``dev`` or ``receiver`` overrides them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from songforge.api.app import create_app
from tests.api._engines import scripted_song
from tests.service._helpers import Receiver, make_settings


@pytest.fixture
def receiver():
    """A loopback webhook receiver (callbacks)."""
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def dev(tmp_path):
    """The app in dev mode (any key) with two workers running the scripted stand-in engine."""
    with TestClient(create_app(make_settings(tmp_path, workers=2), generate=scripted_song)) as client:
        yield client
