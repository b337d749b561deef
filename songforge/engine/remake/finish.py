"""From a composed score to a :class:`~songforge.engine.song.SongResult`: render, sing (with a
voice profile), mix in given stems, master and encode, as :func:`~songforge.engine.song.make_song`
does after composing.

Reuses make_song's stage helpers so the mix chain, watermark, section-by-section streaming and
timings are the same as for a song made from a prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np

from songforge.engine import song as _song
from songforge.engine.compose import VocalLine
from songforge.engine.lyrics import Lyrics
from songforge.engine.plan import SongPlan
from songforge.engine.score import Score
from songforge.engine.timings import build_line_timings
from songforge.engine.voice.singer import VoiceProfile
from songforge.models import AudioFormat, SongRequest, Stage

__all__ = ["finish_song", "SAMPLE_RATE_HZ"]

SAMPLE_RATE_HZ = _song.MASTER_SAMPLE_RATE_HZ


def finish_song(
    request: SongRequest,
    *,
    plan: SongPlan,
    score: Score,
    vocal: VocalLine | None,
    seed: int,
    preset: str = "default",
    profile: VoiceProfile | None = None,
    given_stems: Mapping[str, tuple[np.ndarray, str]] | None = None,
    lyrics: Lyrics | None = None,
    on_progress: Callable[[str, float], None] | None = None,
    on_chunk: Callable[[bytes], None] | None = None,
    timings_s: Mapping[str, float] | None = None,
) -> _song.SongResult:
    """Render ``score``'s band, sing ``vocal`` (with ``profile``), mix, master and encode.

    Parameters
    ----------
    given_stems : ``{name: (audio (n, 2) float32 at 48 kHz, role)}`` mixed in as they are (an
        uploaded vocal track as ``"vocals"``, role ``vocal``); parts of ``score`` with those
        names are not rendered.
    profile : the singer's :class:`VoiceProfile` (``None``: the default for ``plan.gender``).
    timings_s : earlier stages' wall seconds (analysis, planning) to report with the rest.

    Returns
    -------
    SongResult at 48 kHz stereo, ``encoded`` in the request's format.
    """
    from songforge.engine.presets import get_preset

    settings = get_preset(preset)
    clock = _song.StageClock(on_progress)
    clock.timings_s.update(timings_s or {})
    given = dict(given_stems or {})
    band = replace(score, parts=tuple(p for p in score.parts
                                      if p.role not in _song.VOCAL_ROLES and p.name not in given))
    with ThreadPoolExecutor(max_workers=1) as pool:
        singing = pool.submit(_sing, vocal, score=score, plan=plan, seed=seed, profile=profile) if vocal else None
        stems = clock.run(Stage.RENDER, lambda: _song.render_band(band, soundfont=settings.soundfont,
                                                              tail_s=settings.render_tail_s))
        sung = clock.run(Stage.VOCALS, singing.result, label="vocals_wait") if singing else None
    roles = {p.name: p.role for p in score.parts}
    lines = None
    if sung is not None:
        stems.update(sung[0])
        lines = sung[1]
    for name, (audio, role) in given.items():
        stems[name] = np.asarray(audio, dtype=np.float32)
        roles[name] = role
    n_samples = max(a.shape[0] for a in stems.values())
    stems = {name: _song.fit_length(a, n_samples) for name, a in stems.items()}
    mixed, processed = clock.run(Stage.MIX, lambda: _mix(stems, roles=roles, plan=plan))
    if request.watermark:
        from songforge.engine.watermark import append_watermark

        mixed = append_watermark(mixed, sample_rate_hz=SAMPLE_RATE_HZ)
    encoded = clock.run(Stage.ENCODE, lambda: _song.encode_sections(
        mixed, score=score, request=request, mp3_quality=settings.mp3_quality, clock=clock, on_chunk=on_chunk))
    clock.total()
    return _song.SongResult(
        request=request, plan=plan, score=score, audio=mixed, sample_rate_hz=SAMPLE_RATE_HZ, encoded=encoded,
        media_type=_song.MEDIA_TYPES[AudioFormat.parse(request.format)], stems=processed, seed=seed,
        timings_s=clock.timings_s, lines=lines, dry_vocals=stems.get("vocals"), lyrics=lyrics,
    )


def _sing(vocal: VocalLine, *, score: Score, plan: SongPlan, seed: int,
          profile: VoiceProfile | None) -> tuple[dict[str, np.ndarray], Any]:
    """Lead (and harmony) stems panned as their parts, and the line timings."""
    from songforge.engine.voice import sing

    options: dict[str, Any] = {"tempo_bpm": score.tempo_bpm, "sample_rate_hz": SAMPLE_RATE_HZ,
                               "gender": plan.gender, "profile": profile}
    lead = sing(vocal.lines, seed=seed, **options)
    stems = {"vocals": _song.pan_mono(lead.audio, pan=score.part("vocals").pan)}
    if vocal.harmony_lines:
        harmony = sing(vocal.harmony_lines, seed=seed + 1, **options)
        stems["harmony_vocal"] = _song.pan_mono(harmony.audio, pan=score.part("harmony_vocal").pan)
    return stems, build_line_timings(lead.line_timings, lead.word_timings)


def _mix(stems: dict[str, np.ndarray], *, roles: dict[str, str], plan: SongPlan):
    from songforge.engine.mix import master, mix_stems
    from songforge.engine.styles import load_style

    style_mix = load_style(plan.genre).mix
    mixed, processed = mix_stems(stems, roles={n: roles.get(n, "chords") for n in stems},
                                 sample_rate_hz=SAMPLE_RATE_HZ, style_mix=style_mix)
    return master(mixed, sample_rate_hz=SAMPLE_RATE_HZ), processed
