"""Arrangement: one Part per planned instrument, section dynamics, swing and humanising.

Roles: ``drums`` and ``bass`` play their lines everywhere; ``lead``/``vocal`` play the melody;
``chords`` comp the voicings in a style-typical rhythm; ``pad`` sustains them; ``arp`` arpeggiates
them; ``counter`` holds thirds/sixths above the melody; ``harmony_vocal`` sings thirds below it;
``fx`` swells at section starts. Quiet sections thin the band out (pads, arps and counter lines
come in for choruses and other loud sections); velocities follow each section's energy and fade
over the outro. Every part ends up with notes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from songforge.engine.compose._theory import ChordTrack, bar_beats, chord_tones, section_at
from songforge.engine.compose.harmony import voice_chords
from songforge.engine.plan import SongPlan
from songforge.engine.score import Note, Part, Section

__all__ = ["arrange", "comp_rhythm", "ROLE_PAN"]

ROLE_PAN = {
    "drums": 0.0, "bass": 0.0, "lead": 0.0, "vocal": 0.0, "chords": -0.3, "pad": 0.35,
    "arp": -0.45, "counter": 0.4, "harmony_vocal": 0.25, "fx": 0.5,
}
"""Default pan per role (-1 left .. +1 right); repeated roles alternate sides."""

_COMP_4 = {
    "sustain": [(0.0, 4.0)],
    "half": [(0.0, 2.0), (2.0, 2.0)],
    "quarters": [(0.0, 1.0), (1.0, 1.0), (2.0, 1.0), (3.0, 1.0)],
    "strum": [(0.0, 1.0), (1.0, 0.5), (1.5, 1.0), (2.5, 0.5), (3.0, 0.5), (3.5, 0.5)],
    "skank": [(0.5, 0.3), (1.5, 0.3), (2.5, 0.3), (3.5, 0.3)],
    "charleston": [(0.0, 1.2), (1.5, 2.0)],
    "stabs": [(0.0, 0.4), (0.75, 0.4), (1.5, 0.4), (2.5, 0.4), (3.0, 0.4)],
}
_COMP_3 = {
    "sustain": [(0.0, 3.0)],
    "half": [(0.0, 1.5), (1.5, 1.5)],
    "waltz": [(1.0, 0.9), (2.0, 0.9)],
    "rolling": [(0.0, 1.0), (1.0, 0.5), (1.5, 1.0), (2.5, 0.5)],
}
_FAMILY = {
    "ballad": "sustain", "cinematic": "sustain", "ambient": "sustain", "lofi": "half",
    "jazz": "charleston", "rnb": "half", "hiphop": "half", "reggae": "skank",
    "electronic": "stabs", "edm": "stabs", "house": "stabs", "latin": "stabs",
}
_ADDS_CHORD_STARTS = ("sustain", "half", "quarters", "strum", "charleston", "rolling")
_LOUD_KINDS = ("chorus", "pre_chorus", "bridge", "solo", "inst", "post_chorus", "hook")
_BASE_VELOCITY = {"chords": 78, "pad": 62, "arp": 72, "counter": 68, "harmony_vocal": 80, "fx": 60}


def comp_rhythm(style_name: str, *, meter: tuple[int, int], energy: float) -> list[tuple[float, float]]:
    """One bar of chord hits ``(onset_beats, duration_beats)`` for a style, meter and energy."""
    bar = bar_beats(meter)
    family = _FAMILY.get(style_name, "strum")
    if energy < 0.45 and family in ("strum", "charleston", "stabs"):
        family = "half"
    if abs(bar - 4.0) < 1e-6:
        return list(_COMP_4.get(family, _COMP_4["strum"]))
    if abs(bar - 3.0) < 1e-6:
        num = meter[0]
        triple = "waltz" if num == 3 else "rolling"
        pick = family if family in ("sustain", "half") else triple
        return list(_COMP_3[pick])
    if family in ("sustain", "half"):
        return [(0.0, bar)]
    return [(float(b), 1.0) for b in range(int(bar))] or [(0.0, bar)]


def arrange(
    sections: Sequence[Section],
    *,
    plan: SongPlan,
    style,
    melody: Sequence[Note],
    bass: Sequence[Note],
    drums: Sequence[Note],
    rng: np.random.Generator,
    lead: Sequence[Note] | None = None,
) -> tuple[Part, ...]:
    """Turn the composed lines into one Part per ``plan.instruments`` entry.

    Parameters
    ----------
    sections : harmonised sections.
    plan : instruments, swing, meter, tempo, excluded roles.
    style : a ``Style`` (comping family by its name, ``humanize_ms``, drum kit).
    melody, bass, drums : the lines from ``write_melody``, ``write_bass`` and ``write_drums``.
        ``melody`` is the tune the counter line and harmony follow.
    rng : numpy.random.Generator (humanising).
    lead : what the ``lead`` instrument plays; defaults to ``melody`` (a sung song passes the
        melody of its instrumental sections only, so the lead never doubles the singer).

    Returns
    -------
    tuple of Part
        In ``plan.instruments`` order, names unique (``"chords"``, ``"chords2"``...). A drum part
        is left out only when ``"drums"`` is in ``plan.excluded_roles``.
    """
    ctx = _Ctx(sections, plan=plan, style=style, melody=melody, bass=bass, drums=drums, lead=lead)
    roles = [r for r, _ in plan.instruments]
    parts = []
    for k, (role, program) in enumerate(plan.instruments):
        if role == "drums" and "drums" in plan.excluded_roles:
            continue
        repeat = roles[:k].count(role)
        notes = _lines(role, repeat=repeat, ctx=ctx)
        if role not in ("drums", "bass", "lead", "vocal", "harmony_vocal"):
            notes = _hold_last_bar(notes, ctx=ctx)
        notes = _gated(notes, role=role, repeat=repeat, ctx=ctx)
        notes = _dynamics(notes, role=role, ctx=ctx)
        notes = _humanise(_swing(notes, plan=plan), ctx=ctx, drum=role == "drums", rng=rng)
        name = role if repeat == 0 else f"{role}{repeat + 1}"
        parts.append(Part(name, role, int(program), tuple(notes), is_drum=role == "drums",
                          pan=_pan(role, repeat=repeat)))
    return tuple(parts)


def _pan(role: str, *, repeat: int) -> float:
    """The role's pan; repeats of a role alternate sides (centre roles spread by 0.2)."""
    base = ROLE_PAN.get(role, 0.3)
    if repeat == 0:
        return base
    sign = -1.0 if repeat % 2 else 1.0
    return sign * (base if base else 0.2)


