"""AIML wire bodies to canonical requests, and jobs back to AIML generation views.

Credits rule (``meta.usage``): songforge charges nothing, but AIML clients read ``meta.usage``,
so every generation reports the nominal flat price AIML documents for one MiniMax song
(:data:`CREDITS_PER_SONG` = 390,000 credits, its music-2.6 example) and ``usd_spent`` at AIML's
rate of :data:`CREDITS_PER_USD` = 2,000,000 credits per US dollar (both of its examples use it:
390,000 -> $0.195, 120,000 -> $0.06). The same figures are shown on create and on every poll.

Status words: queued -> ``queued``; running / first_ready -> ``generating``; succeeded ->
``completed`` (``audio_file.url``: a signed link to this server's ``/files/``); failed /
cancelled -> ``error`` with ``error.name`` the job's reason code (``timeout``, ``engine_error``,
``cancelled``, ...) and ``error.message`` its message.
"""

from __future__ import annotations

from typing import Any

from songforge.api.aimlapi.issues import issue
from songforge.api.aimlapi.wire import (
    DEFAULT_BITRATE_BPS,
    DEFAULT_FORMAT,
    DEFAULT_SAMPLE_RATE_HZ,
    AudioSetting,
    CoverBody,
    GenerationBody,
    LegacyBody,
    Music26Body,
)
from songforge.models import JobStatus, Reference, SongRequest
from songforge.service.references import AudioLimits, ReferenceService
from songforge.service.songs import SongService
from songforge.storage.jobs import Job

__all__ = [
    "to_song_request", "create_view", "poll_view", "usage", "COVER_LIMITS", "LEGACY_LIMITS",
    "CREDITS_PER_SONG", "CREDITS_PER_USD", "STATUS_WORDS",
]

CREDITS_PER_SONG = 390_000
CREDITS_PER_USD = 2_000_000
REFERENCE_FIELD = "reference_audio_url"
COVER_LIMITS = AudioLimits(min_duration_s=6.0, max_duration_s=360.0, max_bytes=50 * 1024 * 1024)
LEGACY_LIMITS = AudioLimits(min_duration_s=15.0, max_duration_s=600.0, max_bytes=50 * 1024 * 1024,
                            formats=("wav", "mp3"))
STATUS_WORDS = {
    JobStatus.QUEUED: "queued", JobStatus.RUNNING: "generating", JobStatus.FIRST_READY: "generating",
    JobStatus.SUCCEEDED: "completed", JobStatus.FAILED: "error", JobStatus.CANCELLED: "error",
}


# -- requests ---------------------------------------------------------------------------------

def to_song_request(body: GenerationBody, references: ReferenceService) -> SongRequest:
    """The canonical request for a parsed body; reference audio is taken in (and, for the legacy
    model, registered) through ``references``. Raises ``InvalidRequest`` (``ReferenceRejected``
    for unusable reference audio) or ``FeatureUnavailable``."""
    extra: dict[str, object] = {"aimlapi_model": body.model}
    if isinstance(body, LegacyBody):
        return _legacy_request(body, references, extra)
    encoding = _encoding(body.audio_setting)
    if isinstance(body, Music26Body):
        return SongRequest(**_music26_text(body), **encoding, extra=extra)
    if isinstance(body, CoverBody):
        url, base64_data = _reference_source(body.reference_audio_url)
        stored = references.intake(url=url, base64_data=base64_data, limits=COVER_LIMITS, field=REFERENCE_FIELD)
        reference = Reference(mode="cover", audio_id=stored.audio_id)
        return SongRequest(prompt=body.prompt, lyrics=body.lyrics, reference=reference, **encoding, extra=extra)
    return SongRequest(prompt=body.prompt, lyrics=body.lyrics, **encoding, extra=extra)


def _encoding(setting: AudioSetting | None) -> dict[str, Any]:
    setting = setting or AudioSetting.model_validate({})
    rates = {rate for rate in (setting.audio_sample_rate, setting.sample_rate) if rate is not None}
    if len(rates) > 1:
        raise issue('audio_sample_rate and sample_rate disagree; give one of them at "audio_setting"',
                    field="audio_setting", limit="one sample rate")
    return {
        "sample_rate_hz": rates.pop() if rates else DEFAULT_SAMPLE_RATE_HZ,
        "bitrate_kbps": (setting.bitrate or DEFAULT_BITRATE_BPS) // 1000,
        "format": setting.format or DEFAULT_FORMAT,
        "channels": 2,
    }


