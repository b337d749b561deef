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
* :meth:`ReferenceService.path_of` gives the pipeline the local file of any of those ids.

A song made from a reference is an ordinary job whose :class:`~songforge.models.SongRequest`
carries a :class:`~songforge.models.Reference`; the pipeline resolves it for the engine.

Files live under ``refs/`` in the blob store (layout in :mod:`songforge.storage.refs`): the
audio as received, a JSON record (without it the audio does not exist for the service) and
the cached analysis. Every use (intake again, register, resolve, analyze) refreshes the files' modification times,
so the janitor's age sweep keeps references that are in use; :meth:`ReferenceService.sweep`
removes unused ones as a whole, never sooner than :data:`REF_MIN_KEEP_S`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from songforge.errors import (
    GenerationFailed,
    InvalidRequest,
    NotFound,
    ReferenceRejected,
    SongforgeError,
    Unauthorized,
)
from songforge.service.audio_probe import NotAudio, measure_duration_s, sniff_format
from songforge.service.fetch import FETCH_TIMEOUT_S, UrlFetcher
from songforge.service.sources import own_song_analysis
from songforge.storage.refs import (
    REFS_PREFIX,
    RefFiles,
    analysis_key,
    audio_key,
    record_key,
)
from songforge.storage.urls import FILES_PREFIX, UrlSigner

__all__ = [
    "AudioLimits", "StoredAudio", "ReferenceIds", "ReferenceService", "REJECT_REASONS", "PURPOSES",
    "REFS_PREFIX", "REF_MIN_KEEP_S", "VOICE_ID_PREFIX", "INSTRUMENTAL_ID_PREFIX",
]

PURPOSES = ("song", "voice", "instrumental")
REJECT_REASONS = ("too_short", "too_long", "too_large", "not_audio", "unreachable", "private_address")
REF_MIN_KEEP_S = 24 * 3600.0  # MiniMax keeps a cover_feature_id 24 h; so do we, at least
VOICE_ID_PREFIX = "vocal-"
INSTRUMENTAL_ID_PREFIX = "instrumental-"

