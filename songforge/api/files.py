"""``GET /files/{key}?expires=&sig=``: generated files behind signed, expiring URLs.

The signature is the authorization (no API key: the links are handed to players and browsers).
Starlette's ``FileResponse`` serves ``Range`` requests: 206 with ``Content-Range`` for a
satisfiable range, 416 with ``Content-Range: bytes */size`` for one past the end.
"""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from songforge.api.auth import service_of
from songforge.errors import NotFound

__all__ = ["router", "media_type_of"]

router = APIRouter(tags=["files"])

_MEDIA_TYPES = {
    ".mp3": "audio/mpeg", ".wav": "audio/wav", ".flac": "audio/flac", ".pcm": "audio/L16",
    ".mid": "audio/midi", ".json": "application/json", ".lrc": "text/plain; charset=utf-8",
}


def media_type_of(key: str) -> str:
    """Content type of a stored file, from its suffix."""
    suffix = "." + key.rsplit(".", 1)[-1].lower() if "." in key else ""
    return _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


@router.head("/files/{key:path}", include_in_schema=False)
@router.get(
    "/files/{key:path}", response_class=FileResponse,
    summary="Download a generated file",
    responses={206: {"description": "Partial content (Range request)"}, 401: {"description": "Bad or expired link"},
               416: {"description": "Range not satisfiable"}},
)
def get_file(
    request: Request, key: str,
    expires: Annotated[int, Query(description="Unix time (s) after which the link stops working.")],
    sig: Annotated[str, Query(description="HMAC-SHA256 signature of the key and expiry.", max_length=128)],
) -> FileResponse:
    """Serve a file named by a signed link; supports ``Range`` (single and multiple ranges)."""
    service = service_of(request)
    service.signer.verify(key, expires=expires, sig=sig)
    path = service.blobs.path_for(key)
    if not path.is_file():
        raise NotFound("this file no longer exists")
    filename = key.rsplit("/", 1)[-1]
    headers = {"Cache-Control": "private, max-age=60"}
    return FileResponse(path, media_type=media_type_of(key), filename=filename, headers=headers,
                        content_disposition_type="inline")