def _music26_text(body: Music26Body) -> dict[str, Any]:
    """Prompt, lyrics and instrumental flag of a music-2.6 body, checked as MiniMax checks them."""
    prompt, lyrics = (body.prompt or "").strip(), (body.lyrics or "").strip()
    if body.is_instrumental:
        if not prompt:
            raise issue('prompt is required when is_instrumental is true at "prompt"', field="prompt",
                        limit="1-2000 characters")
        return {"prompt": body.prompt, "lyrics": None, "instrumental": True}
    if lyrics:
        return {"prompt": body.prompt or "", "lyrics": body.lyrics}
    if not body.lyrics_optimizer:
        raise issue('lyrics are required unless is_instrumental or lyrics_optimizer is true at "lyrics"',
                    field="lyrics", limit="1-3000 characters")
    if not prompt:
        raise issue('prompt is required when lyrics_optimizer writes the lyrics at "prompt"', field="prompt",
                    limit="1-2000 characters")
    return {"prompt": body.prompt, "lyrics": None}


def _reference_source(value: str, *, url_only: bool = False) -> tuple[str | None, str | None]:
    """``reference_audio_url`` as ``(url, base64_data)`` for ``intake``: an http(s) URL, or base64
    (plain or a ``data:...;base64,`` URL) unless ``url_only``."""
    scheme = value.split("://", 1)[0].lower() if "://" in value[:16] else None
    if scheme in ("http", "https"):
        return value, None
    if url_only or scheme is not None:
        raise issue(f'Invalid url at "{REFERENCE_FIELD}"', field=REFERENCE_FIELD,
                    limit="an http(s) URL" if url_only else "an http(s) URL or base64")
    if value.startswith("data:"):
        header, _, data = value.partition(",")
        if not header.endswith(";base64"):
            raise issue(f'a data: URL must be base64 at "{REFERENCE_FIELD}"', field=REFERENCE_FIELD,
                        limit="data:<type>;base64,<data>")
        return None, data
    return None, value


def _legacy_request(body: LegacyBody, references: ReferenceService, extra: dict[str, object]) -> SongRequest:
    url, _ = _reference_source(body.reference_audio_url, url_only=True)
    stored = references.intake(url=url, limits=LEGACY_LIMITS, field=REFERENCE_FIELD)
    ids = references.register(stored.audio_id, "song")
    reference = Reference(mode="generate", voice_id=ids.voice_id, instrumental_id=ids.instrumental_id)
    return SongRequest(prompt="", lyrics=legacy_lyrics(body.prompt) or None, reference=reference, extra=extra)


def legacy_lyrics(text: str) -> str:
    """music-01 lyrics in canonical form: the ``##`` accompaniment markers dropped (the reference's
    band always plays), ``\\n`` lines and ``\\n\\n`` pauses kept.

    >>> legacy_lyrics("##Hello there\\nmy friend##")
    'Hello there\\nmy friend'
    """
    return "\n".join(line.replace("##", "").strip() for line in text.strip().split("\n")).strip()


# -- responses --------------------------------------------------------------------------------

def usage() -> dict[str, Any]:
    """``meta.usage`` of a generation (the credits rule of this module)."""
    return {"credits_used": CREDITS_PER_SONG, "usd_spent": CREDITS_PER_SONG / CREDITS_PER_USD}


def create_view(job: Job) -> dict[str, Any]:
    """The ``POST /v2/generate/audio`` answer for a just-queued job."""
    return {"id": job.id, "status": "queued", "meta": {"usage": usage()}}


def poll_view(service: SongService, job: Job) -> dict[str, Any]:
    """The ``GET /v2/generate/audio?generation_id=`` answer for ``job``."""
    status = STATUS_WORDS[job.status]
    song_key = ((job.result or {}).get("assets") or {}).get("song")
    audio_file = {"url": service.file_url(song_key)} if status == "completed" and song_key else None
    error = None
    if status == "error":
        name = job.error_code or job.status.value
        error = {"name": name, "message": job.error_message or name}
    return {"id": job.id, "status": status, "audio_file": audio_file, "error": error, "meta": {"usage": usage()}}