_AUDIO_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_PURPOSE_KINDS = {"song": ("voice", "instrumental"), "voice": ("voice",), "instrumental": ("instrumental",)}
_ID_PREFIXES = {"voice": VOICE_ID_PREFIX, "instrumental": INSTRUMENTAL_ID_PREFIX}
_DATA_URI_RE = re.compile(r"^data:[^,]{0,200};base64,", re.IGNORECASE)
_SNIFF_BYTES = 64 * 1024


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
    """Reference intake, analysis and ids over the service's blob store.

    Parameters
    ----------
    settings : the service settings (``allow_private_callbacks`` also lets reference URLs reach
        private addresses; the signing secret recognises this server's own file links).
    blobs : the service's :class:`~songforge.storage.blobs.FileBlobStore`.
    signer : checks this server's signed ``/files/...`` links (default: one from ``settings``).
    fetcher : downloads URLs (default: a :class:`~songforge.service.fetch.UrlFetcher`).
    """

    def __init__(  # settings None: a reader of stored references only (the worker), never fetching
        self, settings: Any, blobs: Any, *, signer: UrlSigner | None = None, fetcher: UrlFetcher | None = None,
    ) -> None:
        self.settings = settings
        self.blobs = blobs
        self.files = RefFiles(blobs)
        self._signer = signer
        self.fetcher = fetcher or UrlFetcher(
            allow_private=bool(getattr(settings, "allow_private_callbacks", False)),
            timeout_s=float(getattr(settings, "reference_fetch_timeout_s", FETCH_TIMEOUT_S)),
        )

    @property
    def signer(self) -> UrlSigner:
        """The file-link signer (made from the settings on first use)."""
        if self._signer is None:
            self._signer = UrlSigner(
                self.settings.signing_key(), ttl_s=self.settings.url_ttl_s, base_url=self.settings.base_url()
            )
        return self._signer

    # -- intake -------------------------------------------------------------------------------

    def intake(
        self, *, data: bytes | None = None, base64_data: str | None = None, url: str | None = None,
        limits: AudioLimits, field: str = "audio",
    ) -> StoredAudio:
        """Check and store one reference given as bytes, base64 text or a URL (exactly one).

        A URL is fetched with the SSRF guard, the size cap and a timeout; a signed URL of this
        server's own files (``/files/...``) is read locally. Raises ``ReferenceRejected``.
        """
        raw = self._read_source(data, base64_data, url, limits=limits, field=field)
        fmt, duration_s = _check_audio(raw, limits=limits, field=field)
        return self._store(raw, fmt=fmt, duration_s=duration_s)

    def _read_source(
        self, data: bytes | None, base64_data: str | None, url: str | None, *, limits: AudioLimits, field: str,
    ) -> bytes:
        given = [s for s in (data, base64_data, url) if s is not None]
        if len(given) != 1:
            raise InvalidRequest(
                f"give the reference audio exactly one way ({len(given)} given)", field=field,
                limit="exactly one of file, base64 or URL",
            )
        if data is not None:
            return bytes(data)
        if base64_data is not None:
            return _decode_base64(base64_data, max_bytes=limits.max_bytes, field=field)
        return self._read_url(str(url), max_bytes=limits.max_bytes, field=field)

    def _read_url(self, url: str, *, max_bytes: int, field: str) -> bytes:
        key = self._own_file_key(url.strip(), field=field)
        if key is None:
            return self.fetcher.fetch(url.strip(), max_bytes=max_bytes, field=field)
        try:
            if self.blobs.size(key) > max_bytes:
                raise _rejected(f"reference audio {key!r} is larger than {max_bytes} bytes",
                                "too_large", field, f"{max_bytes} bytes")
            return bytes(self.blobs.read(key))
        except NotFound:
            raise _rejected(f"reference URL {url!r} names a file that no longer exists", "unreachable",
                            field, "a reachable http(s) URL") from None

    def _own_file_key(self, url: str, *, field: str) -> str | None:
        """The blob key of a signed link of this server's files; ``None`` for any other URL."""
        parts = urlsplit(url)
        at = parts.path.find(FILES_PREFIX)
        query = parse_qs(parts.query)
        if at < 0 or "sig" not in query:
            return None
        key = unquote(parts.path[at + len(FILES_PREFIX):])
        try:
            self.signer.verify(key, expires=query.get("expires", [""])[0], sig=query["sig"][0])
        except Unauthorized as exc:
            if self._is_own_host(parts.netloc):
                raise _rejected(f"reference URL {url!r} cannot be used: {exc.message}", "unreachable",
                                field, "a valid, unexpired file link") from None
            return None  # another server's /files/ path: fetch it like any URL
        return key

    def _is_own_host(self, netloc: str) -> bool:
        return not netloc or netloc.lower() == urlsplit(self.settings.base_url()).netloc.lower()

    def _store(self, raw: bytes, *, fmt: str, duration_s: float) -> StoredAudio:
        """Keep ``raw`` under its MD5 (reusing an identical earlier upload) with its record."""
        audio_id = hashlib.md5(raw, usedforsecurity=False).hexdigest()
        key = audio_key(audio_id, fmt)
        self.files.put_new(key, raw)
        with self.files.locked(key):
            record = self.files.read_json(record_key(audio_id))
            if record is None:
                record = {
                    "audio_id": audio_id, "format": fmt, "duration_s": round(duration_s, 4),
                    "size_bytes": len(raw), "created": datetime.now(UTC).isoformat(), "purposes": [],
                }
                self.files.write_json(record_key(audio_id), record)
        self.files.touch(audio_id, key)
        return _stored(record)

    # -- ids ----------------------------------------------------------------------------------

    def register(self, audio_id: str, purpose: str) -> ReferenceIds:
        """Profile ids for stored audio and ``purpose`` (one of :data:`PURPOSES`)."""
        if purpose not in PURPOSES:
            raise InvalidRequest(
                f"unknown purpose {purpose!r}; use one of: {', '.join(PURPOSES)}", field="purpose",
                limit=", ".join(PURPOSES),
            )
        stored = self.resolve(audio_id)
        with self.files.locked(stored.key):
            record = self.files.read_json(record_key(stored.audio_id))
            if record is None:
                raise NotFound(f"no reference audio with id {audio_id!r}")
            record["purposes"] = sorted({*record.get("purposes", ()), purpose})
            self.files.write_json(record_key(stored.audio_id), record)
        kinds = _PURPOSE_KINDS[purpose]
        return ReferenceIds(
            audio_id=stored.audio_id,
            voice_id=VOICE_ID_PREFIX + stored.audio_id if "voice" in kinds else None,
            instrumental_id=INSTRUMENTAL_ID_PREFIX + stored.audio_id if "instrumental" in kinds else None,
        )

    def resolve(self, any_id: str) -> StoredAudio:
        """The stored audio behind an audio id, voice id or instrumental id; raises ``NotFound``."""
        audio_id, kind = _parse_id(any_id)
        record = self.files.read_json(record_key(audio_id))
        if record is None or (kind is not None and kind not in _granted_kinds(record)):
            raise NotFound(f"no reference audio with id {any_id!r} (unknown or expired)")
        stored = _stored(record)
        if not self.files.exists(stored.key):
            raise NotFound(f"no reference audio with id {any_id!r} (unknown or expired)")
        self.files.touch(audio_id, stored.key)
        return stored

    def path_of(self, audio_id: str) -> Path:
        """Local file of the audio behind any id :meth:`resolve` accepts; raises ``NotFound``."""
        return self.files.path(self.resolve(audio_id).key)

    # -- analysis -----------------------------------------------------------------------------

    def analyze(self, audio_id: str) -> dict[str, Any]:
        """The analysis of stored audio (see :mod:`songforge.engine.analyze`), cached.

        JSON-safe dict with at least: ``duration_s``, ``tempo_bpm``, ``key`` (e.g. ``"A minor"``),
        ``sections`` (list of ``{"label", "start_s", "end_s"}``; labels intro, verse, chorus,
        bridge, outro, inst, silence), ``has_vocals``, ``lyrics`` (tagged lyrics transcribed from
        the vocals, ``None`` without vocals).

        A song this service delivered (the same bytes) gets the exact analysis of its score.
        The first call analyses and writes ``refs/<audio_id>.analysis.json`` atomically; calls
        at the same time (threads or processes) wait for it instead of analysing again.
        """
        stored = self.resolve(audio_id)
        cache_key = analysis_key(stored.audio_id)
        cached = self.files.read_json(cache_key)
        if cached is not None:
            return cached
        with self.files.locked(stored.key):
            cached = self.files.read_json(cache_key)
            if cached is not None:
                return cached
            result = own_song_analysis(self.blobs, stored.audio_id) or _run_analysis(self.files.path(stored.key))
            self.files.write_json(cache_key, result)
        return result

    # -- housekeeping -------------------------------------------------------------------------

    def sweep(self, age_s: float, *, now_s: float | None = None) -> int:
        """Remove references unused for ``max(age_s, REF_MIN_KEEP_S)`` seconds; returns files removed.

        A reference goes as a whole (audio, record, analysis); stray ``refs/`` files that belong
        to no record go by the same age.
        """
        return self.files.sweep(max(age_s, REF_MIN_KEEP_S), now_s=now_s)


