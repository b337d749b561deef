"""One exception tree for songforge.

::

    SongforgeError                 base; ``code`` is a stable machine name, ``http_status`` a hint
    ├── InvalidRequest             bad input (``field`` and ``limit`` say what broke)
    │   ├── ContentTooLong         text or duration over a limit
    │   ├── UnsupportedFormat      unknown format, sample rate, bitrate or channel count
    │   ├── SensitiveContent       refused by the content rules
    │   └── ReferenceRejected      reference audio that cannot be used
    ├── Unauthorized               missing, unknown or revoked key
    ├── NotFound                   unknown job, file or id
    ├── Conflict                   the job is not in a state that allows this (illegal transition)
    ├── RateLimited                over a per-key limit (``retry_after_s``)
    ├── FeatureUnavailable         a feature this installation cannot provide
    ├── MissingDependency          a system part (SoundFont, Festival, ...) is not installed
    ├── GenerationFailed           the engine failed on an accepted job (``reason``)
    └── HttpError                  a transport-level refusal (unknown path, wrong method, body too
                                   large, unexpected failure) with its HTTP status

Dialects map these onto their own envelopes; the engine raises only these.
"""

from __future__ import annotations

__all__ = [
    "SongforgeError",
    "InvalidRequest",
    "ContentTooLong",
    "UnsupportedFormat",
    "SensitiveContent",
    "ReferenceRejected",
    "Unauthorized",
    "NotFound",
    "Conflict",
    "RateLimited",
    "FeatureUnavailable",
    "MissingDependency",
    "GenerationFailed",
    "HttpError",
]


class SongforgeError(Exception):
    """Base of every songforge error."""

    code = "internal_error"
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(SongforgeError):
    """The request breaks a rule; ``field`` names the input and ``limit`` the rule."""

    code = "invalid_request"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, limit: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.limit = limit


class ContentTooLong(InvalidRequest):
    code = "content_too_long"


class UnsupportedFormat(InvalidRequest):
    code = "unsupported_format"


class SensitiveContent(InvalidRequest):
    code = "sensitive_content"


class ReferenceRejected(InvalidRequest):
    """``reason``: too_short, too_long, too_large, not_audio, unreachable or private_address."""

    code = "reference_rejected"

    def __init__(
        self, message: str, *, reason: str = "not_audio", field: str | None = None, limit: str | None = None
    ) -> None:
        super().__init__(message, field=field, limit=limit)
        self.reason = reason


class Unauthorized(SongforgeError):
    code = "unauthorized"
    http_status = 401


class NotFound(SongforgeError):
    code = "not_found"
    http_status = 404


class Conflict(SongforgeError):
    code = "conflict"
    http_status = 409


class RateLimited(SongforgeError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class FeatureUnavailable(SongforgeError):
    code = "feature_unavailable"
    http_status = 501


class MissingDependency(SongforgeError):
    code = "missing_dependency"
    http_status = 503


class GenerationFailed(SongforgeError):
    code = "generation_failed"
    http_status = 500

    def __init__(self, message: str, *, reason: str = "engine_error") -> None:
        super().__init__(message)
        self.reason = reason


class HttpError(SongforgeError):
    """A refusal at the HTTP level (404 route, 405, 413, 500) carried as a songforge error, so
    that every dialect renders it in its own envelope. ``code`` follows the status."""

    _CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 500: "internal_error"}

    def __init__(self, message: str, *, http_status: int, limit: str | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = self._CODES.get(http_status, "http_error")
        self.limit = limit
