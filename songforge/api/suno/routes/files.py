"""The upload host: ``/api/file-base64-upload``, ``/api/file-stream-upload``, ``/api/file-url-upload``.

Files are stored under ``uploads/<id>/<name>`` and handed back as a signed loopback
``downloadUrl`` valid 3 days (the vendor deletes uploads after 3 days), which
``references.intake(url=...)`` reads locally. URL uploads go through the callback SSRF guard and
are capped at the request body limit.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
import uuid
from typing import Annotated

import httpx
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from songforge.api.auth import ApiKey, service_of
from songforge.api.suno.errors import ROUTE_CLASS
from songforge.api.suno.wire import Base64UploadBody, UrlUploadBody, upload_envelope
from songforge.errors import ContentTooLong, InvalidRequest, ReferenceRejected
from songforge.service.callbacks import check_callback_url
from songforge.storage.jobs import utc_now

__all__ = ["router", "UPLOAD_TTL_S"]

router = APIRouter(route_class=ROUTE_CLASS, tags=["suno-files"])
UPLOAD_TTL_S = 3 * 24 * 3600
_SAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")
_FETCH_TIMEOUT_S = 30.0


def _safe(name: str, fallback: str) -> str:
    cleaned = _SAFE_RE.sub("_", name).strip("._")[:120]
    return cleaned or fallback


def _store(request: Request, data: bytes, *, upload_path: str, file_name: str | None) -> JSONResponse:
    service = service_of(request)
    if len(data) > service.settings.max_body_bytes:
        raise ContentTooLong(f"the file has {len(data)} bytes; the limit is {service.settings.max_body_bytes}",
                             field="file", limit=f"{service.settings.max_body_bytes} bytes")
    if not data:
        raise InvalidRequest("the file is empty", field="file", limit="1 byte at least")
    name = _safe(file_name or "", f"{uuid.uuid4().hex[:12]}.bin")
    folder = _safe(upload_path or "", "uploads")
    key = f"uploads/{uuid.uuid4().hex}/{name}"
    service.blobs.put(key, data)
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return upload_envelope(200, "File uploaded successfully", {
        "fileName": name, "filePath": f"{folder}/{name}", "downloadUrl": service.signer.sign(key, ttl_s=UPLOAD_TTL_S),
        "fileSize": len(data), "mimeType": mime, "uploadedAt": utc_now().isoformat(),
    })


@router.post("/api/file-base64-upload", summary="Upload a file as base64", response_model=None)
def base64_upload(body: Base64UploadBody, request: Request, key: ApiKey) -> JSONResponse:
    text = body.base64Data.split(",", 1)[1] if body.base64Data.startswith("data:") else body.base64Data
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("base64Data is not valid base64", field="base64Data", limit="base64 text") from None
    return _store(request, data, upload_path=body.uploadPath, file_name=body.fileName)


@router.post("/api/file-stream-upload", summary="Upload a file (multipart)", response_model=None)
async def stream_upload(
    request: Request, key: ApiKey, file: Annotated[UploadFile, File()], uploadPath: Annotated[str, Form()],
    fileName: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    data = await file.read()
    return _store(request, data, upload_path=uploadPath, file_name=fileName or file.filename)


@router.post("/api/file-url-upload", summary="Upload a file from a URL", response_model=None)
def url_upload(body: UrlUploadBody, request: Request, key: ApiKey) -> JSONResponse:
    data = _fetch(request, body.fileUrl)
    name = body.fileName or body.fileUrl.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return _store(request, data, upload_path=body.uploadPath, file_name=name)


def _fetch(request: Request, url: str) -> bytes:
    settings = service_of(request).settings
    try:
        check_callback_url(url, allow_private=settings.allow_private_callbacks)
    except InvalidRequest as exc:
        raise ReferenceRejected(exc.message.replace("callback URL", "fileUrl"), reason="private_address",
                                field="fileUrl", limit="public http(s) URL") from None
    chunks: list[bytes] = []
    size = 0
    try:
        with httpx.stream("GET", url, timeout=_FETCH_TIMEOUT_S, follow_redirects=False) as response:
            if response.status_code != 200:
                raise ReferenceRejected(f"fileUrl answered HTTP {response.status_code}", reason="unreachable",
                                        field="fileUrl", limit="HTTP 200")
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > settings.max_body_bytes:
                    raise ContentTooLong(f"the file is over {settings.max_body_bytes} bytes", field="fileUrl",
                                         limit=f"{settings.max_body_bytes} bytes")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise ReferenceRejected(f"fileUrl could not be fetched: {exc}", reason="unreachable", field="fileUrl",
                                limit="reachable URL") from None
    return b"".join(chunks)


