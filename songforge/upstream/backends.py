"""One small backend per vendor: send a translated body, wait for the song, fetch its bytes.

Every backend is a function ``(config, body, *, on_wait, client) -> Fetched`` (:data:`Backend`):
DashScope Fun-Music and MiniMax answer synchronously; sunoapi.org and AI/ML API answer with a task
id that is polled until the song is ready. HTTP calls go through :func:`call`, which retries
transport errors, 429 and 5xx with exponential backoff (tenacity) and turns every failure into
:class:`UpstreamFailed` (``transient`` says whether it counts against the circuit breaker).
The key travels in the ``Authorization`` header only and is never put in a message; the audio
link the vendor hands back is fetched without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from songforge.errors import GenerationFailed
from songforge.upstream.config import UpstreamConfig

__all__ = ["Fetched", "UpstreamFailed", "Backend", "BACKENDS", "call", "fetch_audio"]

OnWait = Callable[[float], None]  # fraction 0-1 of the expected wait
_RETRY_WAIT_MAX_S = 8.0
_EXPECTED_WAIT_S = 60.0
SUNO_FAILED = {"CREATE_TASK_FAILED", "GENERATE_AUDIO_FAILED", "CALLBACK_EXCEPTION", "SENSITIVE_WORD_ERROR"}


class UpstreamFailed(GenerationFailed):
    """An upstream could not make the song; ``transient`` (timeouts, 429, 5xx, lost connections)
    failures count against its circuit breaker, refusals (4xx) do not."""

    def __init__(self, backend: str, message: str, *, transient: bool) -> None:
        super().__init__(f"{backend}: {message}", reason="upstream_failed")
        self.backend = backend
        self.transient = transient


@dataclass(frozen=True)
class Fetched:
    """The upstream's song: the file's bytes and what the vendor said about it."""

    audio: bytes
    task_id: str = ""
    lyrics: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


Backend = Callable[..., Fetched]


class _Transient(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def call(client: httpx.Client, config: UpstreamConfig, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """``method path`` on the backend with its key; retried on transport errors, 429 and 5xx.

    Raises :class:`UpstreamFailed` (transient after the last retry; not transient for other 4xx)."""
    headers = {"Authorization": f"Bearer {config.key}", **kwargs.pop("headers", {})}
    retrying = Retrying(
        stop=stop_after_attempt(config.retries), reraise=True,
        wait=wait_exponential(multiplier=0.25, max=_RETRY_WAIT_MAX_S),
        retry=retry_if_exception(lambda exc: isinstance(exc, _Transient)),
    )
    try:
        return retrying(_send, client, method, config.url(path), headers, kwargs)
    except _Transient as exc:
        raise UpstreamFailed(config.name, f"{exc.message} (after {config.retries} attempts)", transient=True) from None


def _send(client: httpx.Client, method: str, url: str, headers: dict[str, str], kwargs: dict[str, Any]) -> httpx.Response:
    try:
        response = client.request(method, url, headers=headers, **kwargs)
    except httpx.TransportError as exc:
        raise _Transient(f"{method} {httpx.URL(url).path} failed: {type(exc).__name__}") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise _Transient(f"{method} {httpx.URL(url).path} answered HTTP {response.status_code}")
    return response


def _json(response: httpx.Response, backend: str) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise UpstreamFailed(backend, f"answered HTTP {response.status_code} with a body that is not JSON",
                             transient=False) from None
    if response.status_code >= 400:
        message = data.get("message") or data.get("msg") or data.get("code") if isinstance(data, dict) else data
        raise UpstreamFailed(backend, f"refused with HTTP {response.status_code}: {message}", transient=False)
    return data if isinstance(data, dict) else {"data": data}


def fetch_audio(client: httpx.Client, config: UpstreamConfig, url: str) -> bytes:
    """The bytes behind the vendor's audio link (no key is sent to it)."""
    try:
        response = client.get(url, follow_redirects=True)
    except httpx.TransportError as exc:
        raise UpstreamFailed(config.name, f"the audio link failed: {type(exc).__name__}", transient=True) from None
    if response.status_code != 200 or not response.content:
        raise UpstreamFailed(config.name, f"the audio link answered HTTP {response.status_code}",
                             transient=response.status_code >= 500)
    return response.content


def _poll(config: UpstreamConfig, check: Callable[[], Fetched | None], on_wait: OnWait) -> Fetched:
    """Call ``check`` every ``poll_s`` until it returns the song or ``timeout_s`` passes."""
    start = time.monotonic()
    on_wait(0.0)  # the task is accepted
    while (elapsed := time.monotonic() - start) < config.timeout_s:
        fetched = check()
        if fetched is not None:
            return fetched
        on_wait(min(0.95, elapsed / _EXPECTED_WAIT_S))
        time.sleep(config.poll_s)
    raise UpstreamFailed(config.name, f"no song after {config.timeout_s:g} s", transient=True)


# -- MiniMax -------------------------------------------------------------------------------------

