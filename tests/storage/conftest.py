from __future__ import annotations

import pytest

from songforge.config import Settings
from tests.service._helpers import make_settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path)
