"""Music routes: generate, extend, the upload family, replace-section, record-info, stream, credit."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from songforge.api.auth import ApiKey, service_of
from songforge.api.sse import follow_job
from songforge.api.suno import convert as cv
from songforge.api.suno.errors import ROUTE_CLASS
from songforge.api.suno.music import TASK_KEY, music_record, submit_music
from songforge.api.suno.routes._common import (
    charge,
    credits_of,
    finished_track,
    owned_task,
    runtime,
)
from songforge.api.suno.views import STREAM_PATH
from songforge.api.suno.wire import (
    AddInstrumentalBody,
    AddVocalsBody,
    ExtendBody,
    GenerateBody,
    ReplaceSectionBody,
    UploadCoverBody,
    UploadExtendBody,
    ok,
)
from songforge.errors import InvalidRequest, NotFound
from songforge.models import Reference, SongRequest
from songforge.service.references import AudioLimits
from songforge.storage.jobs import ApiKeyRecord

__all__ = ["router"]

router = APIRouter(route_class=ROUTE_CLASS, tags=["suno"])

ADD_MODELS = ("V4_5PLUS", "V5")
UPLOAD_MIN_S = 1.0
INFILL_MIN_S, INFILL_MAX_S, INFILL_MAX_SHARE = 6.0, 60.0, 0.5
_STREAM_CHUNK_BYTES = 64 * 1024
_STREAM_POLL_S = 0.2
_MEDIA_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "pcm": "audio/L16"}


def _submit(request: Request, key: ApiKeyRecord, spec: cv.MusicSpec, body: Any, *, operation: str,
            parent: str = "", model: str | None = None) -> dict[str, Any]:
    rt = runtime(request)
    charge(rt, key)
    task_id = submit_music(rt, spec, key=key, callback_url=body.callBackUrl or None, param=cv.param_json(body),
                           model=model or body.model, operation=operation, parent_music_id=parent)
    return ok({"taskId": task_id})


def _persona(request: Request, persona_id: str | None) -> dict[str, Any] | None:
    if not persona_id:
        return None
    try:
        persona = runtime(request).tasks.get(persona_id, kind="persona")
    except NotFound:
        raise InvalidRequest(f"unknown personaId {persona_id!r}", field="personaId",
                             limit="an id from generate-persona") from None
    return {**persona.data, "persona_id": persona.id}


@router.post("/api/v1/generate", summary="Generate music (two tracks)")
def generate(body: GenerateBody, request: Request, key: ApiKey) -> dict[str, Any]:
    spec = cv.music_spec(body, settings=service_of(request).settings, persona=_persona(request, body.personaId))
    return _submit(request, key, spec, body, operation="generate")


def _model_of_track(request: Request, job: Any) -> str | None:
    task_id = (job.request.get("extra") or {}).get(TASK_KEY)
    if not task_id:
        return None
    try:
        return str(runtime(request).tasks.get(str(task_id)).data.get("model"))
    except NotFound:
        return None


def _continue_at(value: float | None, duration_s: float) -> float:
    if value is None:
        raise InvalidRequest("continueAt is required", field="continueAt", limit="required")
    if not 0.0 < value < duration_s:
        raise InvalidRequest(f"continueAt must be > 0 and < the source duration ({duration_s:g} s), not {value}",
                             field="continueAt", limit=f"0-{duration_s:g} s (exclusive)")
    return round(float(value), 2)


@router.post("/api/v1/generate/extend", summary="Extend one of our tracks")
def extend(body: ExtendBody, request: Request, key: ApiKey) -> dict[str, Any]:
    limits = cv.check_model(body.model)
    source = finished_track(runtime(request), body.audioId, key=key)
    source_model = _model_of_track(request, source)
    if source_model and source_model != body.model:
        raise InvalidRequest(f"model must match the source audio's model ({source_model}), not {body.model!r}",
                             field="model", limit=source_model)
    duration_s = float(source.result["duration_s"]) if source.result else 0.0
    old = source.request
    instrumental = bool(old.get("instrumental"))
    if body.defaultParamFlag:
        at_s = _continue_at(body.continueAt, duration_s)
        style = cv.require(body.style, field_name="style", why="when defaultParamFlag is true")
        title = cv.require(body.title, field_name="title", why="when defaultParamFlag is true")
        for name, value, cap in (("prompt", body.prompt, limits.prompt_chars), ("style", style, limits.style_chars),
                                 ("title", title, limits.title_chars)):
            cv.check_length(value, cap, field_name=name)
        lyrics = None if instrumental else cv.require(body.prompt, field_name="prompt",
                                                       why="when defaultParamFlag is true")
    else:
        at_s = _continue_at(body.continueAt, duration_s) if body.continueAt is not None else round(duration_s, 2)
        style, title, lyrics = str(old.get("prompt") or ""), str(old.get("title") or "Untitled"), None
    reference = Reference(mode="extend", source_job_id=source.id, continue_at_s=at_s,
                          audio_weight=cv.check_weight(body.audioWeight, field_name="audioWeight") or 0.5)
    request_ = SongRequest(prompt=style, lyrics=lyrics, title=title, instrumental=instrumental, reference=reference,
                           seed=secrets.randbelow(cv.SEED_LIMIT), **cv.EXTRAS, **cv.weights_of(body))
    spec = cv.MusicSpec(request=request_, title=title, tags=style, lyrics=lyrics)
    return _submit(request, key, spec, body, operation="extend", parent=source.id)


def _intake(request: Request, url: str, model: str) -> str:
    """Fetch and store uploaded audio under the model's limits; returns its audio id."""
    limits = cv.check_model(model)
    stored = service_of(request).references.intake(
        url=url, limits=AudioLimits(min_duration_s=UPLOAD_MIN_S, max_duration_s=limits.max_upload_s),
        field="uploadUrl",
    )
    return stored.audio_id


