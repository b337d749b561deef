"""Runs one job: the engine in a worker process, progress back to the lifecycle, assets to blobs.

Two halves. :func:`run_in_child` runs in the worker process: it rebuilds the
:class:`~songforge.models.SongRequest` from the stored dict, calls ``generate`` (by default
:func:`songforge.engine.song.make_song`, imported lazily) with progress and chunk callbacks that
become messages to the parent, writes the assets into the blob store and returns a JSON-safe dict.
:class:`Pipeline` runs in the service process: it starts jobs, turns the messages into lifecycle
progress / first_ready / chunk events, and turns each outcome into succeeded, failed or a retry.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import logging
import os
import traceback
from collections.abc import Callable
from typing import Any

from songforge.config import Settings
from songforge.errors import GenerationFailed, SongforgeError
from songforge.models import AudioFormat, JobStatus, SongRequest
from songforge.queue.retry import Retry
from songforge.queue.worker import (
    CANCELLED,
    CRASH,
    DONE,
    ERROR,
    SHUTDOWN,
    TIMEOUT,
    Outcome,
    Task,
    emit,
    end_of_job,
)
from songforge.service.lifecycle import MAX_ATTEMPTS, IllegalTransition, Lifecycle
from songforge.service.sources import put_source, resolve_reference
from songforge.service.streaming import drop_partial, write_partial
from songforge.storage.blobs import FileBlobStore, blob_spec, open_blob_store

__all__ = [
    "Pipeline",
    "Generate",
    "run_in_child",
    "store_assets",
    "request_to_dict",
    "request_from_dict",
    "failure_of",
    "ENGINE_MODULE",
]

log = logging.getLogger(__name__)

ENGINE_MODULE = "songforge.engine.song"
Generate = Callable[..., Any]
_MSG_PROGRESS, _MSG_CHUNK = "progress", "chunk"
_CRASH_RETRY_DEFER_S = 1.0
_WORKER_NICENESS = 10  # generation yields the CPU to the API process (latency of polls and submits)
_LRC_LINE_GAP_S = 1.0
_LRC_LINE_WORDS = 8


def request_to_dict(request: SongRequest) -> dict[str, Any]:
    """A SongRequest as a JSON-safe dict (the form jobs store)."""
    data = dataclasses.asdict(request)
    data["format"] = AudioFormat.parse(request.format).value
    return data


def request_from_dict(data: dict[str, Any]) -> SongRequest:
    """The SongRequest stored by :func:`request_to_dict` (unknown keys are ignored)."""
    names = {f.name for f in dataclasses.fields(SongRequest)}
    return SongRequest(**{k: v for k, v in data.items() if k in names})


def failure_of(exc: BaseException) -> dict[str, str]:
    """Reason code and message for a failed generation."""
    if isinstance(exc, GenerationFailed):
        return {"reason": exc.reason, "message": exc.message}
    if isinstance(exc, SongforgeError):
        return {"reason": exc.code, "message": exc.message}
    return {"reason": "engine_error", "message": f"{type(exc).__name__}: {exc}"}


def _default_generate() -> Generate:
    from songforge.engine.song import make_song

    return make_song


def run_in_child(
    job_id: str, request_data: dict[str, Any], preset: str, blob_root: str, generate: Generate | None,
    songwriter: Any = None,
) -> dict[str, Any]:
    """Generate one job's song in a worker process; returns ``{"ok": True, "result": {...}}`` or
    ``{"ok": False, "reason": ..., "message": ...}`` (JSON-safe, never raises).

    ``songwriter`` (a ``SongwriterOptions``: the operator's LLM endpoint and word list) is passed
    to the engine only when the operator configured one."""
    try:
        _lower_priority()
        request = request_from_dict(request_data)
        blobs = open_blob_store(blob_root)
        extra: dict[str, Any] = {"songwriter": songwriter} if songwriter is not None else {}
        if request.reference is not None:
            extra["reference"] = resolve_reference(request, blobs=blobs)
        if generate is None and request.reference is None:  # the engine keeps stems only when they are stored
            extra["keep_stems"] = request.want_stems
        result = (generate or _default_generate())(
            request,
            preset=preset,
            on_progress=lambda stage, fraction: emit((_MSG_PROGRESS, job_id, str(stage), float(fraction))),
            on_chunk=lambda data: emit((_MSG_CHUNK, job_id, bytes(data))),
            **extra,
        )
        summary = store_assets(result, request=request, blobs=blobs, job_id=job_id)
        if generate is None:
            from songforge.engine.warm import prepare_synths_later

            prepare_synths_later(preset)  # ready for this worker's next job
        return {"ok": True, "result": summary}
    except Exception as exc:
        log.error("job %s failed:\n%s", job_id, traceback.format_exc())
        return {"ok": False, **failure_of(exc)}
    finally:
        end_of_job(job_id)


def _lower_priority() -> None:
    """Run generation below the API's priority (once per worker process)."""
    try:
        current = os.nice(0)
        if current < _WORKER_NICENESS:
            os.nice(_WORKER_NICENESS - current)
    except OSError:  # not permitted here: run at the normal priority
        pass


def store_assets(result: Any, *, request: SongRequest, blobs: FileBlobStore, job_id: str) -> dict[str, Any]:
    """Write the song and its extras under ``<job_id>/``; returns the job's result dict.

    ``result`` is a :class:`songforge.engine.song.SongResult` (or anything with its attributes).
    """
    song_key = f"{job_id}/song.{AudioFormat.parse(request.format).value}"
    assets: dict[str, Any] = {"song": song_key}
    size_bytes = blobs.put(song_key, result.encoded)
    put_source(result, request=request, lyrics=_lyrics_of(result), blobs=blobs, job_id=job_id)
    if request.want_stems and getattr(result, "stems", None):
        assets["stems"] = _put_stems(result, blobs=blobs, job_id=job_id)
    midi = _midi_of(result) if request.want_midi else None
    if midi:
        assets["midi"] = _put(blobs, f"{job_id}/song.mid", midi)
    plan = _plan_json_of(result)
    if plan:
        assets["plan"] = _put(blobs, f"{job_id}/plan.json", plan.encode())
    timings = _timings_of(result) if request.want_timings else None
    if timings:
        assets["timings"] = _put(blobs, f"{job_id}/timings.json", timings[0].encode())
        assets["timings_lrc"] = _put(blobs, f"{job_id}/timings.lrc", timings[1].encode())
    return {
        "assets": assets,
        "media_type": result.media_type,
        "size_bytes": size_bytes,
        "duration_s": round(float(result.duration_s), 3),
        "seed": int(result.seed),
        "format": AudioFormat.parse(request.format).value,
        "sample_rate_hz": request.sample_rate_hz,
        "channels": request.channels,
        "lyrics": _lyrics_of(result) or request.lyrics,
        "engine_timings_s": dict(getattr(result, "timings_s", None) or {}),
        **({"upstream": result.upstream_info} if getattr(result, "upstream_info", None) else {}),
    }


def _lyrics_of(result: Any) -> str | None:
    """The sung lyrics as tagged text (written ones included), when the result carries them."""
    lyrics: Any = getattr(result, "lyrics", None)
    return str(lyrics.to_text()) if hasattr(lyrics, "to_text") else lyrics


def _timings_of(result: Any) -> tuple[str, str] | None:
    """Lyric timings as (JSON, LRC) text: the engine's renderings, or built from a plain list of
    word timings (``word_timings``); ``None`` for instrumentals."""
    if getattr(result, "timings_json", None):
        return str(result.timings_json), str(result.timings_lrc or "")
    words = getattr(result, "word_timings", None)
    return (json.dumps(words), _timings_to_lrc(words)) if words else None


def _timings_to_lrc(timings: list[dict[str, Any]]) -> str:
    """Word timings as LRC lines ``[mm:ss.xx]words``: one per lyric line when the words carry
    their line index, else a new line after a pause of a second or every few words."""
    lines: list[tuple[float, list[str]]] = []
    previous: dict[str, Any] | None = None
    for item in timings:
        if previous is None or _starts_lrc_line(item, previous, len(lines[-1][1])):
            lines.append((float(item.get("start_s", 0.0)), []))
        lines[-1][1].append(str(item.get("word", "")))
        previous = item
    return "".join(f"[{int(t // 60):02d}:{t % 60:05.2f}]{' '.join(words)}\n" for t, words in lines)


def _starts_lrc_line(item: dict[str, Any], previous: dict[str, Any], words_so_far: int) -> bool:
    line = item.get("line", item.get("line_index"))
    if line is not None:
        return line != previous.get("line", previous.get("line_index"))
    pause_s = float(item.get("start_s", 0.0)) - float(previous.get("end_s", 0.0))
    return pause_s >= _LRC_LINE_GAP_S or words_so_far >= _LRC_LINE_WORDS


def _put(blobs: FileBlobStore, key: str, data: bytes) -> str:
    blobs.put(key, data)
    return key


def _put_stems(result: Any, *, blobs: FileBlobStore, job_id: str) -> dict[str, str]:
    import soundfile as sf

    keys = {}
    for name, audio in result.stems.items():
        buf = io.BytesIO()
        sf.write(buf, audio, result.sample_rate_hz, format="WAV", subtype="PCM_24")
        keys[name] = _put(blobs, f"{job_id}/stems/{name}.wav", buf.getvalue())
    return keys


def _midi_of(result: Any) -> bytes | None:
    if callable(getattr(result, "midi_bytes", None)):
        return bytes(result.midi_bytes())
    return getattr(result, "midi", None)


def _plan_json_of(result: Any) -> str | None:
    if callable(getattr(result, "plan_json", None)):
        return str(result.plan_json())
    plan = getattr(result, "plan", None)
    return json.dumps(plan) if isinstance(plan, dict) else None


class Pipeline:
    """The worker pool's :class:`~songforge.queue.worker.JobRunner` for songs.

    Parameters
    ----------
    settings : preset and blob root.
    lifecycle : every status change goes through it.
    blobs : where assets go.
    generate : the engine entry point, a module-level callable with ``make_song``'s signature;
        ``None`` imports :func:`songforge.engine.song.make_song` in the worker process.
    route : ``(job.request, generate) -> Generate | None``: what runs a job instead of the engine
        (:meth:`songforge.upstream.routing.Router.generate_for`); ``None`` or a ``None`` answer: the engine.
    """

    def __init__(
        self, settings: Settings, lifecycle: Lifecycle, blobs: FileBlobStore, *, generate: Generate | None = None,
        route: Callable[[dict[str, Any], Generate | None], Generate | None] | None = None,
    ) -> None:
        self.settings = settings
        self.lifecycle = lifecycle
        self.store = lifecycle.store
        self.blobs = blobs
        self.generate = generate
        self.route = route
        self._offsets: dict[str, int] = {}

    def warm_up(self) -> Callable[[], object] | None:
        """The engine's warm-up for this preset (:func:`songforge.engine.warm.warm_up`); nothing
        for a stand-in engine."""
        if self.generate is not None:
            return None
        from songforge.engine.warm import warm_up

        return functools.partial(warm_up, self.settings.preset)

    def start(self, job_id: str) -> Task | None:
        """Mark the job running and say what to run; ``None`` if it was cancelled meanwhile."""
        try:
            job = self.lifecycle.start(job_id)
        except IllegalTransition:
            return None
        self._offsets[job_id] = 0
        generate = (self.route(job.request, self.generate) if self.route else None) or self.generate
        args = (job.id, job.request, self.settings.preset, blob_spec(self.blobs), generate,
                self._songwriter_options())
        return Task(run_in_child, args)

    def _songwriter_options(self) -> Any:
        """The operator's songwriter options, or ``None`` when nothing is configured."""
        s = self.settings
        if not (s.lyrics_llm_base_url or s.content_blocklist_path):
            return None
        from songforge.engine.songwriter.options import SongwriterOptions

        return SongwriterOptions.from_settings(s)

    def on_message(self, job_id: str, message: tuple[Any, ...]) -> None:
        """Progress -> lifecycle progress; the first chunk -> first_ready; chunks -> chunk events."""
        if message[0] == _MSG_PROGRESS:
            self.lifecycle.progress(job_id, stage=message[2], progress_pct=100.0 * message[3])
        elif message[0] == _MSG_CHUNK:
            self._on_chunk(job_id, message[2])

    def _on_chunk(self, job_id: str, data: bytes) -> None:
        offset = self._offsets.get(job_id, 0)
        write_partial(self.blobs, job_id, data, offset=offset)  # late subscribers replay from it
        if offset == 0 and self.store.get(job_id).status == JobStatus.RUNNING:
            try:
                self.lifecycle.first_ready(job_id)
            except IllegalTransition:  # cancelled meanwhile
                return
        self.lifecycle.chunk(job_id, data, offset=offset)
        self._offsets[job_id] = offset + len(data)

    def is_cancelled(self, job_id: str) -> bool:
        return self.store.get(job_id).status == JobStatus.CANCELLED

    def finish(self, job_id: str, outcome: Outcome) -> Retry | None:
        """Turn how the run ended into a status; returns a :class:`Retry` when it should run again."""
        self._offsets.pop(job_id, None)
        handler = {
            DONE: self._done, ERROR: self._error, CRASH: self._crashed, TIMEOUT: self._timed_out,
            CANCELLED: self._discard, SHUTDOWN: self._shutdown,
        }[outcome.kind]
        return handler(job_id, outcome)

    def recover(self) -> None:
        """At startup: jobs left running by a crashed process are retried once, then failed."""
        for job in self.store.list_jobs(statuses=[JobStatus.RUNNING, JobStatus.FIRST_READY]):
            self._crashed(job.id, Outcome(CRASH))

    def _done(self, job_id: str, outcome: Outcome) -> None:
        reply = outcome.value
        if reply.get("ok"):
            self._settle(job_id, lambda: self.lifecycle.succeed(job_id, reply["result"]), keep=True)
            drop_partial(self.blobs, job_id)  # the song itself is the stream's source now
        else:
            self._settle(job_id, lambda: self.lifecycle.fail(job_id, code=reply["reason"], message=reply["message"]))

    def _error(self, job_id: str, outcome: Outcome) -> None:
        failure = failure_of(outcome.value)
        self._settle(job_id, lambda: self.lifecycle.fail(job_id, code=failure["reason"], message=failure["message"]))

    def _timed_out(self, job_id: str, outcome: Outcome) -> None:
        message = f"the job ran longer than {self.settings.job_timeout_s:g} s"
        self._settle(job_id, lambda: self.lifecycle.fail(job_id, code="timeout", message=message))

    def _crashed(self, job_id: str, outcome: Outcome) -> Retry | None:
        if self.store.get(job_id).attempts < MAX_ATTEMPTS:
            self._settle(job_id, lambda: self.lifecycle.requeue(job_id, reason="worker_lost"))
            return Retry(defer_s=_CRASH_RETRY_DEFER_S, reason="worker_lost")
        message = f"the worker process died {MAX_ATTEMPTS} times running this job"
        self._settle(job_id, lambda: self.lifecycle.fail(job_id, code="worker_lost", message=message))
        return None

    def _shutdown(self, job_id: str, outcome: Outcome) -> Retry | None:
        self._settle(job_id, lambda: self.lifecycle.requeue(job_id, reason="shutdown", count_attempt=False))
        return Retry(defer_s=0.0, reason="shutdown")

    def _discard(self, job_id: str, outcome: Outcome | None = None) -> None:
        self.blobs.delete_prefix(job_id)

    def _settle(self, job_id: str, change: Callable[[], object], *, keep: bool = False) -> None:
        """Apply a final change; if the job was cancelled meanwhile its files are discarded."""
        try:
            change()
        except IllegalTransition:
            keep = False
        if not keep:
            self._discard(job_id)
