"""Lyrics: parse a lyric sheet with structure tags, detect each line's language, and syllabify.

Structure tags are read the way vendors write them: ``[Verse 2]``, ``[Pre-Chorus]``,
``[prechorus]``, ``[CHORUS]``, ``[Instrumental]``, ``(Chorus)``, ``Verse 1:``, ``[Guitar Solo]``,
``[Intro: soft piano]``. Each maps to one canonical section kind (see ``SECTION_KINDS``).
English syllables come from Festival's lexicon (the same one the singer uses), so the number of
syllables a composer writes notes for is the number the voice will sing; Chinese is one
syllable per character.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from songforge.errors import InvalidRequest, MissingDependency

__all__ = [
    "Lyrics",
    "LyricSection",
    "Word",
    "parse_lyrics",
    "detect_language",
    "syllabify",
    "syllabify_lines",
    "SECTION_KINDS",
    "INSTRUMENTAL_KINDS",
]

SECTION_KINDS = (
    "intro", "verse", "pre_chorus", "chorus", "post_chorus", "bridge", "outro", "inst", "solo",
    "break", "build_up", "hook", "interlude", "transition",
)
INSTRUMENTAL_KINDS = frozenset({"inst", "solo", "break", "interlude", "transition"})

# Normalised tag words -> kind. Longest match wins; keys are space-separated lower-case words.
_ALIASES = {
    "intro": "intro", "opening": "intro",
    "verse": "verse", "v": "verse", "strophe": "verse",
    "pre chorus": "pre_chorus", "prechorus": "pre_chorus", "pre": "pre_chorus",
    "pre hook": "pre_chorus", "prehook": "pre_chorus", "lift": "pre_chorus",
    "chorus": "chorus", "refrain": "chorus", "chrous": "chorus", "chourus": "chorus",
    "post chorus": "post_chorus", "postchorus": "post_chorus",
    "bridge": "bridge", "middle 8": "bridge", "middle eight": "bridge",
    "outro": "outro", "ending": "outro", "coda": "outro", "fade out": "outro", "end": "outro",
    "inst": "inst", "instrumental": "inst", "instrumental break": "inst", "drop": "inst",
    "solo": "solo",
    "break": "break", "breakdown": "break",
    "build up": "build_up", "buildup": "build_up", "build": "build_up",
    "hook": "hook",
    "interlude": "interlude",
    "transition": "transition",
}
# A word anywhere in an otherwise unknown tag that still names the kind ("Guitar Solo").
_KEYWORDS = {"solo": "solo", "instrumental": "inst", "interlude": "interlude",
             "breakdown": "break", "chorus": "chorus", "verse": "verse", "bridge": "bridge"}
_BRACKETED = re.compile(r"^\s*[\[(](?P<body>[^\[\]()]*)[\])]\s*$")
_COLON_TAG = re.compile(r"^\s*(?P<body>[A-Za-z][A-Za-z \-]{0,20}?\s*\d*)\s*:\s*(?P<rest>.*)$")
_TITLE = re.compile(r"^\s*\[?\s*title\s*:\s*(?P<title>[^\]]+?)\s*\]?\s*$", re.IGNORECASE)
_VOWELS = "aeiouy"
_DIGRAPHS = frozenset({"th", "ch", "sh", "ph", "wh", "gh", "ck", "qu"})


@dataclass(frozen=True)
class LyricSection:
    """One section of a lyric sheet.

    ``kind`` is one of ``SECTION_KINDS``; ``name`` is unique in the sheet (``"verse 2"``);
    ``lines`` are the sung lines (empty when ``instrumental``); ``languages`` gives each line's
    language code (``"en"`` or ``"zh"``).
    """

    kind: str
    name: str
    lines: tuple[str, ...]
    instrumental: bool
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lyrics:
    """A parsed lyric sheet: sections in singing order, an optional title, and style tags in
    MiniMax's form (``"Pop, Upbeat, Female Vocals"``; empty when unknown)."""

    sections: tuple[LyricSection, ...]
    title: str | None = None
    style_tags: str = ""

    @property
    def lines(self) -> list[str]:
        """Every sung line, in order."""
        return [line for s in self.sections for line in s.lines]

    def to_text(self, *, with_title: bool = False) -> str:
        """The sheet as tagged text (``"[Verse 1]\\n...\\n\\n[Chorus]\\n..."``) that
        :func:`parse_lyrics` reads back into the same sections; ``with_title`` puts a
        ``[Title: ...]`` line first."""
        blocks = [f"[Title: {self.title}]"] if with_title and self.title else []
        for section in self.sections:
            label = section.kind.replace("_", "-").title()
            number = section.name.rsplit(" ", 1)[-1]
            tag = f"[{label} {number}]" if number.isdigit() else f"[{label}]"
            blocks.append("\n".join([tag, *section.lines]))
        return "\n\n".join(blocks)


