"""Shared by the Suno dialect tests: golden fixtures, their shape check, and record-info reads."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "suno"
TERMINAL = {"SUCCESS", "CREATE_TASK_FAILED", "GENERATE_AUDIO_FAILED", "CALLBACK_EXCEPTION", "SENSITIVE_WORD_ERROR"}


def golden(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _shape(value):
    """The JSON shape of a value: dict keys with their shapes, list of the first item's shape, type names."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "string"


def assert_wire(body, fixture: str) -> None:
    """``body`` has exactly the golden fixture's keys and value types, recursively."""
    assert _shape(body) == _shape(golden(fixture)), fixture


def record_info(client, task_id, path="/api/v1/generate/record-info"):
    body = client.get(path, params={"taskId": task_id}).json()
    assert body["code"] == 200, body
    return body["data"]
