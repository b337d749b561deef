"""From a composed score to a :class:`~songforge.engine.song.SongResult`: render, sing (with a
voice profile), mix in given stems, master and encode, as :func:`~songforge.engine.song.make_song`
does after composing.

Reuses make_song's stage helpers so the mix chain, watermark, section-by-section streaming and
timings are the same as for a song made from a prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np

from songforge.engine import song as _song
from songforge.engine.compose import VocalLine
from songforge.engine.lyrics import Lyrics
from songforge.engine.plan import SongPlan
from songforge.engine.score import Score
from songforge.engine.voice.singer import VoiceProfile
from songforge.models import SongRequest, Stage

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
    SongResult at 48 kHz stereo (the master on the 24-bit grid, as every master), ``encoded`` in
    the request's format.
    """
    from songforge.engine.presets import get_preset
    from songforge.engine.remake._common import Rendered, finish

    settings = get_preset(preset)
    clock = _song.StageClock(on_progress)
    clock.timings_s.update(timings_s or {})
    given = dict(given_stems or {})
    kept = replace(score, parts=tuple(p for p in score.parts if p.name not in given))
    dry = _song.render_and_sing(kept, vocal, plan=plan, seed=seed, tail_s=settings.render_tail_s,
                                soundfont=settings.soundfont, clock=clock, profile=profile)
    roles = {p.name: p.role for p in score.parts}
    stems = dict(dry.stems)
    for name, (audio, role) in given.items():
        stems[name] = np.asarray(audio, dtype=np.float32)
        roles[name] = role
    n_samples = max(a.shape[0] for a in stems.values())
    stems = {name: _song.fit_length(a, n_samples) for name, a in stems.items()}
    mixed, processed = clock.run(Stage.MIX, lambda: _mix(stems, roles=roles, plan=plan))
    rendered = Rendered(mixed, processed, stems.get("vocals"), dry.lines)
    return finish(request, plan=plan, score=score, audio=mixed, rendered=rendered, seed=seed, clock=clock,
                  preset=preset, on_chunk=on_chunk, lyrics=lyrics)


def _mix(stems: dict[str, np.ndarray], *, roles: dict[str, str], plan: SongPlan):
    from songforge.engine.mix import master, mix_stems
    from songforge.engine.styles import load_style

    style_mix = load_style(plan.genre).mix
    mixed, processed = mix_stems(stems, roles={n: roles.get(n, "chords") for n in stems},
                                 sample_rate_hz=SAMPLE_RATE_HZ, style_mix=style_mix)
    return master(mixed, sample_rate_hz=SAMPLE_RATE_HZ), processed
