"""Extras made from a finished track: WAV, vocal removal, MIDI, cover images, persona, timestamped
lyrics, style boost. The asynchronous ones run in the background, then send one callback."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from songforge.api.auth import ApiKey
from songforge.api.suno import convert as cv
from songforge.api.suno import extras as ex
from songforge.api.suno.errors import ROUTE_CLASS
from songforge.api.suno.music import task_jobs
from songforge.api.suno.routes._common import finished_track, owned_task, runtime
from songforge.api.suno.runtime import SunoRuntime
from songforge.api.suno.views import ensure_cover, plan_of, time_text
from songforge.api.suno.wire import (
    CoverBody,
    MidiBody,
    PersonaBody,
    StyleBody,
    TimestampedLyricsBody,
    TrackBody,
    VocalRemovalBody,
    envelope,
    ok,
)
from songforge.errors import InvalidRequest, SongforgeError
from songforge.models import JobStatus, SongRequest
from songforge.storage.jobs import ApiKeyRecord, utc_now
from songforge.storage.tasks import SUCCESS, TaskRecord

__all__ = ["router"]

router = APIRouter(route_class=ROUTE_CLASS, tags=["suno"])
TaskId = Annotated[str, Query(max_length=64)]
_SPLIT_WIRE = {"vocal": "vocal", "backing_vocals": "backingVocals", "drums": "drums", "bass": "bass",
               "guitar": "guitar", "keyboard": "keyboard", "percussion": "percussion", "strings": "strings",
               "synth": "synth", "fx": "fx", "brass": "brass", "woodwinds": "woodwinds"}
_FAILED = {"wav": "GENERATE_WAV_FAILED", "vocal_removal": "GENERATE_AUDIO_FAILED"}


def _ms(value: datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def _start(rt: SunoRuntime, *, kind: str, key: ApiKeyRecord, body: Any, data: dict[str, Any],
           work: Callable[[SunoRuntime, TaskRecord], dict[str, Any]], callback: Callable[[TaskRecord], dict[str, Any]],
           ref: str | None = None) -> str:
    """Create a task of ``kind`` and run ``work`` (its result goes into ``data["result"]``) in the background."""
    task = rt.tasks.create(TaskRecord(id=uuid.uuid4().hex, kind=kind, ref=ref, param=cv.param_json(body), data=data,
                                      owner_key_id=key.id, callback_url=getattr(body, "callBackUrl", None) or None))
    rt.run(_finish, rt, task.id, work, callback)
    return task.id


def _finish(rt: SunoRuntime, task_id: str, work: Callable[[SunoRuntime, TaskRecord], dict[str, Any]],
            callback: Callable[[TaskRecord], dict[str, Any]]) -> None:
    task = rt.tasks.get(task_id)
    try:
        result = work(rt, task)
        task = rt.tasks.update(task_id, status=SUCCESS, data={**task.data, "result": result}, completed_at=utc_now())
    except Exception as exc:
        message = exc.message if isinstance(exc, SongforgeError) else "Internal Error, Please try again later."
        task = rt.tasks.update(task_id, status=_FAILED.get(task.kind, "FAILED"), error_code=500,
                               error_message=message, completed_at=utc_now())
    if rt.tasks.mark_sent(task_id, "complete"):
        rt.deliver(task.callback_url, callback(task), order_key=task_id)


def _result(task: TaskRecord) -> dict[str, Any]:
    return dict(task.data.get("result") or {})


def _track_task(request: Request, body: Any, key: ApiKeyRecord) -> tuple[SunoRuntime, Any]:
    rt = runtime(request)
    task = owned_task(rt, body.taskId, kind="music", key=key)
    return rt, finished_track(rt, body.audioId, key=key, task=task)


# -- WAV --------------------------------------------------------------------------------------

@router.post("/api/v1/wav/generate", summary="Convert a track to WAV")
def wav_generate(body: TrackBody, request: Request, key: ApiKey) -> dict[str, Any]:
    rt, job = _track_task(request, body, key)

    def work(rt: SunoRuntime, task: TaskRecord) -> dict[str, Any]:
        return {"key": ex.wav_of(rt.service, job)}

    def callback(task: TaskRecord) -> dict[str, Any]:
        if task.status != SUCCESS:
            return {"code": 500, "msg": task.error_message, "data": {"audioWavUrl": None, "task_id": task.id}}
        return {"code": 200, "msg": "success",
                "data": {"audioWavUrl": rt.service.file_url(_result(task)["key"]), "task_id": task.id}}

    task_id = _start(rt, kind="wav", key=key, body=body, data={"music_id": job.id}, work=work, callback=callback)
    return ok({"taskId": task_id})


@router.get("/api/v1/wav/record-info", summary="Status of a WAV conversion")
def wav_record(request: Request, key: ApiKey, taskId: TaskId) -> dict[str, Any]:
    rt = runtime(request)
    task = owned_task(rt, taskId, kind="wav", key=key)
    url = rt.service.file_url(_result(task)["key"]) if task.status == SUCCESS else None
    return ok({"taskId": task.id, "musicId": task.data["music_id"], "callbackUrl": task.callback_url,
               "completeTime": _ms(task.completed_at), "response": {"audioWavUrl": url}, "successFlag": task.status,
               "createTime": _ms(task.created_at), "errorCode": task.error_code, "errorMessage": task.error_message})


# -- vocal removal ----------------------------------------------------------------------------

def _separation_urls(rt: SunoRuntime, task: TaskRecord) -> dict[str, str | None]:
    keys = _result(task).get("keys") or {}
    return {name: (rt.service.file_url(k) if k else None) for name, k in keys.items()}


def _removal_wire(rt: SunoRuntime, task: TaskRecord, *, snake: bool) -> dict[str, Any]:
    """Record-info (camelCase): every URL key, ``None`` where the type has no such output (vendor
    docs: ``separate_vocal`` leaves the instrument keys null, ``split_stem`` ``instrumentalUrl``).
    Callback (snake_case): only the type's own keys."""
    urls = _separation_urls(rt, task) if task.status == SUCCESS else {}
    origin = rt.service.file_url(task.data["song_key"]) if task.status == SUCCESS else None
    split = task.data.get("type") == "split_stem"
    out: dict[str, Any] = {"originUrl": origin}
    if not split or not snake:
        out["instrumentalUrl"] = urls.get("instrumental")
    for name, wire in _SPLIT_WIRE.items():
        if split or name == "vocal" or not snake:
            out[f"{wire}Url"] = urls.get(name)
    if not snake:
        return out
    return {_snake(k): v for k, v in out.items()}


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@router.post("/api/v1/vocal-removal/generate", summary="Separate vocals or split stems")
def vocal_removal(body: VocalRemovalBody, request: Request, key: ApiKey) -> dict[str, Any]:
    if body.type not in ("separate_vocal", "split_stem"):
        raise InvalidRequest(f"type must be separate_vocal or split_stem, not {body.type!r}", field="type",
                             limit="separate_vocal, split_stem")
    rt, job = _track_task(request, body, key)

    def work(rt: SunoRuntime, task: TaskRecord) -> dict[str, Any]:
        plan = plan_of(rt.service, job)
        return {"keys": ex.separate(rt.service, job, plan, split=body.type == "split_stem")}

    def callback(task: TaskRecord) -> dict[str, Any]:
        if task.status != SUCCESS:
            return {"code": 500, "msg": task.error_message, "data": {"task_id": task.id, "vocal_removal_info": None}}
        return {"code": 200, "msg": "vocal Removal generated successfully.",
                "data": {"task_id": task.id, "vocal_removal_info": _removal_wire(rt, task, snake=True)}}

    data = {"music_id": body.taskId, "audio_id": job.id, "type": body.type, "song_key": job.result["assets"]["song"]}
    return ok({"taskId": _start(rt, kind="vocal_removal", key=key, body=body, data=data, work=work,
                                callback=callback)})


