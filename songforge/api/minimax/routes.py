"""MiniMax routes (API_SPEC.md 2.1) and the AI/ML API's music-01 pass-through (4.3).

Every route authenticates with :func:`~songforge.api.auth.require_key`, then counts the request
against the model's tier (``*-free`` models: the free rate; the rest: the paid rate). Music
generation is synchronous: the job is submitted and awaited (or streamed as hex chunks).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse

from songforge.api.auth import ApiKey, service_of
from songforge.api.dialect import route_class
from songforge.api.minimax import convert, rules, sources
from songforge.api.minimax.errors import (
    TRACE_HEADER,
    error_body,
    job_status_of,
    render_error,
    trace_id_of,
)
from songforge.api.minimax.stream import hex_events
from songforge.api.minimax.wire import (
    CoverPreprocessBody,
    LyricsGenerationBody,
    MusicGenerationBody,
    ok_envelope,
)
from songforge.api.minimax.writer import write_song_lyrics
from songforge.errors import Conflict, GenerationFailed, InvalidRequest
from songforge.models import JobStatus, Reference
from songforge.service.songs import SongService
from songforge.service.streaming import song_key
from songforge.storage.jobs import ApiKeyRecord, Job

__all__ = ["router", "NAME", "PREFIXES", "WAIT_MARGIN_S"]

NAME = "minimax"
PREFIXES = ("/v1/music_", "/v1/lyrics_generation", "/v2/generate/audio/minimax/")
WAIT_MARGIN_S = 600.0  # a synchronous call waits the job timeout plus this (time in the queue)
UPLOAD_TIER = "paid"  # music_upload serves music-01, a paid model

router = APIRouter(route_class=route_class(render_error), tags=["minimax"])


def _json(request: Request, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, headers={TRACE_HEADER: trace_id_of(request)})


def _hit_model(service: SongService, key: ApiKeyRecord, tier: str) -> None:
    if service.keys is not None:
        service.keys.hit_model(key, tier)


def _reference(service: SongService, body: MusicGenerationBody, model: rules.ModelRules) -> Reference | None:
    if model.family == rules.COVER:
        return sources.cover_reference(service.references, body)
    if model.family == rules.LEGACY:
        return sources.legacy_reference(service.references, body)
    return None


async def _wait(service: SongService, job_id: str) -> Job:
    try:
        return await service.wait(job_id, timeout_s=service.settings.job_timeout_s + WAIT_MARGIN_S)
    except TimeoutError:
        with contextlib.suppress(Conflict):
            await asyncio.to_thread(service.cancel, job_id)
        raise GenerationFailed("the song was not ready in time", reason="timeout") from None


def _song_key(job: Job) -> str:
    key = song_key(job)
    if key is None:
        raise GenerationFailed("the finished job has no song file")
    return key


def _song_body(request: Request, job: Job, audio: bytes, *, url: bool, legacy: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"audio": audio.hex(), "status": convert.STATUS_DONE}
    if url:
        link = service_of(request).file_url(_song_key(job))
        data = {"audio": link, "audio_url": link, "status": convert.STATUS_DONE}
    if legacy:
        return ok_envelope(trace_id_of(request), data=data, extra_info=convert.legacy_extra_info(job))
    return ok_envelope(trace_id_of(request), data=data, extra_info=convert.extra_info(job), analysis_info=None)


async def _generate(body: MusicGenerationBody, request: Request, key: ApiKeyRecord, *, passthrough: bool) -> Response:
    service = service_of(request)
    model = rules.model_rules(body.model, allowed=("music-01",) if passthrough else None)
    await asyncio.to_thread(_hit_model, service, key, model.tier)
    rules.check_generation(body, passthrough=passthrough)
    reference = await asyncio.to_thread(_reference, service, body, model)
    song = convert.song_request(body, model, reference)
    [job] = await asyncio.to_thread(service.submit, song, dialect=NAME, key=key)
    legacy = model.family == rules.LEGACY
    info = convert.legacy_extra_info if legacy else convert.extra_info
    if body.stream:
        events = hex_events(service, job, trace_id=trace_id_of(request), info=info)
        headers = {TRACE_HEADER: trace_id_of(request), "Cache-Control": "no-cache"}
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)
    job = await _wait(service, job.id)
    if job.status != JobStatus.SUCCEEDED:
        return _json(request, error_body(trace_id_of(request), *job_status_of(job.error_code, job.error_message)))
    url = body.output_format == "url"
    audio = b"" if url else await asyncio.to_thread(service.blobs.read, _song_key(job))
    return _json(request, _song_body(request, job, audio, url=url, legacy=legacy))


@router.post("/v1/music_generation", summary="Generate a song (MiniMax)", response_model=None)
async def music_generation(body: MusicGenerationBody, request: Request, key: ApiKey) -> Response:
    """Text (+lyrics) to song, instrumental, cover, or legacy music-01 from profile ids."""
    return await _generate(body, request, key, passthrough=False)


@router.post("/v2/generate/audio/minimax/generate", summary="music-01 (AI/ML pass-through)", response_model=None)
async def aiml_music_01(body: MusicGenerationBody, request: Request, key: ApiKey) -> Response:
    """The AI/ML API's MiniMax music-01 pass-through: lyrics and ``audio_setting.format`` required."""
    return await _generate(body, request, key, passthrough=True)


