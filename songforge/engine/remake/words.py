"""Putting words on a given melody: the reference's own timed words, or a new lyric sheet.

Both return :class:`~songforge.engine.voice.singer.SungLine` objects whose notes carry one
syllable each (``"-"`` continues the previous syllable), as :func:`~songforge.engine.voice.sing`
expects. Note times are score beats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from songforge.engine.analyze import Word as TimedWord
from songforge.engine.lyrics import Lyrics, syllabify_lines
from songforge.engine.remake.follow import BeatGrid
from songforge.engine.score import Note
from songforge.engine.voice.singer import SungLine

__all__ = ["phrases", "timed_words_on_notes", "lyrics_on_notes"]


def phrases(notes: Sequence[Note], *, rest_beats: float = 1.0) -> list[list[Note]]:
    """Split a line into phrases at rests of at least ``rest_beats``."""
    out: list[list[Note]] = []
    for n in sorted(notes, key=lambda n: n.start_beat):
        if out and n.start_beat - out[-1][-1].end_beat < rest_beats:
            out[-1].append(n)
        else:
            out.append([n])
    return out


def timed_words_on_notes(
    notes: Sequence[Note], words: Sequence[TimedWord], grid: BeatGrid, *, rest_beats: float = 1.0
) -> list[SungLine]:
    """Sing the reference's own words where it sang them.

    Each word goes on the notes whose onsets fall in its time span (the nearest note when none
    does); its syllables are spread over those notes, extra notes hold the last syllable
    (``"-"``), extra syllables share the last note. Phrases (split at rests) with no word keep
    no notes. Lines are phrases; a line's text is its words.
    """
    texts = [w.text.strip() for w in words if w.text.strip()]
    spans = [(float(grid.to_beats(w.start_s)), float(grid.to_beats(w.end_s)))
             for w in words if w.text.strip()]
    syllables = [list(w.syllables) or [w.text] for ws in syllabify_lines(texts, language="en")
                 for w in ws[:1]] if texts else []
    if len(syllables) != len(texts):  # a "word" that was only punctuation
        syllables = [[t] for t in texts]
    owner = _owners(notes, spans)
    lines: list[SungLine] = []
    for phrase in phrases(notes, rest_beats=rest_beats):
        idx = [notes.index(n) for n in phrase]
        word_ids = sorted({w for w in (owner[i] for i in idx) if w is not None})
        if not word_ids:
            continue
        sung = _spread_words([phrase[k] for k, i in enumerate(idx) if owner[i] is not None],
                             [owner[i] for i in idx if owner[i] is not None], syllables)
        lines.append(SungLine(" ".join(texts[int(w)] for w in word_ids), tuple(sung)))
    return lines


def _owners(notes: Sequence[Note], spans: list[tuple[float, float]]) -> list[int | None]:
    """The word index each note belongs to (``None``: an unsung note), every word getting one."""
    owner: list[int | None] = [None] * len(notes)
    for i, n in enumerate(notes):  # the latest-starting word sounding at the note's onset
        hits = [w for w, (a, b) in enumerate(spans) if a - 0.26 <= n.start_beat < max(b, a + 0.26)]
        owner[i] = max(hits, key=lambda w: spans[w][0]) if hits else None
    for w, (a, _) in enumerate(spans):
        if w not in owner and notes:
            nearest = min(range(len(notes)), key=lambda i: abs(notes[i].start_beat - a))
            if owner[nearest] is None:
                owner[nearest] = w
    return owner


def _spread_words(notes: list[Note], owners: list[int | None], syllables: list[list[str]]) -> list[Note]:
    out: list[Note] = []
    k = 0
    while k < len(notes):
        w = owners[k]
        j = k
        while j < len(notes) and owners[j] == w:
            j += 1
        out.extend(_syllables_on(notes[k:j], syllables[w] if w is not None else ["la"]))
        k = j
    return out


def _syllables_on(notes: list[Note], syllables: list[str]) -> list[Note]:
    """One word's syllables on its notes: extra notes ``"-"``, extra syllables on the last note."""
    n = len(notes)
    if len(syllables) > n:
        syllables = [*syllables[: n - 1], "".join(syllables[n - 1:])]
    out = [replace(note, lyric=syllables[k] if k < len(syllables) else "-") for k, note in enumerate(notes)]
    return out


def lyrics_on_notes(notes: Sequence[Note], lyrics: Lyrics, *, rest_beats: float = 1.0) -> list[SungLine]:
    """Sing a new lyric sheet on the melody, one lyric line per phrase in order.

    With more phrases than lines the sheet starts again (songs repeat their words); with more
    lines than phrases, consecutive lines share a phrase. Syllables go on notes in order: extra
    notes hold the last syllable, extra syllables share the last note.
    """
    lines = lyrics.lines
    groups = phrases(notes, rest_beats=rest_beats)
    if not lines or not groups:
        return []
    texts = _texts_per_phrase(lines, len(groups))
    words_per_text = syllabify_lines(texts)
    out: list[SungLine] = []
    for phrase, text, words in zip(groups, texts, words_per_text, strict=True):
        syllables = [s for w in words for s in w.syllables] or [text]
        out.append(SungLine(text, tuple(_syllables_on(phrase, syllables))))
    return out


def _texts_per_phrase(lines: list[str], n_phrases: int) -> list[str]:
    if len(lines) >= n_phrases:
        bounds = [round(k * len(lines) / n_phrases) for k in range(n_phrases + 1)]
        return [" ".join(lines[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    return [lines[k % len(lines)] for k in range(n_phrases)]
