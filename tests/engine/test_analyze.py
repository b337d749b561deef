"""Reference-audio analysis: synthetic signals with known answers (fast), renders of known scores
and a real recording (heavy). Margins are those of `python bench/analyze.py` (see its output)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from songforge.engine import analyze as analyze_module
from songforge.engine.analysis.lyrics import tag_lyrics
from songforge.engine.analyze import Analysis, ChordSpan, Note, Section, Word, analyze, analyze_file
from songforge.errors import InvalidRequest

RATE_HZ = 22050
REAL_TRACK = Path("/usr/share/games/abe/sounds/game.ogg")  # Debian abe-data (scripts/install-system.sh)


def _click_track(tempo_bpm: float, duration_s: float, *, rate_hz: int = RATE_HZ) -> np.ndarray:
    """Decaying 1 kHz clicks on every beat, louder on the first beat of each 4-beat bar."""
    y = np.zeros(int(duration_s * rate_hz), dtype=np.float32)
    n = int(0.03 * rate_hz)
    click = np.sin(2 * np.pi * 1000 * np.arange(n) / rate_hz) * np.exp(-np.arange(n) / (0.005 * rate_hz))
    for k, t in enumerate(np.arange(0.25, duration_s - 0.05, 60.0 / tempo_bpm)):
        i = int(t * rate_hz)
        y[i:i + n] += (0.8 if k % 4 == 0 else 0.4) * click[: len(y) - i]
    return y


def _triad(root_midi: int, minor: bool, duration_s: float, *, rate_hz: int = RATE_HZ) -> np.ndarray:
    """A sustained triad of harmonic tones (4 partials) with the root an octave lower too."""
    t = np.arange(int(duration_s * rate_hz)) / rate_hz
    y = np.zeros_like(t)
    for midi in (root_midi - 12, root_midi, root_midi + (3 if minor else 4), root_midi + 7):
        f0 = 440.0 * 2 ** ((midi - 69) / 12)
        y += sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5))
    env = np.minimum(1.0, np.minimum(t / 0.02, (duration_s - t) / 0.05))
    return (0.08 * y * env).astype(np.float32)


# (root MIDI, minor) for C - Am - F - G, twice, 2 s each
PROGRESSION = [(60, False), (57, True), (53, False), (55, False)] * 2


@pytest.fixture(scope="module")
def clicks() -> Analysis:
    return analyze(_click_track(120.0, 12.0), sample_rate_hz=RATE_HZ, transcribe=False)


@pytest.fixture(scope="module")
def chords() -> Analysis:
    audio = np.concatenate([_triad(r, m, 2.0) for r, m in PROGRESSION])
    stereo = np.stack([audio, audio], axis=1)  # (n, 2) input is averaged to mono
    return analyze(stereo, sample_rate_hz=RATE_HZ, transcribe=False)


def test_click_track_tempo_and_beats(clicks):
    assert abs(clicks.tempo_bpm / 120.0 - 1) <= 0.04
    intervals = np.diff(clicks.beats_s)
    assert len(clicks.beats_s) >= 18
    assert np.median(intervals) == pytest.approx(0.5, abs=0.03)
    beat_grid = 0.25 + 0.5 * np.round((np.array(clicks.beats_s) - 0.25) / 0.5)
    assert np.max(np.abs(np.array(clicks.beats_s) - beat_grid)) <= 0.05  # on the clicks
    assert clicks.meter in (3, 4)
    assert not clicks.has_vocals and clicks.lyrics is None and clicks.vocal_range_midi is None


def test_sections_cover_the_audio_in_order(clicks, chords):
    for found in (clicks, chords):
        assert found.sections[0].start_s == 0.0
        assert found.sections[-1].end_s == pytest.approx(found.duration_s, abs=1e-3)
        for a, b in zip(found.sections, found.sections[1:], strict=False):
            assert a.end_s == pytest.approx(b.start_s) and a.start_s < a.end_s
        assert {s.label for s in found.sections} <= set(analyze_module.SECTION_LABELS)


def test_triad_progression_key_and_chords(chords):
    assert chords.key == "C major"
    labels = [c.label for c in chords.chords if c.end_s - c.start_s >= 0.5]
    collapsed = [lab for i, lab in enumerate(labels) if i == 0 or lab != labels[i - 1]]
    assert collapsed == ["C", "Am", "F", "G"] * 2
    for c in chords.chords:
        assert c.quality in ("maj", "min", "N") and 0 <= c.root_pc < 12
    changes = [c.start_s for c in chords.chords[1:] if c.end_s - c.start_s >= 0.5]
    for t in changes:  # each change lies near a 2 s chord edge
        assert abs(t - 2.0 * round(t / 2.0)) <= 0.35


def _tone(midi: int, duration_s: float, *, rate_hz: int = RATE_HZ) -> np.ndarray:
    """A harmonic tone (4 partials), slowly decaying."""
    t = np.arange(int(duration_s * rate_hz)) / rate_hz
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    y = sum(np.sin(2 * np.pi * k * f0 * t) / k ** 2 for k in range(1, 5))
    env = np.exp(-t / 1.0) * np.minimum(1.0, t / 0.005) * np.minimum(1.0, (duration_s - t) / 0.02)
    return (0.3 * y * env).astype(np.float32)


def test_melody_of_a_plain_tune():
    tune = [60, 62, 64, 65, 67, 65, 64, 62, 60, 67, 64, 60]
    audio = np.concatenate([_tone(p, 0.5) for p in tune])
    found = analyze(audio, sample_rate_hz=RATE_HZ, transcribe=False)
    starts = np.array([n.start_s for n in found.melody])
    assert np.all(np.diff(starts) > 0)  # monophonic, in order
    hits = sum(any(abs(n.start_s - 0.5 * i) <= 0.05 and n.pitch == p for n in found.melody)
               for i, p in enumerate(tune))
    assert hits >= 10, [(n.start_s, n.pitch) for n in found.melody]


def test_silence_is_found():
    tone = _triad(57, True, 4.0)
    audio = np.concatenate([tone, np.zeros(3 * RATE_HZ, dtype=np.float32), tone])
    found = analyze(audio, sample_rate_hz=RATE_HZ, transcribe=False)
    silences = [s for s in found.sections if s.label == "silence"]
    assert len(silences) == 1
    assert silences[0].start_s == pytest.approx(4.0, abs=0.15)
    assert silences[0].end_s == pytest.approx(7.0, abs=0.15)
    assert found.sections[0].label != "silence" and found.sections[-1].label != "silence"


def test_all_silence_is_one_silent_section():
    found = analyze(np.zeros(3 * RATE_HZ, dtype=np.float32), sample_rate_hz=RATE_HZ, transcribe=False)
    assert [s.label for s in found.sections] == ["silence"]
    assert found.tempo_bpm == 0.0 and found.beats_s == () and found.melody == ()


def test_same_audio_gives_the_same_analysis(clicks):
    again = analyze(_click_track(120.0, 12.0), sample_rate_hz=RATE_HZ, transcribe=False)
    assert again == clicks


def test_to_dict_from_dict_round_trip(chords):
    full = Analysis(
        duration_s=10.0, tempo_bpm=120.0, beats_s=(0.5, 1.0), meter=4, key_tonic_pc=9, key_mode="minor",
        chords=(ChordSpan(0.0, 2.0, 9, "min", "Am"),), sections=(Section("verse", 0.0, 10.0),),
        melody=(Note(0.5, 1.0, 69, 0.7),), has_vocals=True, vocal_range_midi=(57, 69),
        lyrics="[Verse]\nhello", words=(Word("hello", 0.5, 1.0),), extra={"k": 1},
    )
    for a in (full, chords):
        data = json.loads(json.dumps(a.to_dict()))
        assert data["key"] == a.key
        back = Analysis.from_dict(data)
        assert back == a and back.extra == json.loads(json.dumps(a.extra))
    assert full.key == "A minor"


@pytest.mark.parametrize(("audio", "rate", "limit"), [
    (np.zeros(100, dtype=np.float32), RATE_HZ, "duration_s"),
    (np.zeros((2, 3, 4), dtype=np.float32), RATE_HZ, "shape"),
    (np.zeros(RATE_HZ, dtype=np.float32), 100, "8000-384000"),
])
def test_bad_input_is_refused_naming_the_limit(audio, rate, limit):
    with pytest.raises(InvalidRequest) as err:
        analyze(audio, sample_rate_hz=rate, transcribe=False)
    assert limit in (err.value.limit or "")


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(InvalidRequest) as err:
        analyze_file(tmp_path / "nope.mp3")
    assert err.value.field == "path"


def test_tag_lyrics_groups_words_by_section_and_pause():
    words = [("walking", 1.0, 1.4), ("home", 1.5, 1.9), ("again", 3.0, 3.5), ("hold", 9.0, 9.3), ("on", 9.4, 9.8)]
    sections = [("intro", 0.0, 0.8), ("verse", 0.8, 8.0), ("chorus", 8.0, 16.0)]
    assert tag_lyrics(words, sections) == "[Verse]\nwalking home\nagain\n\n[Chorus]\nhold on"
    assert tag_lyrics([], sections) == ""


def test_public_api():
    assert set(analyze_module.__all__) == {"Analysis", "Section", "ChordSpan", "Note", "Word", "SECTION_LABELS",
                                           "analyze", "analyze_file", "warm_up"}


# --------------------------------------------------------------------------- heavy: renders, real audio


@pytest.mark.heavy
@pytest.mark.skipif(not REAL_TRACK.is_file(), reason="Debian abe-data not installed (scripts/install-system.sh)")
def test_real_recording_analyses_without_error():
    found = analyze_file(REAL_TRACK, transcribe=False)
    assert found.duration_s == pytest.approx(61.0, abs=0.5)
    assert 60.0 <= found.tempo_bpm <= 200.0 and len(found.beats_s) > 60
    assert found.sections and found.chords and found.melody
    assert found.sections[-1].end_s == pytest.approx(found.duration_s, abs=1e-3)


def _render(prompt: str, *, sung: bool, seed: int, duration_s: float = 20.0):
    from songforge.engine.song import make_song
    from songforge.models import SongRequest

    return make_song(SongRequest(prompt=prompt, instrumental=not sung, seed=seed, duration_s=duration_s,
                                 format="wav"), preset="tiny")


@pytest.fixture(scope="module")
def sung_render():
    # the bench's "indie folk song" (seed 11, 40 s): vocals found
    song = _render("indie folk song", sung=True, seed=11, duration_s=40.0)
    return song, analyze(song.audio, sample_rate_hz=song.sample_rate_hz, transcribe=True)


@pytest.mark.heavy
@pytest.mark.parametrize(("prompt", "seed"), [("upbeat pop song with piano", 1), ("edm dance track", 6)])
def test_instrumental_render_tempo_key_and_sections(prompt, seed):
    from songforge.engine.analysis.against_score import compare

    song = _render(prompt, sung=False, seed=seed)
    found = analyze(song.audio, sample_rate_hz=song.sample_rate_hz, transcribe=False)
    got = compare(found, song.score, sung=False)
    assert got["tempo_ok"] and got["key_ok"], (found.tempo_bpm, found.key, song.score.tempo_bpm, song.score.key_name)
    assert found.meter == 4
    # bench (40 s renders): 54/66 true boundaries within one beat, 3 of 57 found false; on these
    # 20 s renders the intro (one bar here) may go unfound, so one of the two must be found
    b = got["boundaries"]
    assert b["hit_rate"] >= 0.5 and b["n_false"] <= 1, (b, [(s.label, s.start_s) for s in found.sections])
    # every found boundary lies on a beat of the tracked grid
    beats = np.array(found.beats_s)
    for before, s in zip(found.sections, found.sections[1:], strict=False):
        if "silence" not in (before.label, s.label):
            assert np.min(np.abs(beats - s.start_s)) < 0.02


@pytest.mark.heavy
def test_sung_render_vocals_melody_and_lyrics(sung_render):
    from songforge.engine.analysis.against_score import compare
    from songforge.engine.asr import normalize_english

    song, found = sung_render
    got = compare(found, song.score, sung=True)
    assert got["tempo_ok"] and got["key_ok"]
    assert found.has_vocals
    # bench: 0.10-0.28 on sung mixes; this song 0.13 streamed, 0.17 one-pass (another: 0.29 vs 0.26)
    assert got["melody"] is not None and got["melody"]["onset_f1"] >= 0.10
    # bench: both boundaries (9.6 s, 33.6 s) within one beat, none false
    assert got["boundaries"]["hit_rate"] >= 0.5 and got["boundaries"]["n_false"] <= 1, got["boundaries"]
    lo, hi = found.vocal_range_midi
    written = [n.pitch for p in song.score.parts if p.role == "vocal" for n in p.notes]
    # written spans 7-14 semitones over the bench; found ranges are off by <= 10 in all (here
    # 56-68 for 54-61), so 24 leaves room while catching leaks of other parts (was 45-73)
    assert lo <= float(np.median(written)) <= hi and hi - lo <= 24, (lo, hi, min(written), max(written))
    assert found.lyrics and found.lyrics.startswith("[")
    sung_words = set(normalize_english(" ".join(line.text for line in song.lines)).split())
    heard = set(normalize_english(" ".join(w.text for w in found.words)).split())
    assert len(heard & sung_words) >= 3, (found.lyrics, sung_words)
