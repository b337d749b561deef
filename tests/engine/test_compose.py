"""The composer: form length, determinism, hook repetition, harmony, bass, drums, key, MIDI."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pretty_midi
import pytest

from songforge.engine.compose import (
    bar_count,
    compose,
    harmonize,
    parse_chord,
    plan_form,
    voice_chords,
    write_bass,
    write_melody,
)
from songforge.engine.compose._theory import chord_tones, resample_grid, strong_beats
from songforge.engine.plan import SongPlan
from songforge.engine.styles import load_style, style_names

_BAND = (("drums", 0), ("bass", 33), ("chords", 0), ("pad", 89), ("lead", 80), ("arp", 81),
         ("counter", 48))
_KS_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KS_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
_CRASH = 49


def _plan(**kw) -> SongPlan:
    base = dict(
        prompt="test", genre="pop", tempo_bpm=112.0, meter=(4, 4), tonic_pc=2, mode="major",
        energy=0.6, mood="happy", instruments=_BAND, requested_programs=(), excluded_programs=(),
        excluded_roles=(), duration_s=90.0, seed=7, instrumental=True, gender="female",
        vocal_range=(57, 76), swing=0.0, style_weight=0.5, weirdness=0.5, title="Test",
    )
    base.update(kw)
    return SongPlan(**base)


@pytest.fixture(scope="module")
def song():
    return compose(_plan())


@pytest.fixture(scope="module")
def vocal_song():
    return compose(_plan(instrumental=False, duration_s=150.0, seed=11, tonic_pc=9, mode="minor"))


def _in(notes, section, *, slack=0.1):
    return [n for n in notes if section.start_beat - slack <= n.start_beat < section.end_beat - slack]


# --- form -----------------------------------------------------------------------------------


@pytest.mark.parametrize("duration_s", [10, 30, 60, 180, 480])
@pytest.mark.parametrize("tempo_bpm", [72.0, 128.0])
def test_length_within_one_bar_of_request(duration_s, tempo_bpm):
    plan = _plan(duration_s=float(duration_s), tempo_bpm=tempo_bpm)
    score = compose(plan)
    bar_s = score.beats_to_seconds(score.beats_per_bar)
    assert abs(score.duration_s - duration_s) <= bar_s
    kinds = [s.kind for s in score.sections]
    assert "chorus" in kinds
    if duration_s >= 180:
        assert kinds.count("chorus") >= 3 and "bridge" in kinds and "verse" in kinds


def test_sections_tile_the_song_and_follow_the_energy_arc(song):
    starts = [s.start_beat for s in song.sections]
    ends = [s.end_beat for s in song.sections]
    assert starts[0] == 0 and starts[1:] == ends[:-1]
    assert all(s.start_beat % song.beats_per_bar == 0 for s in song.sections)
    choruses = [s.energy for s in song.sections if s.kind == "chorus"]
    assert choruses[-1] == max(choruses) > min(choruses)
    energy = {s.kind: s.energy for s in song.sections}
    assert energy["intro"] < energy["verse"] < energy["chorus"]
    assert energy["outro"] < energy["chorus"]
    assert len({s.name for s in song.sections}) == len(song.sections)


@pytest.mark.parametrize("meter", [(3, 4), (6, 8)])
def test_triple_meters_give_bar_aligned_sections(meter):
    plan = _plan(meter=meter, tempo_bpm=66.0 if meter == (6, 8) else 100.0, duration_s=75.0)
    score = compose(plan)
    bar = score.beats_per_bar
    assert bar == 3.0
    for s in score.sections:
        assert s.start_beat % bar == 0 and s.length_beats % bar == 0
        assert all(c.start_beat % 1.0 == 0 for c in s.chords)
    assert abs(score.duration_s - 75.0) <= score.beats_to_seconds(bar)
    assert score.pulse_quarters == plan.pulse_quarters
    assert all(p.notes for p in score.parts)


def test_plan_form_is_exposed_and_matches_bar_count():
    plan = _plan(duration_s=200.0)
    sections = plan_form(plan, rng=np.random.default_rng(0))
    assert sum(s.length_beats for s in sections) == bar_count(plan) * 4
    assert sections[-1].kind in ("outro", "chorus")


# --- determinism ----------------------------------------------------------------------------


def test_same_plan_gives_identical_score(song):
    again = compose(_plan())
    assert again == song
    assert compose(_plan(), rng=np.random.default_rng(7)) == song


def test_other_seed_gives_another_song(song):
    other = compose(_plan(seed=8))
    assert other != song
    assert other.part("lead").notes != song.part("lead").notes


# --- melody ---------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["song", "vocal_song"])
def test_every_chorus_has_the_same_melody(which, request):
    score = request.getfixturevalue(which)
    lead = score.part("lead").notes
    choruses = [s for s in score.sections if s.kind == "chorus"]
    assert len(choruses) >= 2
    lines = [[(n.pitch, n.start_beat - c.start_beat) for n in _in(lead, c)] for c in choruses]
    first = lines[0]
    assert len(first) >= 8
    for line in lines[1:]:
        assert [p for p, _ in line] == [p for p, _ in first]
        assert np.allclose([t for _, t in line], [t for _, t in first], atol=0.1)


def test_verse_melody_differs_from_chorus(song, vocal_song):
    for score in (song, vocal_song):
        lead = score.part("lead").notes
        verse = next(s for s in score.sections if s.kind == "verse")
        chorus = next(s for s in score.sections if s.kind == "chorus")
        v = [n.pitch for n in _in(lead, verse)]
        c = [n.pitch for n in _in(lead, chorus)]
        assert v and c and v[: len(c)] != c[: len(v)]
        assert np.mean(v) < np.mean(c)  # verses sit lower


def test_melody_ends_on_the_tonic_held_through_the_last_bar(song, vocal_song):
    for score in (song, vocal_song):
        last = max(score.part("lead").notes, key=lambda n: n.start_beat)
        assert last.pitch % 12 == score.tonic_pc
        assert last.end_beat >= score.length_beats - score.beats_per_bar * 0.1
        assert last.duration_beats >= score.beats_per_bar * 0.9


def test_vocal_melody_stays_in_the_vocal_range(vocal_song):
    pitches = [n.pitch for n in vocal_song.part("lead").notes]
    assert min(pitches) >= 57 and max(pitches) <= 76


@pytest.mark.parametrize("meter", [(4, 4), (3, 4), (6, 8)])
@pytest.mark.parametrize("seed", [1, 2])
def test_strong_beat_melody_notes_are_chord_tones(meter, seed):
    plan = _plan(meter=meter, seed=seed, weirdness=0.8)
    rng = np.random.default_rng(seed)
    sections = harmonize(plan_form(plan, rng=rng), plan=plan, style=load_style("pop"), rng=rng)
    notes = write_melody(sections, plan=plan, rng=rng)
    chords = [c for s in sections for c in s.chords]
    bar = meter[0] * 4.0 / meter[1]
    strong = strong_beats(meter)
    on_strong = [n for n in notes if any(abs(n.start_beat % bar - b) < 1e-6 for b in strong)]
    assert len(on_strong) > 20

    def chord_at(t):
        return next(c for c in reversed(chords) if c.start_beat <= t + 1e-6)

    hits = [n.pitch % 12 in chord_tones(chord_at(n.start_beat)) for n in on_strong]
    assert np.mean(hits) >= 0.8
    steps = np.abs(np.diff([n.pitch for n in notes]))
    assert np.mean(steps <= 4) >= 0.6  # mostly stepwise / small intervals


# --- parts ----------------------------------------------------------------------------------


def test_every_planned_instrument_is_a_part_with_notes(song):
    assert [(p.role, p.program) for p in song.parts] == list(_BAND)
    assert len({p.name for p in song.parts}) == len(song.parts)
    assert all(p.notes for p in song.parts)
    assert [p.is_drum for p in song.parts] == [r == "drums" for r, _ in _BAND]
    assert song.part("lead").pan == 0.0 and song.part("pad").pan != 0.0


def test_repeated_roles_get_unique_names():
    instruments = (("chords", 0), ("chords", 24), ("lead", 73), ("lead", 56), ("bass", 33))
    score = compose(_plan(instruments=instruments, duration_s=40.0))
    assert [p.name for p in score.parts] == ["chords", "chords2", "lead", "lead2", "bass"]
    assert all(p.notes for p in score.parts)
    assert score.part("chords").pan == -score.part("chords2").pan


def test_notes_are_valid_and_inside_the_song(song, vocal_song):
    for score in (song, vocal_song):
        for part in score.parts:
            for n in part.notes:
                assert 0 <= n.pitch <= 127 and 1 <= n.velocity <= 127
                assert n.start_beat >= 0 and n.duration_beats > 0
                assert n.end_beat <= score.length_beats + 1e-6


def test_humanised_parts_never_overlap_the_same_pitch(song):
    for part in song.parts:
        by_pitch: dict[int, list] = {}
        for n in part.notes:
            by_pitch.setdefault(n.pitch, []).append(n)
        for same in by_pitch.values():
            same.sort(key=lambda n: n.start_beat)
            assert all(a.end_beat <= b.start_beat + 1e-9 for a, b in zip(same, same[1:], strict=False))


def test_no_drum_part_when_drums_are_excluded():
    plan = _plan(instruments=(("drums", 0), ("bass", 33), ("chords", 0)), excluded_roles=("drums",),
                 duration_s=30.0)
    score = compose(plan)
    assert not any(p.is_drum for p in score.parts)


def test_midi_export_contains_every_program(song):
    pm = pretty_midi.PrettyMIDI(io.BytesIO(_midi_bytes(song)))
    programs = {i.program for i in pm.instruments if not i.is_drum and i.notes}
    assert {p for r, p in _BAND if r != "drums"} <= programs
    assert any(i.is_drum and i.notes for i in pm.instruments)
    assert abs(pm.get_end_time() - song.duration_s) < 0.5


def _midi_bytes(score) -> bytes:
    buf = io.BytesIO()
    score.to_midi().write(buf)
    return buf.getvalue()


# --- bass and drums -------------------------------------------------------------------------


def test_bass_plays_the_chord_root_at_every_chord_change(song, vocal_song):
    for score in (song, vocal_song):
        bass = score.part("bass").notes
        assert min(n.pitch for n in bass) >= 28 and max(n.pitch for n in bass) <= 48
        for chord in (c for s in score.sections for c in s.chords):
            at = [n for n in bass if abs(n.start_beat - chord.start_beat) < 0.1]
            want = chord.bass_pc if chord.bass_pc is not None else chord.root_pc
            assert at and at[0].pitch % 12 == want, chord


def test_drums_crash_at_every_section_start_after_the_intro(song):
    drums = song.part("drums").notes
    for s in song.sections[1:]:
        assert any(n.pitch == _CRASH and abs(n.start_beat - s.start_beat) < 0.1 for n in drums), s.name


@pytest.mark.parametrize("meter", [(4, 4), (3, 4), (6, 8)])
def test_kick_on_every_downbeat_and_backbeat_snare(meter):
    score = compose(_plan(meter=meter, duration_s=45.0, tempo_bpm=70.0 if meter == (6, 8) else 110.0))
    drums = score.part("drums").notes
    bar = score.beats_per_bar
    kicks = {round(n.start_beat / bar) for n in drums if n.pitch == 36 and
             abs(n.start_beat / bar - round(n.start_beat / bar)) < 0.02}
    n_bars = int(round(score.length_beats / bar))
    assert kicks >= set(range(n_bars))
    if meter == (4, 4):
        snares = [n for n in drums if n.pitch == 38 and abs((n.start_beat % 4) - 1) < 0.05]
        assert len(snares) >= n_bars // 2


def test_the_last_bar_is_a_held_tonic_chord(song):
    last = song.sections[-1].chords[-1]
    assert last.root_pc == song.tonic_pc and last.duration_beats == song.beats_per_bar
    assert last.start_beat + last.duration_beats == song.length_beats
    final_bass = max(song.part("bass").notes, key=lambda n: n.start_beat)
    assert final_bass.pitch % 12 == song.tonic_pc and final_bass.duration_beats > 3
    last_bar = song.length_beats - song.beats_per_bar
    for name in ("chords", "pad"):
        ending = [n for n in song.part(name).notes if n.end_beat > last_bar + 0.5]
        assert len(ending) >= 3
        assert all(abs(n.start_beat - last_bar) < 0.1 for n in ending)
        assert all(n.end_beat > song.length_beats - 0.1 for n in ending)
        assert {n.pitch % 12 for n in ending} <= chord_tones(last)


def test_swing_delays_offbeat_eighths():
    straight = compose(_plan(duration_s=20.0, swing=0.0))
    swung = compose(_plan(duration_s=20.0, swing=0.3))

    def offbeat_phase(score):
        fr = [n.start_beat % 1.0 for n in score.part("drums").notes]
        return [f for f in fr if 0.4 < f < 0.8]

    assert np.median(offbeat_phase(straight)) == pytest.approx(0.5, abs=0.03)
    assert np.median(offbeat_phase(swung)) == pytest.approx(0.65, abs=0.03)


# --- harmony --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "tonic", "mode", "root", "quality", "bass", "beats"),
    [
        ("I", 0, "major", 0, "maj", None, 4.0),
        ("vi", 0, "major", 9, "min", None, 4.0),
        ("bVII", 0, "major", 10, "maj", None, 4.0),
        ("V7", 2, "major", 9, "7", None, 4.0),
        ("iio", 0, "minor", 2, "dim", None, 4.0),
        ("IVmaj7", 0, "major", 5, "maj7", None, 4.0),
        ("V/vii", 0, "major", 7, "maj", 11, 4.0),
        ("V/V", 0, "major", 2, "maj", None, 4.0),
        ("V:2", 0, "major", 7, "maj", None, 2.0),
        ("VII", 9, "minor", 7, "maj", None, 4.0),
        ("III", 9, "minor", 0, "maj", None, 4.0),
        ("V", 9, "minor", 4, "maj", None, 4.0),
        ("ii7", 0, "major", 2, "min7", None, 4.0),
        ("viio7", 0, "major", 11, "dim7", None, 4.0),
    ],
)
def test_parse_chord(symbol, tonic, mode, root, quality, bass, beats):
    c = parse_chord(symbol, tonic_pc=tonic, mode=mode)
    assert (c.root_pc, c.quality, c.bass_pc, c.duration_beats) == (root, quality, bass, beats)


@pytest.mark.parametrize("bad", ["", "X", "Iv", "VIII", "I/Q", "V:x"])
def test_parse_chord_rejects_garbage(bad):
    with pytest.raises(ValueError):
        parse_chord(bad, tonic_pc=0, mode="major")


def test_every_chorus_has_the_same_chords(song):
    def rel(s):
        return [(c.start_beat - s.start_beat, c.root_pc, c.quality, c.duration_beats)
                for c in s.chords]

    choruses = [rel(s) for s in song.sections if s.kind == "chorus"]
    assert all(c == choruses[0] for c in choruses)
    for s in song.sections:
        assert sum(c.duration_beats for c in s.chords) == pytest.approx(s.length_beats)
    assert song.sections[0].chords[0].root_pc == song.tonic_pc


def test_voicings_move_smoothly_around_middle_c():
    chords = [parse_chord(s, tonic_pc=0, mode="major") for s in ["I", "V", "vi", "IV", "ii7", "V7"]]
    voicings = voice_chords(chords)
    for chord, v in zip(chords, voicings, strict=False):
        assert {p % 12 for p in v} <= chord_tones(chord) and min(v) >= 52 and max(v) <= 76
        assert list(v) == sorted(v) and max(v) - min(v) <= 12
    moves = [sum(abs(a - b) for a, b in zip(sorted(x), sorted(y), strict=False)) for x, y in zip(voicings, voicings[1:], strict=False)
             if len(x) == len(y)]
    assert max(moves) <= 7


def test_resample_grid_keeps_hits_at_the_same_bar_fraction():
    assert resample_grid("x---o---x---o---", 12) == "x--o--x--o--"
    assert resample_grid("x--x--", 6) == "x--x--"
    assert len(resample_grid("x-.-o-.-x-.-o-.-", 12)) == 12


# --- key ------------------------------------------------------------------------------------


def _ks_key(score) -> tuple[int, str]:
    hist = np.zeros(12)
    for part in score.parts:
        if not part.is_drum:
            for n in part.notes:
                hist[n.pitch % 12] += n.duration_beats
    scores = [(np.corrcoef(hist, np.roll(prof, t))[0, 1], t, mode)
              for t in range(12) for mode, prof in (("major", _KS_MAJOR), ("minor", _KS_MINOR))]
    _, tonic, mode = max(scores)
    return tonic, mode


def _random_plan(i: int) -> SongPlan:
    g = np.random.default_rng(500 + i)
    roles = [("drums", 0), ("bass", 33), ("chords", int(g.choice([0, 4, 24]))),
             ("lead", int(g.choice([80, 73, 0])))]
    roles += [("pad", 89)] if g.random() < 0.5 else []
    roles += [("arp", 81)] if g.random() < 0.3 else []
    return _plan(
        tempo_bpm=float(g.uniform(70, 140)), tonic_pc=int(g.integers(12)),
        mode=str(g.choice(["major", "minor"])), meter=[(4, 4), (4, 4), (3, 4), (6, 8)][g.integers(4)],
        energy=float(g.uniform(0.2, 1.0)), instruments=tuple(roles), seed=int(g.integers(1 << 30)),
        duration_s=float(g.choice([20.0, 45.0, 90.0])), instrumental=bool(g.random() < 0.5),
        style_weight=float(g.uniform()), weirdness=float(g.uniform()),
    )


def test_pitch_histogram_finds_the_planned_key():
    plans = [_random_plan(i) for i in range(20)]
    found = [_ks_key(compose(p)) == (p.tonic_pc, p.mode) for p in plans]
    assert sum(found) >= 18, found


# --- other styles ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("genre", "meter"), [(g, m) for g in style_names() for m in load_style(g).meters]
)
def test_every_style_composes(genre, meter):
    style = load_style(genre)
    plan = _plan(genre=genre, meter=meter, tempo_bpm=float(np.mean(style.tempo_bpm)),
                 duration_s=40.0, swing=style.swing)
    score = compose(plan)
    assert all(p.notes for p in score.parts)
    assert abs(score.duration_s - 40.0) <= score.beats_to_seconds(score.beats_per_bar)
    bass = score.part("bass").notes
    for chord in (c for s in score.sections for c in s.chords):
        want = chord.bass_pc if chord.bass_pc is not None else chord.root_pc
        assert any(abs(n.start_beat - chord.start_beat) < 0.1 and n.pitch % 12 == want for n in bass)


def test_walk_pattern_gives_a_walking_quarter_note_line():
    style = dataclasses.replace(load_style("pop"), bass={"patterns": ["walk"]})
    plan = _plan(duration_s=30.0)
    rng = np.random.default_rng(0)
    sections = harmonize(plan_form(plan, rng=rng), plan=plan, style=style, rng=rng)
    bass = write_bass(sections, plan=plan, style=style, rng=rng)
    body = [n for n in bass if n.start_beat < sections[-1].end_beat - 4]
    assert np.allclose(np.diff([n.start_beat for n in body]), 1.0)
    steps = np.abs(np.diff([n.pitch for n in body]))
    assert np.mean(steps <= 5) >= 0.8