class _Ctx:
    """Everything the role writers share."""

    def __init__(self, sections, *, plan, style, melody, bass, drums, lead=None) -> None:
        self.sections = tuple(sections)
        self.plan = plan
        self.style = style
        self.melody = tuple(melody)
        self.lead = self.melody if lead is None else tuple(lead)
        self.bass = tuple(bass)
        self.drums = tuple(drums)
        self.chords = [c for s in self.sections for c in s.chords]
        self.track = ChordTrack(self.chords)
        self.voicings = voice_chords(self.chords)
        self.chord_index = {round(c.start_beat, 6): i for i, c in enumerate(self.chords)}
        self.bar = bar_beats(plan.meter)
        self.end_beat = self.sections[-1].end_beat
        self.roles = {r for r, _ in plan.instruments}


# --- role writers ---------------------------------------------------------------------------


def _lines(role: str, *, repeat: int, ctx: _Ctx) -> list[Note]:
    writers: dict[str, Callable[..., list[Note]]] = {
        "drums": lambda **_: list(ctx.drums),
        "bass": lambda **_: list(ctx.bass),
        "lead": lambda **_: list(ctx.lead),
        "vocal": lambda **_: list(ctx.melody),
        "chords": _comp,
        "arp": _arp,
        "counter": _counter,
        "harmony_vocal": _harmony_vocal,
        "fx": _fx,
    }
    return writers.get(role, _pad)(ctx=ctx, repeat=repeat)


def _comp(*, ctx: _Ctx, repeat: int) -> list[Note]:
    """Voicings in the style's comping rhythm (a second chords part sustains an octave up)."""
    notes: list[Note] = []
    lift = 12 if repeat and max(max(v) for v in ctx.voicings) + 12 <= 96 else 0
    for section in ctx.sections:
        family_energy = 0.3 if repeat else section.energy
        hits = comp_rhythm(ctx.style.name, meter=ctx.plan.meter, energy=family_energy)
        for t, dur in _section_hits(section, hits=hits, ctx=ctx, add_changes=True):
            i = ctx.chord_index[round(ctx.track.at(t).start_beat, 6)]
            end = min(t + dur, ctx.chords[i].start_beat + ctx.chords[i].duration_beats)
            notes += [Note(p + lift, t, end - t, _BASE_VELOCITY["chords"]) for p in ctx.voicings[i]]
    return notes