@router.post("/v1/music_cover_preprocess", summary="Analyse cover reference audio (MiniMax)", response_model=None)
async def music_cover_preprocess(body: CoverPreprocessBody, request: Request, key: ApiKey) -> Response:
    """Store and analyse reference audio: ``cover_feature_id`` (same audio, same id), lyrics, structure."""
    service = service_of(request)
    model = rules.model_rules(body.model, allowed=rules.COVER_MODELS)
    await asyncio.to_thread(_hit_model, service, key, model.tier)
    rules.check_one_source(audio_url=body.audio_url, audio_base64=body.audio_base64)
    stored = await asyncio.to_thread(sources.intake_cover, service.references, audio_url=body.audio_url,
                                     audio_base64=body.audio_base64)
    analysis = await asyncio.to_thread(service.references.analyze, stored.audio_id)
    return _json(request, ok_envelope(trace_id_of(request), **convert.preprocess_fields(stored, analysis)))


@router.post("/v1/lyrics_generation", summary="Write or edit lyrics (MiniMax)", response_model=None)
def lyrics_generation(body: LyricsGenerationBody, request: Request, key: ApiKey) -> Response:
    """``write_full_song`` from a prompt (empty: any song), or ``edit`` given lyrics; a title is kept."""
    rules.check_lyrics_body(body)
    fields = write_song_lyrics(body, service_of(request).settings)
    return _json(request, ok_envelope(trace_id_of(request), **fields))


@router.post("/v1/music_upload", summary="Upload reference audio for music-01 (MiniMax)", response_model=None)
@router.post("/v2/generate/audio/minimax/upload", summary="music-01 upload (AI/ML pass-through)", response_model=None)
async def music_upload(
    request: Request, key: ApiKey,
    purpose: Annotated[str | None, Form(description="song, voice or instrumental")] = None,
    file: Annotated[UploadFile | None, File(description="wav or mp3, 10 s - 10 min")] = None,
) -> Response:
    """``song`` -> voice_id and instrumental_id; ``voice`` -> voice_id; ``instrumental`` -> instrumental_id."""
    service = service_of(request)
    await asyncio.to_thread(_hit_model, service, key, UPLOAD_TIER)
    if file is None:
        raise InvalidRequest("file is required", field="file", limit="a wav or mp3 file of 10 s - 10 min")
    ids = await asyncio.to_thread(sources.upload, service.references, data=await file.read(), purpose=purpose or "")
    found = {"voice_id": ids.voice_id, "instrumental_id": ids.instrumental_id}
    return _json(request, ok_envelope(trace_id_of(request), **{k: v for k, v in found.items() if v}))
