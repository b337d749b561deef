"""Mode ``generate``: a new song sung with a voice profile and/or following an instrumental profile.

The prompt plans the song as usual (:func:`~songforge.engine.plan.plan_song`); then

* an instrumental profile (``Reference.instrumental_id``) sets the tempo, key, meter, the chord
  cycle every section uses, the energy (from its groove density) and the programs of the
  melodic roles (its palette, best match first);
* a voice profile (``Reference.voice_id``) sets the singer's range (the composer writes the line
  there) and the singer's register, vibrato, formant warp and breathiness
  (:class:`~songforge.engine.voice.singer.VoiceProfile`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from songforge.engine.compose import compose_song
from songforge.engine.plan import SongPlan, plan_song
from songforge.engine.remake import ReferenceAudio, ResolvedReference
from songforge.engine.remake.finish import finish_song
from songforge.engine.remake.instrumental_profile import InstrumentalProfile, instrumental_profile
from songforge.engine.voice.profile import measure_voice
from songforge.engine.voice.singer import VoiceProfile
from songforge.errors import ContentTooLong, InvalidRequest
from songforge.models import SongRequest

__all__ = ["make", "apply_instrumental_profile", "profile_of_instrumental", "MELODIC_ROLES"]

MELODIC_ROLES = ("chords", "pad", "lead", "arp", "counter")
"""Roles whose programs an instrumental profile's palette replaces (bass and drums keep theirs)."""


def make(
    request: SongRequest, resolved: ResolvedReference, *, preset: str = "default",
    on_progress: Callable[[Any, float], None] | None = None, on_chunk: Callable[[bytes], None] | None = None,
    songwriter: Any = None,
) -> Any:
    """A new song for ``request`` with the profiles ``resolved`` gives (see the module doc)."""
    from songforge.engine.presets import get_preset

    if resolved.voice is None and resolved.instrumental is None:
        raise InvalidRequest("mode generate needs a voice_id or an instrumental_id",
                             field="reference.voice_id", limit="voice_id or instrumental_id")
    started = time.perf_counter()
    seed = request.seed if request.seed is not None else secrets.randbelow(2**32)
    plan = plan_song(request, seed=seed)
    inst = None
    if resolved.instrumental is not None:
        inst = profile_of_instrumental(resolved.instrumental, soundfont=get_preset(preset).soundfont)
        plan = apply_instrumental_profile(plan, inst)
    voice: VoiceProfile | None = None
    if resolved.voice is not None:
        measured = measure_voice(resolved.voice.audio, sample_rate_hz=resolved.voice.sample_rate_hz)
        voice = measured.profile(plan.gender)
        plan = replace(plan, vocal_range=measured.vocal_range())
    progression = inst.progression if inst else None
    lyrics, (score, vocal) = _lyrics_and_score(request, plan, seed=seed, songwriter=songwriter,
                                               progression=progression)
    return finish_song(request, plan=plan, score=score, vocal=vocal, seed=seed, preset=preset, profile=voice,
                       lyrics=lyrics, on_progress=on_progress, on_chunk=on_chunk,
                       timings_s={"plan": time.perf_counter() - started})


def profile_of_instrumental(reference: ReferenceAudio, *, soundfont: str) -> InstrumentalProfile:
    """The :class:`InstrumentalProfile` of a resolved instrumental reference."""
    return instrumental_profile(reference.audio, sample_rate_hz=reference.sample_rate_hz,
                                analysis=reference.analysis, soundfont=soundfont)


def apply_instrumental_profile(plan: SongPlan, profile: InstrumentalProfile) -> SongPlan:
    """``plan`` at the profile's tempo, key and meter, with its energy and palette.

    The palette's programs go to the melodic roles in the plan's order, best match first (cycling
    when there are more roles than programs); programs the prompt excluded are skipped.
    """
    allowed = [p for p in profile.programs if p not in plan.excluded_programs] or None
    instruments, k = [], 0
    for role, program in plan.instruments:
        if allowed and role in MELODIC_ROLES:
            program = allowed[k % len(allowed)]
            k += 1
        instruments.append((role, program))
    meter = (int(profile.meter), 4)
    return replace(plan, tempo_bpm=profile.tempo_bpm, tonic_pc=profile.tonic_pc, mode=profile.mode, meter=meter,
                   energy=profile.energy, instruments=tuple(instruments))


def _lyrics_and_score(request: SongRequest, plan: SongPlan, *, seed: int, songwriter: Any, progression):
    """Given or written lyrics and the score sung to them (as make_song: the longest written
    form that fits the requested duration); an instrumental plan gets ``(None, compose)``."""
    from songforge.engine.lyrics import parse_lyrics
    from songforge.engine.song import WRITTEN_FORMS
    from songforge.engine.songwriter import check_content, write_lyrics
    from songforge.engine.songwriter.options import SongwriterOptions

    if plan.instrumental:
        return None, compose_song(plan, lyrics=None, progression=progression)
    options = songwriter or SongwriterOptions()
    check_content(request.prompt, field="prompt", blocklist_path=options.blocklist_path)
    if request.lyrics and request.lyrics.strip():
        check_content(request.lyrics, field="lyrics", blocklist_path=options.blocklist_path)
        lyrics = parse_lyrics(request.lyrics)
        return lyrics, compose_song(plan, lyrics=lyrics, duration_s=request.duration_s, progression=progression)
    forms = WRITTEN_FORMS if request.duration_s is None else WRITTEN_FORMS[1:]
    for index, form in enumerate(forms):
        lyrics = write_lyrics(request.prompt, language=request.language, structure=form, seed=seed,
                              title=request.title, llm=options.llm, blocklist_path=options.blocklist_path)
        try:
            return lyrics, compose_song(plan, lyrics=lyrics, duration_s=request.duration_s, progression=progression)
        except ContentTooLong:
            if index == len(forms) - 1:
                raise
    raise AssertionError("unreachable")
