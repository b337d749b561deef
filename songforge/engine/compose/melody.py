"""Lead melody: motif-based phrases fitted to the chords.

Each section kind gets its own 1-2 bar motif (rhythm + diatonic contour). A 4-bar phrase states the
motif, varies it (sequence, inversion, rhythmic variation), restates it and ends on a long chord
tone (a half cadence on the first phrase of a section, the tonic where the chord allows on the
last). Notes on beats and long notes are snapped to chord tones, off-beat notes to the chord's
scale. Repeated sections (every chorus, every verse of one length) reuse the same line, so the
chorus hook is identical each time; the song's last note is the tonic, held through the last bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from songforge.engine.compose._theory import (
    ChordTrack,
    bar_beats,
    chord_tones,
    scale_pcs,
)
from songforge.engine.plan import SongPlan
from songforge.engine.score import Note, Section

__all__ = ["write_melody", "melody_range"]

Event = tuple[float, float, int]  # (onset_beats, duration_beats, diatonic degree)


@dataclass(frozen=True)
class _Profile:
    activity: float  # 0 long notes .. 1 busy
    register: float  # 0 bottom .. 1 top of the range
    leap_p: float
    repeat_p: float


_PROFILES = {
    "verse": _Profile(0.62, 0.32, 0.12, 0.22),
    "pre_chorus": _Profile(0.5, 0.5, 0.12, 0.15),
    "chorus": _Profile(0.32, 0.62, 0.25, 0.25),
    "bridge": _Profile(0.4, 0.5, 0.18, 0.15),
    "solo": _Profile(0.85, 0.62, 0.2, 0.1),
    "inst": _Profile(0.5, 0.55, 0.15, 0.15),
    "outro": _Profile(0.25, 0.45, 0.1, 0.2),
}
_REUSED = ("chorus", "verse", "pre_chorus", "post_chorus", "hook")
_VELOCITY = 96


@dataclass(frozen=True)
class _Ctx:
    plan: SongPlan
    track: ChordTrack
    bar: float
    pulse: float
    lo: int
    hi: int
    ref: int  # MIDI pitch of degree 0 (a tonic near the middle of the range)
    steps: tuple[int, ...]

    def pitch(self, degree: int) -> int:
        return self.ref + 12 * (degree // 7) + self.steps[degree % 7]


def melody_range(plan: SongPlan) -> tuple[int, int]:
    """Lowest and highest MIDI note of the lead line: the vocal range, or the lead instrument's."""
    if not plan.instrumental:
        lo, hi = plan.vocal_range
        return int(lo), max(int(hi), int(lo) + 12)
    program = next((p for r, p in plan.instruments if r in ("lead", "vocal")), 80)
    if 32 <= program <= 47 or program in (57, 58, 67, 70):
        return 48, 69
    if 24 <= program <= 31:
        return 55, 79
    return 60, 81


def write_melody(
    sections: Sequence[Section], *, plan: SongPlan, rng: np.random.Generator
) -> tuple[Note, ...]:
    """Write the lead line for a harmonised form.

    Parameters
    ----------
    sections : sections with chords (from ``harmonize``), in playing order.
    plan : key, mode, meter, vocal range, instruments (for the lead instrument's range).
    rng : numpy.random.Generator

    Returns
    -------
    tuple of Note
        Monophonic, sorted, inside ``melody_range(plan)``; intros are left to the band. The last
        note is the tonic and lasts the whole last bar.

    Examples
    --------
    >>> notes = write_melody(harmonize(plan_form(plan, rng=g), plan=plan, style=s, rng=g),
    ...                      plan=plan, rng=g)  # doctest: +SKIP
    """
    if not sections:
        return ()
    ctx = _context(sections, plan=plan)
    motifs: dict[str, tuple[list[tuple[float, float]], list[int]]] = {}
    lines: dict[tuple[str, float], list[tuple[float, float, int]]] = {}
    notes: list[Note] = []
    for i, section in enumerate(sections):
        final = i == len(sections) - 1
        if section.kind == "intro" and not final:
            continue
        key = (section.kind, section.length_beats)
        if final or section.kind not in _REUSED or key not in lines:
            lines[key] = _section_line(section, ctx=ctx, motifs=motifs, final=final, rng=rng)
        notes += [Note(p, section.start_beat + t, d, _VELOCITY) for t, d, p in lines[key]]
    return tuple(notes)


