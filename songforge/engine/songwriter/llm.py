"""Lyrics from an operator-configured OpenAI-compatible endpoint (``POST {base}/chat/completions``).

The answer must be a tagged lyric sheet: it is parsed with :func:`~songforge.engine.lyrics.
parse_lyrics`, must have exactly the requested sections in order, be in the requested language
and pass the content rules; anything else (and any HTTP error or timeout) raises
:class:`~songforge.errors.GenerationFailed`, and :func:`~songforge.engine.songwriter.write_lyrics`
falls back to the offline writer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from songforge.engine.lyrics import Lyrics, parse_lyrics
from songforge.engine.songwriter.content import check_content
from songforge.errors import GenerationFailed, SongforgeError

__all__ = ["LlmEndpoint", "llm_lyrics", "system_prompt"]

_TITLE_LINE = re.compile(r"^\s*(?:\*\*)?title(?:\*\*)?\s*[:：]\s*(?P<title>.+?)\s*$", re.I | re.M)
_FENCE = re.compile(r"^```\w*\s*$", re.M)


@dataclass(frozen=True)
class LlmEndpoint:
    """Where to ask for lyrics.

    Attributes
    ----------
    base_url : the API base, e.g. ``http://127.0.0.1:8080/v1`` (``/chat/completions`` is appended).
    model : the model name sent in the request.
    api_key : sent as ``Authorization: Bearer <key>`` when set.
    timeout_s : per request.
    """

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: object) -> LlmEndpoint | None:
        """The endpoint from ``Settings.lyrics_llm_*``, or ``None`` when not configured."""
        base = getattr(settings, "lyrics_llm_base_url", None)
        model = getattr(settings, "lyrics_llm_model", None)
        if not base or not model:
            return None
        return cls(base_url=str(base), model=str(model), api_key=getattr(settings, "lyrics_llm_api_key", None))


def system_prompt(*, language: str, structure: Sequence[str], title: str | None) -> str:
    """The instructions sent with every request."""
    tags = " ".join(f"[{k.replace('_', '-').title()}]" for k in structure)
    lang = "Simplified Chinese" if language == "zh" else "English"
    named = f' The title is "{title}".' if title else " Put the title on the first line as 'Title: ...'."
    return (
        f"You are a songwriter. Write complete song lyrics in {lang} on the user's theme. "
        f"Use exactly these sections, in this order, each introduced by its tag on its own line: {tags}. "
        "Repeat the chorus word for word each time. Instrumental sections and intros have no lines. "
        "Keep a steady meter (7-9 syllables a line, one syllable per Chinese character) and rhyme "
        f"the line ends. No slurs and no sexual content.{named} "
        "Answer with the lyric sheet only, no commentary."
    )


def llm_lyrics(prompt: str, *, endpoint: LlmEndpoint, language: str, structure: Sequence[str],
               title: str | None = None, blocklist_path: str | Path | None = None) -> Lyrics:
    """Ask the endpoint for lyrics and validate them.

    Raises
    ------
    GenerationFailed (``reason="lyrics_llm"``) : HTTP failure, timeout, or an answer that is
        not a valid sheet with the requested sections, language and content rules.
    """
    import httpx

    body = {
        "model": endpoint.model,
        "messages": [
            {"role": "system", "content": system_prompt(language=language, structure=structure, title=title)},
            {"role": "user", "content": prompt or "a song"},
        ],
        "temperature": 0.9,
    }
    headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    url = endpoint.base_url.rstrip("/") + "/chat/completions"
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=endpoint.timeout_s)
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise GenerationFailed(f"lyrics endpoint failed: {exc}", reason="lyrics_llm") from None
    return validate_answer(str(content), language=language, structure=structure,
                           blocklist_path=blocklist_path)


def validate_answer(content: str, *, language: str, structure: Sequence[str],
                    blocklist_path: str | Path | None = None) -> Lyrics:
    """Parse and check an endpoint's answer (see :func:`llm_lyrics`)."""
    text = _FENCE.sub("", content)
    match = _TITLE_LINE.search(text)
    title = match.group("title").strip(" \"'*") if match else None
    if match:
        text = text[:match.start()] + text[match.end():]
    try:
        lyrics = parse_lyrics(text)
        check_content(text, blocklist_path=blocklist_path, field="lyrics")
    except SongforgeError as exc:
        raise GenerationFailed(f"unusable lyrics from the endpoint: {exc}", reason="lyrics_llm") from None
    kinds = tuple(s.kind for s in lyrics.sections)
    if kinds != tuple(structure):
        raise GenerationFailed(f"the endpoint wrote sections {kinds}, not {tuple(structure)}",
                               reason="lyrics_llm")
    langs = [lang for s in lyrics.sections for lang in s.languages]
    if langs.count(language) < 0.8 * len(langs):
        raise GenerationFailed(f"the endpoint did not write in {language}", reason="lyrics_llm")
    return Lyrics(sections=lyrics.sections, title=title or lyrics.title)
