"""The upstream runner: what a worker runs instead of the local engine for a routed job.

:func:`run_upstream` has ``make_song``'s signature (plus the job's chain, bound with
:func:`functools.partial` by :class:`~songforge.upstream.routing.Router`), so the pipeline, the
dialects, polling, SSE and callbacks do not know the song came from elsewhere. It tries the chain's
backends in order -- skipping one whose circuit breaker is open or that refuses the request --
and the local engine where the chain names ``local``. The upstream's file is decoded and encoded
again in the caller's format, rate and channels (re-hosted in our blob store by the pipeline, so
our signed links and retention apply), streamed as chunks for SSE, and the job's result records
which backend made it and every warning (``result.upstream``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from songforge.errors import GenerationFailed
from songforge.models import AudioFormat, SongRequest
from songforge.upstream.backends import BACKENDS, Fetched, UpstreamFailed
from songforge.upstream.breaker import CircuitBreaker
from songforge.upstream.config import LOCAL, UpstreamConfig
from songforge.upstream.translate import Refused, translate

__all__ = ["run_upstream", "UpstreamResult", "rehost", "MASTER_RATE_HZ"]

log = logging.getLogger(__name__)

MASTER_RATE_HZ = 48000
CHUNK_BYTES = 64 * 1024
CONNECT_TIMEOUT_S = 10.0  # the read timeout is the backend's timeout_s: synchronous vendors take minutes
MEDIA_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "pcm": "audio/L16"}


@dataclass
class UpstreamResult:
    """An upstream song in the shape of the engine's ``SongResult`` (what the pipeline stores).

    ``audio`` is float32 (n_samples, 2) at 48 kHz (kept as the master for later edits);
    ``encoded`` is the caller's file; ``stems`` is empty: no vendor here returns stems.
    """

    encoded: bytes
    audio: np.ndarray
    seed: int
    media_type: str
    lyrics: str | None = None
    sample_rate_hz: int = MASTER_RATE_HZ
    stems: dict[str, np.ndarray] = field(default_factory=dict)
    upstream_info: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / self.sample_rate_hz


class _WithInfo:
    """The local engine's result with the chain's record added (``upstream_info``)."""

    def __init__(self, inner: Any, info: dict[str, Any]) -> None:
        self._inner = inner
        self.upstream_info = info

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def run_upstream(
    request: SongRequest, *, preset: str = "default", on_progress: Any = None, on_chunk: Any = None,
    reference: Any = None, songwriter: Any = None, chain: tuple[str, ...] = (LOCAL,),
    configs: dict[str, UpstreamConfig] | None = None, state_dir: str = ".", local: Any = None,
) -> Any:
    """Make the song on the first backend of ``chain`` that can; a ``make_song`` stand-in.

    Raises :class:`~songforge.errors.GenerationFailed` (reason ``upstream_failed``) when every
    backend failed and the chain has no ``local``.
    """
    progress = on_progress or (lambda stage, fraction: None)
    warnings: list[str] = []
    for name in chain:
        if name == LOCAL:
            result = _local(local)(request, preset=preset, on_progress=on_progress, on_chunk=on_chunk,
                                   **_engine_extras(reference, songwriter))
            return _WithInfo(result, {"backend": LOCAL, "warnings": warnings})
        done = _try_backend((configs or {})[name], request, warnings, state_dir=state_dir, progress=progress)
        if done is not None:
            fetched, kept = done
            progress("encode", 0.97)
            info = {"backend": name, "task_id": fetched.task_id, "warnings": warnings + kept}
            return rehost(fetched, request, on_chunk=on_chunk, info=info)
    raise GenerationFailed("every upstream failed: " + "; ".join(warnings), reason="upstream_failed")


def _try_backend(
    config: UpstreamConfig, request: SongRequest, warnings: list[str], *, state_dir: str, progress: Any,
) -> tuple[Fetched, list[str]] | None:
    """The song from one backend and its translation's warnings, or ``None`` (why: in ``warnings``)."""
    breaker = CircuitBreaker(Path(state_dir) / f"{config.name}.breaker.json", failures=config.breaker_failures,
                             reset_s=config.breaker_reset_s)
    if not breaker.allow():
        warnings.append(f"{config.name}: skipped, its circuit breaker is open after repeated failures")
        return None
    try:
        translation = translate(config.name, request, callback_url=config.callback_url or "")
    except Refused as exc:
        warnings.append(f"{config.name}: refused the request: {exc.message}")
        return None
    try:
        with httpx.Client(timeout=httpx.Timeout(config.timeout_s, connect=CONNECT_TIMEOUT_S)) as client:
            fetched = BACKENDS[config.name](config, translation.body, client=client,
                                            on_wait=lambda f: progress("render", 0.05 + 0.85 * f))
    except UpstreamFailed as exc:
        if exc.transient:
            breaker.failure()
        log.warning("upstream %s failed: %s", config.name, exc.message)
        warnings.append(f"{config.name}: failed: {exc.message}")
        return None
    breaker.success()
    return fetched, list(translation.warnings)


def rehost(fetched: Fetched, request: SongRequest, *, on_chunk: Any = None, info: dict[str, Any]) -> UpstreamResult:
    """Decode the upstream's file and encode it as the caller asked; chunks go to ``on_chunk``."""
    from songforge.engine.encode import decode, encode

    try:
        audio, rate_hz = decode(fetched.audio)
    except Exception as exc:
        raise UpstreamFailed(str(info.get("backend")), f"its audio cannot be decoded: {exc}", transient=False) from None
    master = _to_master(audio, rate_hz)
    fmt = AudioFormat.parse(request.format).value
    encoded = encode(master, sample_rate_hz=MASTER_RATE_HZ, format=fmt, out_sample_rate_hz=request.sample_rate_hz,
                     channels=request.channels, bitrate_kbps=request.bitrate_kbps)
    if on_chunk is not None:
        for start in range(0, len(encoded), CHUNK_BYTES):
            on_chunk(encoded[start:start + CHUNK_BYTES])
    return UpstreamResult(encoded=encoded, audio=master, seed=int(request.seed or 0), media_type=MEDIA_TYPES[fmt],
                          lyrics=fetched.lyrics or request.lyrics, upstream_info=info)


def _to_master(audio: np.ndarray, rate_hz: int) -> np.ndarray:
    """float32 (n, 2) at 48 kHz."""
    import soxr

    stereo = audio if audio.shape[1] == 2 else np.repeat(audio[:, :1], 2, axis=1)
    if rate_hz != MASTER_RATE_HZ:
        stereo = soxr.resample(stereo, rate_hz, MASTER_RATE_HZ)
    return np.ascontiguousarray(stereo, dtype=np.float32)


def _local(local: Any) -> Any:
    if local is not None:
        return local
    from songforge.engine.song import make_song

    return make_song


def _engine_extras(reference: Any, songwriter: Any) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    if reference is not None:
        extras["reference"] = reference
    if songwriter is not None:
        extras["songwriter"] = songwriter
    return extras