# -- checks ------------------------------------------------------------------------------------


def _check_audio(raw: bytes, *, limits: AudioLimits, field: str) -> tuple[str, float]:
    """``(format, duration_s)`` of acceptable audio; raises ``ReferenceRejected``."""
    if len(raw) > limits.max_bytes:
        raise _rejected(f"reference audio is {len(raw)} bytes, more than {limits.max_bytes}",
                        "too_large", field, f"{limits.max_bytes} bytes")
    formats = ", ".join(limits.formats)
    fmt = sniff_format(raw[:_SNIFF_BYTES])
    if fmt is None or fmt not in limits.formats:
        what = "not audio" if fmt is None else f"{fmt} audio"
        raise _rejected(f"the reference is {what}; accepted: {formats}", "not_audio", field, formats)
    duration_s = _duration_s(raw, fmt=fmt, field=field, formats=formats)
    if duration_s < limits.min_duration_s:
        raise _rejected(f"reference audio is {duration_s:.2f} s, shorter than {limits.min_duration_s:g} s",
                        "too_short", field, f"{limits.min_duration_s:g}-{limits.max_duration_s:g} s")
    if duration_s > limits.max_duration_s:
        raise _rejected(f"reference audio is {duration_s:.2f} s, longer than {limits.max_duration_s:g} s",
                        "too_long", field, f"{limits.min_duration_s:g}-{limits.max_duration_s:g} s")
    return fmt, duration_s