@dataclass(frozen=True)
class Word:
    """A word with its syllables (display spellings) and their stresses (1 stressed, 0 not).

    For Chinese, ``stresses`` holds the tone number 1-5 when pypinyin is installed, else 0.
    """

    text: str
    syllables: tuple[str, ...]
    stresses: tuple[int, ...]


# --------------------------------------------------------------------------- parsing


def parse_lyrics(text: str) -> Lyrics:
    """Parse a lyric sheet into sections.

    Parameters
    ----------
    text : the sheet; structure tags on their own lines (``[Chorus]``, ``(Chorus)``,
        ``Chorus:``), lyric lines between them. Lines before any tag form a verse. A sung kind
        with no lines repeats the last section of that kind that had lines (``[Chorus]`` again
        means the chorus again), otherwise it becomes instrumental. Unknown bracketed tags
        (``[Whispered]``, ``[Male Vocal]``) are ignored.

    Returns
    -------
    Lyrics

    Raises
    ------
    InvalidRequest (``field="lyrics"``) : no lyric line is left after the tags, or a line is in
        a script that cannot be sung (only Latin and Chinese characters can).

    Examples
    --------
    >>> lyr = parse_lyrics("[Verse 1]\\nHello there\\n[Chorus]\\nLa la la\\n[Guitar Solo]")
    >>> [(s.kind, s.name, s.instrumental) for s in lyr.sections]
    [('verse', 'verse', False), ('chorus', 'chorus', False), ('solo', 'solo', True)]
    """
    title, raw_sections = _split_sections(str(text or ""))
    sections = _finish_sections(raw_sections)
    if not any(s.lines for s in sections):
        raise InvalidRequest("the lyrics have no lines to sing", field="lyrics",
                             limit="at least one lyric line")
    return Lyrics(sections=tuple(sections), title=title)


def detect_language(line: str) -> str:
    """``"zh"`` when the line holds any Chinese character, else ``"en"``.

    Raises ``InvalidRequest`` (``field="lyrics"``) for letters of any other script.
    """
    found = "en"
    for ch in line:
        script = _script_of(ch)
        if script == "han":
            found = "zh"
        elif script == "other":
            raise InvalidRequest(
                f"cannot sing {_char_name(ch)} in {line.strip()!r}: lyrics must be English "
                "(Latin letters) or Chinese", field="lyrics", limit="Latin or Chinese script")
    return found


def _split_sections(text: str) -> tuple[str | None, list[list]]:
    """Lines -> (title, [[kind, [lines]], ...]) with tags resolved, unnamed and unvalidated."""
    title = None
    sections: list[list] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _TITLE.match(line)
        if match and title is None and not any(s[1] for s in sections):
            title = match.group("title").strip()
            continue
        kind, rest = _tag_of(line)
        if kind == "":  # an unknown bracketed tag: a performance note, not a section
            continue
        if kind is not None:
            sections.append([kind, []])
            line = rest
            if not line:
                continue
        if not sections or sections[-1][0] in INSTRUMENTAL_KINDS:
            sections.append(["verse", []])
        sections[-1][1].append(re.sub(r"\s+", " ", line))
    return title, sections


