"""Add vocals: new lyrics sung over an uploaded instrumental, in its key and on its beat grid.

The analysis of the instrumental (tempo, beats, meter, key, chords) becomes a score grid: beat 0
is the first analysed beat (taken as a downbeat), bars of ``meter`` beats at the analysed tempo,
and sections sized for the lyric sheet (the request's lyrics, or lyrics written from its prompt)
whose chords are the analysed chords where there are any (else the style's, in the analysed
key). The vocal composer writes the line on that grid, the singer sings it, and the vocal is
mixed over the instrumental, which is kept as one stem:

* the vocal gets the mix chain's vocal insert (:func:`songforge.engine.mix.role_chain`) and is
  set :data:`VOCAL_OVER_INSTRUMENTAL_DB` above the instrumental's loudness (the harmony 12 dB
  under the lead), as :func:`~songforge.engine.mix.mix_stems` levels vocals over a band;
* the instrumental passes unprocessed (it is a finished mix), and the sum is mastered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from songforge.engine.analyze import Analysis
from songforge.engine.remake import ReferenceAudio, ResolvedReference
from songforge.engine.remake._common import (
    MASTER_RATE_HZ,
    Rendered,
    finish,
    new_clock,
    shift_lines,
    shift_score_notes,
    sung_lyrics,
)
from songforge.engine.score import Chord, Part, Score, Section
from songforge.errors import InvalidRequest
from songforge.models import SongRequest, Stage

__all__ = ["make", "VOCAL_OVER_INSTRUMENTAL_DB", "sections_with_chords"]

VOCAL_OVER_INSTRUMENTAL_DB = 4.0
"""Lead vocal loudness over the instrumental's, LU (the mix puts vocals 3-5 dB over the band)."""
_HARMONY_BELOW_VOCAL_DB = 12.0
_MIN_BARS = 2


def make(
    request: SongRequest, resolved: ResolvedReference, *, preset: str = "default",
    on_progress: Callable[[Any, float], None] | None = None, on_chunk: Callable[[bytes], None] | None = None,
    songwriter: Any = None,
) -> Any:
    """Sing new lyrics over ``resolved.instrumental`` (or ``resolved.source``); see the module
    docstring. Returns a SongResult as long as the instrumental, with ``instrumental``,
    ``vocals`` (and ``harmony_vocal``) stems, lyric timings and the vocal score."""
    from songforge.engine.remake.extend import plan_from_analysis

    backing = resolved.instrumental or resolved.source
    if backing is None:
        raise InvalidRequest("add_vocals needs an instrumental: reference.instrumental_id or audio_id",
                             field="reference.instrumental_id", limit="instrumental_id or audio_id")
    analysis = backing.analysis
    seed = request.seed if request.seed is not None else 0
    grid = _Grid.of(analysis, n_samples=backing.audio.shape[0])
    clock = new_clock(on_progress)
    plan = clock.run(Stage.COMPOSE, lambda: replace(
        plan_from_analysis(request, analysis, seed=seed, duration_s=grid.bars * grid.bar_s), instrumental=False),
        label="plan")
    lyrics, (sections, vocal) = clock.run(Stage.LYRICS, lambda: sung_lyrics(
        request, seed=seed, songwriter=songwriter,
        fit=lambda sheet: _compose_line(plan, sheet, analysis=analysis, grid=grid, seed=seed)), label="lyrics")
    score = _score(plan, sections, vocal, grid=grid)
    sung = clock.run(Stage.VOCALS, lambda: _sing(vocal, score=score, plan=plan, seed=seed, grid=grid,
                                                 n_samples=backing.audio.shape[0]))
    audio, stems = clock.run(Stage.MIX, lambda: mix_over(backing, sung.stems))
    rendered = Rendered(audio, stems, sung.stems["vocals"], sung.lines)
    return finish(request, plan=plan, score=score, audio=audio, rendered=rendered, seed=seed, clock=clock,
                  preset=preset, on_chunk=on_chunk, lyrics=lyrics)


