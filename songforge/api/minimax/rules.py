"""Per-model limits of ``/v1/music_generation`` (API_SPEC.md 2.2, 2.3, 2.9, 4.3) as data, and the
checks that enforce them, each failure an :class:`~songforge.errors.InvalidRequest` naming the
field and the vendor's limit (rendered as ``base_resp`` 2013).

Lengths count characters. Empty or blank text counts as not given (the vendor's "lyrics is
empty"). music-2.5+ / 2.5 have no published limits: they get music-2.6's. music-1.5 lyrics use
Replicate's 10-600 (stricter than aimlapi's 10-3000).
"""

from __future__ import annotations

from dataclasses import dataclass

from songforge.api.minimax.wire import LyricsGenerationBody, MusicGenerationBody
from songforge.errors import ContentTooLong, InvalidRequest

__all__ = [
    "ModelRules", "MODELS", "COVER_MODELS", "check_generation", "model_rules", "given", "check_one_source",
    "check_lyrics_body", "LYRICS_PROMPT_MAX_CHARS", "LYRICS_EDIT_MAX_CHARS",
]

TEXT, COVER, LEGACY = "text", "cover", "legacy"
_COVER_SOURCES = ("audio_url", "audio_base64", "cover_feature_id")
_LEGACY_FIELDS = ("refer_voice", "refer_instrumental", "refer_vocal")
LYRICS_PROMPT_MAX_CHARS = 2000
LYRICS_EDIT_MAX_CHARS = 3500


@dataclass(frozen=True)
class ModelRules:
    """What one model accepts.

    ``prompt_chars`` / ``lyrics_chars``: (min, max) characters when given; ``prompt_required``:
    a prompt is needed (an instrumental always needs one); ``lyrics_required``: lyrics are needed
    unless instrumental or written by ``lyrics_optimizer``; ``tier``: ``free`` or ``paid`` rate.
    """

    name: str
    family: str
    tier: str
    prompt_chars: tuple[int, int]
    lyrics_chars: tuple[int, int]
    prompt_required: bool = False
    lyrics_required: bool = True
    instrumental: bool = False
    optimizer: bool = False


def _text(name: str, tier: str = "paid", *, instrumental: bool = True, optimizer: bool = True) -> ModelRules:
    return ModelRules(name, TEXT, tier, (0, 2000), (1, 3500), instrumental=instrumental, optimizer=optimizer)


MODELS: dict[str, ModelRules] = {rules.name: rules for rules in (
    _text("music-2.6"),
    _text("music-2.6-free", "free"),
    _text("music-2.5+", optimizer=False),
    _text("music-2.5", instrumental=False, optimizer=False),
    ModelRules("music-2.0", TEXT, "paid", (10, 2000), (10, 3000), prompt_required=True),
    ModelRules("music-1.5", TEXT, "paid", (10, 300), (10, 600), prompt_required=True),
    ModelRules("music-cover", COVER, "paid", (10, 300), (10, 1000), prompt_required=True, lyrics_required=False),
    ModelRules("music-cover-free", COVER, "free", (10, 300), (10, 1000), prompt_required=True,
               lyrics_required=False),
    ModelRules("music-01", LEGACY, "paid", (0, 0), (1, 600), lyrics_required=False),
)}
COVER_MODELS = ("music-cover", "music-cover-free")


def given(text: str | None) -> bool:
    """Whether a text field was given (blank counts as not given)."""
    return bool((text or "").strip())


def model_rules(model: str, *, allowed: tuple[str, ...] | None = None) -> ModelRules:
    """The rules of ``model``; raises InvalidRequest for a model not in ``allowed`` (default all)."""
    names = allowed or tuple(MODELS)
    if model not in names:
        raise InvalidRequest(f"model must be one of {', '.join(names)}, not {model!r}",
                             field="model", limit=", ".join(names))
    return MODELS[model]


def check_generation(body: MusicGenerationBody, *, passthrough: bool = False) -> ModelRules:
    """Check ``body`` against its model's rules; returns them. ``passthrough``: the AI/ML
    ``.../minimax/generate`` route (music-01 only, lyrics and ``audio_setting.format`` required)."""
    rules = model_rules(body.model, allowed=("music-01",) if passthrough else None)
    _check_client_rules(body)
    _check_switches(body, rules)
    _check_foreign_fields(body, rules)
    {TEXT: _check_text, COVER: _check_cover, LEGACY: _check_legacy}[rules.family](body, rules)
    if passthrough:
        _check_passthrough(body)
    return rules


def _check_client_rules(body: MusicGenerationBody) -> None:
    """The official CLI's client-side rules, enforced here too."""
    if body.stream and body.output_format == "url":
        _fail("output_format must be hex when stream is true", "output_format", "hex when stream is true")
    if body.is_instrumental and given(body.lyrics):
        _fail("lyrics must be empty when is_instrumental is true", "lyrics", "empty when is_instrumental is true")
    if body.lyrics_optimizer and given(body.lyrics):
        _fail("lyrics must be empty when lyrics_optimizer is true", "lyrics", "empty when lyrics_optimizer is true")
    if body.lyrics_optimizer and body.is_instrumental:
        _fail("lyrics_optimizer and is_instrumental cannot both be true", "lyrics_optimizer",
              "not with is_instrumental")


