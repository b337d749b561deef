"""Harmony: Roman-numeral parsing, progressions per section, substitutions and voice leading.

Roman numerals follow the grammar in ``songforge.engine.styles``:
``[b|#]NUMERAL[o|+][7|maj7|9|sus2|sus4|add9|6][/[b|#]NUMERAL][:BEATS]``. Upper case is major,
lower case minor, ``o`` diminished, ``+`` augmented. Without an accidental a numeral is a degree of
the mode's own scale (natural minor in minor keys, so ``VII`` in A minor is G); with one it is
relative to the major scale (``bVII`` in C is B flat, ``#iv`` is F sharp).

A slash names a bass note when that note is a chord tone other than the root (``V/vii`` in C is
G/B, ``IV/I`` is F/C); otherwise it is a secondary function (``V/V`` in C is D, ``V/vi`` is E).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from songforge.engine.compose._theory import (
    MAJOR_SCALE,
    MINOR_SCALE,
    QUALITY_INTERVALS,
    bar_beats,
    chord_pcs,
    scale_pcs,
)
from songforge.engine.plan import SongPlan
from songforge.engine.score import Chord, Section

__all__ = ["parse_chord", "harmonize", "voice_chords", "tonic_chord"]

_NUMERALS = ("i", "ii", "iii", "iv", "v", "vi", "vii")
_CHORD_RE = re.compile(
    r"^(?P<acc>b|#)?(?P<num>[ivIV]+)(?P<alt>o|\+|ø)?"
    r"(?P<ext>maj7|maj9|m7b5|7|9|sus2|sus4|add9|6)?"
    r"(?:/(?P<tacc>b|#)?(?P<tnum>[ivIV]+))?(?::(?P<beats>\d+(?:\.\d+)?))?$"
)
_UPPER_EXT = {"7": "7", "maj7": "maj7", "9": "9", "maj9": "maj9", "6": "6", "add9": "add9"}
_LOWER_EXT = {"7": "min7", "maj7": "min7", "9": "min9", "maj9": "min9", "6": "min6", "add9": "min9"}


def _degree_pc(acc: str | None, numeral: str, *, tonic_pc: int, mode: str) -> int:
    index = _NUMERALS.index(numeral.lower())
    if acc:
        return (tonic_pc + MAJOR_SCALE[index] + (1 if acc == "#" else -1)) % 12
    scale = MINOR_SCALE if mode == "minor" else MAJOR_SCALE
    return (tonic_pc + scale[index]) % 12


def _quality(numeral: str, alt: str | None, ext: str | None) -> str:
    if alt == "ø" or ext == "m7b5":
        return "m7b5"
    if alt == "o":
        return "dim7" if ext == "7" else "dim"
    if alt == "+":
        return "aug"
    if ext in ("sus2", "sus4"):
        return ext
    if ext:
        return (_UPPER_EXT if numeral.isupper() else _LOWER_EXT)[ext]
    return "maj" if numeral.isupper() else "min"


def parse_chord(
    symbol: str,
    *,
    tonic_pc: int,
    mode: str,
    start_beat: float = 0.0,
    duration_beats: float = 4.0,
) -> Chord:
    """Parse one Roman-numeral chord symbol in a key.

    Parameters
    ----------
    symbol : str
        E.g. ``"I"``, ``"vi"``, ``"bVII"``, ``"V7"``, ``"iio"``, ``"IVmaj7"``, ``"V/vii"``, ``"V:2"``.
    tonic_pc, mode : key (pitch class 0-11, ``"major"``/``"minor"``).
    start_beat : where the chord starts, in quarter-note beats.
    duration_beats : length when the symbol has no ``:N`` suffix (``:N`` wins).

    Returns
    -------
    Chord
        ``ValueError`` if the symbol does not follow the grammar.

    Examples
    --------
    >>> parse_chord("V/vii", tonic_pc=0, mode="major")
    Chord(start_beat=0.0, duration_beats=4.0, root_pc=7, quality='maj', bass_pc=11)
    """
    m = _CHORD_RE.match(symbol.strip())
    if not m or m["num"].lower() not in _NUMERALS or not (m["num"].isupper() or m["num"].islower()):
        raise ValueError(f"not a Roman-numeral chord: {symbol!r}")
    root = _degree_pc(m["acc"], m["num"], tonic_pc=tonic_pc, mode=mode)
    quality = _quality(m["num"], m["alt"], m["ext"])
    beats = float(m["beats"]) if m["beats"] else float(duration_beats)
    chord = Chord(start_beat, beats, root, quality)
    if m["tnum"]:
        chord = _apply_slash(chord, m["tacc"], m["tnum"], tonic_pc=tonic_pc, mode=mode)
    return chord


def _apply_slash(chord: Chord, acc: str | None, numeral: str, *, tonic_pc: int, mode: str) -> Chord:
    if numeral.lower() not in _NUMERALS:
        raise ValueError(f"not a Roman numeral: {numeral!r}")
    target = _degree_pc(acc, numeral, tonic_pc=tonic_pc, mode=mode)
    if target in chord_pcs(chord)[1:]:
        return replace(chord, bass_pc=target)
    return replace(chord, root_pc=(target + chord.root_pc - tonic_pc) % 12)


def tonic_chord(*, tonic_pc: int, mode: str, start_beat: float, duration_beats: float) -> Chord:
    """The key's tonic triad."""
    return Chord(start_beat, duration_beats, tonic_pc % 12, "min" if mode == "minor" else "maj")


