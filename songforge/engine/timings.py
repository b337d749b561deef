"""Word- and line-level lyric timings, and their LRC and JSON renderings.

Times are seconds from the start of the song.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

__all__ = ["WordTiming", "LineTiming", "build_line_timings", "to_lrc", "to_json"]


@dataclass(frozen=True)
class WordTiming:
    """One sung word: ``start_s`` is its first vowel's note onset, ``end_s`` its last sound's end."""

    word: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class LineTiming:
    """One sung lyric line and its words, in singing order."""

    index: int
    text: str
    start_s: float
    end_s: float
    words: tuple[WordTiming, ...]


def build_line_timings(
    line_timings: Sequence[tuple[str, float, float]],
    word_timings: Sequence[tuple[str, float, float, int]],
) -> list[LineTiming]:
    """Group the singer's ``(word, start_s, end_s, line_index)`` under its ``(text, start_s, end_s)`` lines."""
    words: dict[int, list[WordTiming]] = {}
    for word, start_s, end_s, line_index in word_timings:
        words.setdefault(line_index, []).append(WordTiming(word, round(start_s, 3), round(end_s, 3)))
    return [
        LineTiming(i, text, round(start_s, 3), round(end_s, 3), tuple(words.get(i, ())))
        for i, (text, start_s, end_s) in enumerate(line_timings)
    ]


def _lrc_stamp(seconds: float) -> str:
    centis = max(0, round(seconds * 100))
    minutes, centis = divmod(centis, 6000)
    return f"{minutes:02d}:{centis // 100:02d}.{centis % 100:02d}"


def to_lrc(lines: Sequence[LineTiming], *, title: str = "", words: bool = True) -> str:
    """LRC text: ``[mm:ss.xx]`` per line; with ``words``, enhanced ``<mm:ss.xx>`` word stamps."""
    out = [f"[ti:{title}]"] if title else []
    for line in lines:
        if words and line.words:
            body = " ".join(f"<{_lrc_stamp(w.start_s)}>{w.word}" for w in line.words)
        else:
            body = line.text
        out.append(f"[{_lrc_stamp(line.start_s)}]{body}")
    return "\n".join(out) + "\n"


def to_json(lines: Sequence[LineTiming]) -> str:
    """``{"lines": [{"index", "text", "start_s", "end_s", "words": [{"word", "start_s", "end_s"}]}]}``."""
    return json.dumps({"lines": [asdict(line) for line in lines]}, ensure_ascii=False, indent=1)
