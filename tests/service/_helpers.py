"""Helpers shared by the service, queue and storage tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from songforge.config import Settings


def wait_until(predicate: Callable[[], Any], *, timeout_s: float = 20.0, every_s: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"condition not met within {timeout_s} s")


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        data_dir=tmp_path / "data", workers=1, job_timeout_s=30, dev_mode=True,
        allow_private_callbacks=True, signing_secret="test-secret", host="127.0.0.1", port=8123,
    )
    values.update(overrides)
    return Settings(**values)