def _context(sections: Sequence[Section], *, plan: SongPlan) -> _Ctx:
    lo, hi = melody_range(plan)
    mid = (lo + hi) / 2.0
    ref = int(min(range(lo - 12, hi + 12), key=lambda p: (p % 12 != plan.tonic_pc, abs(p - mid))))
    num, den = plan.meter
    pulse = 1.5 if den == 8 and num % 3 == 0 else 1.0
    steps = tuple((pc - plan.tonic_pc) % 12 for pc in scale_pcs(plan.tonic_pc, plan.mode))
    return _Ctx(plan, ChordTrack.from_sections(sections), bar_beats(plan.meter), pulse, lo, hi,
                ref, steps)


def _section_line(section: Section, *, ctx: _Ctx, motifs: dict, final: bool,
                  rng: np.random.Generator) -> list[tuple[float, float, int]]:
    """The line of one section as ``(onset relative to the section, duration, MIDI pitch)``."""
    profile = _PROFILES.get(section.kind, _PROFILES["verse"])
    motif_kind = "chorus" if section.kind == "outro" and "chorus" in motifs else section.kind
    if motif_kind not in motifs or section.kind == "solo":
        motifs[motif_kind] = _motif(ctx=ctx, profile=profile, rng=rng)
    n_bars = max(1, round(section.length_beats / ctx.bar))
    phrases = _phrase_lengths(n_bars)
    start_degree = _start_degree(section, ctx=ctx, profile=profile)
    events: list[tuple[float, float, int, str]] = []
    t0 = 0.0
    for k, bars in enumerate(phrases):
        last = k == len(phrases) - 1
        cadence = "final" if final and last else ("close" if last or k % 2 else "open")
        shift = 1 if section.kind == "pre_chorus" else 0
        for t, d, deg in _phrase(motifs[motif_kind], bars=bars, ctx=ctx, cadence=cadence,
                                 start=start_degree + shift * k, rng=rng, kind=section.kind):
            events.append((t0 + t, d, deg, cadence if t + d >= bars * ctx.bar - 0.51 else ""))
        t0 += bars * ctx.bar
    return _realise(events, section=section, ctx=ctx)


def _phrase_lengths(n_bars: int) -> list[int]:
    if n_bars <= 4:
        return [n_bars]
    q, r = divmod(n_bars, 4)
    if r == 1:
        return [4] * (q - 1) + [5]
    return [4] * q + ([r] if r else [])


def _start_degree(section: Section, *, ctx: _Ctx, profile: _Profile) -> int:
    target = ctx.lo + profile.register * (ctx.hi - ctx.lo)
    tones = chord_tones(ctx.track.at(section.start_beat))
    degrees = [d for d in range(-14, 15) if ctx.pitch(d) % 12 in tones] or [0]
    return min(degrees, key=lambda d: abs(ctx.pitch(d) - target))


# --- motif: rhythm and contour ------------------------------------------------------------


def _motif(*, ctx: _Ctx, profile: _Profile, rng: np.random.Generator):
    """A 1-2 bar motif: rhythm ``[(onset, dur)]`` and diatonic degrees relative to its first note."""
    bars = 2 if rng.random() < 0.4 else 1
    rhythm: list[tuple[float, float]] = []
    for b in range(bars):
        rhythm += [(b * ctx.bar + t, d) for t, d in _bar_rhythm(ctx=ctx, activity=profile.activity,
                                                                 rng=rng)]
    return rhythm, _contour(len(rhythm), profile=profile, rng=rng)


def _bar_rhythm(*, ctx: _Ctx, activity: float, rng: np.random.Generator) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    t = 0.0
    while t < ctx.bar - 1e-6:
        room = ctx.bar - t
        cell = _cell(ctx=ctx, room=room, activity=activity, first=t == 0.0, rng=rng)
        out += [(t + a, d) for a, d in cell]
        t += max(a + d for a, d in cell) if cell else ctx.pulse
    return out


