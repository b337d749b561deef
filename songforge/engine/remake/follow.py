"""Following a reference's analysis: its beat grid, form, chords, melody and words, in score beats.

An :class:`~songforge.engine.analyze.Analysis` is in seconds; the composer works in quarter-note
beats at one tempo. :class:`BeatGrid` maps one to the other through the reference's own beat times
(so a drifting tempo is straightened out), and the functions here turn the analysed sections,
chords and melody into :class:`~songforge.engine.score.Section` / :class:`~songforge.engine.score.Note`
objects on that grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from songforge.engine.analyze import Analysis, ChordSpan
from songforge.engine.score import Chord, Note, Section

__all__ = [
    "BeatGrid", "reference_sections", "reference_melody", "SCORE_KIND", "CHORD_QUALITIES",
]

SCORE_KIND = {"intro": "intro", "verse": "verse", "chorus": "chorus", "bridge": "bridge",
              "outro": "outro", "inst": "inst", "silence": "break"}
"""Analysis section label -> ``Section.kind``."""

CHORD_QUALITIES = ("maj", "min", "dim", "aug", "sus2", "sus4", "7", "maj7", "min7", "m7b5", "dim7",
                   "add9", "min9", "maj9", "9", "6", "min6")
_QUALITY_ALIASES = {"": "maj", "M": "maj", "m": "min", "major": "maj", "minor": "min", "dom7": "7",
                    "m7": "min7", "M7": "maj7", "hdim7": "m7b5", "sus": "sus4"}


@dataclass(frozen=True)
class BeatGrid:
    """Seconds of the reference <-> quarter-note beats of the new score.

    ``beats_s`` are the reference's beat times; beat ``k`` of the reference lands on score beat
    ``k - origin_beat`` so the score starts at a bar line at or before the audio's start.
    Outside the detected beats time is extrapolated at ``tempo_bpm``.
    """

    beats_s: tuple[float, ...]
    tempo_bpm: float
    origin_beat: float

    @classmethod
    def from_analysis(cls, analysis: Analysis) -> BeatGrid:
        """The grid of ``analysis`` (its ``beats_s``, or a steady grid at its tempo from 0 s)."""
        beats = tuple(float(b) for b in analysis.beats_s)
        if len(beats) < 2:
            beats = (0.0, 60.0 / analysis.tempo_bpm)
        grid = cls(beats, float(analysis.tempo_bpm), 0.0)
        first = float(grid.raw_beat(np.array([0.0]))[0])
        bar = max(1, int(analysis.meter))
        return replace(grid, origin_beat=math.floor(first / bar + 1e-6) * bar)

    def raw_beat(self, t_s: np.ndarray) -> np.ndarray:
        """Reference beat index (fractional) at times ``t_s`` (any shape)."""
        beats = np.asarray(self.beats_s)
        idx = np.arange(len(beats), dtype=float)
        spb = 60.0 / self.tempo_bpm
        t = np.asarray(t_s, dtype=float)
        out = np.interp(t, beats, idx)
        out = np.where(t < beats[0], (t - beats[0]) / spb, out)
        return np.where(t > beats[-1], idx[-1] + (t - beats[-1]) / spb, out)

    def to_beats(self, t_s: float | np.ndarray) -> np.ndarray:
        """Score beats at reference times ``t_s`` (seconds)."""
        return self.raw_beat(np.asarray(t_s, dtype=float)) - self.origin_beat

    def to_seconds(self, beat: float | np.ndarray) -> np.ndarray:
        """Reference seconds at score beats ``beat`` (the inverse of :meth:`to_beats`)."""
        beats = np.asarray(self.beats_s)
        idx = np.arange(len(beats), dtype=float)
        spb = 60.0 / self.tempo_bpm
        b = np.asarray(beat, dtype=float) + self.origin_beat
        out = np.interp(b, idx, beats)
        out = np.where(b < 0, beats[0] + b * spb, out)
        return np.where(b > idx[-1], beats[-1] + (b - idx[-1]) * spb, out)


def reference_sections(
    analysis: Analysis, grid: BeatGrid, *, bar_beats: float, min_bars: int = 1
) -> list[Section]:
    """The reference's form as score sections with its chords.

    Section boundaries are rounded to the nearest bar (at least ``min_bars`` long); labels map
    through :data:`SCORE_KIND` (``silence`` -> ``break``) and get unique names (``"verse 2"``).
    Each section's chords are the analysed chord spans it overlaps, on a half-bar grid, with
    no-chord spans holding the previous chord (the tonic triad at the start).

    Returns
    -------
    list of Section covering ``0 .. round(duration)`` beats with no gaps.
    """
    spans = analysis.sections or ()
    total_bars = max(min_bars, round(float(grid.to_beats(analysis.duration_s)) / bar_beats))
    if not spans:
        bounds = [(0, total_bars, "verse")]
    else:
        bounds = _bar_bounds(spans, grid, bar_beats=bar_beats, total_bars=total_bars, min_bars=min_bars)
    counts: dict[str, int] = {}
    out: list[Section] = []
    for start_bar, end_bar, label in bounds:
        kind = SCORE_KIND.get(label, "verse")
        counts[kind] = counts.get(kind, 0) + 1
        start, length = start_bar * bar_beats, (end_bar - start_bar) * bar_beats
        chords = _section_chords(analysis, grid, start_beat=start, end_beat=start + length,
                                 step_beats=bar_beats / 2)
        out.append(Section(f"{kind} {counts[kind]}", kind, start, length, _ENERGY.get(kind, 0.5), chords))
    return _drop_single_numbers(out)


_ENERGY = {"intro": 0.35, "verse": 0.5, "chorus": 0.8, "bridge": 0.6, "outro": 0.35, "inst": 0.6,
           "break": 0.2}


def _bar_bounds(spans, grid: BeatGrid, *, bar_beats: float, total_bars: int,
                min_bars: int) -> list[tuple[int, int, str]]:
    """``(start_bar, end_bar, label)`` per analysed section, merged where rounding empties one."""
    out: list[tuple[int, int, str]] = []
    if len(spans) > 1 and spans[-1].label == "silence":  # the ring-out after the last note: not a section
        spans = spans[:-1]
    for span in spans:
        end_bar = min(total_bars, round(float(grid.to_beats(span.end_s)) / bar_beats))
        start_bar = out[-1][1] if out else 0
        if end_bar - start_bar >= min_bars:
            out.append((start_bar, end_bar, span.label))
    if not out:
        return [(0, total_bars, spans[0].label)]
    last = out[-1]
    out[-1] = (last[0], max(last[1], total_bars), last[2])
    return out


def _drop_single_numbers(sections: list[Section]) -> list[Section]:
    """``"intro 1"`` -> ``"intro"`` for kinds that occur once (as the composer names them)."""
    kinds = [s.kind for s in sections]
    return [replace(s, name=s.kind) if kinds.count(s.kind) == 1 else s for s in sections]


def _section_chords(analysis: Analysis, grid: BeatGrid, *, start_beat: float, end_beat: float,
                    step_beats: float) -> tuple[Chord, ...]:
    """Chords sounding in ``start_beat .. end_beat``, one per ``step_beats`` slot, merged."""
    slots = np.arange(start_beat, end_beat - 1e-6, step_beats)
    mids_s = grid.to_seconds(slots + step_beats / 2)
    chords: list[Chord] = []
    for slot, mid_s in zip(slots, np.atleast_1d(mids_s), strict=True):
        span = _span_at(analysis.chords, float(mid_s))
        root, quality = _root_quality(span, analysis, previous=chords[-1] if chords else None)
        if chords and chords[-1].root_pc == root and chords[-1].quality == quality:
            chords[-1] = replace(chords[-1], duration_beats=chords[-1].duration_beats + step_beats)
        else:
            chords.append(Chord(float(slot), step_beats, root, quality))
    if chords:
        last = chords[-1]
        chords[-1] = replace(last, duration_beats=end_beat - last.start_beat)
    return tuple(chords)


def _span_at(spans: Sequence[ChordSpan], t_s: float) -> ChordSpan | None:
    for span in spans:
        if span.start_s <= t_s < span.end_s:
            return span
    return None


def _root_quality(span: ChordSpan | None, analysis: Analysis, *, previous: Chord | None) -> tuple[int, str]:
    """(root pitch class, Score quality) of a chord span; no chord holds the previous one."""
    if span is None or span.label == "N" or span.quality in ("N", "none"):
        if previous is not None:
            return previous.root_pc, previous.quality
        return analysis.key_tonic_pc % 12, "min" if analysis.key_mode == "minor" else "maj"
    quality = _QUALITY_ALIASES.get(span.quality, span.quality)
    return int(span.root_pc) % 12, quality if quality in CHORD_QUALITIES else "maj"


def reference_melody(analysis: Analysis, grid: BeatGrid, *, step_beats: float) -> list[Note]:
    """The analysed melody in score beats, onsets and ends quantised to ``step_beats``.

    Notes that collapse onto an earlier note's onset are dropped; each note ends by the next
    one's onset and lasts at least one step. Velocity 0-1 becomes MIDI 1-127.
    """
    notes: list[Note] = []
    for n in sorted(analysis.melody, key=lambda n: n.start_s):
        start = _quantise(float(grid.to_beats(n.start_s)), step_beats)
        end = max(start + step_beats, _quantise(float(grid.to_beats(n.end_s)), step_beats))
        if start < 0 or (notes and start <= notes[-1].start_beat + 1e-9):
            continue
        if notes and notes[-1].end_beat > start:
            notes[-1] = replace(notes[-1], duration_beats=start - notes[-1].start_beat)
        velocity = int(np.clip(round(n.velocity * 127), 1, 127))
        notes.append(Note(int(n.pitch), start, end - start, velocity))
    return notes


def _quantise(beat: float, step: float) -> float:
    return round(beat / step) * step
