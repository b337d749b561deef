"""``songforge.Client``: the native API from Python (httpx).

Example
-------
>>> from songforge import Client
>>> with Client("http://127.0.0.1:8000", api_key="sf_...") as client:  # doctest: +SKIP
...     [job] = client.submit("lofi beat for studying", duration_s=30, format="mp3")
...     for event in client.events(job["id"]):
...         print(event.event, event.data.get("progress_pct"))
...     client.download(job["id"], "study.mp3")

Errors come back as the songforge exception tree (``InvalidRequest`` with ``field`` and ``limit``,
``RateLimited`` with ``retry_after_s``, ``NotFound``, ...), rebuilt from the error envelope.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from songforge.errors import (
    Conflict,
    FeatureUnavailable,
    GenerationFailed,
    InvalidRequest,
    NotFound,
    RateLimited,
    SongforgeError,
    Unauthorized,
)

__all__ = ["Client", "SongEvent", "TERMINAL_STATUSES"]

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
_DOWNLOAD_CHUNK_BYTES = 1 << 16


@dataclass(frozen=True)
class SongEvent:
    """One server-sent event: ``event`` is progress, audio, done or error; ``data`` its JSON."""

    event: str
    data: dict[str, Any]

    @property
    def audio(self) -> bytes:
        """The decoded bytes of an ``audio`` event (``b""`` for other events)."""
        return base64.b64decode(self.data["data"]) if self.event == "audio" else b""


class Client:
    """A client of one songforge server.

    Parameters
    ----------
    base_url : the server, e.g. ``http://127.0.0.1:8000``.
    api_key : sent as ``Authorization: Bearer``; default ``$SONGFORGE_API_KEY``.
    timeout_s : per request (event streams wait without a read timeout).
    transport : an httpx transport (tests).
    """

    def __init__(
        self, base_url: str = "http://127.0.0.1:8000", *, api_key: str | None = None,
        timeout_s: float = 30.0, transport: httpx.BaseTransport | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("SONGFORGE_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s,
                                  transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def submit(self, prompt: str = "", **fields: Any) -> list[dict[str, Any]]:
        """Queue a song (fields as in ``POST /v1/songs``); returns one job per variation."""
        return list(self._json("POST", "/v1/songs", json={"prompt": prompt, **fields})["jobs"])

    def get(self, job_id: str) -> dict[str, Any]:
        """The job: status, stage, progress_pct, error and (once succeeded) result with links."""
        return self._json("GET", f"/v1/songs/{job_id}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job (``Conflict`` once it has finished)."""
        return self._json("DELETE", f"/v1/songs/{job_id}")

    def lyrics(self, prompt: str, **fields: Any) -> dict[str, Any]:
        """Lyrics written from a prompt (``FeatureUnavailable`` where the server cannot)."""
        return self._json("POST", "/v1/lyrics", json={"prompt": prompt, **fields})

    def wait(self, job_id: str, *, timeout_s: float | None = None, poll_s: float = 0.5) -> dict[str, Any]:
        """Poll until the job ends; returns it. Raises ``TimeoutError`` after ``timeout_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            job = self.get(job_id)
            if job["status"] in TERMINAL_STATUSES:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {timeout_s} s")
            time.sleep(poll_s)

    def events(self, job_id: str) -> Iterator[SongEvent]:
        """The job's server-sent events until ``done`` or ``error`` (audio from byte 0)."""
        timeout = httpx.Timeout(self._http.timeout.connect, read=None)
        with self._http.stream("GET", f"/v1/songs/{job_id}/events", timeout=timeout) as response:
            if response.is_error:
                response.read()
                _raise_for(response)
            for event in _parse_sse(response.iter_lines()):
                yield event
                if event.event in ("done", "error"):
                    return

    def download(self, job: str | dict[str, Any], path: str | os.PathLike[str], *, url: str | None = None) -> Path:
        """Write a finished job's song (or the file at ``url``) to ``path``; returns the path.

        ``job`` is a job id or a job as :meth:`get` returns it; a failed job raises
        ``GenerationFailed``.
        """
        if url is None:
            view = self.get(job) if isinstance(job, str) else job
            url = _audio_url(view)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.part")
        with self._http.stream("GET", url) as response:
            if response.is_error:
                response.read()
                _raise_for(response)
            with partial.open("wb") as fh:
                for chunk in response.iter_bytes(_DOWNLOAD_CHUNK_BYTES):
                    fh.write(chunk)
        partial.replace(target)
        return target

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._http.request(method, path, **kwargs)
        if response.is_error:
            _raise_for(response)
        return dict(response.json())


def _audio_url(view: dict[str, Any]) -> str:
    if view["status"] != "succeeded":
        error = view.get("error") or {}
        raise GenerationFailed(
            f"job {view['id']} is {view['status']}: {error.get('message', 'no audio')}",
            reason=error.get("code") or view["status"],
        )
    return str(view["result"]["audio_url"])


def _parse_sse(lines: Iterator[str]) -> Iterator[SongEvent]:
    name, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield SongEvent(name, json.loads("\n".join(data)))
            name, data = "message", list[str]()
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
        # ids, retry hints and ": ping" comments are ignored


_BY_STATUS: dict[int, type[SongforgeError]] = {
    401: Unauthorized, 403: Unauthorized, 404: NotFound, 409: Conflict, 501: FeatureUnavailable,
}


def _raise_for(response: httpx.Response) -> None:
    """Rebuild the songforge error from an error envelope."""
    try:
        error = response.json()["error"]
        message = str(error.get("message") or response.reason_phrase)
    except (ValueError, KeyError, TypeError):
        error, message = {}, f"HTTP {response.status_code}: {response.text[:200]}"
    if response.status_code == 429:
        raise RateLimited(message, retry_after_s=float(response.headers.get("retry-after", 1)))
    if response.status_code in (400, 413, 422):
        raise InvalidRequest(message, field=error.get("field"), limit=error.get("limit"))
    exc = _BY_STATUS.get(response.status_code, SongforgeError)(message)
    exc.code = error.get("code") or exc.code
    raise exc