def _cell(*, ctx: _Ctx, room: float, activity: float, first: bool, rng: np.random.Generator):
    a = activity
    cells: list[list[tuple[float, float]]]
    if ctx.pulse == 1.5:
        cells = [[(0, 1.5)], [(0, 1.0), (1.0, 0.5)], [(0, 0.5), (0.5, 0.5), (1.0, 0.5)],
                 [(0, 0.5), (0.5, 1.0)]]
        weights = [1.2 - a, 0.8, a, 0.5 * a]
    else:
        cells = [[(0, 1.0)], [(0, 0.5), (0.5, 0.5)], [(0, 0.75), (0.75, 0.25)], [(0.5, 0.5)],
                 [(0, 0.25), (0.25, 0.25), (0.5, 0.5)]]
        weights = [1.1 - a, a, 0.3 * a, 0.0 if first else 0.25 * a, a * a * 0.5]
        if room >= 2.0:
            cells += [[(0, 2.0)], [(0, 1.5), (1.5, 0.5)]]
            weights += [0.7 * (1.0 - a), 0.5]
    fits = [i for i, c in enumerate(cells) if max(t + d for t, d in c) <= room + 1e-6]
    if not fits:
        return [(0.0, room)]
    w = np.asarray([weights[i] for i in fits], dtype=float) + 1e-9
    return cells[fits[int(rng.choice(len(fits), p=w / w.sum()))]]


def _contour(n: int, *, profile: _Profile, rng: np.random.Generator) -> list[int]:
    """Degrees relative to the first note: mostly steps, leaps resolved by a step back."""
    degrees, prev_leap = [0], 0
    for i in range(1, n):
        up = 1 if i < n / 2 else -1
        if prev_leap:
            step = -int(np.sign(prev_leap))
            prev_leap = 0
        else:
            r = rng.random()
            if r < profile.repeat_p:
                step = 0
            elif r < profile.repeat_p + profile.leap_p:
                step = int(rng.integers(2, 5)) * (up if rng.random() < 0.75 else -up)
                prev_leap = step
            else:
                step = up if rng.random() < 0.65 else -up
        degrees.append(degrees[-1] + step)
    return degrees


# --- phrase: motif statements, variations and a cadence -------------------------------------


def _phrase(motif, *, bars: int, ctx: _Ctx, cadence: str, start: int,
            rng: np.random.Generator, kind: str) -> list[Event]:
    """Events of one phrase of ``bars`` bars: motif instances, then a cadence bar."""
    rhythm, degrees = motif
    motif_bars = max(1, round(max(t + d for t, d in rhythm) / ctx.bar))
    events: list[Event] = []
    k, b = 0, 0
    while b < bars - 1:
        span = min(motif_bars, bars - 1 - b)
        r, dg = _vary(rhythm, degrees, k=k, kind=kind, rng=rng)
        events += [(b * ctx.bar + t, d, start + g) for (t, d), g in zip(r, dg, strict=True)
                   if t < span * ctx.bar - 1e-6]
        k, b = k + 1, b + span
    last_degree = events[-1][2] if events else start
    events += [((bars - 1) * ctx.bar + t, d, g)
               for t, d, g in _cadence_bar(rhythm, degrees, ctx=ctx, cadence=cadence,
                                           prev=last_degree)]
    return events


def _vary(rhythm, degrees, *, k: int, kind: str, rng: np.random.Generator):
    """The k-th statement of a motif: original on even k, a variation on odd k."""
    if kind == "pre_chorus":
        return rhythm, [g + k for g in degrees]
    if k % 2 == 0:
        return rhythm, list(degrees)
    op = int(rng.integers(3))
    if op == 0:
        shift = int(rng.choice([-2, -1, 1, 2]))
        return rhythm, [g + shift for g in degrees]
    if op == 1:
        return rhythm, [-g for g in degrees]
    return _rhythmic_variation(rhythm, degrees, rng=rng)


def _rhythmic_variation(rhythm, degrees, *, rng: np.random.Generator):
    """Split the longest note into two (the second a neighbour tone)."""
    i = int(np.argmax([d for _, d in rhythm]))
    t, d = rhythm[i]
    if d < 1.0:
        return rhythm, list(degrees)
    half = d / 2.0
    new_r = rhythm[:i] + [(t, half), (t + half, half)] + rhythm[i + 1:]
    neighbour = degrees[i] + int(rng.choice([-1, 1]))
    return new_r, degrees[: i + 1] + [neighbour] + degrees[i + 1:]


