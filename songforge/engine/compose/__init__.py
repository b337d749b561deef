"""The composer: SongPlan -> Score (form, harmony, melody, bass, drums, arrangement).

``compose(plan)`` is the entry point; the stages are public for reuse (the singing stage calls
``write_melody`` on the harmonised sections, for instance). Every random choice draws from one
``numpy.random.Generator`` derived from ``plan.seed``, so the same plan gives an identical Score.
"""

from __future__ import annotations

import numpy as np

from songforge.engine.compose.arrange import arrange, comp_rhythm
from songforge.engine.compose.bass import write_bass
from songforge.engine.compose.drums import write_drums
from songforge.engine.compose.form import bar_count, plan_form
from songforge.engine.compose.harmony import harmonize, parse_chord, voice_chords
from songforge.engine.compose.melody import melody_range, write_melody
from songforge.engine.plan import SongPlan
from songforge.engine.score import Score

__all__ = [
    "compose",
    "plan_form",
    "bar_count",
    "harmonize",
    "parse_chord",
    "voice_chords",
    "write_melody",
    "melody_range",
    "write_bass",
    "write_drums",
    "arrange",
    "comp_rhythm",
]


def compose(plan: SongPlan, *, rng: np.random.Generator | None = None) -> Score:
    """Compose a whole song for ``plan``.

    Parameters
    ----------
    plan : SongPlan
        Genre (style preset), tempo, meter, key, duration, instruments, weirdness, seed...
    rng : numpy.random.Generator, optional
        Defaults to ``numpy.random.default_rng(plan.seed)``.

    Returns
    -------
    Score
        ``tempo_bpm = plan.quarter_bpm``; one Part per ``plan.instruments`` entry; the form's
        length is within one bar of ``plan.duration_s``.

    Examples
    --------
    >>> score = compose(plan)  # doctest: +SKIP
    >>> score.to_midi("song.mid")  # doctest: +SKIP
    """
    from songforge.engine.styles import load_style

    style = load_style(plan.genre)
    rng = np.random.default_rng(plan.seed) if rng is None else rng
    form_rng, harmony_rng, melody_rng, bass_rng, drums_rng, arrange_rng = rng.spawn(6)
    sections = harmonize(plan_form(plan, rng=form_rng), plan=plan, style=style, rng=harmony_rng)
    melody = write_melody(sections, plan=plan, rng=melody_rng)
    bass = write_bass(sections, plan=plan, style=style, rng=bass_rng)
    drums = write_drums(sections, plan=plan, style=style, rng=drums_rng)
    parts = arrange(sections, plan=plan, style=style, melody=melody, bass=bass, drums=drums,
                    rng=arrange_rng)
    return Score(
        tempo_bpm=plan.quarter_bpm,
        meter=(int(plan.meter[0]), int(plan.meter[1])),
        tonic_pc=plan.tonic_pc % 12,
        mode=plan.mode,
        sections=tuple(sections),
        parts=parts,
        pulse_quarters=plan.pulse_quarters,
        title=plan.title,
        metadata={"genre": plan.genre, "seed": plan.seed, "swing": plan.swing},
    )
