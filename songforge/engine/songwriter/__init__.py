"""The offline songwriter: lyrics from a prompt, edits of given lyrics, and the content rules.

``write_lyrics`` writes a whole song on the prompt's theme, in English or Chinese, with a steady
meter per section (syllables counted with CMUdict; one a character in Chinese), end rhymes
(CMUdict rhyme classes; pinyin finals), a chorus hook that repeats and a title. Lines come from
templates whose image, adjective and feeling slots are filled from a shipped vocabulary ranked by
sentence-embedding similarity to the prompt (``engine/data/songwriter_*.toml``). With an
OpenAI-compatible endpoint configured (:class:`LlmEndpoint`) that writes the lyrics instead, and
the offline writer is the fallback on any failure.

Example
-------
>>> lyrics = write_lyrics("a summer road trip with friends", seed=3)  # doctest: +SKIP
>>> print(lyrics.title, "|", lyrics.style_tags)  # doctest: +SKIP
>>> print(lyrics.to_text())  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from songforge.engine.lyrics import Lyrics
from songforge.engine.songwriter.content import check_content, load_blocklist
from songforge.engine.songwriter.draft import (
    DEFAULT_STRUCTURE,
    Draft,
    normalize_structure,
    rhyme_pairs,
)
from songforge.engine.songwriter.edit import edit_lyrics
from songforge.engine.songwriter.llm import LlmEndpoint, llm_lyrics
from songforge.engine.songwriter.style import lyric_style_tags
from songforge.errors import InvalidRequest

__all__ = [
    "write_lyrics",
    "draft_lyrics",
    "edit_lyrics",
    "check_content",
    "load_blocklist",
    "lyric_style_tags",
    "choose_language",
    "Draft",
    "LlmEndpoint",
    "DEFAULT_STRUCTURE",
    "rhyme_pairs",
]

_log = logging.getLogger(__name__)
_HAN = re.compile(r"[\u3400-\u9fff]")


def write_lyrics(
    prompt: str,
    *,
    language: str | None = None,
    structure: Iterable[str] | str | None = None,
    seed: int = 0,
    title: str | None = None,
    llm: LlmEndpoint | None = None,
    blocklist_path: str | Path | None = None,
) -> Lyrics:
    """Write a song's lyrics on the theme of ``prompt``.

    Parameters
    ----------
    prompt : what the song is about (any style words in it also give the style tags).
    language : ``"en"`` or ``"zh"``; ``None`` = Chinese when the prompt has Chinese characters.
    structure : section names in order (``["verse", "chorus", "verse", "chorus"]`` or
        ``"verse,chorus"``); ``None`` = verse, pre-chorus, chorus, verse, chorus, bridge, chorus.
        Intros and instrumental sections get no lines.
    seed : the same prompt and seed give the same sheet; other seeds give other songs.
    title : the song's title; ``None`` = taken from the chorus hook.
    llm : an OpenAI-compatible endpoint to write with; the offline writer is the fallback.
    blocklist_path : content word list; ``None`` = the shipped list.

    Returns
    -------
    Lyrics
        With ``title`` and ``style_tags`` (``"Pop, Upbeat, Female Vocals"``) set.

    Raises
    ------
    SensitiveContent : the prompt breaks the content rules.
    InvalidRequest : unknown language or section name.
    """
    check_content(prompt, blocklist_path=blocklist_path)
    if title:
        check_content(title, blocklist_path=blocklist_path)
    language = choose_language(prompt, language)
    kinds = normalize_structure(structure)
    if llm is not None:
        try:
            lyrics = llm_lyrics(prompt, endpoint=llm, language=language, structure=kinds,
                                title=title, blocklist_path=blocklist_path)
            return Lyrics(sections=lyrics.sections, title=title or lyrics.title
                          or _offline(prompt, language, kinds, seed, None).lyrics.title,
                          style_tags=lyric_style_tags(prompt, seed=seed))
        except Exception as exc:  # any endpoint failure falls back to the offline writer
            _log.warning("lyrics endpoint failed (%s); writing offline", exc)
    return _offline(prompt, language, kinds, seed, title).lyrics


def draft_lyrics(
    prompt: str,
    *,
    language: str | None = None,
    structure: Iterable[str] | str | None = None,
    seed: int = 0,
    title: str | None = None,
) -> Draft:
    """:func:`write_lyrics` offline, returning the :class:`Draft` (rhyme schemes and syllable
    targets too) that tests and benchmarks check. No content check."""
    language = choose_language(prompt, language)
    return _offline(prompt, language, normalize_structure(structure), seed, title)


def choose_language(prompt: str, language: str | None) -> str:
    """``language`` checked (``"en"``/``"zh"``), or guessed from the prompt's script."""
    if language is None:
        return "zh" if _HAN.search(prompt or "") else "en"
    code = str(language).strip().lower()
    code = {"english": "en", "chinese": "zh", "mandarin": "zh", "zh-cn": "zh", "cn": "zh"}.get(code, code)
    if code not in ("en", "zh"):
        raise InvalidRequest(f"lyrics language must be en or zh, not {language!r}", field="language",
                             limit="en or zh")
    return code


def _offline(prompt: str, language: str, kinds: tuple[str, ...], seed: int, title: str | None) -> Draft:
    from songforge.engine.songwriter.chinese import chinese_kit
    from songforge.engine.songwriter.english import english_kit
    from songforge.engine.songwriter.vocab import rank
    from songforge.engine.songwriter.writer import write_song

    kit = chinese_kit() if language == "zh" else english_kit()
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5F17])
    rel = rank(kit.vocab, prompt or "")
    return write_song(kit, kinds, rel=rel, rng=rng, title=title,
                      style_tags=lyric_style_tags(prompt, seed=seed))