_MINIMAX_TRANSIENT = {1000, 1001, 1002, 1024, 1033}


def minimax(config: UpstreamConfig, body: dict[str, Any], *, on_wait: OnWait, client: httpx.Client) -> Fetched:
    """``POST /v1/music_generation`` (synchronous); ``data.audio`` is the link (or hex)."""
    on_wait(0.0)
    data = _json(call(client, config, "POST", "/v1/music_generation", json=body), config.name)
    base = data.get("base_resp") or {}
    code = int(base.get("status_code", 0) or 0)
    if code != 0:
        raise UpstreamFailed(config.name, f"status_code {code}: {base.get('status_msg', '')}",
                             transient=code in _MINIMAX_TRANSIENT)
    audio = str((data.get("data") or {}).get("audio") or "")
    if not audio:
        raise UpstreamFailed(config.name, "answered without audio", transient=False)
    raw = fetch_audio(client, config, audio) if audio.startswith("http") else bytes.fromhex(audio)
    return Fetched(raw, task_id=str(data.get("trace_id", "")), info=dict(data.get("extra_info") or {}))


# -- DashScope Fun-Music ---------------------------------------------------------------------------


def dashscope(config: UpstreamConfig, body: dict[str, Any], *, on_wait: OnWait, client: httpx.Client) -> Fetched:
    """``POST /api/v1/services/audio/music/generation`` (synchronous, non-streaming)."""
    on_wait(0.0)
    data = _json(call(client, config, "POST", "/api/v1/services/audio/music/generation", json=body), config.name)
    output = data.get("output") or {}
    url = str((output.get("audio") or {}).get("url") or "")
    if not url:
        raise UpstreamFailed(config.name, f"answered without an audio URL: {data.get('message', '')}", transient=False)
    extra = output.get("extra_info") or {}
    return Fetched(fetch_audio(client, config, url), task_id=str(data.get("request_id", "")),
                   lyrics=extra.get("lyrics"), info=dict(extra))


# -- sunoapi.org -------------------------------------------------------------------------------------

_SUNO_TRANSIENT = {405, 430, 455, 500}


def _suno_data(response: httpx.Response, config: UpstreamConfig) -> Any:
    envelope = _json(response, config.name)
    code = int(envelope.get("code", 200) or 200)
    if code != 200:
        raise UpstreamFailed(config.name, f"code {code}: {envelope.get('msg', '')}", transient=code in _SUNO_TRANSIENT)
    return envelope.get("data")


def suno(config: UpstreamConfig, body: dict[str, Any], *, on_wait: OnWait, client: httpx.Client) -> Fetched:
    """``POST /api/v1/generate`` then ``GET /api/v1/generate/record-info`` until the first of
    the task's two songs has its ``audioUrl``."""
    task_id = str((_suno_data(call(client, config, "POST", "/api/v1/generate", json=body), config) or {})["taskId"])

    def check() -> Fetched | None:
        record = _suno_data(call(client, config, "GET", "/api/v1/generate/record-info",
                                 params={"taskId": task_id}), config) or {}
        status = str(record.get("status", ""))
        if status in SUNO_FAILED:
            raise UpstreamFailed(config.name, f"task {task_id} {status}: {record.get('errorMessage') or ''}",
                                 transient=False)
        tracks = ((record.get("response") or {}).get("sunoData")) or []
        if not tracks or not tracks[0].get("audioUrl"):
            return None
        first = tracks[0]
        return Fetched(fetch_audio(client, config, str(first["audioUrl"])), task_id=task_id,
                       lyrics=first.get("prompt") or None, info={"title": first.get("title"), "id": first.get("id")})

    return _poll(config, check, on_wait)


# -- AI/ML API ---------------------------------------------------------------------------------------

_AIML_PENDING = {"queued", "generating", "waiting", "active", "processing"}


def aimlapi(config: UpstreamConfig, body: dict[str, Any], *, on_wait: OnWait, client: httpx.Client) -> Fetched:
    """``POST /v2/generate/audio`` then ``GET /v2/generate/audio?generation_id=`` until completed."""
    generation_id = str(_json(call(client, config, "POST", "/v2/generate/audio", json=body), config.name)["id"])

    def check() -> Fetched | None:
        data = _json(call(client, config, "GET", "/v2/generate/audio", params={"generation_id": generation_id}),
                     config.name)
        status = str(data.get("status", ""))
        if status in _AIML_PENDING:
            return None
        url = str((data.get("audio_file") or {}).get("url") or "")
        if status != "completed" or not url:
            error = data.get("error") or {}
            raise UpstreamFailed(config.name, f"generation {generation_id} {status}: {error.get('message', '')}",
                                 transient=False)
        return Fetched(fetch_audio(client, config, url), task_id=generation_id)

    return _poll(config, check, on_wait)


BACKENDS: dict[str, Backend] = {"minimax": minimax, "dashscope": dashscope, "suno": suno, "aimlapi": aimlapi}
