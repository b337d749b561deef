"""Festival front end and WORLD speech-to-singing: timings, pitch accuracy, determinism."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from songforge.engine.lyrics import syllabify_lines
from songforge.engine.score import Note
from songforge.engine.voice import SungLine, VoiceProfile, festival_available, sing, speak
from songforge.errors import InvalidRequest
from tests.engine._melodies import note_pitch_cents

pytestmark = pytest.mark.skipif(not festival_available(), reason="Festival is not installed")

TEMPO_BPM = 100.0
TEXTS = ("Paper moon above the water", "shining on the sand tonight")
PITCHES = ((67, 69, 71, 72, 71, 69, 67, 66), (64, 66, 67, 69, 71, 72, 74))
BEATS = ((1, 0.5, 0.5, 1, 0.5, 0.5, 1, 2), (0.5, 0.5, 1, 0.5, 0.5, 1, 2))


def _melody(shift: int = 0) -> list[SungLine]:
    """Two lines, one note per Festival syllable, a 2-beat rest between them."""
    lines, beat = [], 0.0
    for text, words, pitches, beats in zip(TEXTS, syllabify_lines(TEXTS), PITCHES, BEATS, strict=True):
        syllables = [s for w in words for s in w.syllables]
        assert len(syllables) == len(pitches), syllables
        notes = []
        for syl, pitch, dur in zip(syllables, pitches, beats, strict=True):
            notes.append(Note(pitch + shift, beat, dur * 0.95, lyric=syl))
            beat += dur
        lines.append(SungLine(text, tuple(notes)))
        beat += 2.0
    return lines


@pytest.fixture(scope="module")
def female():
    lines = _melody()
    return lines, sing(lines, tempo_bpm=TEMPO_BPM, gender="female", seed=7)


@pytest.fixture(scope="module")
def male():
    lines = _melody(shift=-12)
    return lines, sing(lines, tempo_bpm=TEMPO_BPM, gender="male", seed=7)


def test_festival_batch_phone_timings_increase_and_cover_the_line():
    lines = speak(["Hello, world! It's 21 o'clock, Mr. Smith.", "xyzzy & the fire's glow",
                   "“Naïve” (yeah) -- rock’n’roll?!"])
    assert len(lines) == 3
    for line in lines:
        assert line.audio is not None and line.audio.dtype == np.float32
        assert line.sample_rate_hz > 0 and line.words
        duration_s = len(line.audio) / line.sample_rate_hz
        phones = [p for s in line.syllables for p in s.phones]
        starts = np.array([p.start_s for p in phones])
        ends = np.array([p.end_s for p in phones])
        assert np.all(ends > starts) and np.all(np.diff(starts) > 0)
        assert np.all(starts[1:] >= ends[:-1] - 1e-6)
        assert starts[0] >= 0 and ends[-1] <= duration_s + 1e-3
        assert ends[-1] - starts[0] > 0.5 * duration_s
        assert all(any(p.is_vowel for p in s.phones) or len(s.phones) for s in line.syllables)
    assert [w.text for w in lines[0].words][:4] == ["Hello", "world", "It's", "21"]
    assert len(lines[0].words[3].syllables) >= 2  # "two one" or "twenty one"


def test_sung_audio_covers_beat_zero_to_last_note_plus_half_a_second(female):
    lines, vocal = female
    last_end_s = max(n.end_beat for line in lines for n in line.notes) * 60 / TEMPO_BPM
    assert vocal.sample_rate_hz == 48000 and vocal.audio.dtype == np.float32
    assert vocal.audio.ndim == 1
    assert len(vocal.audio) == round((last_end_s + 0.5) * 48000)
    assert np.all(np.isfinite(vocal.audio)) and 0.1 < np.max(np.abs(vocal.audio)) <= 1.0
    assert [t[0] for t in vocal.line_timings] == list(TEXTS)


@pytest.mark.parametrize("which", ["female", "male"])
def test_pitch_follows_the_melody(which, request):
    lines, vocal = request.getfixturevalue(which)
    notes = [n for line in lines for n in line.notes]
    medians, within_50 = note_pitch_cents(vocal.audio, vocal.sample_rate_hz, notes, tempo_bpm=TEMPO_BPM)
    assert not np.any(np.isnan(medians))
    assert np.median(np.abs(medians)) <= 5.0
    assert np.max(np.abs(medians)) <= 30.0
    assert within_50 >= 0.95


def test_word_timings_in_order_and_on_their_notes(female):
    lines, vocal = female
    words = vocal.word_timings
    assert [w[0] for w in words] == " ".join(TEXTS).split()
    starts = [w[1] for w in words]
    assert starts == sorted(starts)
    assert all(end > start for _, start, end, _ in words)
    spb = 60 / TEMPO_BPM
    for line_index, line in enumerate(lines):
        onsets = _word_first_onsets(line, spb)
        mine = [w for w in words if w[3] == line_index]
        assert len(mine) == len(onsets)
        for (_, start, _, _), onset in zip(mine, onsets, strict=True):
            assert abs(start - onset) <= 0.060


def _word_first_onsets(line: SungLine, spb: float) -> list[float]:
    words = syllabify_lines([line.text])[0]
    onsets, k = [], 0
    for w in words:
        onsets.append(line.notes[k].start_beat * spb)
        k += len(w.syllables)
    return onsets


def test_t_between_vowels_is_flapped_the_american_way():
    [line] = speak(["the water in the city attacks"], with_audio=False)
    phones = {w.text: [p.name for s in w.syllables for p in s.phones] for w in line.words}
    assert phones["water"][2] == "dx" and phones["city"][2] == "dx"
    assert "t" in phones["attacks"] and "dx" not in phones["attacks"]  # before a stressed vowel: a full /t/


def _rms_db(audio: np.ndarray, start_s: float, end_s: float, rate_hz: int) -> float:
    piece = audio[int(start_s * rate_hz):int(end_s * rate_hz)].astype(np.float64)
    return float(10 * np.log10(np.mean(piece**2) + 1e-30))


def test_a_breath_is_taken_in_the_rest_before_a_line(female):
    lines, vocal = female
    rate = vocal.sample_rate_hz
    onset_s = vocal.line_timings[1][1]  # the second line follows a 2-beat rest
    sung_db = _rms_db(vocal.audio, onset_s + 0.1, onset_s + 1.0, rate)
    breath_db = _rms_db(vocal.audio, onset_s - 0.06 - 0.25, onset_s - 0.1, rate)
    assert sung_db - 40.0 < breath_db < sung_db - 15.0  # audible, well under the singing
    breath = vocal.audio[int((onset_s - 0.3) * rate):int((onset_s - 0.1) * rate)]
    crossings_per_s = np.mean(np.abs(np.diff(np.sign(breath))) > 0) * rate
    assert crossings_per_s > 1200  # noise: a sung note here (< 500 Hz) crosses zero < 1000 times a second
    quiet = sing(lines, tempo_bpm=TEMPO_BPM, gender="female", seed=7, profile=VoiceProfile(breath_db=None))
    assert _rms_db(quiet.audio, onset_s - 0.06 - 0.25, onset_s - 0.1, rate) < sung_db - 60.0
    assert quiet.word_timings == vocal.word_timings


def test_a_shared_speech_cache_speaks_each_text_once_and_changes_no_sample(female, monkeypatch):
    import songforge.engine.voice.singer as singer_module

    lines, vocal = female
    spoken_texts: list[str] = []

    def counting_speak(texts, **options):
        spoken_texts.extend(texts)
        return speak(texts, **options)

    monkeypatch.setattr(singer_module, "speak", counting_speak)
    cache = singer_module.SpeechCache()
    shifted = [SungLine(line.text, tuple(replace(n, start_beat=n.start_beat + 20) for n in line.notes))
               for line in lines]
    again = sing([*lines, *shifted], tempo_bpm=TEMPO_BPM, gender="female", seed=7, speech=cache)
    assert spoken_texts == list(TEXTS)  # four sung lines, two distinct texts
    harmony = sing(_melody(shift=4), tempo_bpm=TEMPO_BPM, gender="female", seed=8, speech=cache)
    assert spoken_texts == list(TEXTS)  # nothing new to speak
    first_half = again.audio[: len(vocal.audio) - int(0.5 * 48000)]
    np.testing.assert_array_equal(first_half, vocal.audio[: len(first_half)])
    fresh = sing(_melody(shift=4), tempo_bpm=TEMPO_BPM, gender="female", seed=8)
    np.testing.assert_array_equal(harmony.audio, fresh.audio)


def test_same_input_gives_identical_samples(female):
    lines, vocal = female
    again = sing(lines, tempo_bpm=TEMPO_BPM, gender="female", seed=7)
    assert np.array_equal(again.audio, vocal.audio)
    assert again.word_timings == vocal.word_timings


def test_syllable_mismatch_keeps_every_word_once():
    text = "beautiful morning light"  # 3 + 2 + 1 syllables
    for n_notes in (2, 4, 9):
        notes = tuple(Note(67 + (i % 3), i * 1.0, 0.9, lyric="la") for i in range(n_notes))
        vocal = sing([SungLine(text, notes)], tempo_bpm=120, sample_rate_hz=24000)
        assert [w[0] for w in vocal.word_timings] == text.split()
        starts = [w[1] for w in vocal.word_timings]
        assert starts == sorted(starts)
        assert vocal.word_timings[0][1] == pytest.approx(0.0)


def test_melisma_and_unspeakable_text():
    notes = (Note(65, 0, 1, lyric="oh"), Note(67, 1, 1, lyric="-"), Note(69, 2, 1, lyric="-"))
    vocal = sing([SungLine("oh", notes), SungLine("...", (Note(60, 4, 1, lyric="la"),))],
                 tempo_bpm=120, sample_rate_hz=16000, profile=VoiceProfile(breathiness=0.5))
    assert [w[0] for w in vocal.word_timings] == ["oh", "la"]
    assert vocal.word_timings[0][2] > 1.2  # held over all three notes (1.5 s)


def test_bad_arguments_are_invalid_requests():
    line = SungLine("hi", (Note(60, 0, 1, lyric="hi"),))
    with pytest.raises(InvalidRequest):
        sing([line], tempo_bpm=0)
    with pytest.raises(InvalidRequest):
        sing([line], tempo_bpm=120, gender="robot")
    with pytest.raises(InvalidRequest):
        sing([line], tempo_bpm=120, sample_rate_hz=1000)
