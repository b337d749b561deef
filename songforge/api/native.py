"""The native REST API: ``/v1/songs`` (submit, status, events, cancel) and ``/v1/lyrics``.

Wire models here, canonical models below: a body becomes a :class:`~songforge.models.SongRequest`
(which validates again and raises :class:`~songforge.errors.InvalidRequest`), a stored job becomes
a :class:`SongView`. Handlers are sync where they touch the database (FastAPI runs them in its
thread pool) and async only for the event stream.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse

from songforge.api.auth import ApiKey, owned_job, service_of
from songforge.api.sse import job_events
from songforge.models import (
    BITRATE_MAX_KBPS,
    BITRATE_MIN_KBPS,
    DURATION_MAX_S,
    DURATION_MIN_S,
    LYRICS_MAX_CHARS,
    PROMPT_MAX_CHARS,
    JobStatus,
    SongRequest,
)
from songforge.service.lyrics import SONGWRITER_MODULE, write_sheet
from songforge.service.songs import SongService
from songforge.storage.jobs import Job

__all__ = [
    "router", "song_view", "SongCreate", "SongView", "SubmitResponse", "LyricsCreate", "LyricsView",
    "ErrorEnvelope", "SONGWRITER_MODULE",
]

TITLE_MAX_CHARS = 200
URL_MAX_CHARS = 2048

router = APIRouter(prefix="/v1", tags=["songs"])


# -- wire models ------------------------------------------------------------------------------

class SongCreate(BaseModel):
    """What to make. Give a prompt, lyrics, or both; everything else has a default."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"prompt": "upbeat synth-pop about a summer night drive", "duration_s": 60, "format": "mp3"}],
        # what validation checks: a prompt or lyrics with some text (and no NUL character)
        "anyOf": [{"required": [name], "properties": {name: {"type": "string", "pattern": "^[^\\x00]*\\S[^\\x00]*$"}}}
                  for name in ("prompt", "lyrics")]})

    prompt: str = Field("", max_length=PROMPT_MAX_CHARS, description="Style, mood, instruments, tempo or theme.")
    lyrics: str | None = Field(None, max_length=LYRICS_MAX_CHARS,
                               description="Lyrics with optional [Verse]/[Chorus] tags; omit to have them written.")
    instrumental: bool = Field(False, description="No vocals at all.")
    gender: Literal["female", "male"] | None = Field(None, description="Voice; omitted: the plan chooses.")
    duration_s: float | None = Field(None, ge=DURATION_MIN_S, le=DURATION_MAX_S,
                                     description="Target length in seconds; omitted: the preset's default.")
    seed: int | None = Field(None, ge=0, lt=2**32, description="Same request and seed, same song; omitted: random.")
    format: Literal["mp3", "wav", "flac", "pcm"] = Field("mp3", description="pcm: raw signed 16-bit little-endian.")
    sample_rate_hz: Literal[16000, 24000, 32000, 44100, 48000] = Field(48000, description="Output sample rate.")
    bitrate_kbps: int = Field(256, ge=BITRATE_MIN_KBPS, le=BITRATE_MAX_KBPS, description="MP3 bitrate.")
    channels: Literal[1, 2] = Field(2, description="1: mono, 2: stereo.")
    variations: int = Field(1, ge=1, le=4, description="Songs to make from this request (seeds seed, seed+1, ...).")
    stems: bool = Field(False, description="Also deliver one WAV per instrument and the vocals.")
    midi: bool = Field(False, description="Also deliver the score as a MIDI file.")
    timings: bool = Field(False, description="Also deliver word timings (JSON and LRC).")
    title: str | None = Field(None, max_length=TITLE_MAX_CHARS, description="Song title.")
    language: Literal["en", "zh"] | None = Field(None, description="Lyrics language; omitted: detected.")
    negative_prompt: str | None = Field(None, max_length=PROMPT_MAX_CHARS, description="Styles or instruments to avoid.")
    style_weight: float = Field(0.5, ge=0.0, le=1.0, description="How strictly the genre preset is followed.")
    weirdness: float = Field(0.5, ge=0.0, le=1.0, description="How adventurous harmony, melody and form get.")
    callback_url: str | None = Field(None, max_length=URL_MAX_CHARS,
                                     description="Public http(s) URL POSTed the job (as GET shows it) on each status change.")

    def to_request(self) -> SongRequest:
        """The canonical request (validated again by :class:`SongRequest`)."""
        fields = self.model_dump(exclude={"stems", "midi", "timings", "callback_url"})
        return SongRequest(**fields, want_stems=self.stems, want_midi=self.midi, want_timings=self.timings)


