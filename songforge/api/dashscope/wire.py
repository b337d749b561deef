"""The Fun-Music request body: its limits and its conversion to a canonical :class:`SongRequest`.

::

    {"model": "fun-music-v1" | "fun-music-preview",
     "input": {"lyrics": str, "prompt": str, "gender": "male" | "female", "format": "mp3" | "wav",
               "is_instrumental": bool, ...unknown keys ignored},
     "parameters": {...ignored}}

Length limits (API_SPEC.md 1.3 and the vendor's reference page), counted on the stripped text; a
text with any CJK character is Chinese (counted in characters), any other is English:

=========  ==============  =====================  =====================
field      script          non-streaming          streaming
=========  ==============  =====================  =====================
lyrics     Chinese         5-350 characters       300-350 characters
lyrics     English         5-2000 characters      200-250 words
prompt     Chinese         1-2000 characters      5-1000 characters
prompt     English         1-2000 characters      5-1000 words
=========  ==============  =====================  =====================

A text counts as given when it is a non-empty string. When both are given the lyrics are sung and
the prompt ignored (``fun-music-v1``); ``fun-music-preview`` always needs a prompt (used as the
style when lyrics are given too) and takes no gender. ``is_instrumental`` takes a prompt only.
A streamed English prompt (up to 1000 words) longer than songforge's 2000-character prompt is
cut at the last word within 2000 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, ValidationError

from songforge.errors import ContentTooLong, InvalidRequest, NotFound
from songforge.models import PROMPT_MAX_CHARS, SongRequest

__all__ = [
    "MODELS", "MODEL_V1", "MODEL_PREVIEW", "DEFAULT_GENDER", "SAMPLE_RATE_HZ", "CHANNELS",
    "LengthRange", "LYRICS_LIMITS", "PROMPT_LIMITS", "FunMusicInput", "FunMusicCall", "parse_call",
    "length_range", "is_chinese",
]

MODEL_V1 = "fun-music-v1"
MODEL_PREVIEW = "fun-music-preview"
MODELS = (MODEL_V1, MODEL_PREVIEW)
DEFAULT_GENDER = "female"
SAMPLE_RATE_HZ = 48000
CHANNELS = 2
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

Unit = Literal["characters", "words"]


@dataclass(frozen=True)
class LengthRange:
    """An inclusive length range of a text, in ``unit``."""

    low: int
    high: int
    unit: Unit

    def measure(self, text: str) -> int:
        """Length of ``text`` (stripped) in this range's unit."""
        return len(text.split()) if self.unit == "words" else len(text.strip())


# (streaming, chinese) -> range
LYRICS_LIMITS = {
    (False, True): LengthRange(5, 350, "characters"),
    (False, False): LengthRange(5, 2000, "characters"),
    (True, True): LengthRange(300, 350, "characters"),
    (True, False): LengthRange(200, 250, "words"),
}
PROMPT_LIMITS = {
    (False, True): LengthRange(1, 2000, "characters"),
    (False, False): LengthRange(1, 2000, "characters"),
    (True, True): LengthRange(5, 1000, "characters"),
    (True, False): LengthRange(5, 1000, "words"),
}


class FunMusicInput(BaseModel):
    """``input`` of the body; unknown keys (``text``, ``voice``, ``sample_rate`` ...) are ignored."""

    # The OpenAPI says what validation checks below (a non-empty prompt or lyrics of 5+
    # characters), so generated clients and schema-based fuzzers send bodies that can succeed.
    model_config = ConfigDict(extra="ignore", json_schema_extra={"anyOf": [
        {"required": ["prompt"], "properties": {"prompt": {"type": "string", "minLength": 1, "maxLength": 2000}}},
        {"required": ["lyrics"], "properties": {"lyrics": {"type": "string", "minLength": 5, "maxLength": 2000}}},
    ]})

    lyrics: StrictStr | None = None
    prompt: StrictStr | None = None
    gender: Literal["male", "female"] | None = None
    format: Literal["mp3", "wav"] | None = None
    is_instrumental: StrictBool | None = None


@dataclass(frozen=True)
class FunMusicCall:
    """A parsed call: the vendor model, whether it streams, and the canonical request."""

    model: str
    stream: bool
    song: SongRequest


def is_chinese(text: str) -> bool:
    """Whether ``text`` counts as Chinese for the limits (it has a CJK character)."""
    return _CJK_RE.search(text) is not None


def length_range(field: str, text: str, *, stream: bool) -> LengthRange:
    """The length range ``text`` must fall in as ``field`` (``"lyrics"`` or ``"prompt"``)."""
    limits = LYRICS_LIMITS if field == "lyrics" else PROMPT_LIMITS
    return limits[(stream, is_chinese(text))]


