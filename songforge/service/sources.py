"""What later edits need from a finished song, and references resolved for the engine.

:func:`put_source` keeps, next to each finished job's files, the bit-exact master, the request
with its seed and the analysis of its score; :func:`resolve_reference` (in the worker) turns a
request's :class:`~songforge.models.Reference` ids into audio and analysis: one of our jobs via
those files, uploaded audio via :class:`~songforge.service.references.ReferenceService`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from songforge.errors import GenerationFailed
from songforge.models import SongRequest
from songforge.storage.blobs import FileBlobStore

__all__ = [
    "put_source", "resolve_reference", "own_song_analysis", "SOURCE_MASTER", "SOURCE_REQUEST", "SOURCE_ANALYSIS",
    "SONGS_BY_HASH",
]

SOURCE_MASTER, SOURCE_REQUEST, SOURCE_ANALYSIS = "master.flac", "source.json", "analysis.json"
SONGS_BY_HASH = "songs-by-hash"  # <md5 of a delivered song file> -> the job that made it


def put_source(
    result: Any, *, request: SongRequest, lyrics: str | None, blobs: FileBlobStore, job_id: str
) -> None:
    """What a later edit of this song (extend, replace section) needs, under ``<job_id>/``:

    * ``master.flac``: the 48 kHz master, 24-bit FLAC, bit-exact (``make_song`` rounds masters to
      the 24-bit grid). About 13.5 MB a minute of music and 0.3 s to write for 3 minutes;
      regenerating from the request instead would take as long as the song did (12 s for 3
      minutes) and break whenever the engine changes, leaving no way to keep samples identical.
    * ``source.json``: the request with the seed that was used, the sung lyrics, and whether
      the song was itself made from a reference (its score then cannot be composed again).
    * ``analysis.json``: the exact analysis of its score (tempo, beats, key, chords, sections),
      found again by the delivered file's MD5 (``songs-by-hash/<md5>``) when the song comes
      back as uploaded reference audio.
    """
    audio = getattr(result, "audio", None)
    if not isinstance(audio, np.ndarray) or audio.ndim != 2 or getattr(result, "sample_rate_hz", None) != 48000:
        return
    from songforge.engine.remake._common import analysis_of_score, master_to_flac
    from songforge.engine.score import Score
    from songforge.service.pipeline import request_to_dict

    blobs.put(f"{job_id}/{SOURCE_MASTER}", master_to_flac(audio))
    made = getattr(result, "request", None) or request
    source = {"request": request_to_dict(made.with_(seed=int(result.seed))), "lyrics": lyrics,
              "derived": made.reference is not None}
    blobs.put(f"{job_id}/{SOURCE_REQUEST}", json.dumps(source).encode())
    score = getattr(result, "score", None)
    if isinstance(score, Score):
        analysis = analysis_of_score(score, duration_s=audio.shape[0] / 48000, lyrics=lyrics)
        blobs.put(f"{job_id}/{SOURCE_ANALYSIS}", json.dumps(analysis.to_dict()).encode())
        encoded = getattr(result, "encoded", None)
        if isinstance(encoded, bytes | bytearray):
            blobs.put(f"{SONGS_BY_HASH}/{hashlib.md5(encoded).hexdigest()}", job_id.encode())


def own_song_analysis(blobs: FileBlobStore, audio_id: str) -> dict[str, Any] | None:
    """The exact analysis (from its score) when ``audio_id`` (the MD5 of uploaded bytes) is a
    song file this service delivered and still keeps; else ``None``. A cover or extension of one
    of our own songs then follows its real melody, chords and form instead of a transcription."""
    from songforge.errors import NotFound

    try:
        job_id = blobs.read(f"{SONGS_BY_HASH}/{audio_id}").decode()
        data: dict[str, Any] = json.loads(blobs.read(f"{job_id}/{SOURCE_ANALYSIS}"))
    except (NotFound, FileNotFoundError, ValueError, UnicodeDecodeError):
        return None
    data.setdefault("extra", {})["source_job_id"] = job_id
    return data


def resolve_reference(request: SongRequest, *, blobs: FileBlobStore) -> Any:
    """``request.reference`` with its ids resolved for the engine (a
    :class:`~songforge.engine.remake.ResolvedReference`): ``source_job_id`` -> that job's master,
    request and analysis; ``audio_id`` / ``voice_id`` / ``instrumental_id`` -> the stored audio
    (48 kHz stereo float32) and its analysis. Raises ``GenerationFailed(reason=
    "reference_not_found")`` for an id that is unknown or expired."""
    from songforge.engine.remake import ResolvedReference

    spec = request.reference
    assert spec is not None
    refs = _RefLoader(blobs)
    source = refs.own_song(spec.source_job_id) if spec.source_job_id else refs.uploaded(spec.audio_id)
    return ResolvedReference(spec, source=source, voice=refs.uploaded(spec.voice_id),
                             instrumental=refs.uploaded(spec.instrumental_id))


class _RefLoader:
    """Loads reference audio for :func:`resolve_reference`."""

    def __init__(self, blobs: FileBlobStore) -> None:
        self.blobs = blobs
        self._service: Any = None

    def own_song(self, job_id: str) -> Any:
        from songforge.engine.analyze import Analysis
        from songforge.engine.remake import ReferenceAudio
        from songforge.engine.remake._common import master_from_flac
        from songforge.errors import NotFound

        try:
            master = self.blobs.read(f"{job_id}/{SOURCE_MASTER}")
            source = json.loads(self.blobs.read(f"{job_id}/{SOURCE_REQUEST}"))
            analysis = Analysis.from_dict(json.loads(self.blobs.read(f"{job_id}/{SOURCE_ANALYSIS}")))
        except (NotFound, FileNotFoundError, ValueError, KeyError) as exc:
            raise _not_found(f"job {job_id!r} has no finished song to use (unknown, unfinished or expired)") from exc
        from songforge.service.pipeline import request_from_dict

        made = None if source.get("derived") else request_from_dict(source["request"])
        return ReferenceAudio(master_from_flac(master), 48000, analysis, made)

    def uploaded(self, any_id: str | None) -> Any:
        if not any_id:
            return None
        from songforge.engine.analyze import Analysis
        from songforge.engine.encode import decode
        from songforge.engine.remake import ReferenceAudio
        from songforge.engine.remake._common import to_master_format
        from songforge.errors import NotFound

        try:
            path = self.service.path_of(any_id)
            stored = self.service.resolve(any_id)
        except NotFound as exc:
            raise _not_found(str(exc)) from exc
        audio, rate = decode(path)
        analysis = Analysis.from_dict(self.service.analyze(stored.audio_id))
        return ReferenceAudio(to_master_format(audio, sample_rate_hz=rate), 48000, analysis)

    @property
    def service(self) -> Any:
        if self._service is None:
            from songforge.service.references import ReferenceService

            # the worker only reads stored references: nothing here fetches URLs or signs links
            self._service = ReferenceService(None, self.blobs)
        return self._service


def _not_found(message: str) -> GenerationFailed:
    return GenerationFailed(message, reason="reference_not_found")
