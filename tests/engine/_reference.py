"""References for the remake tests: an Analysis taken from a song we rendered (its known score).

Until a test runs the real analysis, the score is the ground truth an ideal analysis would find:
tempo, beats, key, chords, sections, the lead (sung) line and the sung words with their times.
"""

from __future__ import annotations

import numpy as np

from songforge.engine import analyze as an
from songforge.engine.remake import ReferenceAudio, ResolvedReference
from songforge.engine.song import SongResult
from songforge.models import Reference

_LABEL = {"intro": "intro", "verse": "verse", "pre_chorus": "verse", "chorus": "chorus", "hook": "chorus",
          "post_chorus": "chorus", "bridge": "bridge", "outro": "outro", "break": "silence"}
_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def analysis_of(song: SongResult) -> an.Analysis:
    """What an ideal analysis of ``song`` finds, from its score and sung word timings."""
    score = song.score
    sec = score.beats_to_seconds
    lead = _lead_part(song)
    melody = tuple(an.Note(sec(n.start_beat), sec(n.end_beat), int(n.pitch), n.velocity / 127)
                   for n in sorted(lead.notes, key=lambda n: n.start_beat)) if lead else ()
    words = tuple(an.Word(w.word, w.start_s, w.end_s) for line in song.lines or () for w in line.words)
    chords = tuple(
        an.ChordSpan(sec(c.start_beat), sec(c.start_beat + c.duration_beats), c.root_pc, c.quality,
                     _NAMES[c.root_pc] + ("m" if c.quality.startswith("min") else ""))
        for s in score.sections for c in s.chords)
    sections = tuple(an.Section(_LABEL.get(s.kind, "inst"), sec(s.start_beat), sec(s.end_beat))
                     for s in score.sections)
    pitches = [n.pitch for n in melody]
    return an.Analysis(
        duration_s=song.duration_s, tempo_bpm=score.tempo_bpm,
        beats_s=tuple(np.arange(0.0, song.duration_s, 60.0 / score.tempo_bpm)), meter=int(score.beats_per_bar),
        key_tonic_pc=score.tonic_pc, key_mode=score.mode, chords=chords, sections=sections, melody=melody,
        has_vocals=bool(words), vocal_range_midi=(min(pitches), max(pitches)) if words else None,
        lyrics="\n".join(line.text for line in song.lines or ()) or None, words=words,
    )


def _lead_part(song: SongResult):
    for name in ("vocals", "lead"):
        try:
            return song.score.part(name)
        except KeyError:
            continue
    return None


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
