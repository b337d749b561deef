"""Extend: continue a song from ``continue_at_s`` in its key, tempo and style.

The join is the bar line nearest ``continue_at_s`` (one of our songs: the score's bars; uploaded
audio: every ``meter``-th beat of the analysis, counted from its first beat). The result is the
source up to the join followed by the continuation, joined by a short equal-power crossfade:

* **our songs**: new sections are composed with the source's plan (genre, tempo, key, meter,
  instruments, voice) and a new seed, sung to new lyrics (the request's, or written from its
  prompt) when the source is sung. They are appended to the source's score at the join and the
  joined score is rendered whole, so the render plays the source's very notes up to the join;
  the crossfade lies in the last ``FADE_S`` before the bar line, where both agree.
* **uploads**: a plan is made from the request's prompt with the analysis' tempo, meter and key,
  the continuation composed, rendered, levelled to the source and crossfaded in after the bar line.

``request.duration_s`` is the length of the new part (default: as long as the rest of the
source after the join, at least :data:`MIN_CONTINUATION_S`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from songforge.engine.remake import ReferenceAudio, ResolvedReference
from songforge.engine.remake._common import (
    MASTER_RATE_HZ,
    crossfade_join,
    finish,
    matched_gain,
    new_clock,
    recompose,
    render_score,
    section_named,
    shift_lines,
    shift_score_notes,
    sung_lyrics,
    variant_seed,
)
from songforge.engine.score import Part, Score, Section
from songforge.errors import InvalidRequest
from songforge.models import SongRequest, Stage

__all__ = ["make", "FADE_S", "MIN_CONTINUATION_S", "join_bar_s"]

FADE_S = 0.05
"""Length of the crossfade at the join."""
MIN_CONTINUATION_S = 20.0
_EXT_PREFIX = "ext "


def make(
    request: SongRequest, resolved: ResolvedReference, *, preset: str = "default",
    on_progress: Callable[[Any, float], None] | None = None, on_chunk: Callable[[bytes], None] | None = None,
    songwriter: Any = None,
) -> Any:
    """Continue ``resolved.source`` from ``resolved.spec.continue_at_s``; see the module docstring.

    Raises :class:`InvalidRequest` (``field="reference.continue_at_s"``) when ``continue_at_s``
    is missing or not inside (0, duration).
    """
    source = resolved.source
    if source is None:
        raise InvalidRequest("extend needs a source: reference.audio_id or reference.source_job_id",
                             field="reference", limit="audio_id or source_job_id")
    duration_s = source.audio.shape[0] / MASTER_RATE_HZ
    at_s = resolved.spec.continue_at_s
    if at_s is None or not 0.0 < at_s < duration_s:
        raise InvalidRequest(
            f"continue_at_s must lie inside the source (0-{duration_s:.3f} s, exclusive), not {at_s}",
            field="reference.continue_at_s", limit=f"0 < continue_at_s < {duration_s:.3f}",
        )
    options = {"preset": preset, "on_progress": on_progress, "on_chunk": on_chunk, "songwriter": songwriter}
    if source.request is not None:
        return _extend_own(request, source, at_s=float(at_s), **options)
    return _extend_upload(request, source, at_s=float(at_s), **options)


def join_bar_s(at_s: float, *, bar_starts_s: np.ndarray, duration_s: float) -> float:
    """The bar line nearest ``at_s`` strictly inside (0, ``duration_s``); ``at_s`` when none is."""
    inside = bar_starts_s[(bar_starts_s > 0.0) & (bar_starts_s < duration_s)]
    if inside.size == 0:
        return at_s
    return float(inside[np.argmin(np.abs(inside - at_s))])


def _continuation_s(request: SongRequest, *, duration_s: float, join_s: float) -> float:
    return float(request.duration_s or max(MIN_CONTINUATION_S, duration_s - join_s))


# --------------------------------------------------------------------------- our songs


def _extend_own(request: SongRequest, source: ReferenceAudio, *, at_s: float, preset: str,
                on_progress: Any, on_chunk: Any, songwriter: Any) -> Any:
    assert source.request is not None and source.request.seed is not None
    own = recompose(source.request, source.analysis.lyrics if source.analysis.has_vocals else None)
    score, n = own.score, source.audio.shape[0]
    duration_s = n / MASTER_RATE_HZ
    bar = score.beats_per_bar
    bars_s = np.array([score.beats_to_seconds(b) for b in np.arange(0.0, score.length_beats + bar / 2, bar)])
    join_s = join_bar_s(at_s, bar_starts_s=bars_s, duration_s=duration_s)
    join_beat = score.seconds_to_beats(join_s)
    seed = variant_seed(request, source.request.seed)
    clock = new_clock(on_progress)
    plan = replace(own.plan, seed=seed, duration_s=_continuation_s(request, duration_s=duration_s, join_s=join_s))
    sung = own.vocal is not None and not request.instrumental
    first = Stage.LYRICS if sung else Stage.COMPOSE
    lyrics, (cont, cont_vocal) = clock.run(first, lambda: _compose(plan, request, sung=sung, songwriter=songwriter))
    joined, vocal = clock.run(Stage.COMPOSE, lambda: _join_scores(own, cont, cont_vocal, at_beat=join_beat))
    rendered = render_score(joined, vocal, plan=own.plan, seed=source.request.seed, preset=preset, clock=clock)
    join_n = round(join_s * MASTER_RATE_HZ)
    fade_n = min(round(FADE_S * MASTER_RATE_HZ), join_n)
    new = rendered.audio * np.float32(_gain_before(source.audio, rendered.audio, end=join_n - fade_n))
    audio = clock.run(Stage.MIX, lambda: crossfade_join(source.audio, new, at=join_n - fade_n, fade_n=fade_n),
                      label="join")
    return finish(request, plan=plan, score=joined, audio=audio, rendered=rendered, seed=seed, clock=clock,
                  preset=preset, on_chunk=on_chunk, lyrics=lyrics)


def _compose(plan: Any, request: SongRequest, *, sung: bool, songwriter: Any) -> tuple[Any, tuple[Score, Any]]:
    """The continuation's lyrics (``None`` unsung) and its score and vocal line."""
    from songforge.engine.compose import compose, compose_song

    if not sung:
        return None, (compose(replace(plan, instrumental=True)), None)
    sung_plan = replace(plan, instrumental=False)
    return sung_lyrics(request, seed=plan.seed, songwriter=songwriter,
                       fit=lambda lyrics: compose_song(sung_plan, lyrics=lyrics, duration_s=plan.duration_s))


