"""Voice and instrumental profiles: measured from audio, followed by the singer and the composer."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from songforge.engine.remake import profiles
from songforge.engine.remake.instrumental_profile import palette
from songforge.engine.render import render_stems
from songforge.engine.score import Chord, Note, Part, Score, Section
from songforge.engine.voice import VoiceProfile, sing
from songforge.engine.voice.profile import measure_voice
from songforge.models import SongRequest
from tests.engine._melodies import random_walk_melody

TEXTS = ["the river runs across the silver valley", "and every morning light comes back to me",
         "we walk along the open road tonight"]


def _moved(lines, semitones: int):
    return [replace(line, notes=tuple(replace(n, pitch=n.pitch + semitones) for n in line.notes)) for line in lines]


@pytest.fixture(scope="module")
def voices():
    """Measurements of a low, wide-vibrato voice and a high, narrow-vibrato one (sung by us, so the
    truth is known): low = G3-G4 melody down 10 semitones, 80 cents at 5 Hz; high = up 7, 12 cents at 6.5 Hz."""
    lines = random_walk_melody(TEXTS, seed=2)
    low = sing(_moved(lines, -10), tempo_bpm=100, seed=1,
               profile=VoiceProfile(vibrato_depth_cents=80.0, vibrato_rate_hz=5.0, formant_warp=0.88, breathiness=0.5))
    high = sing(_moved(lines, 7), tempo_bpm=100, seed=1,
                profile=VoiceProfile(vibrato_depth_cents=12.0, vibrato_rate_hz=6.5))
    return (measure_voice(low.audio, sample_rate_hz=low.sample_rate_hz),
            measure_voice(high.audio, sample_rate_hz=high.sample_rate_hz), lines)


def test_measured_voice_matches_what_was_sung(voices):
    low, high, lines = voices
    median = float(np.median([n.pitch for line in lines for n in line.notes]))
    assert low.median_midi == pytest.approx(median - 10, abs=0.5)
    assert high.median_midi == pytest.approx(median + 7, abs=0.5)
    assert low.vibrato_depth_cents == pytest.approx(80, rel=0.35)
    assert high.vibrato_depth_cents == pytest.approx(12, abs=10)
    assert low.vibrato_rate_hz == pytest.approx(5.0, abs=0.8)
    assert high.vibrato_rate_hz == pytest.approx(6.5, abs=1.2)
    assert low.formant_warp < high.formant_warp
    assert low.breathiness > high.breathiness


def test_a_song_sung_with_a_profile_follows_it(voices):
    low, high, _ = voices
    new = random_walk_melody(["under the rhythm we fly", "we are dancing in the sky"], seed=7)
    sung = {name: measure_voice(v.audio, sample_rate_hz=v.sample_rate_hz)
            for name, v in (("low", sing(new, tempo_bpm=96, seed=3, profile=low.profile("female"))),
                            ("high", sing(new, tempo_bpm=96, seed=3, profile=high.profile("female"))))}
    assert sung["low"].median_midi < sung["high"].median_midi - 6  # octaves apart, within a semitone or so
    assert abs(sung["low"].median_midi - low.median_midi) <= 7
    assert sung["low"].vibrato_depth_cents > 2 * sung["high"].vibrato_depth_cents


def test_no_register_leaves_the_pitches_alone():
    lines = random_walk_melody(["hello there my friend"], seed=1)
    a = sing(lines, tempo_bpm=100, seed=2)
    b = sing(lines, tempo_bpm=100, seed=2, profile=VoiceProfile(register_midi=None))
    assert np.array_equal(a.audio, b.audio)


def _one_instrument(program: int, *, seconds: float = 8.0) -> np.ndarray:
    chords = [(0, "maj"), (9, "min"), (5, "maj"), (7, "maj")]
    notes = []
    for k in range(int(seconds / 2)):
        root = chords[k % 4][0]
        third = 3 if chords[k % 4][1] == "min" else 4
        for i, iv in enumerate((0, third, 7)):
            notes.append(Note(60 + (root + iv) % 12 + (12 if i == 2 else 0), 4.0 * k + 0.5 * i, 3.5 - 0.5 * i, 95))
    score = Score(120.0, (4, 4), 0, "major", (Section("verse", "verse", 0.0, 2 * seconds),),
                  (Part("x", "chords", program, tuple(notes)),))
    return render_stems(score, sample_rate_hz=48000, soundfont="timgm6mb", tail_s=0.5)["x"]


@pytest.mark.parametrize(("program", "family"), [(48, range(40, 52)), (0, range(0, 8)), (30, range(24, 32))])
def test_palette_names_the_instrument_playing(program, family):
    import soxr

    mono = soxr.resample(_one_instrument(program).mean(axis=1), 48000, 22050)
    chords = [Chord(0.0, 4.0, 0, "maj"), Chord(4.0, 4.0, 9, "min"), Chord(8.0, 4.0, 5, "maj"), Chord(12.0, 4.0, 7, "maj")]
    picked = palette(mono, chords=chords, tempo_bpm=120.0, soundfont="timgm6mb")
    assert picked[0] in family, picked


@pytest.mark.heavy
def test_generate_follows_an_instrumental_profile():
    from songforge.engine.song import make_song
    from tests.engine._reference import resolved

    ref = make_song(SongRequest(prompt="slow string ensemble, no drums, instrumental, 70 bpm in E minor",
                                duration_s=16, seed=9, format="wav", instrumental=True), preset="tiny")
    song = profiles.make(SongRequest(prompt="upbeat pop in C major at 128 bpm", instrumental=True, duration_s=16,
                                     seed=1, format="wav"),
                         resolved("generate", instrumental=ref), preset="tiny")
    assert song.score.tempo_bpm == pytest.approx(ref.score.tempo_bpm)
    assert song.score.key_name == ref.score.key_name
    assert song.plan.energy <= 0.95 and np.isfinite(song.audio).all()
