"""Wire bodies and responses of the AI/ML API music endpoints (API_SPEC.md 4.2-4.3).

``POST /v2/generate/audio`` takes one JSON object whose ``model`` picks the body schema
(:data:`BODIES`); each schema carries the vendor's documented limits, so pydantic enforces them
and :mod:`songforge.api.aimlapi.issues` words any breach the way AIML's zod validation does.
Unknown keys are ignored (zod's default ``strip``); values are not coerced (``"44100"`` is not a
sample rate). Sample rates are in Hz and bitrates in bit/s, as on the wire.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MODEL_NAMES", "BODIES", "AudioSetting", "Music26Body", "Music20Body", "Music15Body", "CoverBody",
    "LegacyBody", "GenerationBody", "CreateResponse", "PollResponse", "ErrorResponse", "request_body_schema",
    "DEFAULT_SAMPLE_RATE_HZ", "DEFAULT_BITRATE_BPS", "DEFAULT_FORMAT",
]

DEFAULT_SAMPLE_RATE_HZ = 44100
DEFAULT_BITRATE_BPS = 256000
DEFAULT_FORMAT = "mp3"
_STYLE = "Style, mood and scenario of the music."
_LYRICS = "Lyrics, lines separated by \\n; structure tags such as [Verse], [Chorus], [Bridge] shape the song."
_REFERENCE = "Reference audio as an http(s) URL or base64 (a data: URL too): 6 s - 6 min, at most 50 MB."


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class AudioSetting(_Wire):
    """Output encoding; the sample rate is read from ``audio_sample_rate`` (music-1.5/2.0/2.6
    naming) or ``sample_rate`` (music-cover naming), which must agree when both are given."""

    audio_sample_rate: Literal[16000, 24000, 32000, 44100] | None = Field(None, description="Sample rate, Hz (default 44100).")
    sample_rate: Literal[16000, 24000, 32000, 44100] | None = Field(None, description="Same as audio_sample_rate.")
    bitrate: Literal[32000, 64000, 128000, 256000] | None = Field(None, description="MP3 bitrate, bit/s (default 256000).")
    format: Literal["mp3", "wav", "pcm"] | None = Field(None, description="Container (default mp3); pcm: raw s16le.")


class Music26Body(_Wire):
    """minimax/music-2.6: lyrics are required unless ``is_instrumental`` or ``lyrics_optimizer``;
    a prompt is required for an instrumental or for lyrics written from it."""

    model: Literal["minimax/music-2.6"]
    prompt: str | None = Field(None, max_length=2000, description=_STYLE)
    lyrics: str | None = Field(None, max_length=3000, description=_LYRICS)
    lyrics_optimizer: bool = Field(False, description="Write the lyrics from the prompt when lyrics are empty.")
    is_instrumental: bool = Field(False, description="No vocals; lyrics are not needed.")
    audio_setting: AudioSetting | None = Field(None, description="Output encoding.")


class Music20Body(_Wire):
    """minimax/music-2.0."""

    model: Literal["minimax/music-2.0"]
    prompt: str = Field(min_length=10, max_length=2000, description=_STYLE)
    lyrics: str = Field(min_length=10, max_length=3000, description=_LYRICS)
    audio_setting: AudioSetting | None = Field(None, description="Output encoding.")


class Music15Body(_Wire):
    """minimax/music-1.5."""

    model: Literal["minimax/music-1.5"]
    prompt: str = Field(min_length=10, max_length=300, description=_STYLE)
    lyrics: str = Field(min_length=10, max_length=3000, description=_LYRICS)
    audio_setting: AudioSetting | None = Field(None, description="Output encoding.")


class CoverBody(_Wire):
    """minimax/music-cover: a new rendition of the reference in the prompt's style."""

    model: Literal["minimax/music-cover"]
    prompt: str = Field(min_length=10, max_length=2000, description="Target style of the cover.")
    reference_audio_url: str = Field(min_length=1, description=_REFERENCE)
    lyrics: str | None = Field(None, min_length=10, max_length=3000,
                               description="New lyrics; omitted: the reference's own.")
    audio_setting: AudioSetting | None = Field(None, description="Output encoding.")


class LegacyBody(_Wire):
    """minimax-music (legacy): a song sung with the voice and band of a reference song."""

    model: Literal["minimax-music"]
    prompt: str = Field(min_length=1, max_length=600,
                        description="The lyrics: \\n new line, \\n\\n pause, ##...## around lyrics with accompaniment.")
    reference_audio_url: str = Field(
        min_length=1, description="http(s) URL of a .wav or .mp3 song (vocals and music) longer than 15 s.")


GenerationBody = Music26Body | Music20Body | Music15Body | CoverBody | LegacyBody
BODIES: dict[str, type[_Wire]] = {
    "minimax/music-2.6": Music26Body, "minimax/music-2.0": Music20Body, "minimax/music-1.5": Music15Body,
    "minimax/music-cover": CoverBody, "minimax-music": LegacyBody,
}
MODEL_NAMES = tuple(BODIES)


class Usage(BaseModel):
    credits_used: int = Field(description="Nominal credits of the generation (see the dialect's credits rule).")
    usd_spent: float = Field(description="credits_used / 2,000,000.")


class Meta(BaseModel):
    usage: Usage | None


class CreateResponse(BaseModel):
    id: str = Field(description="The generation id to poll with.")
    status: Literal["queued"]
    meta: Meta


class AudioFile(BaseModel):
    url: str = Field(description="Signed, expiring link to the audio.")


class GenerationError(BaseModel):
    name: str = Field(description="Machine reason: timeout, engine_error, cancelled, ...")
    message: str


class PollResponse(BaseModel):
    id: str
    status: Literal["queued", "generating", "completed", "error"]
    audio_file: AudioFile | None = Field(description="Set once completed.")
    error: GenerationError | None = Field(description="Set on error.")
    meta: Meta | None


class ErrorResponse(BaseModel):
    message: str = Field(description="What went wrong; validation errors list one zod-style issue per line.")
    path: str
    requestId: str
    statusCode: int
    timestamp: str = Field(description="ISO 8601 UTC with milliseconds, e.g. 2025-03-11T07:13:27.813Z.")


def request_body_schema() -> dict[str, Any]:
    """JSON schema of the POST body: one of the per-model bodies (``$defs`` inlined)."""
    return {"oneOf": [_inline(body.model_json_schema()) for body in BODIES.values()]}


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return dict(resolve(schema))