@router.get("/api/v1/vocal-removal/record-info", summary="Status of a vocal removal")
def vocal_removal_record(request: Request, key: ApiKey, taskId: TaskId) -> dict[str, Any]:
    rt = runtime(request)
    task = owned_task(rt, taskId, kind="vocal_removal", key=key)
    return ok({"taskId": task.id, "musicId": task.data["music_id"], "callbackUrl": task.callback_url,
               "audioId": task.data["audio_id"], "completeTime": _ms(task.completed_at),
               "response": _removal_wire(rt, task, snake=False), "successFlag": task.status,
               "createTime": _ms(task.created_at), "errorCode": task.error_code, "errorMessage": task.error_message})


# -- MIDI -------------------------------------------------------------------------------------

@router.post("/api/v1/midi/generate", summary="MIDI of a separated track")
def midi_generate(body: MidiBody, request: Request, key: ApiKey) -> dict[str, Any]:
    rt = runtime(request)
    removal = owned_task(rt, body.taskId, kind="vocal_removal", key=key)
    if removal.status != SUCCESS:
        raise InvalidRequest("taskId must be a finished vocal-removal task", field="taskId",
                             limit="a finished vocal-removal task")
    audio_id = body.audioId or str(removal.data["audio_id"])
    job = finished_track(rt, audio_id, key=key)

    def work(rt: SunoRuntime, task: TaskRecord) -> dict[str, Any]:
        return {"state": "complete", "instruments": ex.midi_notes(rt.service, job)}

    def callback(task: TaskRecord) -> dict[str, Any]:
        code, msg = (200, "success") if task.status == SUCCESS else (500, task.error_message)
        return {"task_id": task.id, "code": code, "msg": msg, "data": _result(task) or None}

    data = {"record_task_id": removal.id, "audio_id": job.id}
    return ok({"taskId": _start(rt, kind="midi", key=key, body=body, data=data, work=work, callback=callback)})