def _duration_s(raw: bytes, *, fmt: str, field: str, formats: str) -> float:
    with tempfile.TemporaryDirectory(prefix="songforge-ref-") as tmp:
        path = Path(tmp, f"reference.{fmt}")
        path.write_bytes(raw)
        try:
            return measure_duration_s(path, format=fmt)
        except NotAudio as exc:
            raise _rejected(f"the reference is not usable audio: {exc}", "not_audio", field, formats) from None


def _decode_base64(text: str, *, max_bytes: int, field: str) -> bytes:
    body = "".join(_DATA_URI_RE.sub("", text.strip(), count=1).split())
    if len(body) // 4 * 3 > max_bytes + 3:
        raise _rejected(f"reference audio is larger than {max_bytes} bytes", "too_large", field,
                        f"{max_bytes} bytes")
    altchars = b"-_" if ("-" in body or "_" in body) else None
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        raise _rejected("the reference is not valid base64 text", "not_audio", field,
                        "base64 of a wav, mp3, flac, ogg or m4a file") from None


def _run_analysis(path: Path) -> dict[str, Any]:
    from songforge.engine import analyze as engine_analyze

    try:
        analysis = engine_analyze.analyze_file(path)
    except SongforgeError:
        raise
    except Exception as exc:
        raise GenerationFailed(f"analysing the reference failed: {exc}", reason="analysis_failed") from exc
    return analysis.to_dict()


# -- ids and keys ------------------------------------------------------------------------------


def _parse_id(any_id: str) -> tuple[str, str | None]:
    """``(audio_id, kind)`` with kind ``None`` (plain audio id), ``"voice"`` or ``"instrumental"``."""
    text = str(any_id)
    for kind, prefix in _ID_PREFIXES.items():
        if text.startswith(prefix) and _AUDIO_ID_RE.match(text[len(prefix):]):
            return text[len(prefix):], kind
    if _AUDIO_ID_RE.match(text):
        return text, None
    raise NotFound(f"no reference audio with id {any_id!r}")


def _granted_kinds(record: dict[str, Any]) -> set[str]:
    return {kind for purpose in record.get("purposes", ()) for kind in _PURPOSE_KINDS.get(purpose, ())}


def _stored(record: dict[str, Any]) -> StoredAudio:
    audio_id, fmt = str(record["audio_id"]), str(record["format"])
    return StoredAudio(
        audio_id=audio_id, format=fmt, duration_s=float(record["duration_s"]),
        size_bytes=int(record["size_bytes"]), key=audio_key(audio_id, fmt),
    )


def _rejected(message: str, reason: str, field: str, limit: str) -> ReferenceRejected:
    return ReferenceRejected(message, reason=reason, field=field, limit=limit)
