"""Mode ``add_instrumental``: a band that accompanies an uploaded vocal track.

The band plays at the vocal's tempo, in its key and meter, over its sections; its chords are
chosen to fit the sung melody (:func:`harmonise_melody`: per bar, the diatonic triad holding the
most melody time as chord tones). The vocal track itself is the ``"vocals"`` stem, moved so its
beats land on the band's, and mixed over the band with the usual chain
(:func:`songforge.engine.mix.mix_stems`, vocal role). The lead instrument sits out: it would
double the singer.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from songforge.engine.analyze import Analysis
from songforge.engine.compose import compose_around
from songforge.engine.compose._theory import MAJOR_SCALE, MINOR_SCALE, chord_tones
from songforge.engine.plan import SongPlan, plan_song
from songforge.engine.remake import ResolvedReference
from songforge.engine.remake.finish import SAMPLE_RATE_HZ, finish_song
from songforge.engine.remake.follow import BeatGrid, reference_melody, reference_sections
from songforge.engine.score import Chord, Note, Section
from songforge.errors import InvalidRequest
from songforge.models import SongRequest

__all__ = ["make", "harmonise_melody", "band_plan"]


def make(
    request: SongRequest, resolved: ResolvedReference, *, preset: str = "default",
    on_progress: Callable[[Any, float], None] | None = None, on_chunk: Callable[[bytes], None] | None = None,
    songwriter: Any = None,
) -> Any:
    """Accompany the vocal track ``resolved.source`` in the style of ``request.prompt``."""
    started = time.perf_counter()
    if resolved.source is None:
        raise InvalidRequest("add_instrumental needs the vocal track: audio_id or source_job_id",
                             field="reference.audio_id", limit="one source")
    source = resolved.source
    analysis = source.analysis
    seed = request.seed if request.seed is not None else secrets.randbelow(2**32)
    plan = band_plan(request, analysis, seed=seed)
    grid = BeatGrid.from_analysis(analysis)
    bar = float(analysis.meter)
    tune = reference_melody(analysis, grid, step_beats=0.25)
    sections = [_harmonised(s, tune, plan=plan) for s in reference_sections(analysis, grid, bar_beats=bar)]
    score = replace(compose_around(sections, plan=plan, melody=tune), title=request.title or plan.title)
    vocals = _aligned(source.audio, sample_rate_hz=source.sample_rate_hz, lead_s=-float(grid.to_seconds(0.0)))
    return finish_song(request, plan=plan, score=score, vocal=None, seed=seed, preset=preset,
                       given_stems={"vocals": (vocals, "vocal")}, on_progress=on_progress, on_chunk=on_chunk,
                       timings_s={"plan": time.perf_counter() - started})


def band_plan(request: SongRequest, analysis: Analysis, *, seed: int) -> SongPlan:
    """The prompt's band (genre, instruments but the lead) at the vocal's tempo, key and meter."""
    plan = plan_song(request.with_(instrumental=True, lyrics=None, duration_s=None), seed=seed)
    return replace(plan, tempo_bpm=float(analysis.tempo_bpm), tonic_pc=analysis.key_tonic_pc % 12,
                   mode=analysis.key_mode, meter=(int(analysis.meter), 4), instrumental=True,
                   instruments=tuple((r, p) for r, p in plan.instruments if r != "lead"),
                   duration_s=analysis.duration_s)


def _harmonised(section: Section, tune: Sequence[Note], *, plan: SongPlan) -> Section:
    bar = float(plan.meter[0])
    inside = [n for n in tune if section.start_beat <= n.start_beat < section.end_beat]
    chords = harmonise_melody(inside, tonic_pc=plan.tonic_pc, mode=plan.mode, start_beat=section.start_beat,
                              length_beats=section.length_beats, bar_beats=bar)
    return replace(section, chords=tuple(chords))


def harmonise_melody(notes: Sequence[Note], *, tonic_pc: int, mode: str, start_beat: float, length_beats: float,
                     bar_beats: float) -> list[Chord]:
    """One diatonic triad per bar of ``start_beat .. start_beat + length_beats`` fitting ``notes``.

    Each bar takes the triad whose chord tones cover the most melody time in it (notes on the
    bar's first beat count double), ties going to the tonic, then to the chord a fifth below the
    previous one; a bar with no melody holds the previous chord (the tonic at the start).
    """
    triads = _diatonic_triads(tonic_pc, mode)
    chords: list[Chord] = []
    n_bars = max(1, int(round(length_beats / bar_beats)))
    for k in range(n_bars):
        a = start_beat + k * bar_beats
        b = min(start_beat + length_beats, a + bar_beats)
        in_bar = [(n, min(b, n.end_beat) - max(a, n.start_beat)) for n in notes
                  if n.start_beat < b and n.end_beat > a]
        previous = chords[-1] if chords else None
        if not in_bar:
            root, quality = (previous.root_pc, previous.quality) if previous else triads[0]
        else:
            root, quality = max(triads, key=lambda t: _fit(t, in_bar, a=a, previous=previous, tonic_pc=tonic_pc))
        chords.append(Chord(a, b - a, root, quality))
    return chords


def _diatonic_triads(tonic_pc: int, mode: str) -> list[tuple[int, str]]:
    """(root, quality) of the key's triads, tonic first (no diminished triad)."""
    scale = MINOR_SCALE if mode == "minor" else MAJOR_SCALE
    out = []
    for i in range(7):
        third = (scale[(i + 2) % 7] - scale[i]) % 12
        fifth = (scale[(i + 4) % 7] - scale[i]) % 12
        if fifth == 7:
            out.append(((tonic_pc + scale[i]) % 12, "maj" if third == 4 else "min"))
    return out


def _fit(triad: tuple[int, str], in_bar, *, a: float, previous: Chord | None, tonic_pc: int) -> float:
    tones = chord_tones(Chord(0.0, 1.0, triad[0], triad[1]))
    score = sum(w * (2.0 if abs(n.start_beat - a) < 1e-6 else 1.0) for n, w in in_bar if n.pitch % 12 in tones)
    score += 0.05 * (triad[0] == tonic_pc % 12)
    if previous is not None:
        score += 0.02 * (triad[0] == (previous.root_pc + 5) % 12)
    return score


def _aligned(audio: np.ndarray, *, sample_rate_hz: int, lead_s: float) -> np.ndarray:
    """The vocal track as a 48 kHz stereo stem, delayed by ``lead_s`` (its first bar's lead-in)."""
    import soxr

    x = np.asarray(audio, dtype=np.float32)
    x = np.stack([x, x], axis=1) if x.ndim == 1 else x[:, :2]
    if sample_rate_hz != SAMPLE_RATE_HZ:
        x = soxr.resample(x, sample_rate_hz, SAMPLE_RATE_HZ).astype(np.float32)
    pad = int(round(max(0.0, lead_s) * SAMPLE_RATE_HZ))
    return np.pad(x, ((pad, 0), (0, 0)))