def harmonize(
    sections: Sequence[Section], *, plan: SongPlan, style, rng: np.random.Generator,
    progression: Sequence[Chord] | None = None,
) -> list[Section]:
    """Give every section its chords.

    One progression is chosen per section kind (so every chorus has the same chords), preferring
    the style's first progressions as ``plan.style_weight`` grows; ``plan.weirdness`` adds
    secondary dominants, borrowed chords and sevenths. The first chord of the song and the whole
    last bar are the tonic chord, a section whose progression never reaches the tonic ends on
    it, and intros and outros sit on a tonic pedal (``bass_pc``).

    Parameters
    ----------
    sections : the form from ``plan_form`` (chords are ignored and replaced).
    plan : key, mode, meter, style_weight, weirdness.
    style : a ``Style``.
    rng : numpy.random.Generator
    progression : a chord cycle from beat 0 (an instrumental profile's) used for every section
        kind instead of the style's progressions; ``None``: the style's.

    Returns
    -------
    list of Section
        The same sections with ``chords`` filled, covering each section exactly.
    """
    bar = bar_beats(plan.meter)
    templates: dict[str, list[Chord]] = {}
    out = []
    for section in sections:
        if section.kind not in templates and progression:
            templates[section.kind] = list(progression)
        if section.kind not in templates:
            templates[section.kind] = _template(section.kind, plan=plan, style=style, rng=rng)
        chords = _fill(templates[section.kind], start_beat=section.start_beat,
                       length_beats=section.length_beats)
        out.append(replace(section, chords=tuple(_home(chords, plan=plan))))
    if out:
        out[0] = _force_tonic(out[0], plan=plan, at_start=True, bar=bar)
        out[-1] = _force_tonic(out[-1], plan=plan, at_start=False, bar=bar)
    return [_pedal(s, tonic_pc=plan.tonic_pc) if s.kind in _PEDAL_KINDS else s for s in out]


_PEDAL_KINDS = ("intro", "outro")


def _pedal(section: Section, *, tonic_pc: int) -> Section:
    """Put the tonic in the bass of every chord (intros and outros establish the key)."""
    chords = tuple(c if c.root_pc == tonic_pc % 12 else replace(c, bass_pc=tonic_pc % 12)
                   for c in section.chords)
    return replace(section, chords=chords)


def _home(chords: list[Chord], *, plan: SongPlan) -> list[Chord]:
    """A section that never touches the tonic chord ends on it (keeps the key unambiguous)."""
    if any(c.root_pc == plan.tonic_pc % 12 and c.bass_pc is None for c in chords):
        return chords
    last = chords[-1]
    return chords[:-1] + [tonic_chord(tonic_pc=plan.tonic_pc, mode=plan.mode,
                                      start_beat=last.start_beat, duration_beats=last.duration_beats)]


def _progressions(style, *, mode: str, kind: str) -> list[list[str]]:
    table = style.progressions.get(mode) or style.progressions["major"]
    if kind not in table and kind in ("solo", "inst", "post_chorus", "hook") and "chorus" in table:
        return table["chorus"]
    return style.progressions_for(mode, kind)


def _template(kind: str, *, plan: SongPlan, style, rng: np.random.Generator) -> list[Chord]:
    """The chord cycle for one section kind, starting at beat 0."""
    options = _progressions(style, mode=plan.mode, kind=kind)
    weights = np.exp(-3.0 * float(plan.style_weight) * np.arange(len(options)))
    symbols = options[int(rng.choice(len(options), p=weights / weights.sum()))]
    bar = bar_beats(plan.meter)
    chords, t = [], 0.0
    for sym in symbols:
        c = parse_chord(sym, tonic_pc=plan.tonic_pc, mode=plan.mode, start_beat=t, duration_beats=bar)
        chords.append(c)
        t += c.duration_beats
    return _substitute(chords, plan=plan, rng=rng)


def _substitute(chords: list[Chord], *, plan: SongPlan, rng: np.random.Generator) -> list[Chord]:
    """Occasional secondary dominants, borrowed chords and added sevenths (``plan.weirdness``)."""
    weird = float(np.clip(plan.weirdness, 0.0, 1.0))
    out = list(chords)
    for i in range(1, len(out)):
        if rng.random() >= 0.22 * weird:
            continue
        nxt = out[(i + 1) % len(out)]
        if rng.random() < 0.5 and nxt.root_pc != plan.tonic_pc and nxt.quality in ("maj", "min"):
            out[i] = replace(out[i], root_pc=(nxt.root_pc + 7) % 12, quality="7", bass_pc=None)
        else:
            out[i] = _borrow(out[i], plan=plan)
    if weird > 0.3:
        out = [_color(c, plan=plan, rng=rng, p=0.3 * weird) for c in out]
    return out


