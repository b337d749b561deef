"""Shared by the MiniMax dialect tests: the stand-in engine, golden fixtures and their pattern
matching (see tests/api/test_minimax.py for the patterns), SSE parsing and a test tone."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from fastapi.testclient import TestClient

from songforge.errors import SensitiveContent
from tests.api import _engines

FIXTURES = Path(__file__).parent / "fixtures" / "minimax"
BASE_URL = "http://127.0.0.1:8123"
TOKENS = {
    "<trace>": r"[0-9a-f]{32}",
    "<hex>": r"(?:[0-9a-f]{2})+",
    "<url>": re.escape(BASE_URL) + r"/files/[0-9A-Za-z_./-]+\?expires=\d+&sig=[0-9a-f]+",
    "<text>": r"(?s).+",
}
LYRICS = "[Verse]\nthe night is young\n[Chorus]\nwe drive along"


def minimax_song(request, *, preset="default", on_progress=None, on_chunk=None, **options):
    """The scripted stand-in engine, plus ``sensitive ...`` prompts refused as the engine does."""
    if request.prompt.startswith("sensitive"):
        raise SensitiveContent("the prompt breaks the content rules", field="prompt")
    return _engines.scripted_song(request, preset=preset, on_progress=on_progress, on_chunk=on_chunk)


# -- golden fixtures ----------------------------------------------------------------------------

def golden(name: str) -> dict[str, Any]:
    """A fixture: ``{"path", "request", "http_status", "response"}``."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def matches(actual: Any, expected: Any, where: str = "$") -> None:
    """Assert ``actual`` has exactly ``expected``'s shape, values equal or matching its patterns."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), f"{where}: keys {actual!r}"
        for key, value in expected.items():
            matches(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            matches(a, e, f"{where}[{i}]")
    elif expected == "<int>":
        assert isinstance(actual, int) and not isinstance(actual, bool) and actual >= 0, f"{where}: {actual!r}"
    elif expected == "<number>":
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool) and actual >= 0, f"{where}: {actual!r}"
    elif isinstance(expected, str) and (expected in TOKENS or expected.startswith("~")):
        pattern = TOKENS.get(expected) or expected[1:]
        assert isinstance(actual, str) and re.fullmatch(pattern, actual), f"{where}: {actual!r} !~ {pattern}"
    else:
        assert actual == expected and type(actual) is type(expected), f"{where}: {actual!r} != {expected!r}"


def post_golden(client: TestClient, name: str, **overrides: Any) -> Any:
    """POST a fixture's request and check the response against it; returns the response."""
    case = golden(name)
    response = client.post(case["path"], json={**case["request"], **overrides})
    assert response.status_code == case["http_status"]
    body = response.json()
    matches(body, case["response"])
    assert response.headers["Trace-Id"] == body["trace_id"]
    return response


def sse_events(text: str) -> list[dict[str, Any]]:
    """The ``data:`` events of a MiniMax stream (exact framing: ``data: <json>`` + blank line)."""
    blocks = text.split("\n\n")
    assert blocks[-1] == "", "the stream ends with a blank line"
    assert all(block.startswith("data: ") and "\n" not in block for block in blocks[:-1])
    return [json.loads(block.removeprefix("data: ")) for block in blocks[:-1]]


# -- apps ---------------------------------------------------------------------------------------


def tone_wav(duration_s: float, *, hz: float = 220.0, fmt: str = "WAV") -> bytes:
    """A stereo tone with a beat-like pulse (a file the analysis can work on)."""
    rate_hz = 22050
    t = np.arange(int(rate_hz * duration_s)) / rate_hz
    pulse = 0.5 + 0.5 * (np.sin(2 * np.pi * 2.0 * t) > 0)
    mono = (0.3 * pulse * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, np.stack([mono, mono], axis=1), rate_hz, format=fmt)
    return buf.getvalue()