class JobLinks(BaseModel):
    self: str = Field(description="GET: status and result.")
    events: str = Field(description="GET: Server-Sent Events (progress, audio, done/error).")


class JobRef(BaseModel):
    id: str
    status: str = Field(description="queued, running, first_ready, succeeded, failed or cancelled.")
    variation_index: int
    seed: int | None
    links: JobLinks


class SubmitResponse(BaseModel):
    batch_id: str = Field(description="Shared by the variations of one request.")
    jobs: list[JobRef]


class JobError(BaseModel):
    code: str = Field(description="Machine reason: timeout, worker_lost, cancelled, engine_error, ...")
    message: str


class Timings(BaseModel):
    json_url: str = Field(description="Word timings as JSON.")
    lrc_url: str | None = Field(None, description="Word timings as LRC lines.")


class SongResult(BaseModel):
    audio_url: str = Field(description="Signed, expiring link to the song (Range requests supported).")
    media_type: str
    format: str
    size_bytes: int
    sample_rate_hz: int
    channels: int
    duration_s: float
    seed: int
    stems: dict[str, str] | None = Field(None, description="Stem name -> signed link to its WAV.")
    midi_url: str | None = None
    plan_url: str | None = Field(None, description="The plan: genre, tempo, key, sections (JSON).")
    timings: Timings | None = None
    lyrics: str | None = None


class SongView(BaseModel):
    id: str
    batch_id: str | None
    variation_index: int
    status: str = Field(description="queued, running, first_ready, succeeded, failed or cancelled.")
    stage: str | None = Field(description="lyrics, compose, vocals, render, mix or encode while running.")
    progress_pct: float = Field(ge=0, le=100)
    error: JobError | None
    result: SongResult | None
    created_at: datetime
    updated_at: datetime
    links: JobLinks


class LyricsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=PROMPT_MAX_CHARS, description="Theme, mood and style of the song.")
    language: Literal["en", "zh"] | None = Field(None, description="Omitted: Chinese when the prompt is.")
    seed: int | None = Field(None, ge=0, lt=2**32, description="Same prompt and seed, same lyrics.")
    title: str | None = Field(None, max_length=TITLE_MAX_CHARS, description="Omitted: from the chorus hook.")


class LyricsView(BaseModel):
    lyrics: str = Field(description="Lyrics with [Verse]/[Chorus] structure tags, ready for POST /v1/songs.")
    title: str | None = None
    style_tags: str | None = Field(None, description="Style words found in the prompt, e.g. 'Ballad, Romantic'.")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine name, e.g. invalid_request, rate_limited.")
    message: str
    field: str | None = Field(None, description="The input that broke a rule.")
    limit: str | None = Field(None, description="The rule it broke, e.g. '10-480 s'.")


class ErrorEnvelope(BaseModel):
    error: ErrorDetail


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorEnvelope} for status in statuses}


# -- views ------------------------------------------------------------------------------------

def _links(job_id: str) -> dict[str, str]:
    return {"self": f"/v1/songs/{job_id}", "events": f"/v1/songs/{job_id}/events"}


def _job_ref(job: Job) -> dict[str, Any]:
    return {"id": job.id, "status": job.status.value, "variation_index": job.variation_index,
            "seed": job.request.get("seed"), "links": _links(job.id)}


def _result_view(service: SongService, result: dict[str, Any]) -> dict[str, Any]:
    assets = result.get("assets") or {}
    url = service.file_url

    def maybe(name: str) -> str | None:
        return url(assets[name]) if assets.get(name) else None

    timings = {"json_url": url(assets["timings"]), "lrc_url": maybe("timings_lrc")} if assets.get("timings") else None
    stems = {name: url(key) for name, key in assets["stems"].items()} if assets.get("stems") else None
    keep = ("media_type", "format", "size_bytes", "sample_rate_hz", "channels", "duration_s", "seed", "lyrics")
    return {**{k: result.get(k) for k in keep}, "audio_url": url(assets["song"]), "stems": stems,
            "midi_url": maybe("midi"), "plan_url": maybe("plan"), "timings": timings}


