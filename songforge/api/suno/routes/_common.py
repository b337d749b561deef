"""Helpers shared by the Suno routes: the runtime, owned tasks and tracks, credits."""

from __future__ import annotations

from fastapi import Request

from songforge.api.auth import owned_job, service_of
from songforge.api.suno.errors import InsufficientCredits
from songforge.api.suno.runtime import SunoRuntime, runtime_of
from songforge.errors import InvalidRequest, NotFound
from songforge.models import JobStatus
from songforge.service.keys import DEV_KEY
from songforge.storage.jobs import ApiKeyRecord, Job
from songforge.storage.tasks import TaskRecord

__all__ = [
    "runtime", "owned_task", "owned_track", "finished_track", "credits_of", "charge", "CREDITS_PER_TASK",
    "TIER_CREDITS", "DEV_CREDITS",
]

# Credits (GET /api/v1/generate/credit): songs are not billed by a self-hosted server, but clients
# read a balance. Dev mode (and keys of unknown tiers) report DEV_CREDITS; a key of a tier has that
# tier's allowance minus CREDITS_PER_TASK per music task it ever started, and is refused (429) when
# the balance no longer covers a task.
CREDITS_PER_TASK = 12
TIER_CREDITS = {"free": 1200, "paid": 120_000}
DEV_CREDITS = 1_000_000


def runtime(request: Request) -> SunoRuntime:
    """The dialect runtime of the app's service."""
    return runtime_of(service_of(request))


def _visible(record_owner: str | None, key: ApiKeyRecord) -> bool:
    return key.id == DEV_KEY.id or record_owner == key.id


def owned_task(rt: SunoRuntime, task_id: str, *, kind: str, key: ApiKeyRecord) -> TaskRecord:
    """The task if ``key`` may see it; else :class:`NotFound`."""
    task = rt.tasks.get(task_id, kind=kind)
    if not _visible(task.owner_key_id, key):
        raise NotFound(f"no {kind} task with taskId {task_id!r}")
    return task


def owned_track(rt: SunoRuntime, audio_id: str, *, key: ApiKeyRecord, task: TaskRecord | None = None) -> Job:
    """A track (job) of ours the key may see; with ``task``, it must be one of that task's tracks."""
    if task is not None and audio_id not in task.data.get("job_ids", []):
        raise InvalidRequest(f"audioId {audio_id!r} is not a track of task {task.id!r}", field="audioId",
                             limit="a track of the task")
    return owned_job(rt.service, audio_id, key)


def finished_track(rt: SunoRuntime, audio_id: str, *, key: ApiKeyRecord, task: TaskRecord | None = None) -> Job:
    """Like :func:`owned_track`, and the track must have finished (else :class:`InvalidRequest`)."""
    job = owned_track(rt, audio_id, key=key, task=task)
    if job.status != JobStatus.SUCCEEDED or not job.result:
        raise InvalidRequest(f"track {audio_id!r} is {job.status.value}; it must have finished", field="audioId",
                             limit="a finished track")
    return job


def credits_of(rt: SunoRuntime, key: ApiKeyRecord) -> int:
    """The key's credit balance (see the module notes)."""
    allowance = TIER_CREDITS.get(key.tier)
    if key.id == DEV_KEY.id or allowance is None:
        return DEV_CREDITS
    return max(0, allowance - CREDITS_PER_TASK * rt.tasks.count("music", owner_key_id=key.id))


def charge(rt: SunoRuntime, key: ApiKeyRecord) -> None:
    """Refuse a music task the key's balance does not cover."""
    balance = credits_of(rt, key)
    if balance < CREDITS_PER_TASK:
        raise InsufficientCredits(f"insufficient credits: {balance} left, a task costs {CREDITS_PER_TASK}")
