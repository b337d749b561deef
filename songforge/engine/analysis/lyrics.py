"""Lyrics of the sung stretches by Whisper-base (:mod:`songforge.engine.asr`), laid out as a
tagged sheet: one ``[Label]`` block per section, lines broken at pauses."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["transcribe_lyrics", "tag_lyrics"]

_LINE_GAP_S = 0.6  # a pause this long starts a new line
_MAX_LINE_WORDS = 10


def transcribe_lyrics(audio: np.ndarray, *, sample_rate_hz: int,
                      spans_s: Sequence[tuple[float, float]]) -> list[tuple[str, float, float]]:
    """``(word, start_s, end_s)`` heard in ``spans_s`` of (n,) or (n, channels) ``audio``."""
    from songforge.engine.asr import transcribe_spans

    if not spans_s:
        return []
    return transcribe_spans(audio, sample_rate_hz=sample_rate_hz, spans_s=spans_s).words


def tag_lyrics(words: Sequence[tuple[str, float, float]],
               sections: Sequence[tuple[str, float, float]]) -> str:
    """A lyric sheet: words grouped by the section ``(label, start_s, end_s)`` holding their
    middle, each group under ``[Label]``, lines broken at 0.6 s pauses or after 10 words.

    >>> tag_lyrics([("hi", 1.0, 1.2), ("there", 1.3, 1.5), ("sun", 9.0, 9.4)],
    ...            [("verse", 0.0, 8.0), ("chorus", 8.0, 16.0)])
    '[Verse]\\nhi there\\n\\n[Chorus]\\nsun'
    """
    blocks: list[tuple[str, list[list[str]]]] = []
    last_end = -1.0
    current = -1
    for word, start_s, end_s in words:
        k = _section_of((start_s + end_s) / 2, sections)
        if k != current or not blocks:
            blocks.append((sections[k][0] if sections else "verse", [[]]))
            current = k
        lines = blocks[-1][1]
        if lines[-1] and (start_s - last_end >= _LINE_GAP_S or len(lines[-1]) >= _MAX_LINE_WORDS):
            lines.append([])
        lines[-1].append(word)
        last_end = end_s
    return "\n\n".join(f"[{label.capitalize()}]\n" + "\n".join(" ".join(line) for line in lines if line)
                       for label, lines in blocks)


def _section_of(time_s: float, sections: Sequence[tuple[str, float, float]]) -> int:
    for k, (_, start_s, end_s) in enumerate(sections):
        if start_s <= time_s < end_s:
            return k
    return max(0, len(sections) - 1) if sections and time_s >= sections[-1][2] else 0