class _Grid:
    """The instrumental's bar grid: ``offset_s`` (first downbeat), ``bar_s``, whole ``bars``."""

    def __init__(self, *, offset_s: float, quarter_bpm: float, beats_per_bar: int, bars: int) -> None:
        self.offset_s, self.quarter_bpm, self.beats_per_bar, self.bars = offset_s, quarter_bpm, beats_per_bar, bars
        self.bar_s = beats_per_bar * 60.0 / quarter_bpm

    @property
    def offset_beats(self) -> float:
        return self.offset_s * self.quarter_bpm / 60.0

    @classmethod
    def of(cls, analysis: Analysis, *, n_samples: int) -> _Grid:
        if not analysis.tempo_bpm or analysis.tempo_bpm <= 0:
            raise InvalidRequest("the instrumental has no detectable tempo", field="reference.instrumental_id",
                                 limit="a steady beat")
        offset_s = float(analysis.beats_s[0]) if analysis.beats_s else 0.0
        meter = max(1, int(analysis.meter))
        bar_s = meter * 60.0 / analysis.tempo_bpm
        bars = int(np.floor((n_samples / MASTER_RATE_HZ - offset_s) / bar_s + 1e-6))
        if bars < _MIN_BARS:
            raise InvalidRequest(f"the instrumental is too short to sing over ({bars} bars)",
                                 field="reference.instrumental_id", limit=f"{_MIN_BARS} bars")
        return cls(offset_s=offset_s, quarter_bpm=float(analysis.tempo_bpm), beats_per_bar=meter, bars=bars)


def _compose_line(plan: Any, lyrics: Any, *, analysis: Analysis, grid: _Grid,
                  seed: int) -> tuple[list[Section], Any]:
    """The form for ``lyrics`` over the grid's bars, with chords, and the vocal line on it."""
    from songforge.engine.compose import harmonize, plan_form_for_lyrics, write_vocal_line
    from songforge.engine.styles import load_style

    form_rng, harmony_rng, vocal_rng = np.random.default_rng(seed).spawn(3)
    form = plan_form_for_lyrics(plan, lyrics, rng=form_rng, duration_s=grid.bars * grid.bar_s)
    form = _fit_bars(form, bars=grid.bars, beats_per_bar=grid.beats_per_bar)
    if analysis.chords:
        sections = sections_with_chords(form, analysis, offset_s=grid.offset_s, quarter_bpm=grid.quarter_bpm)
    else:
        sections = harmonize(form, plan=plan, style=load_style(plan.genre), rng=harmony_rng)
    return sections, write_vocal_line(sections, plan=plan, lyrics=lyrics, rng=vocal_rng)


def _fit_bars(form: list[Section], *, bars: int, beats_per_bar: int) -> list[Section]:
    """Trim the form's last instrumental section(s) so it ends by the grid's last bar."""
    limit = bars * beats_per_bar
    out = [s for s in form if s.start_beat < limit]
    if out and out[-1].end_beat > limit:
        out[-1] = replace(out[-1], length_beats=limit - out[-1].start_beat)
    return out


def sections_with_chords(sections: Sequence[Section], analysis: Analysis, *, offset_s: float,
                         quarter_bpm: float) -> list[Section]:
    """``sections`` (beats from the grid's first downbeat) holding the analysed chords that
    sound in them (no-chord spans and chords before the grid are left out; a section with
    none gets the key's tonic)."""
    def beat(t_s: float) -> float:
        return (t_s - offset_s) * quarter_bpm / 60.0

    chords = [(beat(c.start_s), beat(c.end_s), c) for c in analysis.chords if c.label != "N"]
    out = []
    for s in sections:
        inside = [Chord(max(a, s.start_beat), min(b, s.end_beat) - max(a, s.start_beat), c.root_pc % 12, c.quality)
                  for a, b, c in chords if a < s.end_beat and b > s.start_beat and min(b, s.end_beat) > max(a, s.start_beat)]
        if not inside:
            quality = "min" if analysis.key_mode == "minor" else "maj"
            inside = [Chord(s.start_beat, s.length_beats, analysis.key_tonic_pc % 12, quality)]
        out.append(replace(s, chords=tuple(inside)))
    return out


