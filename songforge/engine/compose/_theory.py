"""Small music-theory and style-access helpers shared by the composer modules (private)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from songforge.engine.score import Chord, Section

__all__ = [
    "MAJOR_SCALE",
    "MINOR_SCALE",
    "QUALITY_INTERVALS",
    "scale_pcs",
    "chord_pcs",
    "chord_tones",
    "bar_beats",
    "steps_per_bar",
    "strong_beats",
    "resample_grid",
    "drum_grid",
    "bass_patterns",
    "ChordTrack",
    "section_at",
]

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)

QUALITY_INTERVALS: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "m7b5": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9),
    "add9": (0, 4, 7, 14),
    "min9": (0, 3, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14),
    "9": (0, 4, 7, 10, 14),
    "6": (0, 4, 7, 9),
    "min6": (0, 3, 7, 9),
}
"""Chord quality -> semitone intervals above the root (9ths written as 14)."""


def scale_pcs(tonic_pc: int, mode: str) -> tuple[int, ...]:
    """Pitch classes of the key's diatonic scale (natural minor for ``"minor"``)."""
    steps = MINOR_SCALE if mode == "minor" else MAJOR_SCALE
    return tuple((tonic_pc + s) % 12 for s in steps)


def chord_pcs(chord: Chord) -> tuple[int, ...]:
    """Pitch classes of ``chord``, root first, in interval order (bass note not included)."""
    intervals = QUALITY_INTERVALS.get(chord.quality, QUALITY_INTERVALS["maj"])
    return tuple((chord.root_pc + i) % 12 for i in intervals)


def chord_tones(chord: Chord) -> frozenset[int]:
    """Pitch classes sounding in ``chord``, its slash bass included."""
    pcs = set(chord_pcs(chord))
    if chord.bass_pc is not None:
        pcs.add(chord.bass_pc % 12)
    return frozenset(pcs)


def bar_beats(meter: tuple[int, int]) -> float:
    """Bar length in quarter-note beats (4/4 -> 4, 3/4 -> 3, 6/8 -> 3)."""
    num, den = meter
    return num * 4.0 / den


def steps_per_bar(meter: tuple[int, int]) -> int:
    """Sixteenth-note steps in one bar (4/4 -> 16, 3/4 and 6/8 -> 12)."""
    return max(1, round(bar_beats(meter) * 4))


def strong_beats(meter: tuple[int, int]) -> tuple[float, ...]:
    """Strong beats in a bar, in quarter-note beats from the bar start.

    4/4 -> (0, 2); 3/4 -> (0,); 6/8 -> (0, 1.5); 12/8 -> (0, 3); other x/4 -> every other beat.
    """
    num, den = meter
    length = bar_beats(meter)
    if den == 8 and num % 3 == 0:
        return tuple(1.5 * i for i in range(num // 3) if i % 2 == 0 or num // 3 == 2)
    if num == 3 or length < 2:
        return (0.0,)
    return tuple(float(b) for b in range(0, int(length), 2))


def resample_grid(grid: str, steps: int) -> str:
    """Map a step string onto ``steps`` steps, keeping hits at the same fraction of the bar.

    Where two hits land on one step the stronger (``x`` > ``o`` > ``.``, any other symbol first)
    wins. Examples: ``resample_grid("x---x---x---x---", 12) == "x--x--x--x--"``.
    """
    if len(grid) == steps or not grid:
        return grid if grid else "-" * steps
    rank = {"-": 0, ".": 1, "o": 2, "x": 3}
    out = ["-"] * steps
    for i, ch in enumerate(grid):
        if ch == "-":
            continue
        j = min(steps - 1, int(i * steps / len(grid) + 0.5))
        if rank.get(ch, 4) > rank.get(out[j], 4 if out[j] != "-" else 0):
            out[j] = ch
    return "".join(out)


def drum_grid(style, *, meter: tuple[int, int], section_kind: str) -> dict[str, str]:
    """Drum lanes -> step strings of exactly one bar in ``meter`` for a section kind.

    Uses ``Style.drum_pattern_for(meter, kind)`` when the style has it, else ``drum_pattern``.
    """
    getter = getattr(style, "drum_pattern_for", None)
    lanes = getter(meter, section_kind) if getter else style.drum_pattern(section_kind)
    steps = steps_per_bar(meter)
    return {lane: resample_grid(grid, steps) for lane, grid in dict(lanes).items()}


def bass_patterns(style, *, meter: tuple[int, int]) -> list[str]:
    """The style's bass patterns for ``meter``, each resampled to one bar (``"walk"`` kept)."""
    getter = getattr(style, "bass_patterns_for", None)
    patterns = list(getter(meter) if getter else style.bass.get("patterns", []))
    steps = steps_per_bar(meter)
    out = ["walk" if p.strip().lower().startswith("walk") else resample_grid(p, steps)
           for p in patterns]
    return out or ["R" + "-" * (steps - 1)]


class ChordTrack:
    """Fast ``chord at beat`` lookup over a song's chords (sorted by start)."""

    def __init__(self, chords: Sequence[Chord]) -> None:
        self.chords = tuple(sorted(chords, key=lambda c: c.start_beat))
        self._starts = [c.start_beat for c in self.chords]

    def at(self, beat: float) -> Chord:
        """The chord sounding at ``beat`` (the first chord before the song starts)."""
        i = bisect_right(self._starts, beat + 1e-6) - 1
        return self.chords[max(i, 0)]

    @classmethod
    def from_sections(cls, sections: Sequence[Section]) -> ChordTrack:
        return cls([c for s in sections for c in s.chords])


def section_at(sections: Sequence[Section], beat: float) -> Section:
    """The section containing ``beat`` (the last one past the end)."""
    for s in sections:
        if s.start_beat <= beat + 1e-6 < s.end_beat:
            return s
    return sections[-1]
