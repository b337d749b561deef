"""Wire <-> canonical: a checked body -> :class:`~songforge.models.SongRequest`; a finished job,
stored reference audio or a lyric sheet -> the fields of MiniMax's responses.

Units: ``audio_setting.bitrate`` is bits per second (SongRequest: kbps); ``music_duration`` and
music-01's ``audio_length`` are milliseconds; ``music_size`` / ``audio_size`` bytes;
``audio_duration`` (cover preprocess) seconds.
"""

from __future__ import annotations

import json
from typing import Any

from songforge.api.minimax.rules import LEGACY, ModelRules, given
from songforge.api.minimax.wire import (
    DEFAULT_BITRATE_BPS,
    DEFAULT_CHANNELS,
    DEFAULT_FORMAT,
    DEFAULT_SAMPLE_RATE_HZ,
    AudioSetting,
    MusicGenerationBody,
)
from songforge.models import Reference, SongRequest
from songforge.service.references import StoredAudio
from songforge.storage.jobs import Job

__all__ = [
    "song_request", "extra_info", "legacy_extra_info", "preprocess_fields", "lyrics_fields",
    "LEGACY_DURATION_S", "STATUS_DONE", "STATUS_SYNTHESIZING",
]

LEGACY_DURATION_S = 60.0  # music-01 output is at most one minute
STATUS_SYNTHESIZING, STATUS_DONE = 1, 2
_LEGACY_ACCOMPANIMENT_MARK = "##"


def _lyrics(body: MusicGenerationBody, rules: ModelRules) -> str | None:
    """Lyrics to sing; ``None`` = none given (written by the engine, or taken from the reference)."""
    if body.is_instrumental or body.lyrics_optimizer or not given(body.lyrics):
        return None
    text = body.lyrics or ""
    return text.replace(_LEGACY_ACCOMPANIMENT_MARK, "") if rules.family == LEGACY else text


def _instrumental(body: MusicGenerationBody, rules: ModelRules) -> bool:
    if rules.family == LEGACY:  # only an instrumental profile and no lyrics: an instrumental
        return not given(body.refer_voice) and not given(body.lyrics)
    return body.is_instrumental


def song_request(body: MusicGenerationBody, rules: ModelRules, reference: Reference | None = None) -> SongRequest:
    """The canonical request for a body that passed :func:`~songforge.api.minimax.rules.check_generation`."""
    audio = body.audio_setting or AudioSetting()
    extra: dict[str, object] = {"minimax_model": rules.name}
    if given(body.refer_vocal):
        extra["refer_vocal"] = body.refer_vocal
    return SongRequest(
        prompt=(body.prompt or "") if rules.family != LEGACY else "",
        lyrics=_lyrics(body, rules),
        instrumental=_instrumental(body, rules),
        seed=body.seed,
        format=audio.format or DEFAULT_FORMAT,
        sample_rate_hz=audio.sample_rate or DEFAULT_SAMPLE_RATE_HZ,
        bitrate_kbps=(audio.bitrate or DEFAULT_BITRATE_BPS) // 1000,
        channels=audio.channel or DEFAULT_CHANNELS,
        duration_s=LEGACY_DURATION_S if rules.family == LEGACY else None,
        watermark=body.aigc_watermark and not body.stream,  # the vendor ignores it when streaming
        reference=reference,
        extra=extra,
    )


def _result(job: Job) -> dict[str, Any]:
    return job.result or {}


def extra_info(job: Job) -> dict[str, int]:
    """``extra_info`` of music-2.x / cover responses."""
    result = _result(job)
    return {
        "music_duration": round(float(result.get("duration_s", 0.0)) * 1000),
        "music_sample_rate": int(result.get("sample_rate_hz") or job.request.get("sample_rate_hz") or 0),
        "music_channel": int(result.get("channels") or job.request.get("channels") or 0),
        "bitrate": int(job.request.get("bitrate_kbps", 0)) * 1000,
        "music_size": int(result.get("size_bytes", 0)),
    }


def legacy_extra_info(job: Job) -> dict[str, int]:
    """``extra_info`` of music-01 responses (``audio_length`` in ms)."""
    info = extra_info(job)
    return {"audio_length": info["music_duration"], "audio_size": info["music_size"],
            "audio_bitrate": info["bitrate"], "audio_sample_rate": info["music_sample_rate"]}


def preprocess_fields(stored: StoredAudio, analysis: dict[str, Any]) -> dict[str, Any]:
    """``cover_feature_id``, ``formatted_lyrics``, ``structure_result`` (a JSON *string*) and
    ``audio_duration`` (seconds) for stored audio and its analysis."""
    segments = [
        {"start": round(float(s["start_s"]), 3), "end": round(float(s["end_s"]), 3), "label": str(s["label"])}
        for s in analysis.get("sections") or []
    ]
    structure = json.dumps({"num_segments": len(segments), "segments": segments}, separators=(",", ":"))
    return {
        "cover_feature_id": stored.audio_id,
        "formatted_lyrics": analysis.get("lyrics") or "",
        "structure_result": structure,
        "audio_duration": round(float(stored.duration_s), 3),
    }


def lyrics_fields(sheet: Any, *, title: str | None) -> dict[str, str]:
    """``song_title``, ``style_tags``, ``lyrics`` of a written or edited sheet (a given title is kept)."""
    return {"song_title": title or sheet.title or "", "style_tags": sheet.style_tags or "", "lyrics": sheet.to_text()}
