"""MiniMax wire bodies (API_SPEC.md 2.3, 2.7, 2.8, 4.3) and the success envelope.

Pydantic checks types and enums here; the per-model rules (lengths, which fields go together)
live in :mod:`songforge.api.minimax.rules`, so that each error names the vendor's limit.
Unknown top-level fields are ignored, as the vendor does (the official CLI sends extras such as
``seed`` for covers; ``seed`` is honoured).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AudioSetting", "MusicGenerationBody", "CoverPreprocessBody", "LyricsGenerationBody",
    "base_resp", "ok_envelope", "SAMPLE_RATES_HZ", "BITRATES_BPS", "FORMATS", "SEED_MAX",
    "DEFAULT_SAMPLE_RATE_HZ", "DEFAULT_BITRATE_BPS", "DEFAULT_FORMAT", "DEFAULT_CHANNELS",
]

SAMPLE_RATES_HZ = (16000, 24000, 32000, 44100)
BITRATES_BPS = (32000, 64000, 128000, 256000)
FORMATS = ("mp3", "wav", "pcm", "flac")  # flac: listed by the official CLI only
SEED_MAX = 1_000_000
# The models ``rules.MODELS`` knows, documented in the OpenAPI (a test checks the two agree;
# validation, with MiniMax's own messages, is done by ``rules``).
TEXT_MODEL_NAMES = ("music-2.6", "music-2.6-free", "music-2.5+", "music-2.5", "music-2.0", "music-1.5",
                    "music-cover", "music-cover-free", "music-01")
# server defaults are UNCONFIRMED (API_SPEC 6.2): these are what the official CLI and SDK send
DEFAULT_SAMPLE_RATE_HZ = 44100
DEFAULT_BITRATE_BPS = 256000
DEFAULT_FORMAT = "mp3"
DEFAULT_CHANNELS = 2


class AudioSetting(BaseModel):
    """``audio_setting``: delivery encoding (rates in Hz, bitrate in bits per second)."""

    model_config = ConfigDict(extra="ignore")

    sample_rate: Literal[16000, 24000, 32000, 44100] | None = None
    bitrate: Literal[32000, 64000, 128000, 256000] | None = None
    format: Literal["mp3", "wav", "pcm", "flac"] | None = None
    channel: Literal[1, 2] | None = None


class MusicGenerationBody(BaseModel):
    """``POST /v1/music_generation`` (and the AI/ML pass-through ``.../minimax/generate``)."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(json_schema_extra={"enum": list(TEXT_MODEL_NAMES)})  # OpenAPI only: see rules
    prompt: str | None = None
    lyrics: str | None = None
    stream: bool = False
    output_format: Literal["hex", "url"] = "hex"
    audio_setting: AudioSetting | None = None
    aigc_watermark: bool = False
    lyrics_optimizer: bool = False
    is_instrumental: bool = False
    audio_url: str | None = None
    audio_base64: str | None = None
    cover_feature_id: str | None = None
    seed: int | None = Field(default=None, ge=0, le=SEED_MAX)
    refer_voice: str | None = None
    refer_instrumental: str | None = None
    refer_vocal: str | None = None


class CoverPreprocessBody(BaseModel):
    """``POST /v1/music_cover_preprocess``: one of ``audio_url`` / ``audio_base64``."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(json_schema_extra={"enum": ["music-cover", "music-cover-free"]})
    audio_url: str | None = None
    audio_base64: str | None = None


class LyricsGenerationBody(BaseModel):
    """``POST /v1/lyrics_generation``."""

    model_config = ConfigDict(extra="ignore")

    mode: Literal["write_full_song", "edit"]
    prompt: str | None = None
    lyrics: str | None = None
    title: str | None = None


def base_resp(status_code: int = 0, status_msg: str = "success") -> dict[str, Any]:
    """``{"status_code", "status_msg"}``: 0 and ``"success"`` for a good answer."""
    return {"status_code": status_code, "status_msg": status_msg}


def ok_envelope(trace_id: str, **fields: Any) -> dict[str, Any]:
    """A success body: ``fields``, then ``trace_id`` and ``base_resp`` (0, success)."""
    return {**fields, "trace_id": trace_id, "base_resp": base_resp()}