def _check_switches(body: MusicGenerationBody, rules: ModelRules) -> None:
    supporting = lambda flag: ", ".join(m.name for m in MODELS.values() if getattr(m, flag))  # noqa: E731
    if body.is_instrumental and not rules.instrumental:
        _fail(f"is_instrumental is not supported by {rules.name}", "is_instrumental", supporting("instrumental"))
    if body.lyrics_optimizer and not rules.optimizer:
        _fail(f"lyrics_optimizer is not supported by {rules.name}", "lyrics_optimizer", supporting("optimizer"))


def _check_foreign_fields(body: MusicGenerationBody, rules: ModelRules) -> None:
    """Reference fields belong to their model family only."""
    if rules.family != COVER:
        for name in _COVER_SOURCES:
            if getattr(body, name) is not None:
                _fail(f"{name} is only used by {', '.join(COVER_MODELS)}", name, ", ".join(COVER_MODELS))
    if rules.family != LEGACY:
        for name in _LEGACY_FIELDS:
            if getattr(body, name) is not None:
                _fail(f"{name} is only used by music-01", name, "music-01")


def _check_text(body: MusicGenerationBody, rules: ModelRules) -> None:
    needs_prompt = rules.prompt_required or body.is_instrumental or body.lyrics_optimizer
    low = max(rules.prompt_chars[0], 1 if needs_prompt else 0)
    _check_length(body.prompt, "prompt", rules, (low, rules.prompt_chars[1]), required=needs_prompt)
    needs_lyrics = not (body.is_instrumental or body.lyrics_optimizer)
    _check_length(body.lyrics, "lyrics", rules, rules.lyrics_chars, required=needs_lyrics)


def _check_cover(body: MusicGenerationBody, rules: ModelRules) -> None:
    sources = [name for name in _COVER_SOURCES if getattr(body, name) is not None]
    if len(sources) != 1:
        _fail(f"give exactly one of audio_url, audio_base64, cover_feature_id (got {len(sources)})",
              "audio_url", "exactly one of audio_url, audio_base64, cover_feature_id")
    _check_length(body.prompt, "prompt", rules, rules.prompt_chars, required=True)
    _check_length(body.lyrics, "lyrics", rules, rules.lyrics_chars, required=sources == ["cover_feature_id"])


def _check_legacy(body: MusicGenerationBody, rules: ModelRules) -> None:
    if not (given(body.refer_voice) or given(body.refer_instrumental)):
        _fail("music-01 needs refer_voice or refer_instrumental", "refer_voice",
              "at least one of refer_voice, refer_instrumental")
    if given(body.refer_vocal) and not (given(body.refer_voice) and given(body.refer_instrumental)
                                        and given(body.lyrics)):
        _fail("refer_vocal needs refer_voice, refer_instrumental and lyrics", "refer_vocal",
              "with refer_voice, refer_instrumental and lyrics")
    _check_length(body.lyrics, "lyrics", rules, rules.lyrics_chars, required=given(body.refer_voice))


def _check_passthrough(body: MusicGenerationBody) -> None:
    _check_length(body.lyrics, "lyrics", MODELS["music-01"], MODELS["music-01"].lyrics_chars, required=True)
    if body.audio_setting is None or body.audio_setting.format is None:
        _fail("audio_setting.format is required", "audio_setting.format", "mp3, wav or pcm")


def _check_length(text: str | None, name: str, rules: ModelRules, chars: tuple[int, int], *, required: bool) -> None:
    low, high = chars
    limit = f"{low}-{high} characters"
    if not given(text):
        if required:
            _fail(f"{name} is required for {rules.name} here ({limit})", name, limit)
        return
    count = len(text or "")
    if count > high:
        raise ContentTooLong(f"{name} has {count} characters; {rules.name} allows {limit}", field=name, limit=limit)
    if count < low:
        _fail(f"{name} has {count} characters; {rules.name} allows {limit}", name, limit)


def _fail(message: str, field: str, limit: str) -> None:
    raise InvalidRequest(message, field=field, limit=limit)


def check_one_source(*, audio_url: str | None, audio_base64: str | None) -> None:
    """Cover preprocessing takes exactly one of ``audio_url`` / ``audio_base64``."""
    if (audio_url is None) == (audio_base64 is None):
        _fail("give exactly one of audio_url, audio_base64", "audio_url", "exactly one of audio_url, audio_base64")


def check_lyrics_body(body: LyricsGenerationBody) -> None:
    """``/v1/lyrics_generation`` limits: prompt <= 2000, lyrics <= 3500 characters (edit mode
    needs lyrics to edit)."""
    for name, high in (("prompt", LYRICS_PROMPT_MAX_CHARS), ("lyrics", LYRICS_EDIT_MAX_CHARS)):
        count = len(getattr(body, name) or "")
        if count > high:
            raise ContentTooLong(f"{name} has {count} characters; lyrics_generation allows 0-{high}",
                                 field=name, limit=f"0-{high} characters")
    if body.mode == "edit" and not given(body.lyrics):
        _fail("lyrics are required in edit mode", "lyrics", f"1-{LYRICS_EDIT_MAX_CHARS} characters in edit mode")
