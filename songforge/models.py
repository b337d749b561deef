"""Canonical request and result types shared by the engine, service and dialects.

A leaf module: it imports nothing from ``api``, ``service``, ``queue`` or ``storage``.
Every dialect converts its wire body into a :class:`SongRequest`; defaults are applied by the
service, so fields here may be ``None`` for "not given".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, replace

from songforge.errors import ContentTooLong, InvalidRequest, UnsupportedFormat

__all__ = [
    "AudioFormat",
    "SongRequest",
    "Reference",
    "REFERENCE_MODES",
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
REFERENCE_MODES = ("generate", "cover", "extend", "add_vocals", "add_instrumental", "replace_section")


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
class Reference:
    """A reference track and what to make from it (``SongRequest.reference``).

    Ids come from :class:`songforge.service.references.ReferenceService`; the dialects only
    pass them through. Exactly one source is usually given: ``audio_id`` (uploaded audio, by
    content hash) or ``source_job_id`` (one of our own finished songs).

    Parameters
    ----------
    mode : one of :data:`REFERENCE_MODES`:
        ``generate`` a new song sung/played with the given voice and/or instrumental profile;
        ``cover`` the source's melody, chords, form (and lyrics unless new ones are given) in a
        new style; ``extend`` continue the source from ``continue_at_s``; ``add_vocals`` sing
        over an instrumental; ``add_instrumental`` accompany a vocal track; ``replace_section``
        regenerate ``infill_start_s``..``infill_end_s`` of one of our songs.
    audio_id : stored reference audio (32 hex digits, the MD5 of its bytes).
    source_job_id : one of our finished jobs used as the source.
    voice_id, instrumental_id : profiles made from uploaded audio (``vocal-...``, ``instrumental-...``).
    continue_at_s : where an extension starts, in seconds of the source.
    infill_start_s, infill_end_s : the window replace_section regenerates, in seconds.
    audio_weight : 0-1, how closely the result follows the reference.
    """

    mode: str
    audio_id: str | None = None
    source_job_id: str | None = None
    voice_id: str | None = None
    instrumental_id: str | None = None
    continue_at_s: float | None = None
    infill_start_s: float | None = None
    infill_end_s: float | None = None
    audio_weight: float = 0.5

    def __post_init__(self) -> None:
        if self.mode not in REFERENCE_MODES:
            raise InvalidRequest(
                f"reference mode must be one of {', '.join(REFERENCE_MODES)}, not {self.mode!r}",
                field="reference.mode", limit=", ".join(REFERENCE_MODES),
            )
        if not 0.0 <= self.audio_weight <= 1.0:
            raise InvalidRequest(
                f"audio_weight must be within 0-1, not {self.audio_weight}", field="audio_weight", limit="0-1"
            )
        if not any((self.audio_id, self.source_job_id, self.voice_id, self.instrumental_id)):
            raise InvalidRequest(
                "a reference needs a source: audio_id, source_job_id, voice_id or instrumental_id",
                field="reference", limit="one source at least",
            )

    @classmethod
    def from_dict(cls, data: dict[str, object] | Reference | None) -> Reference | None:
        """The reference stored by ``dataclasses.asdict`` (or ``None``)."""
        if data is None or isinstance(data, Reference):
            return data
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})  # type: ignore[arg-type]


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
    reference : a reference track and what to do with it (cover, extend, ...); ``None``: none.
    watermark : append the audible AI-content tag (:mod:`songforge.engine.watermark`) at the end.
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
    reference: Reference | None = None
    watermark: bool = False
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "format", AudioFormat.parse(self.format))
        object.__setattr__(self, "reference", Reference.from_dict(self.reference))
        _validate(self)

    def with_(self, **changes: object) -> SongRequest:
        """Return a copy with ``changes`` applied (and validated)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _validate(req: SongRequest) -> None:
    for name in ("prompt", "lyrics", "title", "negative_prompt"):
        if "\x00" in (getattr(req, name) or ""):  # no text field may carry one; PostgreSQL cannot store it
            raise InvalidRequest(f"{name} contains a NUL character", field=name, limit="text without NUL characters")
    prompt = req.prompt.strip()
    lyrics = (req.lyrics or "").strip()
    if not prompt and not lyrics and req.reference is None:
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