def _gain_before(source: np.ndarray, new: np.ndarray, *, end: int) -> float:
    """Least-squares gain of ``new`` onto ``source`` over ``[0, end)`` (the same notes play there)."""
    if end <= 0:
        return 1.0
    s, r = source[:end].astype(np.float64), new[:end].astype(np.float64)
    power = float(np.sum(r * r))
    return float(np.clip(np.sum(s * r) / power, 0.5, 2.0)) if power > 1e-12 else 1.0


def _join_scores(own: Any, cont: Score, cont_vocal: Any, *, at_beat: float) -> tuple[Score, Any]:
    """The source's score up to ``at_beat`` followed by ``cont`` (moved to start there)."""
    src = own.score
    sections = [replace(s, length_beats=min(s.end_beat, at_beat) - s.start_beat)
                for s in src.sections if s.start_beat < at_beat]
    moved = [replace(s, start_beat=s.start_beat + at_beat,
                     chords=tuple(replace(c, start_beat=c.start_beat + at_beat) for c in s.chords))
             for s in section_named(cont.sections, _EXT_PREFIX)]
    cont_parts = {p.name: p for p in cont.parts}
    parts = [replace(p, notes=tuple(n for n in p.notes if n.start_beat < at_beat)
                     + shift_score_notes(cont_parts.pop(p.name).notes if p.name in cont_parts else (), at_beat))
             for p in src.parts]
    parts += [replace(p, notes=shift_score_notes(p.notes, at_beat)) for p in cont_parts.values()]
    vocal = _join_vocals(own.vocal, cont_vocal, at_beat=at_beat)
    if vocal is not None:
        parts = _with_vocal_parts(parts, vocal)
    return replace(src, sections=tuple(sections + moved), parts=tuple(parts)), vocal


def _join_vocals(source: Any, cont: Any, *, at_beat: float) -> Any:
    """Source lines that start before ``at_beat``, then the continuation's lines moved there."""
    from songforge.engine.compose import VocalLine

    if source is None and cont is None:
        return None
    before = [x for x in (source.lines if source else ()) if x.notes and x.notes[0].start_beat < at_beat]
    before_h = [x for x in (source.harmony_lines if source else ()) if x.notes and x.notes[0].start_beat < at_beat]
    lines = (*before, *shift_lines(cont.lines if cont else (), at_beat))
    harmony = (*before_h, *shift_lines(cont.harmony_lines if cont else (), at_beat))
    notes = tuple(sorted((n for line in lines for n in line.notes), key=lambda n: n.start_beat))
    sung = (*(source.sung_sections if source else ()),
            *(f"{_EXT_PREFIX}{s}" for s in (cont.sung_sections if cont else ())))
    return VocalLine(notes, tuple(lines), tuple(harmony), tuple(dict.fromkeys(sung)))


