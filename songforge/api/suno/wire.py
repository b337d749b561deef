"""Wire shapes of the sunoapi.org dialect (API_SPEC.md section 3): bodies, limits, envelope, codes.

Every answer is HTTP 200 with ``{"code", "msg", "data"}`` (the upload host: ``{"success", "code",
"msg", "data"}``); :func:`error_code` maps the songforge exception tree onto the vendor's codes.
Bodies keep unknown keys (``extra="allow"``) so that the stored ``param`` is the request as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from songforge.errors import (
    Conflict,
    ContentTooLong,
    FeatureUnavailable,
    GenerationFailed,
    HttpError,
    InvalidRequest,
    MissingDependency,
    NotFound,
    RateLimited,
    ReferenceRejected,
    SensitiveContent,
    SongforgeError,
    Unauthorized,
)

__all__ = [
    "ModelLimits", "MODELS", "NON_CUSTOM_PROMPT_MAX_CHARS", "LYRICS_PROMPT_MAX_WORDS", "envelope", "ok",
    "error_code", "upload_envelope", "GenerateBody", "ExtendBody", "UploadCoverBody", "UploadExtendBody",
    "AddVocalsBody", "AddInstrumentalBody", "ReplaceSectionBody", "LyricsBody", "TrackBody", "VocalRemovalBody",
    "MidiBody", "CoverBody", "PersonaBody", "TimestampedLyricsBody", "StyleBody", "Base64UploadBody",
    "UrlUploadBody", "CODE_UNAVAILABLE", "model_name",
]

NON_CUSTOM_PROMPT_MAX_CHARS = 500
LYRICS_PROMPT_MAX_WORDS = 200
CODE_UNAVAILABLE = 455  # the vendor's "system maintenance": a feature this installation cannot provide


@dataclass(frozen=True)
class ModelLimits:
    """Per-model limits: custom-mode ``prompt``/``style``/``title`` characters, longest song (s),
    longest uploaded audio (s), and the ``modelName`` reported for its tracks."""

    prompt_chars: int
    style_chars: int
    title_chars: int
    max_duration_s: float
    max_upload_s: float
    model_name: str


MODELS: dict[str, ModelLimits] = {
    "V3_5": ModelLimits(3000, 200, 80, 240.0, 480.0, "chirp-v3-5"),
    "V4": ModelLimits(3000, 200, 80, 240.0, 480.0, "chirp-v4"),
    "V4_5": ModelLimits(5000, 1000, 100, 480.0, 480.0, "chirp-v4-5"),
    "V4_5PLUS": ModelLimits(5000, 1000, 100, 480.0, 480.0, "chirp-v4-5plus"),
    "V4_5ALL": ModelLimits(5000, 1000, 80, 480.0, 60.0, "chirp-v4-5all"),
    "V5": ModelLimits(5000, 1000, 100, 480.0, 480.0, "chirp-v5"),
    "V5_5": ModelLimits(5000, 1000, 100, 480.0, 480.0, "chirp-v5-5"),
}


def model_name(model: str) -> str:
    """The ``modelName`` of a track made with ``model`` (``V4_5`` -> ``chirp-v4-5``)."""
    limits = MODELS.get(model)
    return limits.model_name if limits else model


# -- envelope ---------------------------------------------------------------------------------

def envelope(code: int, msg: str, data: Any = None) -> JSONResponse:
    """``{"code", "msg", "data"}`` with HTTP 200 (the vendor reports errors in the envelope)."""
    return JSONResponse({"code": code, "msg": msg, "data": data}, status_code=200)


def ok(data: Any) -> dict[str, Any]:
    """A success body."""
    return {"code": 200, "msg": "success", "data": data}


def upload_envelope(code: int, msg: str, data: Any = None) -> JSONResponse:
    """The upload host's ``{"success", "code", "msg"[, "data"]}`` with HTTP 200."""
    body: dict[str, Any] = {"success": code == 200, "code": code, "msg": msg}
    if data is not None:
        body["data"] = data
    return JSONResponse(body, status_code=200)


def error_code(exc: SongforgeError) -> int:
    """The vendor's envelope code for a songforge error (API_SPEC 3.7)."""
    if isinstance(exc, ReferenceRejected):
        return 451 if exc.reason in ("unreachable", "private_address") else 400
    if isinstance(exc, ContentTooLong):
        return 413
    if isinstance(exc, SensitiveContent | InvalidRequest):
        return 400
    if isinstance(exc, RateLimited):
        return 430 if "per minute" in exc.message else 405
    if isinstance(exc, HttpError):
        return {404: 404, 405: 404, 413: 413}.get(exc.http_status, 500)
    table: tuple[tuple[type[SongforgeError], int], ...] = (
        (Unauthorized, 401), (NotFound, 404), (Conflict, 409), (FeatureUnavailable, CODE_UNAVAILABLE),
        (MissingDependency, CODE_UNAVAILABLE), (GenerationFailed, 500),
    )
    return next((code for cls, code in table if isinstance(exc, cls)), 500)