@router.get("/api/v1/midi/record-info", summary="Status and notes of a MIDI task")
def midi_record(request: Request, key: ApiKey, taskId: TaskId) -> dict[str, Any]:
    task = owned_task(runtime(request), taskId, kind="midi", key=key)
    flag = 1 if task.status == SUCCESS else (0 if task.status == "PENDING" else 3)
    return ok({"taskId": task.id, "recordTaskId": task.data["record_task_id"], "audioId": task.data["audio_id"],
               "callbackUrl": task.callback_url, "completeTime": _ms(task.completed_at),
               "midiData": _result(task) or None, "successFlag": flag, "createTime": _ms(task.created_at),
               "errorCode": task.error_code, "errorMessage": task.error_message})


# -- cover images -----------------------------------------------------------------------------

@router.post("/api/v1/suno/cover/generate", summary="Two cover images for a music task", response_model=None)
def cover_generate(body: CoverBody, request: Request, key: ApiKey) -> dict[str, Any] | JSONResponse:
    rt = runtime(request)
    music = owned_task(rt, body.taskId, kind="music", key=key)
    existing = rt.tasks.find("cover", music.id)
    if existing is not None:
        return envelope(409, "a cover for this task already exists", {"taskId": existing.id})
    jobs = task_jobs(rt, music)
    if not jobs or any(j.status != JobStatus.SUCCEEDED for j in jobs):
        raise InvalidRequest("the music task has not finished", field="taskId", limit="a finished music task")
    title = str(music.data.get("title") or "")

    def work(rt: SunoRuntime, task: TaskRecord) -> dict[str, Any]:
        return {"keys": [ensure_cover(rt.service, job, title=title, variant=1) for job in jobs]}

    def callback(task: TaskRecord) -> dict[str, Any]:
        if task.status != SUCCESS:
            return {"code": 500, "msg": task.error_message, "data": {"taskId": task.id, "images": None}}
        return {"code": 200, "msg": "success", "data": {"taskId": task.id, "images": _images(rt, task)}}

    return ok({"taskId": _start(rt, kind="cover", key=key, body=body, data={"parent": music.id}, work=work,
                                callback=callback, ref=music.id)})