def _with_vocal_parts(parts: list[Part], vocal: Any) -> list[Part]:
    """``parts`` with the vocal parts holding ``vocal``'s notes (added when missing)."""
    from songforge.engine.compose import VOICE_PROGRAM
    from songforge.engine.compose.arrange import ROLE_PAN

    harmony = tuple(replace(n, lyric=None) for n in vocal.harmony_notes)
    wanted = {"vocals": Part("vocals", "vocal", VOICE_PROGRAM, vocal.notes)}
    if harmony:
        wanted["harmony_vocal"] = Part("harmony_vocal", "harmony_vocal", VOICE_PROGRAM, harmony,
                                       pan=ROLE_PAN["harmony_vocal"], gain_db=-4.0)
    out = [replace(p, notes=wanted.pop(p.name).notes) if p.name in wanted else p for p in parts]
    return out + list(wanted.values())


# --------------------------------------------------------------------------- uploads


def _extend_upload(request: SongRequest, source: ReferenceAudio, *, at_s: float, preset: str,
                   on_progress: Any, on_chunk: Any, songwriter: Any) -> Any:
    analysis, n = source.analysis, source.audio.shape[0]
    duration_s = n / MASTER_RATE_HZ
    downbeats = _downbeats_s(analysis, duration_s=duration_s)
    join_s = join_bar_s(at_s, bar_starts_s=downbeats, duration_s=duration_s)
    seed = request.seed if request.seed is not None else 0
    clock = new_clock(on_progress)
    plan = clock.run(Stage.COMPOSE, lambda: plan_from_analysis(
        request, analysis, seed=seed, duration_s=_continuation_s(request, duration_s=duration_s, join_s=join_s)),
        label="plan")
    sung = bool(request.lyrics and request.lyrics.strip()) or (analysis.has_vocals and not request.instrumental)
    first = Stage.LYRICS if sung else Stage.COMPOSE
    lyrics, (cont, vocal) = clock.run(first, lambda: _compose(plan, request, sung=sung, songwriter=songwriter))
    rendered = render_score(cont, vocal, plan=plan, seed=seed, preset=preset, clock=clock)
    join_n = round(join_s * MASTER_RATE_HZ)
    gain = matched_gain(source.audio[:join_n], rendered.audio)
    placed = np.concatenate([np.zeros((join_n, 2), np.float32), rendered.audio * np.float32(gain)])
    audio = clock.run(Stage.MIX, lambda: crossfade_join(source.audio, placed, at=join_n,
                                                        fade_n=round(FADE_S * MASTER_RATE_HZ)), label="join")
    stems = {"source": np.pad(source.audio[:join_n], ((0, placed.shape[0] - join_n), (0, 0)))}
    stems.update({k: np.concatenate([np.zeros((join_n, 2), np.float32), v * np.float32(gain)])
                  for k, v in rendered.stems.items()})
    score = _placed_score(cont, at_s=join_s)
    return finish(request, plan=plan, score=score, audio=audio, rendered=rendered, stems=stems, seed=seed,
                  clock=clock, preset=preset, on_chunk=on_chunk, lyrics=lyrics)


def _downbeats_s(analysis: Any, *, duration_s: float) -> np.ndarray:
    """Bar lines of analysed audio: the analysis' downbeats when it gives them, else every
    ``meter``-th beat from the first, else a grid from 0 s at its tempo."""
    given = analysis.extra.get("downbeats_s") if analysis.extra else None
    if given:
        return np.asarray(given, dtype=float)
    if analysis.beats_s:
        return np.asarray(analysis.beats_s[:: max(1, analysis.meter)], dtype=float)
    bar_s = 60.0 / analysis.tempo_bpm * max(1, analysis.meter)
    return np.arange(0.0, duration_s, bar_s)


def plan_from_analysis(request: SongRequest, analysis: Any, *, seed: int, duration_s: float) -> Any:
    """A plan from the request's prompt that keeps the analysed tempo, meter and key."""
    from songforge.engine.plan import plan_song

    planned = plan_song(request.with_(reference=None, duration_s=None, lyrics=request.lyrics)
                        if request.prompt.strip() or request.lyrics else
                        request.with_(reference=None, prompt="a song"), seed=seed)
    return replace(planned, tempo_bpm=float(analysis.tempo_bpm), meter=(int(analysis.meter), 4),
                   tonic_pc=int(analysis.key_tonic_pc) % 12, mode=str(analysis.key_mode),
                   duration_s=float(duration_s), seed=seed)


def _placed_score(cont: Score, *, at_s: float) -> Score:
    """``cont`` moved to start at ``at_s``, after one section standing for the source's audio."""
    at_beat = cont.seconds_to_beats(at_s)
    head = Section("source", "inst", 0.0, at_beat, 0.5)
    moved = [replace(s, start_beat=s.start_beat + at_beat,
                     chords=tuple(replace(c, start_beat=c.start_beat + at_beat) for c in s.chords))
             for s in cont.sections]
    parts = tuple(replace(p, notes=shift_score_notes(p.notes, at_beat)) for p in cont.parts)
    return replace(cont, sections=(head, *moved), parts=parts)