@router.post("/api/v1/generate/upload-cover", summary="Cover uploaded audio in a new style")
def upload_cover(body: UploadCoverBody, request: Request, key: ApiKey) -> dict[str, Any]:
    spec = cv.music_spec(body, settings=service_of(request).settings, persona=_persona(request, body.personaId))
    audio_id = _intake(request, body.uploadUrl, body.model)
    weight = cv.check_weight(body.audioWeight, field_name="audioWeight") or 0.5
    reference = Reference(mode="cover", audio_id=audio_id, audio_weight=weight)
    spec = cv.MusicSpec(request=spec.request.with_(reference=reference), title=spec.title, tags=spec.tags,
                        lyrics=spec.lyrics)
    return _submit(request, key, spec, body, operation="upload_cover")


@router.post("/api/v1/generate/upload-extend", summary="Extend uploaded audio")
def upload_extend(body: UploadExtendBody, request: Request, key: ApiKey) -> dict[str, Any]:
    limits = cv.check_model(body.model)
    style = title = ""
    lyrics = None
    if body.defaultParamFlag:
        style = cv.require(body.style, field_name="style", why="in custom mode")
        title = cv.require(body.title, field_name="title", why="in custom mode")
        for name, value, cap in (("prompt", body.prompt, limits.prompt_chars), ("style", style, limits.style_chars),
                                 ("title", title, limits.title_chars)):
            cv.check_length(value, cap, field_name=name)
        if not body.instrumental:
            lyrics = cv.require(body.prompt, field_name="prompt", why="in custom mode unless instrumental")
    service = service_of(request)
    audio_id = _intake(request, body.uploadUrl, body.model)
    stored = service.references.resolve(audio_id)
    at_s = _continue_at(body.continueAt, stored.duration_s) if body.defaultParamFlag else round(stored.duration_s, 2)
    reference = Reference(mode="extend", audio_id=audio_id, continue_at_s=at_s,
                          audio_weight=cv.check_weight(body.audioWeight, field_name="audioWeight") or 0.5)
    request_ = SongRequest(prompt=style, lyrics=lyrics, title=title or None, instrumental=body.instrumental,
                           reference=reference, seed=secrets.randbelow(cv.SEED_LIMIT), **cv.EXTRAS,
                           **cv.weights_of(body))
    spec = cv.MusicSpec(request=request_, title=title or "Untitled", tags=style, lyrics=lyrics)
    return _submit(request, key, spec, body, operation="upload_extend")


@router.post("/api/v1/generate/add-vocals", summary="Sing over an uploaded instrumental")
def add_vocals(body: AddVocalsBody, request: Request, key: ApiKey) -> dict[str, Any]:
    limits = cv.check_model(body.model, allowed=ADD_MODELS)
    lyrics = cv.require(body.prompt, field_name="prompt", why="(the lyrics to sing)")
    style = cv.require(body.style, field_name="style", why="")
    title = cv.require(body.title, field_name="title", why="")
    for name, value, cap in (("prompt", lyrics, limits.prompt_chars), ("style", style, limits.style_chars),
                             ("title", title, limits.title_chars)):
        cv.check_length(value, cap, field_name=name)
    if body.negativeTags is None:
        raise InvalidRequest("negativeTags is required", field="negativeTags", limit="required")
    audio_id = _intake(request, body.uploadUrl, body.model)
    reference = Reference(mode="add_vocals", audio_id=audio_id,
                          audio_weight=cv.check_weight(body.audioWeight, field_name="audioWeight") or 0.5)
    request_ = SongRequest(prompt=style, lyrics=lyrics, title=title, reference=reference,
                           seed=secrets.randbelow(cv.SEED_LIMIT), **cv.EXTRAS, **cv.weights_of(body))
    spec = cv.MusicSpec(request=request_, title=title, tags=style, lyrics=lyrics)
    return _submit(request, key, spec, body, operation="add_vocals")