# -- request bodies ---------------------------------------------------------------------------

class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


# OpenAPI only (validation, with the vendor's messages, stays in the routes): the values the
# routes accept, so generated clients and schema-based fuzzers send bodies that can succeed.
def _models_doc(*names: str, default: str | None = None) -> Any:
    """A ``str`` field documented as one of ``names`` (every model when none are given)."""
    enum: dict[str, Any] = {"enum": list(names or MODELS)}
    return Field(json_schema_extra=enum) if default is None else Field(default=default, json_schema_extra=enum)


def _also_required(*names: str) -> Any:
    """A ``json_schema_extra`` adding ``names`` to the schema's ``required`` list."""
    def extra(schema: dict[str, Any]) -> None:
        schema["required"] = [*schema.get("required", []), *names]
    return extra


class _Weights(_Body):
    negativeTags: str | None = None
    vocalGender: str | None = None
    styleWeight: float | None = None
    weirdnessConstraint: float | None = None
    audioWeight: float | None = None
    personaId: str | None = None
    personaModel: str | None = None


def _text(max_chars: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_chars}


# non-custom mode: a prompt (lyrics are written for it); custom mode: style, title and lyrics
_MODES_DOC: dict[str, Any] = {"anyOf": [
    {"properties": {"customMode": {"const": False}, "prompt": _text(500)}, "required": ["prompt"]},
    {"properties": {"customMode": {"const": True}, "style": _text(200), "title": _text(80),
                    "prompt": _text(3000)}, "required": ["style", "title", "prompt"]},
]}


class GenerateBody(_Weights):
    """``POST /api/v1/generate``."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_MODES_DOC)

    customMode: bool
    instrumental: bool
    model: str = _models_doc()
    callBackUrl: str
    prompt: str | None = None
    style: str | None = None
    title: str | None = None


class ExtendBody(_Weights):
    """``POST /api/v1/generate/extend``."""

    defaultParamFlag: bool
    audioId: str
    model: str = _models_doc()
    callBackUrl: str
    prompt: str | None = None
    style: str | None = None
    title: str | None = None
    continueAt: float | None = None


class UploadCoverBody(GenerateBody):
    """``POST /api/v1/generate/upload-cover``."""

    uploadUrl: str


class UploadExtendBody(_Weights):
    """``POST /api/v1/generate/upload-extend``."""

    uploadUrl: str
    defaultParamFlag: bool
    model: str = _models_doc()
    callBackUrl: str
    instrumental: bool = False
    prompt: str | None = None
    style: str | None = None
    title: str | None = None
    continueAt: float | None = None


class AddVocalsBody(_Weights):
    """``POST /api/v1/generate/add-vocals``."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_also_required("negativeTags"))

    uploadUrl: str
    prompt: str
    title: str
    style: str
    callBackUrl: str
    model: str = _models_doc("V4_5PLUS", "V5", default="V4_5PLUS")


class AddInstrumentalBody(_Weights):
    """``POST /api/v1/generate/add-instrumental``."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_also_required("negativeTags"))

    uploadUrl: str
    title: str
    tags: str
    callBackUrl: str
    model: str = _models_doc("V4_5PLUS", "V5", default="V4_5PLUS")


class ReplaceSectionBody(_Weights):
    """``POST /api/v1/generate/replace-section``."""

    taskId: str
    audioId: str
    prompt: str
    tags: str
    title: str
    infillStartS: float
    infillEndS: float
    callBackUrl: str | None = None
    fullLyrics: str | None = None


class LyricsBody(_Body):
    """``POST /api/v1/lyrics``."""

    prompt: str
    callBackUrl: str


class TrackBody(_Body):
    """``POST /api/v1/wav/generate`` (a track of a music task)."""

    taskId: str
    audioId: str
    callBackUrl: str


class VocalRemovalBody(TrackBody):
    """``POST /api/v1/vocal-removal/generate``."""

    type: str = "separate_vocal"


class MidiBody(_Body):
    """``POST /api/v1/midi/generate`` (``taskId`` of a finished vocal-removal task)."""

    taskId: str
    callBackUrl: str
    audioId: str | None = None


class CoverBody(_Body):
    """``POST /api/v1/suno/cover/generate``."""

    taskId: str
    callBackUrl: str


class PersonaBody(_Body):
    """``POST /api/v1/generate/generate-persona``."""

    taskId: str
    audioId: str
    name: str
    description: str


class TimestampedLyricsBody(_Body):
    """``POST /api/v1/generate/get-timestamped-lyrics`` (``audioId``, or the older ``musicIndex``)."""

    taskId: str
    audioId: str | None = None
    musicIndex: int | None = None


class StyleBody(_Body):
    """``POST /api/v1/style/generate``."""

    content: str


class Base64UploadBody(_Body):
    """``POST /api/file-base64-upload``."""

    base64Data: str
    uploadPath: str
    fileName: str | None = None


class UrlUploadBody(_Body):
    """``POST /api/file-url-upload``."""

    fileUrl: str
    uploadPath: str
    fileName: str | None = None
