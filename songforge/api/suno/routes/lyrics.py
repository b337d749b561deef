"""Lyrics: ``POST /api/v1/lyrics`` (two sheets, in the background) and its record-info."""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from songforge.api.auth import ApiKey
from songforge.api.suno import convert as cv
from songforge.api.suno.errors import ROUTE_CLASS
from songforge.api.suno.routes._common import owned_task, runtime
from songforge.api.suno.runtime import SunoRuntime
from songforge.api.suno.wire import LYRICS_PROMPT_MAX_WORDS, LyricsBody, ok
from songforge.errors import ContentTooLong, SensitiveContent, SongforgeError
from songforge.service.lyrics import write_sheet
from songforge.storage.jobs import utc_now
from songforge.storage.tasks import SUCCESS, TaskRecord

__all__ = ["router", "write_task", "lyrics_record", "SHEETS"]

router = APIRouter(route_class=ROUTE_CLASS, tags=["suno"])
SHEETS = 2


@router.post("/api/v1/lyrics", summary="Write two lyric sheets")
def create_lyrics(body: LyricsBody, request: Request, key: ApiKey) -> dict[str, Any]:
    prompt = cv.require(body.prompt, field_name="prompt", why="")
    words = len(prompt.split())
    if words > LYRICS_PROMPT_MAX_WORDS:
        raise ContentTooLong(f"prompt has {words} words; the limit is {LYRICS_PROMPT_MAX_WORDS} words", field="prompt",
                             limit=f"{LYRICS_PROMPT_MAX_WORDS} words")
    rt = runtime(request)
    task = rt.tasks.create(TaskRecord(id=uuid.uuid4().hex, kind="lyrics", param=cv.param_json(body),
                                      owner_key_id=key.id, callback_url=body.callBackUrl or None,
                                      data={"prompt": prompt, "seed": secrets.randbelow(cv.SEED_LIMIT)}))
    rt.run(write_task, rt, task.id)
    return ok({"taskId": task.id})


def write_task(rt: SunoRuntime, task_id: str) -> None:
    """Write the sheets, record them, and send the lyrics callback."""
    task = rt.tasks.get(task_id, kind="lyrics")
    prompt, seed = str(task.data["prompt"]), int(task.data["seed"])
    try:
        sheets = [write_sheet(rt.service.settings, prompt, seed=(seed + i) % cv.SEED_LIMIT) for i in range(SHEETS)]
    except SongforgeError as exc:
        status = "SENSITIVE_WORD_ERROR" if isinstance(exc, SensitiveContent) else "GENERATE_LYRICS_FAILED"
        task = rt.tasks.update(task_id, status=status, error_code=400 if status != "GENERATE_LYRICS_FAILED" else 500,
                               error_message=exc.message, completed_at=utc_now())
        _send(rt, task)
        return
    items = [{"text": s.to_text(), "title": s.title or "", "status": "complete", "errorMessage": ""} for s in sheets]
    task = rt.tasks.update(task_id, status=SUCCESS, data={**task.data, "items": items}, completed_at=utc_now())
    _send(rt, task)


def _send(rt: SunoRuntime, task: TaskRecord) -> None:
    if not rt.tasks.mark_sent(task.id, "complete"):
        return
    if task.status == SUCCESS:
        body = {"code": 200, "msg": "All generated successfully.",
                "data": {"callbackType": "complete", "taskId": task.id, "data": task.data["items"]}}
    else:
        body = {"code": task.error_code or 500, "msg": task.error_message or "lyrics generation failed",
                "data": {"callbackType": "error", "taskId": task.id, "data": None}}
    rt.deliver(task.callback_url, body, order_key=task.id)


def lyrics_record(task: TaskRecord) -> dict[str, Any]:
    """``data`` of ``GET /api/v1/lyrics/record-info``."""
    return {
        "taskId": task.id, "param": task.param,
        "response": {"taskId": task.id, "data": task.data.get("items") or []},
        "status": task.status, "type": "LYRICS", "errorCode": task.error_code, "errorMessage": task.error_message,
    }


@router.get("/api/v1/lyrics/record-info", summary="Status and sheets of a lyrics task")
def lyrics_record_info(request: Request, key: ApiKey, taskId: Annotated[str, Query(max_length=64)]) -> dict[str, Any]:
    return ok(lyrics_record(owned_task(runtime(request), taskId, kind="lyrics", key=key)))

