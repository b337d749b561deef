"""Replace a section: regenerate ``infill_start_s``..``infill_end_s`` of one of our songs.

The source's score is composed again from its request and seed (exact: the same request and
seed give the same score). A variation of the song is written on the same form and chords (the
same plan, key and tempo) with a new seed: new melody, bass, drums and arrangement and, when the
source is sung, a new vocal melody (or the request's new lyrics, sung in the window). Notes that
start inside the window come from the variation, all others from the source, and the spliced
score is rendered whole, so that at the window's edges the new render plays the same notes as
the source. The new render's window is gain-matched to the source (over the audio outside the
window, where both play the same notes) and crossfaded in with short equal-power fades inside
the window; every sample outside the window is the source master's, exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from songforge.engine.remake import ResolvedReference
from songforge.engine.remake._common import (
    MASTER_RATE_HZ,
    equal_power_fades,
    finish,
    new_clock,
    own_source,
    render_score,
    variant_seed,
)
from songforge.engine.score import Note, Part, Score
from songforge.errors import InvalidRequest
from songforge.models import Reference, SongRequest, Stage

__all__ = ["make", "MIN_WINDOW_S", "FADE_S", "splice_window"]

MIN_WINDOW_S = 1.0
"""The shortest window that can be replaced."""
FADE_S = 0.03
"""Length of each crossfade (inside the window, at both edges)."""
_VOCAL_ROLES = ("vocal", "harmony_vocal")


def make(
    request: SongRequest, resolved: ResolvedReference, *, preset: str = "default",
    on_progress: Callable[[Any, float], None] | None = None, on_chunk: Callable[[bytes], None] | None = None,
    songwriter: Any = None,
) -> Any:
    """Regenerate the window of the source song; see the module docstring.

    Returns a :class:`~songforge.engine.song.SongResult` as long as the source, its ``score``
    the spliced one. Raises :class:`InvalidRequest` for a window outside the song or shorter
    than :data:`MIN_WINDOW_S`, or a source that is not one of our songs.
    """
    source, own = own_source(resolved, mode="replace_section")
    duration_s = source.audio.shape[0] / MASTER_RATE_HZ
    start_s, end_s = _window(resolved.spec, duration_s=duration_s)
    assert source.request is not None and source.request.seed is not None  # own_source checked
    seed = variant_seed(request, source.request.seed)
    clock = new_clock(on_progress)
    score = own.score
    beat_a, beat_b = score.seconds_to_beats(start_s + FADE_S), score.seconds_to_beats(end_s - FADE_S)
    spliced, vocal = clock.run(Stage.COMPOSE, lambda: _spliced(own, request, seed=seed, beats=(beat_a, beat_b)))
    rendered = render_score(spliced, vocal, plan=own.plan, seed=source.request.seed, preset=preset, clock=clock)
    window = (round(start_s * MASTER_RATE_HZ), round(end_s * MASTER_RATE_HZ))
    audio = clock.run(Stage.MIX, lambda: splice_window(source.audio, rendered.audio, window=window),
                      label="splice")
    return finish(request, plan=replace(own.plan, seed=seed), score=spliced, audio=audio, rendered=rendered,
                  seed=seed, clock=clock, preset=preset, on_chunk=on_chunk, lyrics=own.lyrics)


def _window(spec: Reference, *, duration_s: float) -> tuple[float, float]:
    start_s, end_s = spec.infill_start_s, spec.infill_end_s
    if start_s is None or end_s is None:
        raise InvalidRequest("replace_section needs infill_start_s and infill_end_s",
                             field="reference.infill_start_s", limit="both given")
    if not 0.0 <= start_s < end_s <= duration_s:
        raise InvalidRequest(
            f"the window {start_s:g}-{end_s:g} s must lie within the song (0-{duration_s:.3f} s) "
            "and start before it ends",
            field="reference.infill_end_s" if end_s > duration_s else "reference.infill_start_s",
            limit=f"0 <= infill_start_s < infill_end_s <= {duration_s:.3f}",
        )
    if end_s - start_s < MIN_WINDOW_S:
        raise InvalidRequest(
            f"the window is {end_s - start_s:.3f} s; it must be at least {MIN_WINDOW_S:g} s",
            field="reference.infill_end_s", limit=f">= {MIN_WINDOW_S:g} s",
        )
    return float(start_s), float(end_s)


def splice_window(source: np.ndarray, new: np.ndarray, *, window: tuple[int, int],
                  fade_s: float = FADE_S) -> np.ndarray:
    """``source`` (n, 2) with samples ``window[0]:window[1]`` taken from ``new`` (gain-matched to
    ``source`` over everything outside the window), equal-power crossfades of ``fade_s`` inside
    the window at both edges. Samples outside the window are ``source``'s exactly."""
    a, b = window
    n = source.shape[0]
    new = _fit(new, n)
    gain = _outside_gain(source, new, window=window)
    fade_n = max(1, min(round(fade_s * MASTER_RATE_HZ), (b - a) // 4))
    out = np.array(source, dtype=np.float32, copy=True)
    segment = new[a:b].astype(np.float64) * gain
    fade_in, fade_out = equal_power_fades(fade_n)
    segment[:fade_n] = segment[:fade_n] * fade_in + source[a:a + fade_n] * fade_out
    segment[-fade_n:] = segment[-fade_n:] * fade_out + source[b - fade_n:b] * fade_in
    out[a:b] = np.clip(segment, -1.0, 1.0).astype(np.float32)
    return out


def _fit(audio: np.ndarray, n: int) -> np.ndarray:
    if audio.shape[0] >= n:
        return audio[:n]
    return np.pad(audio, ((0, n - audio.shape[0]), (0, 0)))


def _outside_gain(source: np.ndarray, new: np.ndarray, *, window: tuple[int, int]) -> float:
    """Least-squares gain of ``new`` onto ``source`` outside the window (the same notes play
    there, so this undoes the master's loudness normalisation moving with the new window)."""
    a, b = window
    src = np.concatenate([source[:a], source[b:]]).astype(np.float64)
    ren = np.concatenate([new[:a], new[b:]]).astype(np.float64)
    power = float(np.sum(ren * ren))
    if power <= 1e-12:
        return 1.0
    return float(np.clip(np.sum(src * ren) / power, 0.5, 2.0))


# --------------------------------------------------------------------------- the variation


def _spliced(own: Any, request: SongRequest, *, seed: int, beats: tuple[float, float]) -> tuple[Score, Any]:
    """The source score with the notes starting in ``beats`` from a variation, and its vocal."""
    variant_parts, variant_vocal = _variation(own, request, seed=seed, beats=beats)
    lo, hi = beats
    inside = _inside(lo, hi)
    parts = []
    for part in own.score.parts:
        new = variant_parts.get(part.name)
        kept = [n for n in part.notes if not inside(n)]
        fresh = [n for n in new.notes if inside(n)] if new is not None else []
        parts.append(replace(part, notes=tuple(sorted([*kept, *fresh], key=lambda n: n.start_beat))))
    vocal = own.vocal
    if vocal is not None and variant_vocal is not None:
        vocal = _splice_vocal(vocal, variant_vocal, inside=inside)
        parts = [_vocal_part(p, vocal) for p in parts]
    return replace(own.score, parts=tuple(parts)), vocal


def _inside(lo: float, hi: float) -> Callable[[Note], bool]:
    return lambda n: lo <= n.start_beat < hi


def _variation(own: Any, request: SongRequest, *, seed: int,
               beats: tuple[float, float]) -> tuple[dict[str, Part], Any]:
    """Band parts (by name) and vocal line of a variation on the source's form and chords."""
    from songforge.engine.compose import (  # the composer's own steps
        _intro_as_inst,
        _outside,
        arrange,
        write_bass,
        write_drums,
        write_melody,
    )
    from songforge.engine.styles import load_style

    plan, sections = own.plan, list(own.score.sections)
    style = load_style(plan.genre)
    melody_rng, bass_rng, drums_rng, arrange_rng, vocal_rng = np.random.default_rng(seed).spawn(5)
    bass = write_bass(sections, plan=plan, style=style, rng=bass_rng)
    drums = write_drums(sections, plan=plan, style=style, rng=drums_rng)
    if own.vocal is None:
        melody = write_melody(sections, plan=plan, rng=melody_rng)
        parts = arrange(sections, plan=plan, style=style, melody=melody, bass=bass, drums=drums, rng=arrange_rng)
        return {p.name: p for p in parts}, None
    vocal = _new_vocal(own, request, rng=vocal_rng, beats=beats)
    band = replace(plan, instrumental=True, instruments=tuple((r, p) for r, p in plan.instruments
                                                              if r not in _VOCAL_ROLES))
    tune = write_melody(_intro_as_inst(sections), plan=band, rng=melody_rng)
    lead = _outside(tune, sections=sections, sung=set(vocal.sung_sections) | set(own.vocal.sung_sections))
    sung_notes = sorted([*lead, *vocal.notes], key=lambda n: n.start_beat)
    parts = arrange(sections, plan=band, style=style, melody=sung_notes, bass=bass, drums=drums,
                    rng=arrange_rng, lead=lead)
    return {p.name: p for p in parts}, vocal


def _new_vocal(own: Any, request: SongRequest, *, rng: np.random.Generator, beats: tuple[float, float]) -> Any:
    """A new vocal line: the request's lyrics sung over the window's bars, or a new melody for
    the source's own lyrics."""
    from songforge.engine.compose import write_vocal_line

    if not (request.lyrics and request.lyrics.strip()):
        return write_vocal_line(list(own.score.sections), plan=own.plan, lyrics=own.lyrics, rng=rng)
    from songforge.engine.lyrics import Lyrics, LyricSection, parse_lyrics

    lines = tuple(parse_lyrics(request.lyrics).lines)
    section = _window_section(own.score, beats)
    sheet = Lyrics((LyricSection(section.kind, section.name, lines, False),))
    return write_vocal_line([section], plan=own.plan, lyrics=sheet, rng=rng)


def _window_section(score: Score, beats: tuple[float, float]) -> Any:
    """One section over the whole bars inside ``beats``, with the source's chords there."""
    bar = score.beats_per_bar
    lo = np.ceil(beats[0] / bar - 1e-9) * bar
    hi = np.floor(beats[1] / bar + 1e-9) * bar
    if hi - lo < bar:
        raise InvalidRequest("new lyrics need at least one whole bar inside the window",
                             field="reference.infill_end_s", limit=f"one bar ({score.beats_to_seconds(bar):.2f} s)")
    kind = next((s.kind for s in score.sections if s.start_beat <= lo < s.end_beat), "verse")
    chords = tuple(
        replace(c, start_beat=max(c.start_beat, lo), duration_beats=min(c.start_beat + c.duration_beats, hi)
                - max(c.start_beat, lo))
        for s in score.sections for c in s.chords if c.start_beat < hi and c.start_beat + c.duration_beats > lo
    )
    from songforge.engine.score import Section

    return Section("replaced", kind if kind != "intro" else "verse", float(lo), float(hi - lo), 0.6, chords)


def _splice_vocal(source: Any, variant: Any, *, inside: Callable[[Note], bool]) -> Any:
    """Source lines whose first note is outside the window, variant lines whose first note is in it."""
    from songforge.engine.compose import VocalLine

    def first_inside(line: Any) -> bool:
        return bool(line.notes) and inside(line.notes[0])

    lines = sorted([*(x for x in source.lines if not first_inside(x)), *(x for x in variant.lines if first_inside(x))],
                   key=lambda x: x.notes[0].start_beat if x.notes else 0.0)
    new_harmony = [x for x in variant.harmony_lines if first_inside(x)] if source.harmony_lines else []
    harmony = sorted([*(x for x in source.harmony_lines if not first_inside(x)), *new_harmony],
                     key=lambda x: x.notes[0].start_beat if x.notes else 0.0)
    notes = tuple(sorted((n for line in lines for n in line.notes), key=lambda n: n.start_beat))
    sung = tuple(dict.fromkeys([*source.sung_sections, *variant.sung_sections]))
    return VocalLine(notes, tuple(lines), tuple(harmony), sung)


def _vocal_part(part: Part, vocal: Any) -> Part:
    if part.role == "vocal":
        return replace(part, notes=vocal.notes)
    if part.role == "harmony_vocal":
        return replace(part, notes=tuple(replace(n, lyric=None) for n in vocal.harmony_notes))
    return part