def _section_hits(section: Section, *, hits, ctx: _Ctx, add_changes: bool):
    """Absolute ``(beat, duration)`` hits for a section, plus chord changes the rhythm misses."""
    out: dict[float, float] = {}
    n_bars = max(1, round(section.length_beats / ctx.bar))
    for k in range(n_bars):
        for t, d in hits:
            beat = section.start_beat + k * ctx.bar + t
            if beat < section.end_beat - 1e-6:
                out[round(beat, 6)] = d
    if add_changes and _family(ctx) in _ADDS_CHORD_STARTS:
        for c in section.chords:
            out.setdefault(round(c.start_beat, 6), c.duration_beats)
    starts = sorted(out)
    return [(t, min(out[t], (starts[i + 1] if i + 1 < len(starts) else section.end_beat) - t))
            for i, t in enumerate(starts)]


def _family(ctx: _Ctx) -> str:
    return _FAMILY.get(ctx.style.name, "strum")


def _pad(*, ctx: _Ctx, repeat: int) -> list[Note]:
    """Each voicing held for its chord; an octave up when a chords part plays the same register."""
    lift = 12 if "chords" in ctx.roles or repeat else 0
    notes = []
    for chord, voicing in zip(ctx.chords, ctx.voicings, strict=True):
        notes += [Note(p + lift, chord.start_beat, chord.duration_beats, _BASE_VELOCITY["pad"])
                  for p in voicing[-3:]]
    return notes


def _arp(*, ctx: _Ctx, repeat: int) -> list[Note]:
    """Up-arpeggios of the voicings an octave up, in 8ths (16ths at slow tempi)."""
    unit = 0.25 if ctx.plan.quarter_bpm < 90 else 0.5
    notes = []
    for chord, voicing in zip(ctx.chords, ctx.voicings, strict=True):
        seq = [p + 12 for p in voicing] + [voicing[0] + 24]
        n = int(round(chord.duration_beats / unit))
        for j in range(n):
            t = chord.start_beat + j * unit
            notes.append(Note(seq[j % len(seq)], t, unit * 0.9, _BASE_VELOCITY["arp"]))
    return notes


def _counter(*, ctx: _Ctx, repeat: int) -> list[Note]:
    """A sustained third or sixth above the melody for every chord."""
    notes = []
    for chord, voicing in zip(ctx.chords, ctx.voicings, strict=True):
        tones = chord_tones(chord)
        mel = _melody_at(ctx, chord.start_beat, chord.start_beat + chord.duration_beats)
        pitch = _above_melody(mel, tones) if mel is not None else max(voicing) + 12
        while pitch > 88:
            pitch -= 12
        notes.append(Note(pitch, chord.start_beat, chord.duration_beats, _BASE_VELOCITY["counter"]))
    return notes


def _melody_at(ctx: _Ctx, start: float, end: float) -> int | None:
    for n in ctx.melody:
        if n.start_beat <= start + 1e-6 < n.end_beat or start <= n.start_beat < end:
            return n.pitch
    return None


def _above_melody(melody_pitch: int, tones: frozenset[int]) -> int:
    for interval in (3, 4, 8, 9, 5, 7):
        if (melody_pitch + interval) % 12 in tones:
            return melody_pitch + interval
    return melody_pitch + 12


def _harmony_vocal(*, ctx: _Ctx, repeat: int) -> list[Note]:
    """The melody doubled a chord-tone third (or fourth/fifth) below."""
    notes = []
    for n in ctx.melody:
        tones = chord_tones(ctx.track.at(n.start_beat))
        below = next((n.pitch - i for i in (3, 4, 5, 7) if (n.pitch - i) % 12 in tones), n.pitch - 12)
        notes.append(replace(n, pitch=below, velocity=_BASE_VELOCITY["harmony_vocal"], lyric=None))
    return notes


def _fx(*, ctx: _Ctx, repeat: int) -> list[Note]:
    """A soft tonic-and-fifth swell at the start of every section."""
    tonic = 72 + ctx.plan.tonic_pc % 12 - (12 if ctx.plan.tonic_pc % 12 > 6 else 0)
    notes = []
    for s in ctx.sections:
        dur = min(s.length_beats, 2 * ctx.bar)
        notes += [Note(tonic, s.start_beat, dur, _BASE_VELOCITY["fx"]),
                  Note(tonic + 7, s.start_beat, dur, _BASE_VELOCITY["fx"])]
    return notes


