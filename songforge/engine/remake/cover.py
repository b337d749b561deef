"""Cover: the reference song's melody, chords, form and lyrics, performed in a new style.

The style (genre, instruments, tempo feel, voice) comes from ``request.prompt`` through
:func:`~songforge.engine.plan.plan_song`; the song comes from the source's
:class:`~songforge.engine.analyze.Analysis`. ``Reference.audio_weight`` (``w``, 0-1) sets how
close the cover stays:

* key, chords and form (sections) are always the source's; so is the meter;
* tempo: ``source_bpm ** w * style_bpm ** (1 - w)`` (``w = 1``: the source's tempo exactly);
* melody: quantised to the source's beat grid (sixteenths); each note keeps its pitch when a
  seeded draw ``u`` (one per note, the same for every ``w``) is below ``w``, otherwise its pitch is
  re-composed: a chord tone (a scale tone off the beat) stepping from the previous note, in the
  direction of the source's interval for the hook (the first chorus's first phrase, else the first
  phrase) and freely elsewhere. Re-composed notes off the half-beat move onto it. So ``w = 1``
  keeps melody rhythm and pitches exactly, ``w = 0`` keeps only chords, key, form and the hook's
  contour, and the share of kept notes grows with ``w`` (nested: a note kept at ``w`` is kept at
  every higher weight);
* the melody moves by whole octaves into the new singer's range (pitch classes kept);
* lyrics: the source's own words where it sang them, unless the request gives new lyrics
  (sung one line per melody phrase).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from songforge.engine.analyze import Analysis
from songforge.engine.compose import VocalLine, compose_around
from songforge.engine.compose._theory import chord_tones, scale_pcs, section_at
from songforge.engine.lyrics import Lyrics
from songforge.engine.plan import SongPlan, plan_song
from songforge.engine.remake import ResolvedReference
from songforge.engine.remake.finish import finish_song
from songforge.engine.remake.follow import BeatGrid, reference_melody, reference_sections
from songforge.engine.remake.words import lyrics_on_notes, phrases, timed_words_on_notes
from songforge.engine.score import Note, Section
from songforge.engine.voice.singer import SungLine
from songforge.errors import InvalidRequest
from songforge.models import SongRequest

__all__ = ["make", "cover_plan", "cover_melody", "cover_tempo_bpm", "MELODY_STEP_BEATS"]

MELODY_STEP_BEATS = 0.25
"""The grid the source melody is quantised to (a sixteenth note)."""


def make(
    request: SongRequest, resolved: ResolvedReference, *, preset: str = "default",
    on_progress: Callable[[Any, float], None] | None = None, on_chunk: Callable[[bytes], None] | None = None,
    songwriter: Any = None,
) -> Any:
    """Cover ``resolved.source`` in the style ``request.prompt`` asks for (see the module doc).

    Returns
    -------
    SongResult (48 kHz stereo master, encoded in the request's format); a sung cover has the
    ``"vocals"`` stem and line timings, an instrumental one has the tune on the lead instrument.

    Raises
    ------
    InvalidRequest when the reference has no source audio or its analysis found no melody.
    """
    from songforge.engine.lyrics import parse_lyrics

    started = time.perf_counter()
    analysis = _source_analysis(resolved)
    seed = request.seed if request.seed is not None else secrets.randbelow(2**32)
    weight = float(resolved.spec.audio_weight)
    plan = cover_plan(request, analysis, seed=seed, audio_weight=weight)
    grid = BeatGrid.from_analysis(analysis)
    sections = reference_sections(analysis, grid, bar_beats=float(analysis.meter))
    tune = cover_melody(analysis, grid, sections, plan=plan, audio_weight=weight,
                        rng=np.random.default_rng([seed, 17]))
    lyrics = parse_lyrics(request.lyrics) if request.lyrics and request.lyrics.strip() else None
    vocal = None if plan.instrumental else _vocal(tune, analysis, grid, sections, lyrics=lyrics)
    score = compose_around(sections, plan=plan, melody=tune, vocal=vocal)
    score = replace(score, title=request.title or plan.title)
    profile = _voice_profile(resolved, plan=plan)
    return finish_song(request, plan=plan, score=score, vocal=vocal, seed=seed, preset=preset, profile=profile,
                       lyrics=lyrics, on_progress=on_progress, on_chunk=on_chunk,
                       timings_s={"plan": time.perf_counter() - started})


def _source_analysis(resolved: ResolvedReference) -> Analysis:
    if resolved.source is None:
        raise InvalidRequest("a cover needs source audio: audio_id or source_job_id",
                             field="reference.audio_id", limit="one source")
    if not resolved.source.analysis.melody:
        raise InvalidRequest("no melody was found in the reference audio to cover",
                             field="reference.audio_id", limit="a melody")
    return resolved.source.analysis


def _voice_profile(resolved: ResolvedReference, *, plan: SongPlan):
    """The voice profile of ``resolved.voice`` when one is given (a cover sung in that voice)."""
    if resolved.voice is None:
        return None
    from songforge.engine.voice.profile import measure_voice

    return measure_voice(resolved.voice.audio, sample_rate_hz=resolved.voice.sample_rate_hz).profile(plan.gender)


def cover_tempo_bpm(source_bpm: float, style_bpm: float, *, audio_weight: float) -> float:
    """``source_bpm ** w * style_bpm ** (1 - w)``: the source's tempo at ``w = 1``."""
    w = float(np.clip(audio_weight, 0.0, 1.0))
    return float(source_bpm ** w * style_bpm ** (1.0 - w))


def cover_plan(request: SongRequest, analysis: Analysis, *, seed: int, audio_weight: float) -> SongPlan:
    """The prompt's plan (genre, instruments, voice, tempo feel) in the source's key and meter.

    The cover is sung when the plan is not instrumental and there is something to sing (the
    source's words or new lyrics); its length is the source's form at the new tempo.
    """
    plan = plan_song(request.with_(duration_s=None) if request.duration_s else request, seed=seed)
    tempo = cover_tempo_bpm(analysis.tempo_bpm, plan.tempo_bpm, audio_weight=audio_weight)
    sung = not plan.instrumental and bool(analysis.words or (request.lyrics and request.lyrics.strip()))
    return replace(plan, tonic_pc=analysis.key_tonic_pc % 12, mode=analysis.key_mode,
                   meter=(int(analysis.meter), 4), tempo_bpm=tempo, instrumental=not sung,
                   duration_s=analysis.duration_s * analysis.tempo_bpm / tempo)


def cover_melody(
    analysis: Analysis, grid: BeatGrid, sections: Sequence[Section], *, plan: SongPlan, audio_weight: float,
    rng: np.random.Generator,
) -> list[Note]:
    """The source melody as the cover sings it (see the module doc for the ``audio_weight`` mapping).

    Returns notes in score beats, moved by whole octaves so their median sits in the middle of
    ``plan.vocal_range``.
    """
    notes = reference_melody(analysis, grid, step_beats=MELODY_STEP_BEATS)
    if not notes:
        return []
    shift = _octave_shift([n.pitch for n in notes], plan.vocal_range)
    notes = [replace(n, pitch=n.pitch + shift) for n in notes]
    draws = rng.random(len(notes))
    keep = draws < float(audio_weight)
    if keep.all():
        return notes
    hook = _hook_indices(notes, sections)
    return _recompose(notes, keep=keep, hook=hook, sections=sections, plan=plan, rng=rng)


def _octave_shift(pitches: Sequence[int], vocal_range: tuple[int, int]) -> int:
    centre = (vocal_range[0] + vocal_range[1]) / 2.0
    return int(12 * round((centre - float(np.median(pitches))) / 12.0))


def _hook_indices(notes: list[Note], sections: Sequence[Section]) -> set[int]:
    """Indices of the hook's notes: the first chorus's first phrase, else the first phrase."""
    chorus = next((s for s in sections if s.kind == "chorus"), None)
    pool = [n for n in notes if chorus is None or chorus.start_beat <= n.start_beat < chorus.end_beat] or notes
    first = phrases(pool)[0]
    starts = {n.start_beat for n in first}
    return {i for i, n in enumerate(notes) if n.start_beat in starts}


def _recompose(notes: list[Note], *, keep: np.ndarray, hook: set[int], sections: Sequence[Section],
               plan: SongPlan, rng: np.random.Generator) -> list[Note]:
    """Re-choose the pitches of the notes not kept (chord tones on beats, scale tones off them)."""
    low, high = plan.vocal_range
    scale = set(scale_pcs(plan.tonic_pc, plan.mode))
    out: list[Note] = []
    for i, note in enumerate(notes):
        if keep[i]:
            out.append(note)
            continue
        previous = out[-1].pitch if out else note.pitch
        direction = int(np.sign(note.pitch - notes[i - 1].pitch)) if i in hook and i > 0 else int(
            rng.choice((-1, 0, 1), p=_direction_odds(previous, low, high)))
        pcs = _allowed_pcs(note, sections=sections, scale=scale)
        pitch = _step(previous, direction, pcs=pcs, low=low - 2, high=high + 2, rng=rng)
        start = note.start_beat if i in hook else _half_beat(note, out)
        if out and out[-1].end_beat > start:
            out[-1] = replace(out[-1], duration_beats=start - out[-1].start_beat)
        out.append(replace(note, pitch=pitch, start_beat=start,
                           duration_beats=note.end_beat - start))
    return out


def _direction_odds(pitch: int, low: int, high: int) -> list[float]:
    """Odds of (down, repeat, up): pulled towards the middle of the range."""
    pull = float(np.clip((pitch - (low + high) / 2.0) / max(1.0, (high - low) / 2.0), -1.0, 1.0))
    down, up = 0.4 + 0.3 * pull, 0.4 - 0.3 * pull
    return [down, 0.2, up]


def _allowed_pcs(note: Note, *, sections: Sequence[Section], scale: set[int]) -> set[int]:
    section = section_at(sections, note.start_beat)
    chord = next((c for c in section.chords if c.start_beat <= note.start_beat < c.start_beat + c.duration_beats),
                 section.chords[-1] if section.chords else None)
    tones = set(chord_tones(chord)) if chord is not None else scale
    return tones if abs(note.start_beat * 2 - round(note.start_beat * 2)) < 1e-6 else tones | scale


def _step(previous: int, direction: int, *, pcs: set[int], low: int, high: int,
          rng: np.random.Generator) -> int:
    """The nearest allowed pitch from ``previous`` in ``direction`` (1-2 allowed steps away)."""
    candidates = [p for p in range(low, high + 1) if p % 12 in pcs]
    if not candidates:
        return previous
    if direction == 0:
        return min(candidates, key=lambda p: (abs(p - previous), p))
    ahead = sorted((p for p in candidates if (p - previous) * direction > 0), key=lambda p: abs(p - previous))
    if not ahead:
        return min(candidates, key=lambda p: abs(p - previous))
    return ahead[min(len(ahead) - 1, int(rng.integers(0, 2)))]


def _half_beat(note: Note, out: list[Note]) -> float:
    """The note's onset moved onto the half-beat grid (never before the previous note's onset)."""
    start = round(note.start_beat * 2) / 2
    if out and start <= out[-1].start_beat or start >= note.end_beat:
        return note.start_beat
    return start


def _vocal(tune: list[Note], analysis: Analysis, grid: BeatGrid, sections: Sequence[Section], *,
           lyrics: Lyrics | None) -> VocalLine | None:
    """The sung line: new lyrics on the tune's phrases, or the source's words where it sang them."""
    if lyrics is not None:
        lines = lyrics_on_notes(_sung_notes(tune, analysis, grid), lyrics)
    else:
        lines = timed_words_on_notes(tune, analysis.words, grid)
    return vocal_line(lines, sections) if lines else None


def _sung_notes(tune: list[Note], analysis: Analysis, grid: BeatGrid) -> list[Note]:
    """Notes the source sang (under a word), or all of them when it had no words."""
    if not analysis.words:
        return tune
    spans = [(float(grid.to_beats(w.start_s)) - 0.26, float(grid.to_beats(w.end_s))) for w in analysis.words]
    return [n for n in tune if any(a <= n.start_beat < max(b, a + 0.5) for a, b in spans)] or tune


def vocal_line(lines: Sequence[SungLine], sections: Sequence[Section]) -> VocalLine:
    """A :class:`VocalLine` of sung lines (no harmony voice), with the sections they are sung in."""
    notes = tuple(sorted((n for line in lines for n in line.notes), key=lambda n: n.start_beat))
    sung = tuple(dict.fromkeys(section_at(sections, n.start_beat).name for n in notes))
    return VocalLine(notes=notes, lines=tuple(lines), sung_sections=sung)
