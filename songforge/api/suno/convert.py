"""Wire bodies -> canonical :class:`~songforge.models.SongRequest` (with the vendor's rules).

Rules (API_SPEC 3.3): the model names its limits (custom-mode prompt/style/title characters);
non-custom prompts are at most 500 characters and get lyrics written at submit time (unless
instrumental); in custom mode ``prompt`` is sung verbatim and ``style`` + ``title`` are required.
Text over a limit raises :class:`~songforge.errors.ContentTooLong` (envelope 413), anything else
:class:`~songforge.errors.InvalidRequest` (400); both name the field and the limit.
The song length is left to the engine (its planner's default, 60 s, is within every model's maximum).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from songforge.api.suno.wire import MODELS, NON_CUSTOM_PROMPT_MAX_CHARS, GenerateBody, ModelLimits
from songforge.errors import ContentTooLong, InvalidRequest
from songforge.models import SongRequest
from songforge.service.lyrics import write_sheet

__all__ = [
    "MusicSpec", "check_model", "check_length", "check_weight", "gender_of", "param_json", "music_spec",
    "SEED_LIMIT", "EXTRAS",
]

SEED_LIMIT = 2**32
# every job is made with its extras so timestamped lyrics, stems and MIDI exist later
EXTRAS: dict[str, Any] = {"want_stems": True, "want_midi": True, "want_timings": True}
_GENDERS = {"m": "male", "f": "female"}


@dataclass(frozen=True)
class MusicSpec:
    """What a music task asks for: the canonical request and what record-info reports.

    ``lyrics`` the sheet both tracks sing (``None`` for instrumentals), ``title`` and ``tags``
    (style words) as reported on the tracks.
    """

    request: SongRequest
    title: str
    tags: str
    lyrics: str | None
    extra: dict[str, Any] = field(default_factory=dict)


def check_model(model: str, *, allowed: tuple[str, ...] | None = None) -> ModelLimits:
    """The model's limits; raises :class:`InvalidRequest` for an unknown model."""
    names = allowed or tuple(MODELS)
    if model not in names:
        raise InvalidRequest(
            f"model must be one of {', '.join(names)}, not {model!r}", field="model", limit=", ".join(names)
        )
    return MODELS[model]


def check_length(value: str | None, max_chars: int, *, field_name: str) -> None:
    """Raise :class:`ContentTooLong` when ``value`` has more than ``max_chars`` characters."""
    if value is not None and len(value) > max_chars:
        raise ContentTooLong(
            f"{field_name} has {len(value)} characters; the limit is {max_chars}",
            field=field_name, limit=f"{max_chars} characters",
        )


def require(value: str | None, *, field_name: str, why: str) -> str:
    """``value`` stripped; raises :class:`InvalidRequest` when it is missing or blank."""
    if value is None or not value.strip():
        raise InvalidRequest(f"{field_name} is required {why}", field=field_name, limit="required")
    return value.strip()


def check_weight(value: float | None, *, field_name: str) -> float | None:
    """A 0-1 weight rounded to 2 decimals (``None`` stays ``None``)."""
    if value is None:
        return None
    if not 0.0 <= value <= 1.0:
        raise InvalidRequest(f"{field_name} must be within 0.00-1.00, not {value}", field=field_name, limit="0.00-1.00")
    return round(float(value), 2)


def gender_of(vocal_gender: str | None) -> str | None:
    """``m``/``f`` -> ``male``/``female``."""
    if vocal_gender is None or vocal_gender == "":
        return None
    if vocal_gender not in _GENDERS:
        raise InvalidRequest(f"vocalGender must be 'm' or 'f', not {vocal_gender!r}", field="vocalGender", limit="m, f")
    return _GENDERS[vocal_gender]


def param_json(body: Any) -> str:
    """The request as the vendor stores it in ``param``: compact JSON of the fields sent."""
    return json.dumps(body.model_dump(exclude_unset=True), separators=(",", ":"), ensure_ascii=False)


def weights_of(body: Any) -> dict[str, Any]:
    """Canonical fields from the shared optional fields (negativeTags, vocalGender, weights)."""
    values: dict[str, Any] = {
        "negative_prompt": (body.negativeTags or None),
        "gender": gender_of(body.vocalGender),
        "style_weight": check_weight(body.styleWeight, field_name="styleWeight"),
        "weirdness": check_weight(body.weirdnessConstraint, field_name="weirdnessConstraint"),
    }
    check_weight(body.audioWeight, field_name="audioWeight")
    return {k: v for k, v in values.items() if v is not None}


def music_spec(body: GenerateBody, *, settings: Any, persona: dict[str, Any] | None = None) -> MusicSpec:
    """The canonical request of a generate body (custom or non-custom mode)."""
    limits = check_model(body.model)
    seed = secrets.randbelow(SEED_LIMIT)
    common = {**EXTRAS, **weights_of(body), "seed": seed, "instrumental": body.instrumental}
    if body.customMode:
        spec = _custom(body, limits, common)
    else:
        spec = _non_custom(body, common, settings=settings, seed=seed)
    return _with_persona(spec, persona)


def _custom(body: GenerateBody, limits: ModelLimits, common: dict[str, Any]) -> MusicSpec:
    style = require(body.style, field_name="style", why="in custom mode")
    title = require(body.title, field_name="title", why="in custom mode")
    check_length(body.style, limits.style_chars, field_name="style")
    check_length(body.title, limits.title_chars, field_name="title")
    check_length(body.prompt, limits.prompt_chars, field_name="prompt")
    lyrics = None if body.instrumental else require(
        body.prompt, field_name="prompt", why="in custom mode unless instrumental (it is sung as the lyrics)")
    request = SongRequest(prompt=style, lyrics=lyrics, title=title, **common)
    return MusicSpec(request=request, title=title, tags=style, lyrics=lyrics)


def _non_custom(body: GenerateBody, common: dict[str, Any], *, settings: Any, seed: int) -> MusicSpec:
    prompt = require(body.prompt, field_name="prompt", why="in non-custom mode")
    check_length(body.prompt, NON_CUSTOM_PROMPT_MAX_CHARS, field_name="prompt")
    if body.instrumental:
        request = SongRequest(prompt=prompt, **common)
        return MusicSpec(request=request, title=_title_from(prompt), tags="", lyrics=None)
    sheet = write_sheet(settings, prompt, seed=seed)
    lyrics = sheet.to_text()
    title = sheet.title or _title_from(prompt)
    request = SongRequest(prompt=prompt, lyrics=lyrics, title=title, **common)
    return MusicSpec(request=request, title=title, tags=sheet.style_tags or "", lyrics=lyrics)


def _title_from(prompt: str) -> str:
    words = prompt.split()[:5]
    return " ".join(words).strip(" ,.;:").title() or "Untitled"


def _with_persona(spec: MusicSpec, persona: dict[str, Any] | None) -> MusicSpec:
    """Reuse a persona's voice (gender) and style: its style words lead the engine prompt."""
    if not persona:
        return spec
    req = spec.request
    gender = req.gender or persona.get("gender")
    style = str(persona.get("style") or "")
    prompt = f"{style}, {req.prompt}" if style and style not in req.prompt else req.prompt
    tags = spec.tags or style
    return MusicSpec(request=req.with_(gender=gender, prompt=prompt[:2000]), title=spec.title, tags=tags,
                     lyrics=spec.lyrics, extra={"persona_id": persona.get("persona_id")})
