"""Bearer API keys: the dependency that admits a request and counts it against its key's limit.

``Authorization: Bearer sf_...`` is checked against the stored key hashes (a revoked key gets 401);
in ``dev_mode`` any key, or none, is accepted as the unlimited ``dev`` key. Every admitted request
counts against the key's requests-per-minute (429 with ``Retry-After`` past it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from songforge.errors import NotFound, Unauthorized
from songforge.service.keys import DEV_KEY
from songforge.service.songs import SongService
from songforge.storage.jobs import ApiKeyRecord, Job

__all__ = ["require_key", "ApiKey", "service_of", "owned_job"]

_bearer = HTTPBearer(auto_error=False, description="An API key made with `songforge keys create`.")


def service_of(request: Request) -> SongService:
    """The app's :class:`SongService`."""
    service: SongService = request.app.state.service
    return service


def require_key(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiKeyRecord:
    """The caller's key; raises :class:`Unauthorized` or :class:`~songforge.errors.RateLimited`.

    A sync dependency: FastAPI runs it in its thread pool, so the key lookup never blocks the loop.
    """
    keys = service_of(request).keys
    if keys is None:
        return DEV_KEY
    if credentials is None and request.headers.get("authorization"):
        raise Unauthorized("the Authorization header must be 'Bearer <API key>'")
    key = keys.verify(credentials.credentials if credentials else None)
    keys.hit(key)
    return key


ApiKey = Annotated[ApiKeyRecord, Depends(require_key)]


def owned_job(service: SongService, job_id: str, key: ApiKeyRecord) -> Job:
    """The job if ``key`` may see it (its owner, or the dev key); else :class:`NotFound`."""
    job = service.get(job_id)
    if key.id != DEV_KEY.id and job.owner_key_id != key.id:
        raise NotFound(f"no job with id {job_id!r}")
    return job
