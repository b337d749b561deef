"""A scripted vendor behind ``httpx.MockTransport``: answers from the recorded fixtures in order and
serves any ``.mp3`` link with a short WAV; it records every request (method, path, auth header)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

from songforge.upstream.config import UpstreamConfig

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "sk-vendor-SECRET-77"
TONE_RATE_HZ = 44100
TONE_S = 0.4


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def tone_wav(*, rate_hz: int = TONE_RATE_HZ, seconds: float = TONE_S) -> bytes:
    """A mono 440 Hz WAV (what the vendor's audio link holds)."""
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate_hz, format="WAV")
    return buf.getvalue()


class Vendor:
    """``replies``: (status, body) answered in order to API calls; audio links always answer the tone."""

    def __init__(self, replies: list[tuple[int, dict]]) -> None:
        self.replies = list(replies)
        self.calls: list[httpx.Request] = []
        self.audio = tone_wav()

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if request.url.path.endswith(".mp3"):
            return httpx.Response(200, content=self.audio)
        status, body = self.replies.pop(0)
        return httpx.Response(status, json=body)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))

    def api_calls(self) -> list[httpx.Request]:
        return [c for c in self.calls if not c.url.path.endswith(".mp3")]


def config(name: str, **overrides) -> UpstreamConfig:
    values = dict(name=name, base_url="https://api.vendor.test", key=KEY, timeout_s=5.0, retries=3, poll_s=0.01)
    values.update(overrides)
    return UpstreamConfig(**values)
