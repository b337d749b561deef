"""Reference audio: intake (bytes, base64 or URL), storage by content hash, analysis, ids.

The dialects call this service and nothing below it:

* :meth:`ReferenceService.intake` takes uploaded bytes, base64 text or a URL, checks it against
  the caller's :class:`AudioLimits` (the vendor's limits) and stores it under its content hash,
  so identical audio always gets the identical ``audio_id`` (32 hex digits, the MD5 of the
  bytes). Bad references raise :class:`~songforge.errors.ReferenceRejected` (``field`` and
  ``limit`` say what broke; ``reason`` is one of :data:`REJECT_REASONS`) and store nothing.
* :meth:`ReferenceService.analyze` gives the stored audio's analysis (tempo, key, sections,
  lyrics...), computed once and cached next to the audio.
* :meth:`ReferenceService.register` turns stored audio into profile ids for a purpose
  (``song`` -> voice and instrumental ids, ``voice`` -> voice id, ``instrumental`` ->
  instrumental id), and :meth:`ReferenceService.resolve` maps any id back to its audio.

A song made from a reference is an ordinary job whose :class:`~songforge.models.SongRequest`
carries a :class:`~songforge.models.Reference`; the pipeline resolves it for the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from songforge.errors import FeatureUnavailable

__all__ = [
    "AudioLimits", "StoredAudio", "ReferenceIds", "ReferenceService", "REJECT_REASONS", "PURPOSES",
]

PURPOSES = ("song", "voice", "instrumental")
REJECT_REASONS = ("too_short", "too_long", "too_large", "not_audio", "unreachable", "private_address")
_UNAVAILABLE = "reference audio (uploads, covers, extensions) is not available in this build yet"


@dataclass(frozen=True)
class AudioLimits:
    """What a vendor accepts as reference audio.

    Parameters
    ----------
    min_duration_s, max_duration_s : accepted length, seconds (inclusive).
    max_bytes : largest accepted file.
    formats : accepted containers (sniffed from the bytes, never from the name or URL).
    """

    min_duration_s: float
    max_duration_s: float
    max_bytes: int = 50 * 1024 * 1024
    formats: tuple[str, ...] = ("wav", "mp3", "flac", "ogg", "m4a")


@dataclass(frozen=True)
class StoredAudio:
    """Reference audio kept by the service.

    ``audio_id`` is the MD5 hex digest of the bytes; ``format`` the sniffed container;
    ``duration_s`` its length in seconds; ``size_bytes`` the file size; ``key`` its blob key.
    """

    audio_id: str
    format: str
    duration_s: float
    size_bytes: int
    key: str


@dataclass(frozen=True)
class ReferenceIds:
    """Profile ids made from stored audio (``None`` where the purpose does not make one)."""

    audio_id: str
    voice_id: str | None = None
    instrumental_id: str | None = None


class ReferenceService:
    """Reference intake, analysis and ids over the service's blob store."""

    def __init__(self, settings: Any, blobs: Any) -> None:
        self.settings = settings
        self.blobs = blobs

    def intake(
        self, *, data: bytes | None = None, base64_data: str | None = None, url: str | None = None,
        limits: AudioLimits, field: str = "audio",
    ) -> StoredAudio:
        """Check and store one reference given as bytes, base64 text or a URL (exactly one).

        A URL is fetched with the SSRF guard, the size cap and a timeout; a signed URL of this
        server's own files (``/files/...``) is read locally. Raises ``ReferenceRejected``.
        """
        raise FeatureUnavailable(_UNAVAILABLE)

    def analyze(self, audio_id: str) -> dict[str, Any]:
        """The analysis of stored audio (see :mod:`songforge.engine.analyze`), cached.

        JSON-safe dict with at least: ``duration_s``, ``tempo_bpm``, ``key`` (e.g. ``"A minor"``),
        ``sections`` (list of ``{"label", "start_s", "end_s"}``; labels intro, verse, chorus,
        bridge, outro, inst, silence), ``has_vocals``, ``lyrics`` (tagged lyrics transcribed from
        the vocals, ``None`` without vocals).
        """
        raise FeatureUnavailable(_UNAVAILABLE)

    def register(self, audio_id: str, purpose: str) -> ReferenceIds:
        """Profile ids for stored audio and ``purpose`` (one of :data:`PURPOSES`)."""
        raise FeatureUnavailable(_UNAVAILABLE)

    def resolve(self, any_id: str) -> StoredAudio:
        """The stored audio behind an audio id, voice id or instrumental id; raises ``NotFound``."""
        raise FeatureUnavailable(_UNAVAILABLE)
