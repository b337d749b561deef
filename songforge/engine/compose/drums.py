"""Drum grooves from the style's step grids, with fills, crashes and an ending hit.

Grid symbols: ``x`` accent (velocity 110), ``o`` normal (90), ``.`` ghost (50), ``-`` rest. The
kick always plays the strong beats of the bar (4/4: 1 and 3; 6/8: both pulses; 3/4: the
downbeat) so a beat tracker locks on; every section after the first opens with a crash and every
section before the next ends with a snare/tom fill. Swing and humanising happen in ``arrange``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from songforge.engine.compose._theory import bar_beats, drum_grid, steps_per_bar, strong_beats
from songforge.engine.plan import SongPlan
from songforge.engine.score import Note, Section
from songforge.engine.styles import DRUM_LANES

__all__ = ["write_drums", "STEP_VELOCITY", "CRASH", "KICK"]

STEP_VELOCITY = {"x": 110, "o": 90, ".": 50}
CRASH = DRUM_LANES["crash"]
KICK = DRUM_LANES["kick"]
_FILL_LANES = ("snare", "snare", "tom_hi", "tom_mid", "tom_lo")
_HIT_BEATS = 0.25


def write_drums(
    sections: Sequence[Section], *, plan: SongPlan, style, rng: np.random.Generator
) -> tuple[Note, ...]:
    """Write the drum part (GM percussion keys).

    Parameters
    ----------
    sections : the form, in playing order.
    plan : meter and tempo (``quarter_bpm`` decides between 16th and 8th-note fills).
    style : a ``Style`` (``drum_pattern_for(meter, kind)`` when present, else ``drum_pattern``).
    rng : numpy.random.Generator (fill lengths and shapes).

    Returns
    -------
    tuple of Note
        Sorted by start. The last bar of the song is a single crash + kick.
    """
    bar = bar_beats(plan.meter)
    notes: list[Note] = []
    for i, section in enumerate(sections):
        grid = drum_grid(style, meter=plan.meter, section_kind=section.kind)
        fill_beats = 0.0 if i == len(sections) - 1 else _fill_length(plan, section, rng=rng)
        notes += _groove(section, grid=grid, plan=plan, fill_from=section.end_beat - fill_beats)
        if fill_beats:
            notes += _fill(section.end_beat - fill_beats, fill_beats, plan=plan, rng=rng)
        if i > 0 or (section.kind != "intro" and section.energy >= 0.5):
            notes.append(Note(CRASH, section.start_beat, 1.0, 112))
    notes = _ending(notes, end_beat=sections[-1].end_beat, bar=min(bar, sections[-1].length_beats))
    return tuple(sorted(notes, key=lambda n: (n.start_beat, n.pitch)))


def _fill_length(plan: SongPlan, section: Section, *, rng: np.random.Generator) -> float:
    """Half a bar (a pulse in 6/8, a beat in 3/4), or the whole bar going into a loud section."""
    bar = bar_beats(plan.meter)
    num, den = plan.meter
    if den == 8 and num % 3 == 0:
        half = 1.5
    elif num % 2 == 0:
        half = bar / 2
    else:
        half = 1.0
    whole = section.energy >= 0.6 and section.length_beats >= 4 * bar and rng.random() < 0.3
    return min(bar if whole else half, section.length_beats)


def _groove(section: Section, *, grid: dict[str, str], plan: SongPlan, fill_from: float) -> list[Note]:
    """The section's grid repeated bar by bar, the kick forced on strong beats, up to the fill."""
    bar = bar_beats(plan.meter)
    steps = steps_per_bar(plan.meter)
    step_beats = bar / steps
    strong = {int(round(b / step_beats)) for b in strong_beats(plan.meter)}
    notes: list[Note] = []
    for k in range(max(1, round(section.length_beats / bar))):
        bar_start = section.start_beat + k * bar
        for s in range(steps):
            t = bar_start + s * step_beats
            if t >= fill_from - 1e-6 and s not in strong:
                continue
            if t >= fill_from - 1e-6:
                notes.append(Note(KICK, t, _HIT_BEATS, 105))
                continue
            notes += _step_hits(grid, s, t, strong=s in strong)
    return notes


def _step_hits(grid: dict[str, str], step: int, t: float, *, strong: bool) -> list[Note]:
    hits = []
    for lane, pattern in grid.items():
        key = DRUM_LANES.get(lane)
        ch = pattern[step] if step < len(pattern) else "-"
        if key is None or ch == "-" or (lane == "kick" and strong):
            continue
        hits.append(Note(key, t, _HIT_BEATS, STEP_VELOCITY.get(ch, 90)))
    if strong:
        accent = grid.get("kick", "-" * (step + 1))[step:step + 1] == "x"
        hits.append(Note(KICK, t, _HIT_BEATS, 110 if accent or step == 0 else 100))
    return hits


def _fill(start_beat: float, length_beats: float, *, plan: SongPlan,
          rng: np.random.Generator) -> list[Note]:
    """A snare-then-toms run, getting louder, over the given span."""
    unit = 0.25 if plan.quarter_bpm <= 132 else 0.5
    n = max(1, int(round(length_beats / unit)))
    sparse = rng.random() < 0.35
    notes = []
    for j in range(n):
        if sparse and j % 2 == 1 and j < n - 2:
            continue
        lane = _FILL_LANES[min(len(_FILL_LANES) - 1, j * len(_FILL_LANES) // n)]
        velocity = int(75 + 37 * j / max(1, n - 1))
        notes.append(Note(DRUM_LANES[lane], start_beat + j * unit, unit, velocity))
    return notes


def _ending(notes: list[Note], *, end_beat: float, bar: float) -> list[Note]:
    """Drop the song's last bar and put one crash + kick on its downbeat."""
    last_bar = end_beat - bar
    kept = [n for n in notes if n.start_beat < last_bar - 1e-6]
    return kept + [Note(CRASH, last_bar, bar, 115), Note(KICK, last_bar, _HIT_BEATS, 110)]