def _borrow(chord: Chord, *, plan: SongPlan) -> Chord:
    degree = (chord.root_pc - plan.tonic_pc) % 12
    major_swaps = {(5, "maj"): (5, "min"), (9, "min"): (8, "maj"), (7, "maj"): (10, "maj"),
                   (2, "min"): (2, "m7b5")}
    minor_swaps = {(5, "min"): (5, "maj"), (7, "min"): (7, "maj"), (10, "maj"): (7, "7")}
    swaps = minor_swaps if plan.mode == "minor" else major_swaps
    new = swaps.get((degree, chord.quality))
    if new is None:
        return chord
    return replace(chord, root_pc=(plan.tonic_pc + new[0]) % 12, quality=new[1], bass_pc=None)


def _color(chord: Chord, *, plan: SongPlan, rng: np.random.Generator, p: float) -> Chord:
    """Sometimes extend a triad with a diatonic seventh, ninth or sixth."""
    if chord.bass_pc is not None or chord.quality not in ("maj", "min") or rng.random() >= p:
        return chord
    scale = set(scale_pcs(plan.tonic_pc, plan.mode))
    options = ("maj7", "7", "add9", "6") if chord.quality == "maj" else ("min7", "min9")
    diatonic = [q for q in options
                if all((chord.root_pc + i) % 12 in scale for i in QUALITY_INTERVALS[q])]
    return replace(chord, quality=str(rng.choice(diatonic))) if diatonic else chord


def _fill(template: list[Chord], *, start_beat: float, length_beats: float) -> list[Chord]:
    """Repeat the template from ``start_beat`` until ``length_beats`` is covered exactly."""
    cycle = sum(c.duration_beats for c in template)
    chords, t = [], 0.0
    while t < length_beats - 1e-6:
        for c in template:
            if t >= length_beats - 1e-6:
                break
            dur = min(c.duration_beats, length_beats - t)
            chords.append(replace(c, start_beat=start_beat + t, duration_beats=dur))
            t += dur
        if cycle <= 0:
            break
    return chords


def _force_tonic(section: Section, *, plan: SongPlan, at_start: bool, bar: float) -> Section:
    """Make the first chord (``at_start``) or the whole last bar of a section the tonic chord."""
    chords = list(section.chords)
    if at_start:
        first = chords[0]
        chords[0] = tonic_chord(tonic_pc=plan.tonic_pc, mode=plan.mode,
                                start_beat=first.start_beat, duration_beats=first.duration_beats)
        return replace(section, chords=tuple(chords))
    cut = section.end_beat - min(bar, section.length_beats)
    kept = [c if c.start_beat + c.duration_beats <= cut + 1e-6 else replace(c, duration_beats=cut - c.start_beat)
            for c in chords if c.start_beat < cut - 1e-6]
    kept.append(tonic_chord(tonic_pc=plan.tonic_pc, mode=plan.mode, start_beat=cut,
                            duration_beats=section.end_beat - cut))
    return replace(section, chords=tuple(kept))


def voice_chords(
    chords: Sequence[Chord], *, low_midi: int = 52, high_midi: int = 76, center_midi: float = 62.0
) -> list[tuple[int, ...]]:
    """Close voicings for ``chords`` with minimal movement between neighbours.

    Parameters
    ----------
    chords : chords in playing order.
    low_midi, high_midi : range of the voicings (default E3..E5, around middle C).
    center_midi : the register the voicings are pulled towards.

    Returns
    -------
    list of tuple of int
        One ascending tuple of 3-4 MIDI pitches per chord (slash basses are left to the bass).
    """
    voicings: list[tuple[int, ...]] = []
    prev: tuple[int, ...] | None = None
    for chord in chords:
        cands = _candidates(chord, low_midi=low_midi, high_midi=high_midi)
        prev = min(cands, key=lambda v: _voicing_cost(v, prev, center_midi))
        voicings.append(prev)
    return voicings


def _candidates(chord: Chord, *, low_midi: int, high_midi: int) -> list[tuple[int, ...]]:
    pcs = list(chord_pcs(chord))
    if len(pcs) > 4:
        pcs = [pc for k, pc in enumerate(pcs) if QUALITY_INTERVALS[chord.quality][k] != 7]
    cands = []
    for r in range(len(pcs)):
        order = pcs[r:] + pcs[:r]
        first = low_midi + (order[0] - low_midi) % 12
        for base in (first, first + 12):
            notes = [base]
            for pc in order[1:]:
                notes.append(notes[-1] + (pc - notes[-1]) % 12 or 12)
            if notes[-1] <= high_midi:
                cands.append(tuple(notes))
    return cands or [tuple(low_midi + (pc - low_midi) % 12 for pc in sorted(pcs))]


def _voicing_cost(v: tuple[int, ...], prev: tuple[int, ...] | None, center: float) -> float:
    drift = abs(float(np.mean(v)) - center)
    if prev is None:
        return drift
    n = max(len(v), len(prev))
    a = sorted(v) + [max(v)] * (n - len(v))
    b = sorted(prev) + [max(prev)] * (n - len(prev))
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) + 0.5 * drift
