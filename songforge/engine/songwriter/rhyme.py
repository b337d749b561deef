"""Syllables and rhymes: English from CMUdict (``pronouncing``), Chinese from pinyin finals.

English words rhyme when any of their CMUdict pronunciations share the rhyming part (the last
stressed vowel and everything after it), stress marks ignored: ``night``/``tonight`` (AY T),
``fire``/``desire`` (AY ER). Chinese lines rhyme when the pinyin finals of their last characters
fall in the same rhyme group, the way Chinese songs rhyme (``ang``/``iang``/``uang``;
``an``/``ian``/``uan``/``üan``; ``eng``/``ing``/``ong``/``iong``; ...).
"""

from __future__ import annotations

import functools
import re

from songforge.errors import MissingDependency

__all__ = [
    "words_of",
    "syllables_en",
    "rhyme_keys_en",
    "rhymes_en",
    "in_cmudict",
    "syllables_zh",
    "rhyme_group_zh",
    "rhymes_zh",
    "lines_rhyme",
]

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")
_ZH_GROUPS = {
    "a": "a", "ia": "a", "ua": "a",
    "o": "e", "uo": "e", "e": "e",
    "ie": "ie", "ve": "ie", "üe": "ie",
    "i": "i", "v": "i", "ü": "i", "er": "i",
    "u": "u",
    "ai": "ai", "uai": "ai",
    "ei": "ei", "uei": "ei", "ui": "ei",
    "ao": "ao", "iao": "ao",
    "ou": "ou", "iou": "ou", "iu": "ou",
    "an": "an", "ian": "an", "uan": "an", "van": "an", "üan": "an",
    "en": "en", "in": "en", "uen": "en", "un": "en", "vn": "en", "ün": "en",
    "ang": "ang", "iang": "ang", "uang": "ang",
    "eng": "eng", "ing": "eng", "ueng": "eng", "ong": "eng", "iong": "eng",
}


def _pronouncing():
    try:
        import pronouncing
    except ImportError:
        raise MissingDependency("pronouncing (CMUdict) is not installed; run: pip install pronouncing") from None
    return pronouncing


def words_of(line: str) -> list[str]:
    """Lower-case words of an English line (apostrophes kept: ``we're``)."""
    return _WORD.findall(line.lower().replace("\u2019", "'"))


@functools.cache
def _phones(word: str) -> tuple[str, ...]:
    """CMUdict pronunciations, comments (``# irish``) removed."""
    return tuple(p.split("#")[0].strip() for p in _pronouncing().phones_for_word(word))


def in_cmudict(word: str) -> bool:
    """Whether CMUdict knows ``word`` (lower-case)."""
    return bool(_phones(word.lower()))


@functools.cache
def _word_syllables(word: str) -> int:
    phones = _phones(word)
    if phones:
        return _pronouncing().syllable_count(phones[0])
    return max(1, len(_VOWEL_GROUPS.findall(word.removesuffix("e") or word)))


def syllables_en(text: str) -> int:
    """Syllables in English ``text`` by CMUdict (first pronunciation; a spelling guess for
    unknown words)."""
    return sum(_word_syllables(w) for w in words_of(text))


@functools.cache
def rhyme_keys_en(word: str) -> frozenset[str]:
    """Stress-free rhyming parts of every CMUdict pronunciation of ``word`` (empty if unknown)."""
    word = word.lower()
    keys = set()
    for phones in _phones(word):
        part = _pronouncing().rhyming_part(phones)
        keys.add(re.sub(r"\d", "", part))
    return frozenset(keys)


def rhymes_en(a: str, b: str) -> bool:
    """Whether two English lines (or words) end in rhyming words; one word does not rhyme with
    itself unless the whole lines are the same."""
    wa, wb = words_of(a), words_of(b)
    if not wa or not wb:
        return False
    if wa[-1] == wb[-1]:
        return wa == wb
    return bool(rhyme_keys_en(wa[-1]) & rhyme_keys_en(wb[-1]))


def syllables_zh(line: str) -> int:
    """Sung syllables of a Chinese line: one per Chinese character."""
    return len(_HAN.findall(line))


@functools.cache
def rhyme_group_zh(char: str) -> str:
    """Rhyme group of one Chinese character's pinyin final (``"光"`` -> ``"ang"``)."""
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError:
        raise MissingDependency("pypinyin is not installed; run: pip install pypinyin") from None
    final = lazy_pinyin(char, style=Style.FINALS, strict=True)[0]
    return _ZH_GROUPS.get(final, final)


def rhymes_zh(a: str, b: str) -> bool:
    """Whether two Chinese lines end in characters of the same rhyme group (the same last
    character rhymes only when the whole lines are the same)."""
    ha, hb = _HAN.findall(a), _HAN.findall(b)
    if not ha or not hb:
        return False
    if ha[-1] == hb[-1]:
        return ha == hb
    return rhyme_group_zh(ha[-1]) == rhyme_group_zh(hb[-1])


def lines_rhyme(a: str, b: str, *, language: str) -> bool:
    """:func:`rhymes_en` or :func:`rhymes_zh` by ``language``."""
    return rhymes_zh(a, b) if language == "zh" else rhymes_en(a, b)
