"""References for the remake tests: an Analysis taken from a song we rendered (its known score).

The score is the ground truth an ideal analysis would find (tempo, beats, key, chords, sections,
the lead line) plus the sung words with their times.
"""

from __future__ import annotations

from dataclasses import replace

from songforge.engine import analyze as an
from songforge.engine.remake import ReferenceAudio, ResolvedReference
from songforge.engine.remake._common import analysis_of_score
from songforge.engine.song import SongResult
from songforge.models import Reference


def analysis_of(song: SongResult) -> an.Analysis:
    """What an ideal analysis of ``song`` finds: the analysis the service keeps for its own songs
    (from the score), with the sung lyrics and word timings."""
    lyrics = "\n".join(line.text for line in song.lines or ()) or None
    words = tuple(an.Word(w.word, w.start_s, w.end_s) for line in song.lines or () for w in line.words)
    exact = analysis_of_score(song.score, duration_s=song.duration_s, lyrics=lyrics)
    return replace(exact, words=words)


def resolved(mode: str, *, source: SongResult | None = None, voice: SongResult | None = None,
             instrumental: SongResult | None = None, audio_weight: float = 0.5) -> ResolvedReference:
    """A ResolvedReference whose audio is our rendered songs and whose analysis is :func:`analysis_of`."""
    def ref(song: SongResult | None) -> ReferenceAudio | None:
        if song is None:
            return None
        return ReferenceAudio(song.audio, song.sample_rate_hz, analysis_of(song), song.request)

    spec = Reference(mode=mode, audio_id="0" * 32 if source else None, voice_id="vocal-x" if voice else None,
                     instrumental_id="instrumental-x" if instrumental else None, audio_weight=audio_weight)
    return ResolvedReference(spec, source=ref(source), voice=ref(voice), instrumental=ref(instrumental))
