"""Canonical request and result types shared by the engine, service and dialects.

A leaf module: it imports nothing from ``api``, ``service``, ``queue`` or ``storage``.
Every dialect converts its wire body into a :class:`SongRequest`; defaults are applied by the
service, so fields here may be ``None`` for "not given".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from songforge.errors import ContentTooLong, InvalidRequest, UnsupportedFormat

__all__ = [
    "AudioFormat",
    "SongRequest",
    "JobStatus",
    "Stage",
    "DURATION_MIN_S",
    "DURATION_MAX_S",
    "PROMPT_MAX_CHARS",
    "LYRICS_MAX_CHARS",
    "SAMPLE_RATES_HZ",
    "BITRATE_MIN_KBPS",
    "BITRATE_MAX_KBPS",
]

DURATION_MIN_S = 10.0
DURATION_MAX_S = 480.0
PROMPT_MAX_CHARS = 2000
LYRICS_MAX_CHARS = 10000
SAMPLE_RATES_HZ = (16000, 24000, 32000, 44100, 48000)
BITRATE_MIN_KBPS = 32
BITRATE_MAX_KBPS = 320
VARIATIONS_MAX = 4


class AudioFormat(str, enum.Enum):
    """Container of the delivered audio; ``pcm`` is raw little-endian signed 16-bit, interleaved."""

    MP3 = "mp3"
    WAV = "wav"
    FLAC = "flac"
    PCM = "pcm"

    @classmethod
    def parse(cls, value: str | AudioFormat) -> AudioFormat:
        """Return the format named by ``value`` or raise :class:`UnsupportedFormat`."""
        try:
            return cls(str(getattr(value, "value", value)).lower())
        except ValueError:
            allowed = ", ".join(f.value for f in cls)
            raise UnsupportedFormat(
                f"format {value!r} is not supported; use one of: {allowed}",
                field="format",
                limit=allowed,
            ) from None


class Stage(str, enum.Enum):
    """Stages of a running job, in order."""

    LYRICS = "lyrics"
    COMPOSE = "compose"
    VOCALS = "vocals"
    RENDER = "render"
    MIX = "mix"
    ENCODE = "encode"


class JobStatus(str, enum.Enum):
    """Lifecycle of a job; ``service.lifecycle`` owns the transitions."""

    QUEUED = "queued"
    RUNNING = "running"
    FIRST_READY = "first_ready"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class SongRequest:
    """What a caller asks for, in canonical units.

    Parameters
    ----------
    prompt : style / scene description, or the theme when the lyrics are to be written.
    lyrics : lyrics with optional structure tags ([Verse], [Chorus], ...); ``None`` = write them.
    instrumental : no vocals at all.
    gender : ``"female"`` or ``"male"`` vocals; ``None`` lets the plan choose.
    duration_s : target length in seconds (10-480); ``None`` lets the plan choose.
    seed : makes the song reproducible; ``None`` = the service picks one and reports it.
    format, sample_rate_hz, bitrate_kbps, channels : delivery encoding.
    negative_prompt : styles or instruments to avoid.
    style_weight : 0-1, how strictly the genre preset is followed.
    weirdness : 0-1, how adventurous harmony, melody and form get.
    """

    prompt: str = ""
    lyrics: str | None = None
    instrumental: bool = False
    gender: str | None = None
    duration_s: float | None = None
    seed: int | None = None
    format: AudioFormat | str = AudioFormat.MP3
    sample_rate_hz: int = 48000
    bitrate_kbps: int = 256
    channels: int = 2
    variations: int = 1
    title: str | None = None
    language: str | None = None
    negative_prompt: str | None = None
    style_weight: float = 0.5
    weirdness: float = 0.5
    want_stems: bool = False
    want_midi: bool = False
    want_timings: bool = False
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "format", AudioFormat.parse(self.format))
        _validate(self)

    def with_(self, **changes: object) -> SongRequest:
        """Return a copy with ``changes`` applied (and validated)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _validate(req: SongRequest) -> None:
    prompt = req.prompt.strip()
    lyrics = (req.lyrics or "").strip()
    if not prompt and not lyrics:
        raise InvalidRequest("prompt is empty: give a prompt or lyrics", field="prompt", limit="1 character at least")
    if len(req.prompt) > PROMPT_MAX_CHARS:
        raise ContentTooLong(
            f"prompt has {len(req.prompt)} characters; the limit is {PROMPT_MAX_CHARS}",
            field="prompt",
            limit=f"{PROMPT_MAX_CHARS} characters",
        )
    if len(lyrics) > LYRICS_MAX_CHARS:
        raise ContentTooLong(
            f"lyrics have {len(lyrics)} characters; the limit is {LYRICS_MAX_CHARS}",
            field="lyrics",
            limit=f"{LYRICS_MAX_CHARS} characters",
        )
    if req.duration_s is not None and not DURATION_MIN_S <= req.duration_s <= DURATION_MAX_S:
        raise InvalidRequest(
            f"duration {req.duration_s:g} s is out of range; it must be {DURATION_MIN_S:g}-{DURATION_MAX_S:g} s",
            field="duration_s",
            limit=f"{DURATION_MIN_S:g}-{DURATION_MAX_S:g} s",
        )
    if req.sample_rate_hz not in SAMPLE_RATES_HZ:
        raise UnsupportedFormat(
            f"sample rate {req.sample_rate_hz} Hz is not supported; use one of {list(SAMPLE_RATES_HZ)}",
            field="sample_rate_hz",
            limit=", ".join(map(str, SAMPLE_RATES_HZ)),
        )
    if not BITRATE_MIN_KBPS <= req.bitrate_kbps <= BITRATE_MAX_KBPS:
        raise UnsupportedFormat(
            f"bitrate {req.bitrate_kbps} kbps is out of range; it must be {BITRATE_MIN_KBPS}-{BITRATE_MAX_KBPS} kbps",
            field="bitrate_kbps",
            limit=f"{BITRATE_MIN_KBPS}-{BITRATE_MAX_KBPS} kbps",
        )
    if req.channels not in (1, 2):
        raise UnsupportedFormat(
            f"channels must be 1 or 2, not {req.channels}", field="channels", limit="1 or 2"
        )
    if req.gender not in (None, "female", "male"):
        raise InvalidRequest(
            f"gender must be 'female' or 'male', not {req.gender!r}", field="gender", limit="female, male"
        )
    if not 1 <= req.variations <= VARIATIONS_MAX:
        raise InvalidRequest(
            f"variations must be 1-{VARIATIONS_MAX}, not {req.variations}",
            field="variations",
            limit=f"1-{VARIATIONS_MAX}",
        )
    if req.language not in (None, "en", "zh"):
        raise InvalidRequest(
            f"language must be 'en' or 'zh', not {req.language!r}", field="language", limit="en, zh"
        )
    for name in ("style_weight", "weirdness"):
        value = getattr(req, name)
        if not 0.0 <= value <= 1.0:
            raise InvalidRequest(f"{name} must be within 0-1, not {value}", field=name, limit="0-1")
    if req.seed is not None and not 0 <= req.seed < 2**32:
        raise InvalidRequest(
            f"seed must be within 0-{2**32 - 1}, not {req.seed}", field="seed", limit=f"0-{2**32 - 1}"
        )
