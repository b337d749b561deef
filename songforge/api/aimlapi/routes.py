"""The AIML routes: ``POST /v2/generate/audio`` (create) and ``GET /v2/generate/audio`` (poll).

Handlers are sync: FastAPI runs them in its thread pool, where reference intake may fetch a URL
and the job store is read and written. The music-01 pass-through routes under
``/v2/generate/audio/minimax/`` belong to the MiniMax dialect.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from songforge.api.aimlapi.convert import create_view, poll_view, to_song_request
from songforge.api.aimlapi.errors import render_error
from songforge.api.aimlapi.issues import issue, parse_body
from songforge.api.aimlapi.wire import (
    CreateResponse,
    ErrorResponse,
    PollResponse,
    request_body_schema,
)
from songforge.api.auth import ApiKey, owned_job, service_of
from songforge.api.dialect import route_class

__all__ = ["router", "NAME", "PATH", "MODEL_TIER"]

NAME = "aimlapi"
PATH = "/v2/generate/audio"
MODEL_TIER = "paid"  # AIML has no -free model variants: every model counts at the paid rate

router = APIRouter(route_class=route_class(render_error), tags=["aimlapi"])


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorResponse} for status in statuses}


@router.post(
    PATH, response_model=CreateResponse, summary="AI/ML API: create a music generation",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": request_body_schema()}}}},
    responses=_errors(400, 401, 404, 413, 429, 500, 503),
)
def create_generation(body: Annotated[Any, Body()], request: Request, key: ApiKey) -> dict[str, Any]:
    """Queue one song for ``minimax/music-2.6``, ``-2.0``, ``-1.5``, ``-cover`` or ``minimax-music``;
    poll it with ``GET /v2/generate/audio?generation_id=``."""
    service = service_of(request)
    if service.keys is not None:
        service.keys.hit_model(key, MODEL_TIER)
    song = to_song_request(parse_body(body), service.references)
    [job] = service.submit(song, dialect=NAME, key=key)
    return create_view(job)


# documented as required (it is); read as optional so a missing id gets AIML's own message
_GENERATION_ID_DOC = {"parameters": [{
    "name": "generation_id", "in": "query", "required": True, "description": "The id from POST /v2/generate/audio.",
    "schema": {"type": "string", "minLength": 1},
}]}


@router.get(PATH, response_model=PollResponse, summary="AI/ML API: status and audio of a generation",
            responses=_errors(400, 401, 404, 429, 500), openapi_extra=_GENERATION_ID_DOC)
def get_generation(
    request: Request, key: ApiKey,
    generation_id: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> dict[str, Any]:
    """``queued``, ``generating``, ``completed`` (with ``audio_file.url``) or ``error``."""
    if not generation_id:
        raise issue('Required at "generation_id"', field="generation_id", limit="required")
    service = service_of(request)
    return poll_view(service, owned_job(service, generation_id, key))
