"""Edit mode (MiniMax ``lyrics_generation`` with ``mode: edit``): revise or continue lyrics.

Revising rewrites each line with a new line that ends on the same rhyme sound (CMUdict rhyme
class; pinyin final group) and keeps its syllable count within 2, so the sheet keeps its
structure and rhyme scheme; repeated lines (choruses) stay repeated, and a line with no rhyme in
the vocabulary is kept as it was. Continuing (a prompt asking to "continue", "extend", "add", or
续写/继续) keeps every line and adds a verse in the scheme and meter of the last verse, then the
chorus again when the song has one.
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import numpy as np

from songforge.engine.lyrics import Lyrics, LyricSection, parse_lyrics
from songforge.engine.songwriter.content import check_content
from songforge.engine.songwriter.draft import SectionSpec, build_lyrics
from songforge.engine.songwriter.rhyme import lines_rhyme
from songforge.engine.songwriter.style import lyric_style_tags
from songforge.engine.songwriter.vocab import rank
from songforge.engine.songwriter.writer import LineWriter
from songforge.errors import InvalidRequest

__all__ = ["edit_lyrics", "wants_continuation"]

_CONTINUE = re.compile(r"\b(continue|continuation|extend|add|more|longer|next|finish|complete|"
                       r"another)\b|续写|继续|接着|补全|再写|扩写", re.I)
_MAX_KEEP_DISTANCE = 2


def wants_continuation(prompt: str) -> bool:
    """Whether an edit prompt asks to continue the song rather than revise it."""
    return bool(_CONTINUE.search(prompt or ""))


def edit_lyrics(lyrics_text: str, *, prompt: str, seed: int, language: str | None = None,
                blocklist_path: str | Path | None = None) -> Lyrics:
    """Revise or continue ``lyrics_text`` (see the module docstring).

    Parameters
    ----------
    lyrics_text : the sheet to edit, with structure tags.
    prompt : the edit instruction and theme (e.g. ``"make it about the sea"``,
        ``"continue the song"``).
    seed : the same input and seed give the same result.
    language : ``"en"`` or ``"zh"``; ``None`` = the sheet's main language.

    Raises
    ------
    SensitiveContent : the prompt or the lyrics break the content rules.
    InvalidRequest : the sheet has no lines, or an unknown language.
    """
    from songforge.engine.songwriter import choose_language

    check_content(prompt, blocklist_path=blocklist_path)
    check_content(lyrics_text, blocklist_path=blocklist_path, field="lyrics")
    sheet = parse_lyrics(lyrics_text)
    langs = [lang for s in sheet.sections for lang in s.languages]
    language = choose_language("", language or max(set(langs), key=langs.count))
    kit = _kit(language)
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0xED17])
    theme = prompt if (prompt or "").strip() else " ".join(sheet.lines[:8])
    writer = LineWriter(kit=kit, rel=rank(kit.vocab, theme), rng=rng)
    for line in sheet.lines:
        writer.used_lines.add(line)
    edit = _continue if wants_continuation(prompt) else _revise
    sections = edit(sheet, writer)
    kinds = [s.kind for s in sections]
    lines = [list(s.lines) for s in sections]
    title = sheet.title or _title_from(sections, kit)
    return build_lyrics(kinds, lines, title=title, style_tags=lyric_style_tags(prompt or theme, seed=seed),
                        language=language)


def _kit(language: str):
    if language == "zh":
        from songforge.engine.songwriter.chinese import chinese_kit

        return chinese_kit()
    if language != "en":
        raise InvalidRequest(f"cannot edit lyrics in {language!r}", field="language", limit="en or zh")
    from songforge.engine.songwriter.english import english_kit

    return english_kit()


def _revise(sheet: Lyrics, writer: LineWriter) -> list[LyricSection]:
    done: dict[str, str] = {}
    out = []
    for section in sheet.sections:
        new = [done.setdefault(line, _rewrite(line, writer)) for line in section.lines]
        out.append(LyricSection(kind=section.kind, name=section.name, lines=tuple(new),
                                instrumental=section.instrumental, languages=section.languages))
    return out


def _rewrite(line: str, writer: LineWriter) -> str:
    """A new line on the same rhyme sound and within 2 syllables, else the line itself."""
    kit = writer.kit
    end = _last_word(line, kit.code)
    target = kit.count(line)
    keys = [k for k in sorted(kit.rhyme_keys(end)) if k in writer.classes] if end else []
    for key in keys:
        distance, text, word = writer.line(key, target)
        if text and distance <= _MAX_KEEP_DISTANCE:
            return writer.commit(text, word, key)
    return line


def _last_word(line: str, language: str) -> str:
    if language == "zh":
        han = re.findall(r"[\u3400-\u9fff]", line)
        return han[-1] if han else ""
    from songforge.engine.songwriter.rhyme import in_cmudict, words_of

    words = words_of(line)
    return words[-1] if words and in_cmudict(words[-1]) else ""


def _continue(sheet: Lyrics, writer: LineWriter) -> list[LyricSection]:
    sections = list(sheet.sections)
    sung = [s for s in sections if s.lines]
    verses = [s for s in sung if s.kind == "verse"] or sung
    model = max(verses, key=lambda s: len(s.lines))
    chorus = next((s for s in sung if s.kind == "chorus"), None)
    scheme = _scheme_of(model.lines, writer.kit.code)
    target = round(statistics.median(writer.kit.count(line) for line in model.lines))
    for line in sheet.lines:
        for key in writer.kit.rhyme_keys(_last_word(line, writer.kit.code) or "x"):
            writer.class_uses[key] += 1
    new = writer.section(SectionSpec("verse", scheme, target), hook="", hook_key="")
    sections.append(LyricSection(kind="verse", name="verse", lines=tuple(new), instrumental=False,
                                 languages=(writer.kit.code,) * len(new)))
    if chorus is not None:
        sections.append(chorus)
    return sections


def _scheme_of(lines: tuple[str, ...], language: str) -> str:
    """Letters by rhyme: each line takes the letter of the first earlier line it rhymes with."""
    letters: list[str] = []
    for i, line in enumerate(lines):
        match = next((letters[j] for j in range(i) if lines_rhyme(lines[j], line, language=language)), None)
        letters.append(match or "BCDEFGIJKLMNOP"[len(set(letters)) % 14])
    return "".join(letters)


def _title_from(sections: list[LyricSection], kit) -> str:
    source = next((s for s in sections if s.kind == "chorus" and s.lines), None)
    line = (source or next(s for s in sections if s.lines)).lines[0]
    if kit.code == "zh":
        return re.sub(r"[^\u3400-\u9fff]", "", line)[:8]
    words = re.sub(r"[,.!?;:]", "", line).split()
    if len(words) > 6:
        words = words[-3:]
        while len(words) > 1 and words[0].lower() in ("the", "a", "an", "and", "of", "to", "in"):
            words = words[1:]
    return kit.title_of(" ".join(words))