def _tag_of(line: str) -> tuple[str | None, str]:
    """(kind, rest) for a tag line; kind ``None`` for a lyric line, ``""`` for an unknown tag."""
    match = _BRACKETED.match(line)
    if match:
        body = match.group("body").split(":")[0]
        kind = _kind_of(body)
        if kind is not None:
            return kind, ""
        return ("" if line.lstrip().startswith("[") else None), line
    match = _COLON_TAG.match(line)
    if match:
        kind = _kind_of(match.group("body"), strict=True)
        if kind is not None:
            return kind, match.group("rest").strip()
    return None, line


def _kind_of(body: str, *, strict: bool = False) -> str | None:
    words = re.sub(r"[^a-z0-9]+", " ", body.lower()).split()
    words = [w for w in words if not w.isdigit()]
    if strict and len(words) > 3:
        return None
    for n in range(min(len(words), 3), 0, -1):
        kind = _ALIASES.get(" ".join(words[:n]))
        if kind is not None and (not strict or n == len(words)):
            return kind
    if strict:
        return None
    for w in words:
        if w in _KEYWORDS:
            return _KEYWORDS[w]
    return None


def _finish_sections(raw: list[list]) -> list[LyricSection]:
    counts: dict[str, int] = {}
    for kind, _ in raw:
        counts[kind] = counts.get(kind, 0) + 1
    seen: dict[str, int] = {}
    last_lines: dict[str, tuple[str, ...]] = {}
    out = []
    for kind, lines in raw:
        seen[kind] = seen.get(kind, 0) + 1
        label = kind.replace("_", " ")
        name = label if counts[kind] == 1 else f"{label} {seen[kind]}"
        sung = tuple(lines) if kind not in INSTRUMENTAL_KINDS else ()
        if not sung and kind not in INSTRUMENTAL_KINDS and kind not in ("intro", "outro"):
            sung = last_lines.get(kind, ())
        if sung:
            last_lines[kind] = sung
        languages = tuple(detect_language(line) for line in sung)
        out.append(LyricSection(kind=kind, name=name, lines=sung, instrumental=not sung,
                                languages=languages))
    return out


def _script_of(ch: str) -> str:
    """``latin``, ``han`` or ``other`` for letters; ``neutral`` for digits, marks, punctuation."""
    category = unicodedata.category(ch)
    if not category.startswith("L"):
        return "neutral"
    if ch.isascii():
        return "latin"
    name = unicodedata.name(ch, "")
    if name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH")):
        return "han"
    if "LATIN" in name:
        return "latin"
    return "other"


def _char_name(ch: str) -> str:
    name = unicodedata.name(ch, f"U+{ord(ch):04X}")
    return f"{ch!r} ({name.split(' ')[0].title()} script)"


# --------------------------------------------------------------------------- syllables

_CACHE: dict[str, tuple[Word, ...]] = {}
_CACHE_MAX = 4096


def syllabify(line: str, *, language: str | None = None) -> list[Word]:
    """Split a lyric line into words and syllables.

    Parameters
    ----------
    line : one lyric line.
    language : ``"en"`` (Festival's lexicon and letter-to-sound rules: the counts the singer
        will use; numbers are expanded, ``"21"`` -> 3 syllables), ``"zh"`` (one syllable per
        Chinese character) or ``None`` to detect it.

    Returns
    -------
    list of Word; words with no syllables (punctuation) are left out.

    Examples
    --------
    >>> [(w.text, w.syllables) for w in syllabify("beautiful fire", language="en")]
    [('beautiful', ('beau', 'ti', 'ful')), ('fire', ('fi', 're'))]
    """
    return syllabify_lines([line], language=language)[0]


def syllabify_lines(lines: Sequence[str], *, language: str | None = None) -> list[list[Word]]:
    """:func:`syllabify` for many lines with one Festival process (results are cached)."""
    languages = [language or detect_language(line) for line in lines]
    todo = sorted({line for line, lang in zip(lines, languages, strict=True)
                   if lang == "en" and line not in _CACHE})
    if todo:
        _fill_cache_en(todo)
    return [list(_CACHE[line]) if lang == "en" else _syllabify_zh(line)
            for line, lang in zip(lines, languages, strict=True)]


