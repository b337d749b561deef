"""Reference audio for MiniMax requests, through :class:`~songforge.service.references.ReferenceService`
only: cover sources (``audio_url`` / ``audio_base64`` / ``cover_feature_id``), music-01 profile ids,
and ``/v1/music_upload`` files.

Blocking (URL fetches, hashing, analysis): routes call these in a worker thread.
"""

from __future__ import annotations

from songforge.api.minimax.wire import MusicGenerationBody
from songforge.errors import InvalidRequest, NotFound
from songforge.models import Reference
from songforge.service.references import AudioLimits, ReferenceIds, ReferenceService, StoredAudio

__all__ = [
    "COVER_LIMITS", "UPLOAD_LIMITS", "intake_cover", "cover_reference", "legacy_reference", "upload",
    "UPLOAD_PURPOSES",
]

_MB = 1024 * 1024
COVER_LIMITS = AudioLimits(min_duration_s=6.0, max_duration_s=360.0, max_bytes=50 * _MB)
UPLOAD_LIMITS = AudioLimits(min_duration_s=10.0, max_duration_s=600.0, max_bytes=50 * _MB, formats=("wav", "mp3"))
UPLOAD_PURPOSES = ("song", "voice", "instrumental")


def intake_cover(references: ReferenceService, *, audio_url: str | None, audio_base64: str | None) -> StoredAudio:
    """Store cover reference audio given as a URL or base64 (exactly one, checked by the caller)."""
    if audio_url is not None:
        return references.intake(url=audio_url, limits=COVER_LIMITS, field="audio_url")
    return references.intake(base64_data=audio_base64, limits=COVER_LIMITS, field="audio_base64")


def _resolve(references: ReferenceService, any_id: str, field: str) -> StoredAudio:
    try:
        return references.resolve(any_id)
    except NotFound:
        raise InvalidRequest(f"{field} {any_id!r} is unknown or has expired", field=field,
                             limit="an id returned by this server in the last 24 h") from None


def cover_reference(references: ReferenceService, body: MusicGenerationBody) -> Reference:
    """The cover's :class:`Reference` (mode ``cover``) from its one source."""
    if body.cover_feature_id is not None:
        stored = _resolve(references, body.cover_feature_id, "cover_feature_id")
    else:
        stored = intake_cover(references, audio_url=body.audio_url, audio_base64=body.audio_base64)
    return Reference(mode="cover", audio_id=stored.audio_id)


def legacy_reference(references: ReferenceService, body: MusicGenerationBody) -> Reference:
    """music-01's :class:`Reference` (mode ``generate``): the voice and/or instrumental profile.

    ``refer_vocal`` (the replacement timbre) must exist too, but the canonical Reference has no
    slot for it; it travels in ``SongRequest.extra`` (see :mod:`songforge.api.minimax.convert`).
    """
    ids = {name: getattr(body, name) or None for name in ("refer_voice", "refer_instrumental", "refer_vocal")}
    for field, any_id in ids.items():
        if any_id:
            _resolve(references, any_id, field)
    return Reference(mode="generate", voice_id=ids["refer_voice"], instrumental_id=ids["refer_instrumental"])


def upload(references: ReferenceService, *, data: bytes, purpose: str) -> ReferenceIds:
    """Store an uploaded file (wav/mp3, 10 s-10 min) and register it for ``purpose``."""
    if purpose not in UPLOAD_PURPOSES:
        raise InvalidRequest(f"purpose must be one of {', '.join(UPLOAD_PURPOSES)}, not {purpose!r}",
                             field="purpose", limit=", ".join(UPLOAD_PURPOSES))
    stored = references.intake(data=data, limits=UPLOAD_LIMITS, field="file")
    return references.register(stored.audio_id, purpose)
