"""Canonical :class:`~songforge.models.SongRequest` -> an upstream vendor's request body.

Each ``to_<vendor>`` returns a :class:`Translation`: the body plus one warning per canonical
field the vendor has no place for (dropped, and said so in the job's ``result.warnings``). Where
dropping a field would change what the song *is* (a reference track, an instrumental with no
style to play, a text over the vendor's limit) the translation raises :class:`Refused` instead,
and the router moves on to the next backend of the chain (or the caller gets the error).

Formats, sample rates, bitrates and channels are never dropped: the upstream's audio is decoded and
encoded again to what the caller asked for when it is re-hosted (:mod:`songforge.upstream.runner`).
The table of what survives each translation is docs/upstream.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from songforge.errors import InvalidRequest
from songforge.models import SongRequest

__all__ = ["Translation", "Refused", "translate", "TRANSLATORS", "DROPPABLE"]

# canonical fields a vendor may lack: field -> (value meaning "not asked for", what is lost)
DROPPABLE: dict[str, tuple[Any, str]] = {
    "gender": (None, "no vocal-gender field; the upstream chooses the voice"),
    "duration_s": (None, "no length field; the upstream chooses the length"),
    "seed": (None, "no seed; the song cannot be reproduced by seed"),
    "negative_prompt": (None, "no negative prompt; styles to avoid are not passed on"),
    "style_weight": (0.5, "no style weight"),
    "weirdness": (0.5, "no weirdness control"),
    "title": (None, "no title field"),
    "watermark": (False, "no audible AI tag"),
    "want_stems": (False, "the upstream returns no stems; none are delivered"),
    "want_midi": (False, "the upstream returns no MIDI; none is delivered"),
    "want_timings": (False, "the upstream returns no lyric timings; none are delivered"),
}


class Refused(InvalidRequest):
    """The upstream cannot take this request without changing its meaning."""

    code = "upstream_refused"


@dataclass(frozen=True)
class Translation:
    """A vendor request body and the warnings of what it dropped."""

    body: dict[str, Any]
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _dropped(request: SongRequest, vendor: str, *, keeps: tuple[str, ...]) -> list[str]:
    """One warning per droppable field that was asked for and that ``vendor`` does not keep."""
    return [
        f"{name}: {vendor} has {why}" if why.startswith("no ") else f"{name}: {why}"
        for name, (unset, why) in DROPPABLE.items()
        if name not in keeps and getattr(request, name) != unset
    ]


def _refuse_reference(request: SongRequest, vendor: str) -> None:
    if request.reference is not None:
        raise Refused(
            f"{vendor} cannot be sent a {request.reference.mode} of a reference track through songforge; "
            "the reference is only usable by the local engine", field="reference", limit="local engine",
        )


def _need_style(request: SongRequest, vendor: str) -> None:
    if request.instrumental and not request.prompt.strip():
        raise Refused(f"{vendor} needs a style prompt for an instrumental", field="prompt", limit="1 character or more")


def _check_length(text: str | None, *, name: str, vendor: str, limit: int) -> None:
    if text and len(text) > limit:
        raise Refused(f"{name} has {len(text)} characters; {vendor} takes at most {limit}", field=name,
                      limit=f"{limit} characters")


def _instrumental_lyrics(request: SongRequest, vendor: str) -> list[str]:
    return [f"lyrics: {vendor} sings nothing in an instrumental; the lyrics are dropped"] \
        if request.instrumental and request.lyrics else []


def _model(request: SongRequest, key: str, default: str, allowed: tuple[str, ...]) -> str:
    asked = str(request.extra.get(key) or "")
    return asked if asked in allowed else default


MINIMAX_MODELS = ("music-2.6", "music-2.6-free", "music-2.5+")


def to_minimax(request: SongRequest) -> Translation:
    """``POST /v1/music_generation`` (music-2.6): a missing text is written by the upstream
    (``lyrics_optimizer``), audio comes back as a URL."""
    vendor = "MiniMax"
    _refuse_reference(request, vendor)
    _need_style(request, vendor)
    _check_length(request.prompt, name="prompt", vendor=vendor, limit=2000)
    _check_length(request.lyrics, name="lyrics", vendor=vendor, limit=3500)
    body: dict[str, Any] = {
        "model": _model(request, "minimax_model", "music-2.6", MINIMAX_MODELS), "prompt": request.prompt,
        "output_format": "url", "audio_setting": {"sample_rate": 44100, "bitrate": 256000, "format": _fetch_format(request)},
        "aigc_watermark": bool(request.watermark),
    }
    if request.instrumental:
        body["is_instrumental"] = True
    elif request.lyrics:
        body["lyrics"] = request.lyrics
    else:
        body["lyrics_optimizer"] = True
    return Translation(body, tuple(_instrumental_lyrics(request, vendor) + _dropped(request, vendor, keeps=("watermark",))))


SUNO_MODELS = ("V4", "V4_5", "V4_5PLUS", "V4_5ALL", "V5", "V5_5")
_SUNO_STYLE_MAX = 1000
_SUNO_PROMPT_MAX = 500


def to_suno(request: SongRequest, *, callback_url: str) -> Translation:
    """``POST /api/v1/generate``: custom mode (style + title, the lyrics sung verbatim) when there
    are lyrics, an instrumental or a title; otherwise the prompt alone and Suno writes the words.
    Suno makes two songs per task: the first is delivered."""
    vendor = "Suno"
    _refuse_reference(request, vendor)
    _need_style(request, vendor)
    custom = bool(request.lyrics or request.instrumental or request.title)
    body: dict[str, Any] = {
        "customMode": custom, "instrumental": bool(request.instrumental), "callBackUrl": callback_url,
        "model": _model(request, "suno_model", "V4_5", SUNO_MODELS),
        "styleWeight": round(request.style_weight, 2), "weirdnessConstraint": round(request.weirdness, 2),
    }
    keeps = ["style_weight", "weirdness", "title", "negative_prompt"]
    if request.negative_prompt:
        body["negativeTags"] = request.negative_prompt
    if custom:
        _check_length(request.prompt, name="prompt", vendor=f"{vendor}'s style", limit=_SUNO_STYLE_MAX)
        body.update(style=request.prompt, title=request.title or _title_of(request))
        if not request.instrumental:
            body["prompt"] = request.lyrics or ""
        if request.gender in ("female", "male"):
            body["vocalGender"] = request.gender[0]
            keeps.append("gender")
    else:
        _check_length(request.prompt, name="prompt", vendor=f"{vendor} (no lyrics given)", limit=_SUNO_PROMPT_MAX)
        body["prompt"] = request.prompt
    warnings = _instrumental_lyrics(request, vendor) + _dropped(request, vendor, keeps=tuple(keeps))
    if not custom and request.gender:
        warnings = [w.replace("has no vocal-gender field", "takes a vocal gender only with lyrics") for w in warnings]
    return Translation(body, tuple(warnings) + ("variations: Suno makes two songs per task; the first is delivered",))


def _title_of(request: SongRequest) -> str:
    words = request.prompt.split()[:6]
    return " ".join(words)[:80] or "Untitled"


DASHSCOPE_MODELS = ("fun-music-v1",)


def to_dashscope(request: SongRequest) -> Translation:
    """``POST /api/v1/services/audio/music/generation`` (Fun-Music, synchronous). Fun-Music sings
    the lyrics when they are given and then ignores the prompt: said so in a warning."""
    vendor = "DashScope Fun-Music"
    _refuse_reference(request, vendor)
    _need_style(request, vendor)
    _check_length(request.prompt, name="prompt", vendor=vendor, limit=2000)
    _check_length(request.lyrics, name="lyrics", vendor=vendor, limit=2000)
    data: dict[str, Any] = {"format": "wav" if _fetch_format(request) == "wav" else "mp3"}
    warnings = _instrumental_lyrics(request, vendor)
    keeps: tuple[str, ...] = ("gender",)
    if request.instrumental:
        data.update(prompt=request.prompt, is_instrumental=True)
        keeps = ()
    else:
        data.update({k: v for k, v in (("prompt", request.prompt), ("lyrics", request.lyrics)) if v})
        if request.gender in ("female", "male"):
            data["gender"] = request.gender
        if request.lyrics and request.prompt.strip():
            warnings.append(f"prompt: {vendor} ignores the style prompt when lyrics are given")
    model = _model(request, "dashscope_model", "fun-music-v1", DASHSCOPE_MODELS)
    return Translation({"model": model, "input": data, "parameters": {}},
                       tuple(warnings + _dropped(request, vendor, keeps=keeps)))


AIMLAPI_MODELS = ("minimax/music-2.6",)


def to_aimlapi(request: SongRequest) -> Translation:
    """``POST /v2/generate/audio`` with ``minimax/music-2.6`` (asynchronous: polled)."""
    vendor = "AI/ML API"
    minimax = to_minimax(request)
    body = {k: v for k, v in minimax.body.items() if k in ("prompt", "lyrics", "is_instrumental", "lyrics_optimizer")}
    body.update(model=_model(request, "aimlapi_model", "minimax/music-2.6", AIMLAPI_MODELS),
                audio_setting={"audio_sample_rate": 44100, "bitrate": 256000, "format": _fetch_format(request)})
    warnings = [w.replace("MiniMax", vendor) for w in minimax.warnings]
    if request.watermark:
        warnings.append(f"watermark: {vendor} has no audible AI tag")
    return Translation(body, tuple(warnings))


def _fetch_format(request: SongRequest) -> str:
    """What to fetch from the upstream: lossless when the caller wants lossless, else mp3."""
    return "mp3" if str(getattr(request.format, "value", request.format)) == "mp3" else "wav"


def translate(backend: str, request: SongRequest, *, callback_url: str = "") -> Translation:
    """The body for ``backend`` (one of :data:`TRANSLATORS`)."""
    if backend == "suno":
        return to_suno(request, callback_url=callback_url)
    return TRANSLATORS[backend](request)


TRANSLATORS: dict[str, Any] = {"minimax": to_minimax, "suno": to_suno, "dashscope": to_dashscope, "aimlapi": to_aimlapi}