def parse_call(body: Any, *, stream: bool) -> FunMusicCall:
    """The call a decoded JSON body asks for; raises :class:`InvalidRequest` (``field`` ``model``
    or ``input`` with limit ``required`` when missing) or :class:`NotFound` (unknown model)."""
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object", field=None, limit="a JSON object")
    model = _model_of(body)
    data = _input_of(body)
    _check_model_rules(model, data)
    lyrics, prompt = _given(data.lyrics), _given(data.prompt)
    if lyrics is None and prompt is None:
        raise InvalidRequest("At least one of input.lyrics and input.prompt is required.",
                             field="input.prompt", limit="lyrics or prompt")
    if lyrics is not None:
        _check_length("lyrics", lyrics, stream=stream)
    if prompt is not None and (lyrics is None or model == MODEL_PREVIEW):  # an ignored prompt is not checked
        _check_length("prompt", prompt, stream=stream)
    return FunMusicCall(model=model, stream=stream, song=_song_request(model, data, lyrics, prompt))


def _model_of(body: dict[str, Any]) -> str:
    model = body.get("model")
    if model is None or model == "":
        raise InvalidRequest('Required parameter "model" missing from request.', field="model", limit="required")
    if not isinstance(model, str):
        raise InvalidRequest("Parameter model must be a string.", field="model", limit=", ".join(MODELS))
    if model not in MODELS:
        raise NotFound(f"Model not exist: {model!r}; this service has {', '.join(MODELS)}.")
    return model


def _input_of(body: dict[str, Any]) -> FunMusicInput:
    data = body.get("input")
    if data is None:
        raise InvalidRequest("Required input parameter missing from request.", field="input", limit="required")
    if not isinstance(data, dict):
        raise InvalidRequest("Parameter input must be a JSON object.", field="input", limit="a JSON object")
    try:
        return FunMusicInput.model_validate(data)
    except ValidationError as exc:
        raise _invalid_field(exc) from None


def _invalid_field(exc: ValidationError) -> InvalidRequest:
    first = exc.errors()[0]
    field = "input." + ".".join(str(part) for part in first["loc"])
    expected = (first.get("ctx") or {}).get("expected")
    return InvalidRequest(f"Parameter {field} is invalid: {first['msg']}.", field=field, limit=expected)


def _check_model_rules(model: str, data: FunMusicInput) -> None:
    if model == MODEL_PREVIEW and _given(data.prompt) is None:
        raise InvalidRequest(f"input.prompt is required for {MODEL_PREVIEW}.", field="input.prompt",
                             limit=f"required for {MODEL_PREVIEW}")
    if model == MODEL_PREVIEW and data.gender is not None:
        raise InvalidRequest(f"input.gender is not supported by {MODEL_PREVIEW}.", field="input.gender",
                             limit=f"not supported by {MODEL_PREVIEW}")
    if data.is_instrumental:
        _check_instrumental(data)


def _check_instrumental(data: FunMusicInput) -> None:
    if _given(data.prompt) is None:
        raise InvalidRequest("input.prompt is required when input.is_instrumental is true.",
                             field="input.prompt", limit="required for instrumental tracks")
    for name in ("lyrics", "gender"):
        if getattr(data, name) not in (None, ""):
            raise InvalidRequest(f"input.{name} cannot be given when input.is_instrumental is true.",
                                 field=f"input.{name}", limit="not with is_instrumental")


def _check_length(field: str, text: str, *, stream: bool) -> None:
    limit = length_range(field, text, stream=stream)
    length = limit.measure(text)
    if limit.low <= length <= limit.high:
        return
    script = "Chinese" if is_chinese(text) else "English"
    mode = "streaming" if stream else "non-streaming"
    message = (f"Range of input length should be [{limit.low}, {limit.high}]: input.{field} has {length} "
               f"{limit.unit} ({script} {field}, {mode} mode allows {limit.low}-{limit.high} {limit.unit}).")
    raise ContentTooLong(message, field=f"input.{field}", limit=f"{limit.low}-{limit.high} {limit.unit}")


def _given(text: str | None) -> str | None:
    return text if text else None


def _fit_prompt(prompt: str) -> str:
    """The prompt within the canonical limit: a streamed English prompt may have 1000 words, more
    than :data:`~songforge.models.PROMPT_MAX_CHARS`; the style words past it are cut at a word."""
    if len(prompt) <= PROMPT_MAX_CHARS:
        return prompt
    cut = prompt[:PROMPT_MAX_CHARS + 1]
    return cut[: cut.rfind(" ")] if " " in cut else cut[:PROMPT_MAX_CHARS]


def _song_request(model: str, data: FunMusicInput, lyrics: str | None, prompt: str | None) -> SongRequest:
    instrumental = bool(data.is_instrumental)
    keep_prompt = lyrics is None or model == MODEL_PREVIEW  # v1: lyrics win, the prompt is ignored
    gender = None if instrumental or model == MODEL_PREVIEW else (data.gender or DEFAULT_GENDER)
    return SongRequest(
        prompt=_fit_prompt(prompt or "") if keep_prompt else "", lyrics=lyrics, instrumental=instrumental, gender=gender,
        format=data.format or "mp3", sample_rate_hz=SAMPLE_RATE_HZ, channels=CHANNELS,
        extra={"dashscope_model": model},
    )
