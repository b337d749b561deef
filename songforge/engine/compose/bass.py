"""Bass line from the style's step patterns over the chords (E1..C3).

Pattern symbols, one per step: ``R`` chord root (the slash bass when the chord has one), ``3``
third, ``5`` fifth, ``8`` octave, ``7`` seventh, ``a`` approach note to the next chord, ``-`` hold.
A pattern spelled ``"walk"`` asks for a walking quarter-note line (jazz). Every chord change
gets the root on its first beat, whatever the pattern says there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from songforge.engine.compose._theory import (
    ChordTrack,
    bar_beats,
    bass_patterns,
    chord_pcs,
    scale_pcs,
)
from songforge.engine.plan import SongPlan
from songforge.engine.score import Chord, Note, Section

__all__ = ["write_bass", "BASS_LOW_MIDI", "BASS_HIGH_MIDI"]

BASS_LOW_MIDI = 28  # E1
BASS_HIGH_MIDI = 48  # C3
_HOME_MIDI = 36


def write_bass(
    sections: Sequence[Section], *, plan: SongPlan, style, rng: np.random.Generator
) -> tuple[Note, ...]:
    """Write the bass line.

    Parameters
    ----------
    sections : harmonised sections (``Section.chords`` filled), in playing order.
    plan : meter and key.
    style : a ``Style`` (``bass_patterns_for(meter)`` when present, else ``bass["patterns"]``).
    rng : numpy.random.Generator (which pattern each section kind uses).

    Returns
    -------
    tuple of Note
        Sorted, monophonic, within E1..C3; a note starts on every chord change with the chord's
        bass pitch class. The last bar is one held root.
    """
    patterns = bass_patterns(style, meter=plan.meter)
    track = ChordTrack.from_sections(sections)
    bar = bar_beats(plan.meter)
    chosen: dict[str, str] = {}
    notes: list[Note] = []
    for section in sections:
        if section.kind not in chosen:
            chosen[section.kind] = _pick(patterns, energy=section.energy, rng=rng)
        notes += _section_bass(section, pattern=chosen[section.kind], track=track, plan=plan,
                               prev=notes[-1].pitch if notes else None)
    return _end_on_root(notes, sections=sections, bar=bar)


def _pick(patterns: list[str], *, energy: float, rng: np.random.Generator) -> str:
    """Sparse patterns for quiet sections, busy ones for loud sections."""
    if len(patterns) == 1:
        return patterns[0]
    order = sorted(patterns, key=lambda p: 99 if p == "walk" else sum(c != "-" for c in p))
    centre = energy * (len(order) - 1)
    idx = int(np.clip(round(centre + rng.normal(0.0, 0.6)), 0, len(order) - 1))
    return order[idx]


def _onsets(section: Section, *, pattern: str, bar: float) -> list[tuple[float, str]]:
    """``(beat, symbol)`` for every attack in the section (chord changes forced to ``R``)."""
    hits: dict[float, str] = {}
    n_bars = max(1, round(section.length_beats / bar))
    if pattern == "walk":
        for b in range(int(round(section.length_beats))):
            hits[round(section.start_beat + b, 6)] = "w"
    else:
        step = bar / len(pattern)
        for k in range(n_bars):
            for s, ch in enumerate(pattern):
                if ch != "-":
                    hits[round(section.start_beat + k * bar + s * step, 6)] = ch
    for c in section.chords:
        hits[round(c.start_beat, 6)] = "R"
    return sorted((t, ch) for t, ch in hits.items() if t < section.end_beat - 1e-6)


def _section_bass(section: Section, *, pattern: str, track: ChordTrack, plan: SongPlan,
                  prev: int | None) -> list[Note]:
    bar = bar_beats(plan.meter)
    hits = _onsets(section, pattern=pattern, bar=bar)
    scale = scale_pcs(plan.tonic_pc, plan.mode)
    notes: list[Note] = []
    root_pitch = prev
    for i, (t, sym) in enumerate(hits):
        end = hits[i + 1][0] if i + 1 < len(hits) else section.end_beat
        chord = track.at(t)
        if sym == "R" or root_pitch is None:
            root_pitch = _place(_bass_pc(chord), prev=root_pitch)
        pitch = _symbol_pitch(sym, chord=chord, root=root_pitch, beat=t, track=track, scale=scale,
                              prev=notes[-1].pitch if notes else root_pitch)
        velocity = 100 if abs(t / bar - round(t / bar)) < 1e-6 else 86
        notes.append(Note(pitch, t, max(0.1, (end - t) * 0.95), velocity))
    return notes


def _bass_pc(chord: Chord) -> int:
    return chord.bass_pc if chord.bass_pc is not None else chord.root_pc


def _place(pc: int, *, prev: int | None) -> int:
    """The pitch of class ``pc`` in range, near the home register and the previous root."""
    cands = [p for p in range(BASS_LOW_MIDI, BASS_HIGH_MIDI + 1) if p % 12 == pc]
    anchor = _HOME_MIDI if prev is None else prev
    return min(cands, key=lambda p: abs(p - anchor) + 0.6 * abs(p - _HOME_MIDI))


def _symbol_pitch(sym: str, *, chord: Chord, root: int, beat: float, track: ChordTrack,
                  scale: tuple[int, ...], prev: int) -> int:
    pcs = chord_pcs(chord)
    if sym == "R":
        return root
    if sym == "8":
        return root + 12 if root + 12 <= BASS_HIGH_MIDI else root
    if sym in ("3", "5", "7"):
        return _above(root, _interval(sym, chord=chord, pcs=pcs, scale=scale))
    nxt = _next_chord(track, beat=beat)
    target = _place(_bass_pc(nxt), prev=root) if nxt is not None else root
    if sym == "w":
        return _walk(prev, target=target, pcs=pcs, scale=scale)
    return _approach(target, prev=prev, scale=scale)


def _interval(sym: str, *, chord: Chord, pcs: tuple[int, ...], scale: tuple[int, ...]) -> int:
    if sym == "3":
        return (pcs[1] - pcs[0]) % 12
    if sym == "5":
        return (pcs[2] - pcs[0]) % 12 if len(pcs) > 2 else 7
    if len(pcs) > 3 and chord.quality not in ("add9", "6", "min6"):
        return (pcs[3] - pcs[0]) % 12
    return 11 if (chord.root_pc + 11) % 12 in scale else 10


def _above(root: int, interval: int) -> int:
    pitch = root + interval
    return pitch - 12 if pitch > BASS_HIGH_MIDI and pitch - 12 >= BASS_LOW_MIDI else min(pitch, BASS_HIGH_MIDI)


def _next_chord(track: ChordTrack, *, beat: float) -> Chord | None:
    here = track.at(beat)
    return track.at(here.start_beat + here.duration_beats) if track.chords[-1] is not here else None


def _approach(target: int, *, prev: int, scale: tuple[int, ...]) -> int:
    """The scale tone next to ``target`` on the side the line comes from."""
    direction = -1 if prev <= target else 1
    for d in (1, 2):
        p = target + direction * d
        if p % 12 in scale and BASS_LOW_MIDI <= p <= BASS_HIGH_MIDI:
            return p
    return target - 1 if target - 1 >= BASS_LOW_MIDI else target + 1


def _walk(prev: int, *, target: int, pcs: tuple[int, ...], scale: tuple[int, ...]) -> int:
    """A walking step: the chord or scale tone nearest ``prev`` moving towards ``target``."""
    direction = 1 if target > prev else -1
    for d in range(1, 6):
        p = prev + direction * d
        if p % 12 in pcs and BASS_LOW_MIDI <= p <= BASS_HIGH_MIDI:
            return p
    return _approach(target, prev=prev, scale=scale)


def _end_on_root(notes: list[Note], *, sections: Sequence[Section], bar: float) -> tuple[Note, ...]:
    """Replace everything in the song's last bar by one held root."""
    if not notes:
        return ()
    last_bar = sections[-1].end_beat - min(bar, sections[-1].length_beats)
    kept = [n for n in notes if n.start_beat < last_bar - 1e-6]
    kept = [n if n.end_beat <= last_bar else Note(n.pitch, n.start_beat, last_bar - n.start_beat,
                                                   n.velocity) for n in kept]
    final = next(n for n in notes if n.start_beat >= last_bar - 1e-6)
    kept.append(Note(final.pitch, last_bar, sections[-1].end_beat - last_bar, 100))
    return tuple(kept)