def _cadence_bar(rhythm, degrees, *, ctx: _Ctx, cadence: str, prev: int) -> list[Event]:
    """Last bar of a phrase: a few motif notes, then a long note (the whole bar at the end)."""
    if cadence == "final":
        return [(0.0, ctx.bar, prev)]
    long_at = ctx.pulse if ctx.pulse == 1.5 else float(int(ctx.bar / 2))
    head = [(t, d, prev + g - degrees[0]) for (t, d), g in zip(rhythm, degrees, strict=True)
            if t + d <= long_at + 1e-6 and long_at > 0]
    if head:
        head[0] = (head[0][0], head[0][1], prev + (1 if degrees[-1] < 0 else -1))
    end = ctx.bar - (0.5 if ctx.bar > 2 else 0.0)
    tail_from = max((t + d for t, d, _ in head), default=0.0)
    return head + [(tail_from, end - tail_from, prev)]


# --- realisation: degrees -> pitches fitted to chords and range -----------------------------


def _realise(events, *, section: Section, ctx: _Ctx) -> list[tuple[float, float, int]]:
    out: list[tuple[float, float, int]] = []
    prev = None
    for t, d, deg, cadence in events:
        beat = section.start_beat + t
        chord = ctx.track.at(beat)
        pitch = ctx.pitch(deg)
        if cadence:
            pitch = _cadence_pitch(pitch, chord_tones(chord), ctx=ctx, cadence=cadence, prev=prev)
        elif _is_strong(t, ctx=ctx) or d >= 1.0:
            pitch = _nearest_tone(pitch, chord_tones(chord), tonic_pc=ctx.plan.tonic_pc)
        else:
            pitch = _nearest(pitch, _chord_scale(chord_tones(chord), ctx=ctx))
        pitch = _fit_range(pitch, prev=prev, ctx=ctx)
        out.append((t, d, pitch))
        prev = pitch
    return out


def _is_strong(t: float, *, ctx: _Ctx) -> bool:
    return abs(t / ctx.pulse - round(t / ctx.pulse)) < 1e-6


def _nearest(pitch: int, pcs) -> int:
    for delta in (0, -1, 1, -2, 2, -3, 3, -4, 4, -5, 5, 6):
        if (pitch + delta) % 12 in pcs:
            return pitch + delta
    return pitch


def _nearest_tone(pitch: int, tones: frozenset[int], *, tonic_pc: int) -> int:
    """Nearest chord tone, leaning towards the key's tonic and fifth (they anchor the key)."""
    pull = {tonic_pc % 12: 1.1, (tonic_pc + 7) % 12: 0.6}
    cands = [pitch + d for d in range(-6, 7) if (pitch + d) % 12 in tones]
    if not cands:
        return pitch
    return min(cands, key=lambda p: (abs(p - pitch) - pull.get(p % 12, 0.0), p))


def _chord_scale(tones: frozenset[int], *, ctx: _Ctx) -> set[int]:
    """The key's scale with the chord's chromatic tones replacing their diatonic neighbours."""
    pcs = set(scale_pcs(ctx.plan.tonic_pc, ctx.plan.mode))
    for t in tones - pcs:
        pcs -= {(t - 1) % 12, (t + 1) % 12}
        pcs.add(t)
    return pcs


def _cadence_pitch(pitch: int, tones: frozenset[int], *, ctx: _Ctx, cadence: str,
                   prev: int | None) -> int:
    tonic = ctx.plan.tonic_pc
    if cadence == "final" or (cadence == "close" and tonic in tones):
        candidates = [p for p in range(ctx.lo, ctx.hi + 1) if p % 12 == tonic]
    else:
        wanted = tones - {tonic} if cadence == "open" and len(tones) > 1 else tones
        candidates = [p for p in range(ctx.lo, ctx.hi + 1) if p % 12 in wanted]
    anchor = prev if prev is not None else pitch
    return min(candidates, key=lambda p: (abs(p - anchor), p)) if candidates else pitch


def _fit_range(pitch: int, *, prev: int | None, ctx: _Ctx) -> int:
    while pitch > ctx.hi:
        pitch -= 12
    while pitch < ctx.lo:
        pitch += 12
    if prev is not None and abs(pitch - prev) > 9:
        alt = pitch - 12 if pitch > prev else pitch + 12
        if ctx.lo <= alt <= ctx.hi and abs(alt - prev) < abs(pitch - prev):
            pitch = alt
    return pitch