def song_view(service: SongService, job: Job) -> dict[str, Any]:
    """A job as ``GET /v1/songs/{id}`` shows it, JSON-safe (also the native callback body and the
    stream's ``done`` event)."""
    error = {"code": job.error_code, "message": job.error_message or job.error_code} if job.error_code else None
    result = _result_view(service, job.result) if job.result and job.status == JobStatus.SUCCEEDED else None
    return {
        "id": job.id, "batch_id": job.batch_id, "variation_index": job.variation_index,
        "status": job.status.value, "stage": job.stage, "progress_pct": job.progress_pct,
        "error": error, "result": result,
        "created_at": job.created_at.isoformat(), "updated_at": job.updated_at.isoformat(),
        "links": _links(job.id),
    }


# -- routes -----------------------------------------------------------------------------------

JobId = Annotated[str, Path(description="The job id from POST /v1/songs.", max_length=64)]


@router.post("/songs", status_code=202, response_model=SubmitResponse, summary="Make a song",
             responses=_errors(400, 401, 413, 429))
def create_song(body: SongCreate, request: Request, key: ApiKey) -> dict[str, Any]:
    """Queue one job per variation; follow them with GET or the event stream."""
    jobs = service_of(request).submit(
        body.to_request(), dialect="native", key=key, callback_url=body.callback_url, variations=body.variations,
    )
    return {"batch_id": jobs[0].batch_id, "jobs": [_job_ref(j) for j in jobs]}


@router.get("/songs/{job_id}", response_model=SongView, summary="Status and result of a job",
            responses=_errors(401, 404, 429))
def get_song(job_id: JobId, request: Request, key: ApiKey) -> dict[str, Any]:
    """Status, stage, progress, error and, once succeeded, signed links to every file."""
    service = service_of(request)
    return song_view(service, owned_job(service, job_id, key))


@router.delete("/songs/{job_id}", response_model=SongView, summary="Cancel a job",
               responses=_errors(401, 404, 409, 429))
def cancel_song(job_id: JobId, request: Request, key: ApiKey) -> dict[str, Any]:
    """Cancel a queued or running job (409 once it has finished)."""
    service = service_of(request)
    owned_job(service, job_id, key)
    return song_view(service, service.cancel(job_id))


@router.get("/songs/{job_id}/events", summary="Follow a job: progress and audio as it is made",
            response_class=EventSourceResponse, responses={
                200: {"content": {"text/event-stream": {}}, "description": (
                    "`progress` {id, status, stage, progress_pct}; `audio` {offset, size, data: base64} "
                    "(from byte 0 even when joining late; the pieces concatenate to the final file); "
                    "`done` (the job as GET shows it) or `error` {code, message} ends the stream.")},
                **_errors(401, 404, 429)})
async def song_events(job_id: JobId, request: Request, key: ApiKey) -> EventSourceResponse:
    """Server-Sent Events for one job."""
    service = service_of(request)
    job = await asyncio.to_thread(owned_job, service, job_id, key)
    return EventSourceResponse(job_events(service, job, view=lambda j: song_view(service, j)), ping=15)


@router.post("/lyrics", response_model=LyricsView, tags=["lyrics"], summary="Write lyrics from a prompt",
             responses=_errors(400, 401, 429, 501))
def create_lyrics(body: LyricsCreate, key: ApiKey, request: Request) -> dict[str, Any]:
    """Lyrics with structure tags, ready for POST /v1/songs (501 where the songwriter is not installed).

    Uses the operator's LLM endpoint when one is configured, the offline writer otherwise."""
    options = {"language": body.language, "seed": body.seed, "title": body.title}
    sheet = write_sheet(service_of(request).settings, body.prompt, **options)
    return {"lyrics": sheet.to_text(), "title": sheet.title, "style_tags": sheet.style_tags or None}