def _images(rt: SunoRuntime, task: TaskRecord) -> list[str] | None:
    keys = _result(task).get("keys")
    return [rt.service.file_url(k) for k in keys] if keys else None


@router.get("/api/v1/suno/cover/record-info", summary="Status of a cover image task")
def cover_record(request: Request, key: ApiKey, taskId: TaskId) -> dict[str, Any]:
    rt = runtime(request)
    task = owned_task(rt, taskId, kind="cover", key=key)
    flag = {SUCCESS: 1, "PENDING": 0}.get(task.status, 3)
    return ok({"taskId": task.id, "parentTaskId": task.data["parent"], "callbackUrl": task.callback_url,
               "completeTime": _ms(task.completed_at), "response": {"images": _images(rt, task)},
               "successFlag": flag, "createTime": _ms(task.created_at),
               "errorCode": 200 if task.status == SUCCESS else (500 if flag == 3 else None),
               "errorMessage": task.error_message})


# -- persona, timestamped lyrics, style -------------------------------------------------------

@router.post("/api/v1/generate/generate-persona", summary="A persona from one of our tracks")
def generate_persona(body: PersonaBody, request: Request, key: ApiKey) -> dict[str, Any]:
    rt, job = _track_task(request, body, key)
    name = cv.require(body.name, field_name="name", why="")
    music = rt.tasks.get(body.taskId, kind="music")
    plan = plan_of(rt.service, job)
    gender = job.request.get("gender") or plan.get("gender")
    style = str(music.data.get("tags") or job.request.get("prompt") or plan.get("genre") or "")
    persona = rt.tasks.create(TaskRecord(
        id=uuid.uuid4().hex, kind="persona", status=SUCCESS, ref=job.id, param=cv.param_json(body),
        owner_key_id=key.id, data={"gender": gender, "style": style, "name": name, "description": body.description},
    ))
    return ok({"personaId": persona.id, "name": name, "description": body.description})


@router.post("/api/v1/generate/get-timestamped-lyrics", summary="Word timings of a track")
def timestamped_lyrics(body: TimestampedLyricsBody, request: Request, key: ApiKey) -> dict[str, Any]:
    rt = runtime(request)
    task = owned_task(rt, body.taskId, kind="music", key=key)
    audio_id = body.audioId
    if not audio_id:
        ids = task.data.get("job_ids", [])
        if body.musicIndex not in (0, 1) or body.musicIndex >= len(ids):
            raise InvalidRequest("give audioId (or musicIndex 0 or 1)", field="audioId", limit="required")
        audio_id = ids[body.musicIndex]
    job = finished_track(rt, audio_id, key=key, task=task)
    return ok({"alignedWords": ex.aligned_words(rt.service, job), "waveformData": ex.waveform(rt.service, job),
               "hootCer": 0.0, "isStreamed": False})


@router.post("/api/v1/style/generate", summary="Boost a style description")
def style_boost(body: StyleBody, request: Request, key: ApiKey) -> dict[str, Any]:
    from songforge.engine.plan import plan_song

    content = cv.require(body.content, field_name="content", why="")
    cv.check_length(content, 2000, field_name="content")
    plan = plan_song(SongRequest(prompt=content), seed=0)
    names = ", ".join(sorted({_instrument(p) for _, p in plan.instruments}))
    result = (f"{plan.genre}, {plan.mood}, {plan.tempo_bpm:g} BPM, {_key_name(plan.tonic_pc)} {plan.mode}, "
              f"{'instrumental' if plan.instrumental else plan.gender + ' vocals'}, {names}")
    now = utc_now()
    return ok({"taskId": uuid.uuid4().hex, "param": content, "result": result, "creditsConsumed": 0,
               "creditsRemaining": None, "successFlag": "1", "errorCode": None, "errorMessage": None,
               "createTime": time_text(now)})


def _instrument(program: int) -> str:
    import pretty_midi

    return str(pretty_midi.program_to_instrument_name(int(program))).lower()


def _key_name(tonic_pc: int) -> str:
    return ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")[tonic_pc % 12]

