"""Music tasks: one vendor ``taskId`` for a pair of jobs, its record-info view and its callbacks.

The task row is written before the jobs are submitted (the jobs carry its id in
``SongRequest.extra["suno_task_id"]``), so no job event can arrive for an unknown task. Every
status event of a Suno job re-evaluates its task: the stages reached since the last look are sent
in order, each once (:meth:`~songforge.storage.tasks.TaskStore.mark_sent` guards the race of two
tracks finishing together).
"""

from __future__ import annotations

import uuid
from typing import Any

from songforge.api.suno.convert import MusicSpec
from songforge.api.suno.runtime import SunoRuntime
from songforge.api.suno.views import (
    STAGES,
    error_of,
    music_callback,
    music_stage,
    music_status,
    record_item,
    track_fields,
)
from songforge.errors import NotFound, SongforgeError
from songforge.service.lifecycle import EVENT_STATUS, JobEvent
from songforge.storage.jobs import ApiKeyRecord, Job
from songforge.storage.tasks import TaskRecord

__all__ = ["submit_music", "music_record", "evaluate", "on_job_event", "task_jobs", "TASK_KEY", "VARIATIONS"]

TASK_KEY = "suno_task_id"
VARIATIONS = 2
DIALECT = "suno"


def submit_music(
    runtime: SunoRuntime, spec: MusicSpec, *, key: ApiKeyRecord, callback_url: str | None, param: str,
    model: str, operation: str, parent_music_id: str = "",
) -> str:
    """Create the task and submit its two jobs; returns the ``taskId``."""
    task_id = uuid.uuid4().hex
    data = {"model": model, "operation": operation, "title": spec.title, "tags": spec.tags, "lyrics": spec.lyrics,
            "instrumental": spec.request.instrumental, "parent_music_id": parent_music_id, "job_ids": [], **spec.extra}
    runtime.tasks.create(TaskRecord(id=task_id, kind="music", param=param, data=data, owner_key_id=key.id,
                                    callback_url=callback_url))
    request = spec.request.with_(extra={**spec.request.extra, TASK_KEY: task_id, "suno_model": model})
    try:
        jobs = runtime.service.submit(request, dialect=DIALECT, key=key, callback_url=callback_url,
                                      variations=VARIATIONS)
    except SongforgeError as exc:
        runtime.tasks.update(task_id, status="CREATE_TASK_FAILED", error_code=400, error_message=exc.message)
        raise
    runtime.tasks.update(task_id, data={**data, "job_ids": [j.id for j in jobs]})
    evaluate(runtime, task_id)
    return task_id


def task_jobs(runtime: SunoRuntime, task: TaskRecord) -> list[Job]:
    """The task's jobs, in order."""
    return [runtime.service.get(job_id) for job_id in task.data.get("job_ids", [])]


def music_record(runtime: SunoRuntime, task: TaskRecord) -> dict[str, Any]:
    """``data`` of ``GET /api/v1/generate/record-info``."""
    jobs = task_jobs(runtime, task)
    failure = error_of(jobs)
    status = music_status(jobs) if jobs else task.status
    items = [record_item(track_fields(runtime.service, task, job)) for job in jobs]
    return {
        "taskId": task.id, "parentMusicId": str(task.data.get("parent_music_id") or ""), "param": task.param,
        "response": {"taskId": task.id, "sunoData": items}, "status": status, "type": "GENERATE",
        "operationType": str(task.data.get("operation", "generate")),
        "errorCode": failure[0] if failure else task.error_code,
        "errorMessage": failure[1] if failure else task.error_message,
    }


def evaluate(runtime: SunoRuntime, task_id: str) -> None:
    """Send every callback stage the task has reached and not yet sent, in order, once each."""
    with runtime.lock:
        task = runtime.tasks.get(task_id, kind="music")
        jobs = task_jobs(runtime, task)
        stage = music_stage(jobs) if jobs else None
        if stage is None:
            return
        wanted = ("error",) if stage == "error" else STAGES[: STAGES.index(stage) + 1]
        for index, name in enumerate(wanted):
            if runtime.tasks.mark_sent(task_id, name) and task.callback_url:
                after = wanted[index - 1] if index else None  # sent by this or another process
                runtime.deliver(task.callback_url, music_callback(runtime.service, task, jobs, name), order_key=task_id,
                                stage=name, after=after)


def on_job_event(runtime: SunoRuntime, event: JobEvent) -> None:
    """Bus listener: re-evaluate the task of a Suno job on each of its status changes."""
    if event.kind != EVENT_STATUS:
        return
    try:
        job = runtime.service.get(event.job_id)
    except NotFound:
        return
    task_id = (job.request.get("extra") or {}).get(TASK_KEY)
    if job.dialect != DIALECT or not task_id:
        return
    try:
        evaluate(runtime, str(task_id))
    except NotFound:
        return