def _hold_last_bar(notes: list[Note], *, ctx: _Ctx) -> list[Note]:
    """End on the final chord held: what starts on the last downbeat rings to the end."""
    last_bar = ctx.end_beat - min(ctx.bar, ctx.sections[-1].length_beats)
    out = [n for n in notes if n.start_beat < last_bar - 1e-6]
    held = [n for n in notes if abs(n.start_beat - last_bar) < 1e-6]
    return out + [replace(n, duration_beats=ctx.end_beat - last_bar) for n in held]


# --- which sections each part plays, and how loud -------------------------------------------


def _plays(role: str, section: Section, *, repeat: int, ctx: _Ctx) -> bool:
    loud = section.kind in _LOUD_KINDS or section.energy >= 0.7
    if role == "pad":
        return "chords" not in ctx.roles or section.kind != "verse" or section.energy >= 0.6
    if role in ("arp", "counter", "harmony_vocal"):
        return loud
    if role == "lead" and repeat:
        return loud
    return True


def _gated(notes: list[Note], *, role: str, repeat: int, ctx: _Ctx) -> list[Note]:
    kept = [n for n in notes
            if _plays(role, section_at(ctx.sections, n.start_beat), repeat=repeat, ctx=ctx)]
    return kept if kept else notes


def _dynamics(notes: list[Note], *, role: str, ctx: _Ctx) -> list[Note]:
    """Scale velocities by section energy and fade the outro."""
    out = []
    for n in notes:
        s = section_at(ctx.sections, n.start_beat)
        gain = (0.75 + 0.3 * s.energy) if role == "drums" else (0.62 + 0.45 * s.energy)
        if s.kind == "outro":
            gain *= 1.0 - 0.3 * (n.start_beat - s.start_beat) / max(s.length_beats, 1e-6)
        out.append(replace(n, velocity=int(np.clip(round(n.velocity * gain), 1, 127))))
    return out


# --- timing ---------------------------------------------------------------------------------


def _swing(notes: list[Note], *, plan: SongPlan) -> list[Note]:
    """Delay off-beat 8ths by ``plan.swing`` of a beat x 0.5 (0.33 = triplet feel); x/4 only."""
    if plan.swing <= 0 or plan.pulse_quarters != 1.0:
        return notes
    delay = 0.5 * float(np.clip(plan.swing, 0.0, 0.45))

    def warp(t: float) -> float:
        beat = np.floor(t + 1e-9)
        f = t - beat
        if f <= 0.5:
            return float(beat + f * (0.5 + delay) / 0.5)
        return float(beat + 0.5 + delay + (f - 0.5) * (0.5 - delay) / 0.5)

    out = []
    for n in notes:
        start, end = warp(n.start_beat), warp(n.end_beat)
        out.append(replace(n, start_beat=start, duration_beats=max(end - start, 0.02)))
    return out


def _humanise(notes: list[Note], *, ctx: _Ctx, drum: bool, rng: np.random.Generator) -> list[Note]:
    """Gaussian timing jitter (``style.humanize_ms``) and +-6 velocity, without overlaps."""
    sigma = float(getattr(ctx.style, "humanize_ms", 8.0)) / 1000.0 * ctx.plan.quarter_bpm / 60.0
    sigma *= 0.6 if drum else 1.0
    jitter = np.clip(rng.normal(0.0, sigma, len(notes)), -2.5 * sigma, 2.5 * sigma)
    dvel = rng.integers(-6, 7, len(notes))
    out = []
    for n, dt, dv in zip(notes, jitter, dvel, strict=True):
        start = max(0.0, n.start_beat + float(dt))
        end = min(ctx.end_beat, n.end_beat + float(dt)) if not drum else start + n.duration_beats
        end = min(end, ctx.end_beat)
        if end - start < 0.02:
            continue
        out.append(Note(n.pitch, start, end - start, int(np.clip(n.velocity + dv, 1, 127)), n.lyric))
    return _no_overlaps(out)


def _no_overlaps(notes: list[Note]) -> list[Note]:
    """Cut each note where the next note of the same pitch starts; sort by start."""
    by_pitch: dict[int, list[Note]] = {}
    for n in sorted(notes, key=lambda n: (n.start_beat, n.pitch)):
        by_pitch.setdefault(n.pitch, []).append(n)
    out = []
    for same in by_pitch.values():
        for a, b in zip(same, same[1:] + [None], strict=True):
            if b is not None and a.end_beat > b.start_beat:
                if b.start_beat - a.start_beat < 0.02:
                    continue
                a = replace(a, duration_beats=b.start_beat - a.start_beat)
            out.append(a)
    return sorted(out, key=lambda n: (n.start_beat, n.pitch))