def _fill_cache_en(lines: list[str]) -> None:
    from songforge.engine.voice.festival import speak

    if len(_CACHE) + len(lines) > _CACHE_MAX:
        _CACHE.clear()
    for line, spoken in zip(lines, speak(lines, with_audio=False), strict=True):
        _CACHE[line] = tuple(
            Word(text=w.text, syllables=_spell_spoken(w),
                 stresses=tuple(s.stress for s in w.syllables))
            for w in spoken.words)


def _spell_spoken(word) -> tuple[str, ...]:
    """Display syllables of a Festival token: from its own spelling, or from the words a number
    or symbol expands to (``"21"`` -> twen-ty-one)."""
    if re.fullmatch(r"[A-Za-z']+", word.text) or not word.names:
        return spell_syllables(word.text, len(word.syllables))
    pieces: list[str] = []
    for name in dict.fromkeys(s.word for s in word.syllables):
        count = sum(1 for s in word.syllables if s.word == name)
        pieces.extend(spell_syllables(name, count))
    return tuple(pieces)


def _syllabify_zh(line: str) -> list[Word]:
    """The words the Mandarin voice sings (numbers read as characters, tones after sandhi); with
    pypinyin missing, the line's own characters (digits skipped) with 0 tones."""
    words: list[Word] = []
    tokens = _sung_tokens(line) or [(t, 0) for t in re.findall(r"[A-Za-z']+|\S", line)]
    for token, tone in tokens:
        if _script_of(token[0]) == "han":
            words.append(Word(text=token, syllables=(token,), stresses=(tone,)))
        elif token[0].isascii() and token[0].isalpha():
            n = max(1, len(_vowel_groups(token.lower())))
            words.append(Word(text=token, syllables=spell_syllables(token, n), stresses=(0,) * n))
    return words


def _sung_tokens(line: str) -> list[tuple[str, int]] | None:
    """``(token, tone)`` as the Mandarin voice sings the line (tone sandhi: ``你好`` -> 2, 3;
    Latin words tone 0), or ``None`` when pypinyin is missing."""
    try:
        from songforge.engine.voice.mandarin import pinyin_of

        return [(text, tone) for text, _, tone in pinyin_of(line)]
    except (ImportError, MissingDependency):
        return None


def spell_syllables(word: str, n: int) -> tuple[str, ...]:
    """Split ``word``'s spelling into ``n`` display syllables (``"beautiful", 3`` -> beau-ti-ful).

    Vowel groups are the nuclei; the last consonant between two of them (or digraph, ``th``)
    starts the next syllable. When the vowel groups do not match ``n`` the spelling is
    cut into ``n`` nearly equal pieces. Concatenating the pieces gives ``word`` back when it
    has at least ``n`` letters.
    """
    if n <= 1 or len(word) < n:
        return (word,) if n <= 1 else _equal_pieces(word, n)
    groups = _vowel_groups(word.lower())
    if len(groups) == n + 1 and word.lower().endswith("e") and groups[-1][0] == len(word) - 1:
        groups = groups[:-1]  # silent final e
    if len(groups) != n:
        return _equal_pieces(word, n)
    low = word.lower()
    cuts = []
    for (_, end_a), (start_b, _) in zip(groups[:-1], groups[1:], strict=True):
        cut = start_b - 1
        if cut - 1 >= end_a and low[cut - 1:cut + 1] in _DIGRAPHS:
            cut -= 1
        cuts.append(cut)
    edges = [0, *cuts, len(word)]
    return tuple(word[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True))


def _vowel_groups(word: str) -> list[tuple[int, int]]:
    """(start, end) of each run of vowels; a leading ``y`` counts as a consonant."""
    groups = []
    for m in re.finditer(f"[{_VOWELS}]+", word):
        start = m.start() + (1 if m.start() == 0 and word[0] == "y" and m.end() > 1 else 0)
        if m.start() == 0 and word[0] == "y" and m.end() == 1:
            continue
        groups.append((start, m.end()))
    return groups


def _equal_pieces(word: str, n: int) -> tuple[str, ...]:
    if len(word) < n:
        return tuple(word[min(i, len(word) - 1)] for i in range(n)) if word else ("~",) * n
    edges = [round(i * len(word) / n) for i in range(n + 1)]
    return tuple(word[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True))