@router.post("/api/v1/generate/add-instrumental", summary="Accompany an uploaded vocal track")
def add_instrumental(body: AddInstrumentalBody, request: Request, key: ApiKey) -> dict[str, Any]:
    limits = cv.check_model(body.model, allowed=ADD_MODELS)
    tags = cv.require(body.tags, field_name="tags", why="")
    title = cv.require(body.title, field_name="title", why="")
    cv.check_length(tags, limits.style_chars, field_name="tags")
    cv.check_length(title, limits.title_chars, field_name="title")
    if body.negativeTags is None:
        raise InvalidRequest("negativeTags is required", field="negativeTags", limit="required")
    audio_id = _intake(request, body.uploadUrl, body.model)
    reference = Reference(mode="add_instrumental", audio_id=audio_id,
                          audio_weight=cv.check_weight(body.audioWeight, field_name="audioWeight") or 0.5)
    request_ = SongRequest(prompt=tags, title=title, reference=reference, seed=secrets.randbelow(cv.SEED_LIMIT),
                           **cv.EXTRAS, **cv.weights_of(body))
    spec = cv.MusicSpec(request=request_, title=title, tags=tags, lyrics=None)
    return _submit(request, key, spec, body, operation="add_instrumental")


def check_infill(start_s: float, end_s: float, duration_s: float) -> tuple[float, float]:
    """The replace-section window rounded to 2 decimals; 6-60 s, at most half the track, inside it."""
    start_s, end_s = round(float(start_s), 2), round(float(end_s), 2)
    length_s = end_s - start_s
    if start_s < 0 or end_s > duration_s or length_s <= 0:
        raise InvalidRequest(f"infillStartS-infillEndS ({start_s:g}-{end_s:g} s) must lie inside the track "
                             f"(0-{duration_s:g} s)", field="infillEndS", limit=f"0-{duration_s:g} s")
    if not INFILL_MIN_S <= length_s <= INFILL_MAX_S:
        raise InvalidRequest(f"infillEndS - infillStartS is {length_s:g} s; it must be 6-60 s",
                             field="infillEndS", limit="6-60 s")
    if length_s > INFILL_MAX_SHARE * duration_s:
        raise InvalidRequest(f"infillEndS - infillStartS is {length_s:g} s, more than 50 % of the {duration_s:g} s "
                             "track", field="infillEndS", limit="50 % of the track")
    return start_s, end_s


@router.post("/api/v1/generate/replace-section", summary="Regenerate a section of one of our tracks")
def replace_section(body: ReplaceSectionBody, request: Request, key: ApiKey) -> dict[str, Any]:
    rt = runtime(request)
    task = owned_task(rt, body.taskId, kind="music", key=key)
    source = finished_track(rt, body.audioId, key=key, task=task)
    model = str(task.data.get("model", "V5"))
    limits = cv.check_model(model)
    cv.check_length(body.tags, limits.style_chars, field_name="tags")
    cv.check_length(body.title, limits.title_chars, field_name="title")
    cv.check_length(body.prompt, limits.prompt_chars, field_name="prompt")
    duration_s = float(source.result["duration_s"]) if source.result else 0.0
    start_s, end_s = check_infill(body.infillStartS, body.infillEndS, duration_s)
    reference = Reference(mode="replace_section", source_job_id=source.id, infill_start_s=start_s,
                          infill_end_s=end_s, audio_weight=cv.check_weight(body.audioWeight, field_name="audioWeight")
                          or 0.5)
    request_ = SongRequest(prompt=body.tags, lyrics=body.prompt or None, title=body.title, reference=reference,
                           seed=secrets.randbelow(cv.SEED_LIMIT), **cv.EXTRAS, **cv.weights_of(body))
    spec = cv.MusicSpec(request=request_, title=body.title, tags=body.tags, lyrics=body.prompt or None)
    return _submit(request, key, spec, body, operation="replace_section", parent=source.id, model=model)


@router.get("/api/v1/generate/record-info", summary="Status and tracks of a music task")
def record_info(request: Request, key: ApiKey, taskId: Annotated[str, Query(max_length=64)]) -> dict[str, Any]:
    rt = runtime(request)
    return ok(music_record(rt, owned_task(rt, taskId, kind="music", key=key)))


@router.get("/api/v1/generate/credit", summary="Remaining credits")
def credit(request: Request, key: ApiKey) -> dict[str, Any]:
    return ok(credits_of(runtime(request), key))


@router.get(STREAM_PATH + "{job_id}", summary="Stream a track while it is made (signed link)")
async def stream(job_id: str, request: Request, expires: int, sig: str) -> StreamingResponse:
    """The track's audio from byte 0, following it as it grows until the job ends."""
    service = service_of(request)
    service.signer.verify(f"suno-stream/{job_id}", expires=expires, sig=sig)
    job = await asyncio.to_thread(service.get, job_id)
    media_type = _MEDIA_TYPES.get(str(job.request.get("format", "mp3")), "application/octet-stream")
    return StreamingResponse(_follow(service, job), media_type=media_type)


async def _follow(service: Any, job: Any) -> AsyncIterator[bytes]:
    async for item in follow_job(service, job, chunk_bytes=_STREAM_CHUNK_BYTES, poll_s=_STREAM_POLL_S):
        if isinstance(item, bytes):
            yield item