def _score(plan: Any, sections: list[Section], vocal: Any, *, grid: _Grid) -> Score:
    """The vocal score in the instrumental's time (beat 0 = 0 s; a pickup section before the
    first downbeat when there is one)."""
    from songforge.engine.compose import VOICE_PROGRAM
    from songforge.engine.compose.arrange import ROLE_PAN

    shift = grid.offset_beats
    moved = [replace(s, start_beat=s.start_beat + shift,
                     chords=tuple(replace(c, start_beat=c.start_beat + shift) for c in s.chords)) for s in sections]
    if shift > 1e-6:
        moved.insert(0, Section("pickup", "intro", 0.0, shift, 0.3))
    parts = [Part("vocals", "vocal", VOICE_PROGRAM, shift_score_notes(vocal.notes, shift))]
    if vocal.harmony_lines:
        harmony = tuple(replace(n, lyric=None) for n in shift_score_notes(vocal.harmony_notes, shift))
        parts.append(Part("harmony_vocal", "harmony_vocal", VOICE_PROGRAM, harmony, pan=ROLE_PAN["harmony_vocal"],
                          gain_db=-4.0))
    return Score(tempo_bpm=grid.quarter_bpm, meter=(grid.beats_per_bar, 4), tonic_pc=plan.tonic_pc % 12,
                 mode=plan.mode, sections=tuple(moved), parts=tuple(parts), title=plan.title,
                 metadata={"genre": plan.genre, "seed": plan.seed, "lyrics": True})


class _Sung:
    def __init__(self, stems: dict[str, np.ndarray], lines: Any) -> None:
        self.stems, self.lines = stems, lines


def _sing(vocal: Any, *, score: Score, plan: Any, seed: int, grid: _Grid, n_samples: int) -> _Sung:
    """Sing the lead (and harmony) at the grid's time; stems (n_samples, 2) by name."""
    from songforge.engine.compose import VocalLine
    from songforge.engine.song import fit_length, sing_vocal

    shift = grid.offset_beats
    moved = VocalLine(shift_score_notes(vocal.notes, shift), shift_lines(vocal.lines, shift),
                      shift_lines(vocal.harmony_lines, shift), vocal.sung_sections)
    stems, lines, _ = sing_vocal(moved, score=score, plan=plan, seed=seed)
    return _Sung({name: fit_length(a, n_samples) for name, a in stems.items()}, lines)


def mix_over(backing: ReferenceAudio, vocals: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Vocal stems (dry, (n, 2)) mixed over the instrumental and mastered.

    Returns the master and the processed stems (``instrumental`` plus the vocals), which sum to
    the pre-master mix.
    """
    from songforge.engine.evaluate import integrated_lufs
    from songforge.engine.mix import master, role_chain

    instrumental = backing.audio.astype(np.float32)
    accomp_lufs = integrated_lufs(instrumental, MASTER_RATE_HZ)
    stems = {"instrumental": instrumental}
    for name, dry in vocals.items():
        role = "harmony_vocal" if name == "harmony_vocal" else "vocal"
        wet = np.asarray(role_chain(role)(dry.astype(np.float32), MASTER_RATE_HZ), dtype=np.float32)
        target = accomp_lufs + VOCAL_OVER_INSTRUMENTAL_DB - (_HARMONY_BELOW_VOCAL_DB if role != "vocal" else 0.0)
        loudness = integrated_lufs(wet, MASTER_RATE_HZ)
        gain_db = target - loudness if np.isfinite(loudness) and np.isfinite(accomp_lufs) else 0.0
        stems[name] = wet * np.float32(10.0 ** (gain_db / 20.0))
    summed = np.zeros_like(instrumental)
    for audio in stems.values():
        summed += audio
    return master(summed, sample_rate_hz=MASTER_RATE_HZ), stems
