"""Canonical jobs -> the vendor's track items, statuses and music callbacks (API_SPEC 3.4, 3.5).

A music task is a pair of jobs (two seeds). Its stage follows the jobs: ``None`` while both are
queued, ``text`` once one runs (the lyrics were written at submit), ``first`` once one has audio
to stream, ``complete`` when both succeeded, ``error`` when one failed or was cancelled.
Record-info items are camelCase; callback items snake_case (except ``createTime``).
"""

from __future__ import annotations

import json
from typing import Any

from songforge.api.suno.wire import model_name
from songforge.engine.cover_art import CoverSpec, cover_png
from songforge.errors import NotFound
from songforge.models import JobStatus
from songforge.service.songs import SongService
from songforge.storage.jobs import Job
from songforge.storage.tasks import TaskRecord

__all__ = [
    "STAGES", "music_stage", "music_status", "error_of", "track_fields", "record_item", "callback_item",
    "music_callback", "stream_url", "cover_key", "ensure_cover", "plan_of", "time_text", "STREAM_PATH",
]

STAGES = ("text", "first", "complete")
STREAM_PATH = "/api/v1/generate/stream/"
_STATUS_OF_STAGE = {None: "PENDING", "text": "TEXT_SUCCESS", "first": "FIRST_SUCCESS", "complete": "SUCCESS"}
_CALLBACK_MSG = {"text": "Text generation completed.", "first": "First generation completed.",
                 "complete": "All generated successfully."}
_STREAMING = (JobStatus.FIRST_READY, JobStatus.SUCCEEDED)
_ENDED_BADLY = (JobStatus.FAILED, JobStatus.CANCELLED)


def time_text(value: Any) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (UTC), the vendor's ``createTime``."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def music_stage(jobs: list[Job]) -> str | None:
    """The task's stage from its jobs: ``None``, ``text``, ``first``, ``complete`` or ``error``."""
    statuses = [j.status for j in jobs]
    if any(s in _ENDED_BADLY for s in statuses):
        return "error"
    if statuses and all(s == JobStatus.SUCCEEDED for s in statuses):
        return "complete"
    if any(s in _STREAMING for s in statuses):
        return "first"
    if any(s == JobStatus.RUNNING for s in statuses):
        return "text"
    return None


def error_of(jobs: list[Job]) -> tuple[int, str, str] | None:
    """``(errorCode, errorMessage, status)`` of a failed task, or ``None``."""
    failed = next((j for j in jobs if j.status in _ENDED_BADLY), None)
    if failed is None:
        return None
    reason = failed.error_code or "engine_error"
    message = failed.error_message or reason
    if reason == "sensitive_content":
        return 400, message, "SENSITIVE_WORD_ERROR"
    code = {"timeout": 408, "worker_lost": 500, "cancelled": 500}.get(reason, 501)
    return code, message, "GENERATE_AUDIO_FAILED"


def music_status(jobs: list[Job]) -> str:
    """The record-info ``status`` of a music task."""
    stage = music_stage(jobs)
    if stage == "error":
        failure = error_of(jobs)
        return failure[2] if failure else "GENERATE_AUDIO_FAILED"
    return _STATUS_OF_STAGE[stage]


def stream_url(service: SongService, job_id: str) -> str:
    """Signed loopback URL streaming the job's audio as it grows (no API key needed)."""
    expires_s = service.signer.expiry()
    sig = service.signer.signature(f"suno-stream/{job_id}", expires_s)
    return f"{service.signer.base_url}{STREAM_PATH}{job_id}?expires={expires_s}&sig={sig}"


