"""The web studio: the page at ``/`` (static files of ``songforge/web``) and the native routes it
needs beyond :mod:`songforge.api.native`.

* ``GET /v1/songs``: the caller's songs, newest first (the dev key sees every song);
* ``GET /v1/songs/{id}/extras``: signed links to the song's cover image and a zip of its stems,
  each made once, on first request, and kept beside the job's other files.

The page is a client of the API like any other: it sends the key the user typed (kept in the
browser) with every call, so auth and rate limits apply to it unchanged.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from songforge.api.auth import ApiKey, owned_job, service_of
from songforge.api.native import JobId, JobLinks
from songforge.api.suno.views import ensure_cover, plan_of
from songforge.errors import Conflict
from songforge.models import JobStatus
from songforge.service.keys import DEV_KEY
from songforge.service.songs import SongService
from songforge.storage.jobs import Job

__all__ = ["router", "install", "web_root", "SongSummary", "SongList", "SongExtras", "HISTORY_MAX"]

HISTORY_MAX = 100

router = APIRouter(prefix="/v1", tags=["studio"])


class SongSummary(BaseModel):
    id: str
    status: str = Field(description="queued, running, first_ready, succeeded, failed or cancelled.")
    title: str | None
    prompt: str
    instrumental: bool
    seed: int | None
    duration_s: float | None = Field(description="Length of the finished song; null until it is done.")
    dialect: str = Field(description="The API the song was asked for through (native, suno, ...).")
    created_at: str
    request: dict[str, Any] | None = Field(
        description="The native request body that makes this song again (null for songs asked for through "
                    "a vendor API or from reference audio): change its seed for a variation.")
    links: JobLinks


class SongList(BaseModel):
    songs: list[SongSummary]


class SongExtras(BaseModel):
    cover_url: str = Field(description="Signed link to the cover image (PNG).")
    stems_zip_url: str | None = Field(None, description="Signed link to a zip of the stem WAVs, if stems were made.")


def web_root() -> Path:
    """The folder of the studio's static files (inside the installed package)."""
    return Path(str(resources.files("songforge") / "web"))


_SAME_NAMES = ("prompt", "lyrics", "instrumental", "gender", "duration_s", "seed", "format", "sample_rate_hz",
               "bitrate_kbps", "channels", "title", "language", "negative_prompt", "style_weight", "weirdness")
_WANTS = {"stems": "want_stems", "midi": "want_midi", "timings": "want_timings"}


def _native_request(job: Job) -> dict[str, Any] | None:
    req = job.request
    if job.dialect != "native" or req.get("reference"):
        return None
    body = {name: req[name] for name in _SAME_NAMES if req.get(name) is not None}
    return {**body, **{name: bool(req.get(want)) for name, want in _WANTS.items()}}


def _title(service: SongService, job: Job) -> str | None:
    """The asked-for title, else the one the songwriter gave the finished song."""
    title = job.request.get("title")
    if not title and job.status == JobStatus.SUCCEEDED:
        title = plan_of(service, job).get("title")
    return str(title) if title else None


def _summary(service: SongService, job: Job) -> dict[str, Any]:
    req, result = job.request, job.result or {}
    return {
        "id": job.id, "status": job.status.value, "title": _title(service, job), "prompt": str(req.get("prompt") or ""),
        "instrumental": bool(req.get("instrumental")), "seed": req.get("seed"),
        "duration_s": result.get("duration_s") if job.status == JobStatus.SUCCEEDED else None,
        "dialect": job.dialect, "created_at": job.created_at.isoformat(), "request": _native_request(job),
        "links": {"self": f"/v1/songs/{job.id}", "events": f"/v1/songs/{job.id}/events"},
    }


@router.get("/songs", response_model=SongList, summary="Your songs, newest first")
def list_songs(
    request: Request, key: ApiKey,
    limit: Annotated[int, Query(ge=1, le=HISTORY_MAX, description="How many songs at most.")] = 30,
) -> dict[str, Any]:
    """The caller's songs from every API (the dev key sees all songs), newest first."""
    owner = None if key.id == DEV_KEY.id else key.id
    service = service_of(request)
    jobs = service.store.list_jobs(owner_key_id=owner, limit=limit, newest_first=True)
    return {"songs": [_summary(service, job) for job in jobs]}


def _stems_zip(service: SongService, job: Job) -> str | None:
    stems = ((job.result or {}).get("assets") or {}).get("stems")
    if not stems:
        return None
    key = f"{job.id}/stems.zip"
    if not service.blobs.exists(key):
        with tempfile.TemporaryFile() as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
                for name, stem_key in sorted(stems.items()):
                    with service.blobs.open(stem_key) as src, archive.open(f"{name}.wav", "w") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
            tmp.seek(0)
            service.blobs.put(key, tmp)
    return key


@router.get("/songs/{job_id}/extras", response_model=SongExtras, summary="Cover image and stems zip of a song",
            responses={409: {"description": "The song is not finished."}})
def song_extras(job_id: JobId, request: Request, key: ApiKey) -> dict[str, Any]:
    """Signed links to the cover image and the stems as one zip (made on first request)."""
    service = service_of(request)
    job = owned_job(service, job_id, key)
    if job.status != JobStatus.SUCCEEDED:
        raise Conflict(f"song {job_id!r} is {job.status.value}; its extras exist once it has succeeded")
    title = _title(service, job) or ""
    zip_key = _stems_zip(service, job)
    return {"cover_url": service.file_url(ensure_cover(service, job, title=title)),
            "stems_zip_url": service.file_url(zip_key) if zip_key else None}


def install(app: FastAPI) -> None:
    """Add the studio's routes, its static files under ``/web`` and the page at ``/``."""
    root = web_root()
    app.include_router(router)
    app.mount("/web", StaticFiles(directory=root), name="web")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(root / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache"})