def plan_of(service: SongService, job: Job) -> dict[str, Any]:
    """The job's stored plan (``{}`` when it has none)."""
    key = ((job.result or {}).get("assets") or {}).get("plan")
    if not key:
        return {}
    try:
        data = json.loads(service.blobs.read(key))
    except (NotFound, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cover_key(job_id: str, variant: int = 0) -> str:
    """Blob key of a track's cover image (under the job, so the janitor removes it with the job)."""
    return f"{job_id}/cover.png" if variant == 0 else f"{job_id}/cover-{variant}.png"


def ensure_cover(service: SongService, job: Job, *, title: str, variant: int = 0) -> str:
    """Draw the track's cover once (deterministic for the song); returns its blob key."""
    key = cover_key(job.id, variant)
    if not service.blobs.exists(key):
        plan = plan_of(service, job)
        spec = CoverSpec(
            title=title, mood=str(plan.get("mood", "neutral")), tonic_pc=int(plan.get("tonic_pc", 0)) % 12,
            mode=str(plan.get("mode", "major")), tempo_bpm=float(plan.get("tempo_bpm", 120.0)),
            energy=float(plan.get("energy", 0.5)), seed=int(plan.get("seed", job.request.get("seed") or 0)),
        )
        service.blobs.put(key, cover_png(spec, variant=variant))
    return key


def track_fields(service: SongService, task: TaskRecord, job: Job) -> dict[str, Any]:
    """One track of a music task, in neutral names (see :func:`record_item`, :func:`callback_item`)."""
    done = job.status == JobStatus.SUCCEEDED and job.result is not None
    title = str(task.data.get("title") or "")
    audio = service.file_url(job.result["assets"]["song"]) if done and job.result else ""
    image = service.file_url(ensure_cover(service, job, title=title)) if done else ""
    stream = stream_url(service, job.id) if job.status in _STREAMING else ""
    lyrics = "" if task.data.get("instrumental") else str(task.data.get("lyrics") or "")
    duration = float(job.result["duration_s"]) if done and job.result else None
    return {"id": job.id, "audio": audio, "stream": stream, "image": image, "prompt": lyrics,
            "model_name": model_name(str(task.data.get("model", ""))), "title": title,
            "tags": str(task.data.get("tags") or ""), "create_time": time_text(job.created_at), "duration": duration}


def record_item(fields: dict[str, Any]) -> dict[str, Any]:
    """A ``sunoData`` item of record-info (camelCase)."""
    return {
        "id": fields["id"], "audioUrl": fields["audio"], "sourceAudioUrl": fields["audio"],
        "streamAudioUrl": fields["stream"], "sourceStreamAudioUrl": fields["stream"],
        "imageUrl": fields["image"], "sourceImageUrl": fields["image"], "prompt": fields["prompt"],
        "modelName": fields["model_name"], "title": fields["title"], "tags": fields["tags"],
        "createTime": fields["create_time"], "duration": fields["duration"],
    }


def callback_item(fields: dict[str, Any]) -> dict[str, Any]:
    """A track of a music callback (snake_case, ``createTime`` as the vendor spells it)."""
    return {
        "id": fields["id"], "audio_url": fields["audio"], "source_audio_url": fields["audio"],
        "stream_audio_url": fields["stream"], "source_stream_audio_url": fields["stream"],
        "image_url": fields["image"], "source_image_url": fields["image"], "prompt": fields["prompt"],
        "model_name": fields["model_name"], "title": fields["title"], "tags": fields["tags"],
        "createTime": fields["create_time"], "duration": fields["duration"],
    }


def music_callback(service: SongService, task: TaskRecord, jobs: list[Job], stage: str) -> dict[str, Any]:
    """The callback body for ``stage`` (``text``, ``first``, ``complete`` or ``error``)."""
    if stage == "error":
        code, message, _ = error_of(jobs) or (501, "audio generation failed", "")
        return {"code": code, "msg": message, "data": {"callbackType": "error", "task_id": task.id, "data": None}}
    items = [callback_item(track_fields(service, task, job)) for job in jobs]
    return {"code": 200, "msg": _CALLBACK_MSG[stage],
            "data": {"callbackType": stage, "task_id": task.id, "data": items}}
