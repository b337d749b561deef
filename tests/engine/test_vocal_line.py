"""The vocal line: a form driven by the lyric tags, syllables set to notes, compose_song."""

from __future__ import annotations

import numpy as np
import pytest

from songforge.engine.compose import compose, compose_song, plan_form_for_lyrics
from songforge.engine.compose.vocal import BREATH_BEATS, metric_weight, syllable_counts
from songforge.engine.lyrics import parse_lyrics, syllabify_lines
from songforge.engine.plan import SongPlan
from songforge.engine.voice.festival import festival_available
from songforge.errors import ContentTooLong

pytestmark = pytest.mark.skipif(not festival_available(), reason="Festival is not installed")

_BAND = (("drums", 0), ("bass", 33), ("chords", 0), ("pad", 89), ("lead", 80))
_SHEET = """[Verse]
Under the city lights we are dancing again
Every shadow remembers the name of a friend
[Chorus]
Hold on to the night
Never let it go
Hold on to the night
We are burning slow
[Verse 2]
Morning is coming but we never sleep
Promises whispered are ours to keep
[Chorus]
[Bridge]
If the sky should fall tonight
I would still be by your side
[Chorus]
"""


def _plan(**kw) -> SongPlan:
    base = dict(
        prompt="test", genre="pop", tempo_bpm=112.0, meter=(4, 4), tonic_pc=2, mode="major",
        energy=0.6, mood="happy", instruments=_BAND, requested_programs=(), excluded_programs=(),
        excluded_roles=(), duration_s=60.0, seed=7, instrumental=False, gender="female",
        vocal_range=(57, 74), swing=0.0, style_weight=0.5, weirdness=0.5, title="Test",
    )
    base.update(kw)
    return SongPlan(**base)


@pytest.fixture(scope="module")
def sheet():
    lyrics = parse_lyrics(_SHEET)
    return lyrics, syllabify_lines(lyrics.lines)


@pytest.fixture(scope="module")
def song(sheet):
    lyrics, words = sheet
    plan = _plan()
    score, vocal = compose_song(plan, lyrics=lyrics, words_per_line=words)
    return plan, score, vocal


def _shape(line):
    """A line's melody relative to its first note: (onset, duration, pitch, syllable)."""
    t0 = line.notes[0].start_beat
    return [(round(n.start_beat - t0, 6), n.duration_beats, n.pitch, n.lyric) for n in line.notes]


# --- form -------------------------------------------------------------------------------------


def test_sections_follow_the_tags_in_order(song):
    _, score, _ = song
    names = [s.name for s in score.sections]
    assert names == ["intro", "verse 1", "chorus 1", "verse 2", "chorus 2", "bridge", "chorus 3",
                     "outro"]
    assert [s.kind for s in score.sections][1:-1] == ["verse", "chorus", "verse", "chorus",
                                                      "bridge", "chorus"]
    bar = score.beats_per_bar
    assert 2 <= score.sections[0].length_beats / bar <= 4
    assert 2 <= score.sections[-1].length_beats / bar <= 4
    for a, b in zip(score.sections, score.sections[1:], strict=False):
        assert b.start_beat == pytest.approx(a.end_beat)
        assert a.length_beats / bar == int(a.length_beats / bar)


def test_instrumental_tags_get_instrumental_sections():
    lyrics = parse_lyrics("[Intro]\n[Verse]\nWe ride along the river\n[Guitar Solo]\n"
                          "[Chorus]\nSing it out loud\n[Outro]")
    words = syllabify_lines(lyrics.lines)
    form = plan_form_for_lyrics(_plan(duration_s=10.0), lyrics, words, rng=np.random.default_rng(0))
    assert [s.kind for s in form] == ["intro", "verse", "solo", "chorus", "outro"]
    bar = 4.0
    for s in form:
        if s.kind in ("intro", "solo", "outro"):
            assert 2 <= s.length_beats / bar <= 8


def test_explicit_duration_is_reached_without_repeating_lyrics(sheet):
    lyrics, words = sheet
    plan = _plan()
    bar_s = 4 * 60.0 / plan.quarter_bpm
    for duration_s in (70.0, 150.0):
        form = plan_form_for_lyrics(plan, lyrics, words, rng=np.random.default_rng(1),
                                    duration_s=duration_s)
        length_s = sum(s.length_beats for s in form) * 60.0 / plan.quarter_bpm
        assert abs(length_s - duration_s) <= bar_s
        sung = [s.name for s in form if s.name in {ls.name for ls in lyrics.sections if ls.lines}]
        assert sung == [ls.name for ls in lyrics.sections if ls.lines]


def test_lyrics_too_long_for_the_duration_raise(sheet):
    lyrics, words = sheet
    with pytest.raises(ContentTooLong) as info:
        plan_form_for_lyrics(_plan(), lyrics, words, rng=np.random.default_rng(0), duration_s=20.0)
    assert info.value.field == "lyrics"
    assert "need at least" in info.value.message


# --- the vocal line ---------------------------------------------------------------------------


def test_every_line_is_sung_once_per_occurrence_in_order(song, sheet):
    _, _, vocal = song
    lyrics, _ = sheet
    assert [line.text for line in vocal.lines] == lyrics.lines
    starts = [line.notes[0].start_beat for line in vocal.lines]
    assert starts == sorted(starts)


def test_one_note_per_syllable(song, sheet):
    _, score, vocal = song
    _, words = sheet
    for line, n_syllables in zip(vocal.lines, syllable_counts(words), strict=True):
        sung = [n for n in line.notes if n.lyric != "-"]
        assert len(sung) == n_syllables
        assert all(n.lyric for n in line.notes)
    assert score.part("vocals").notes == vocal.notes
    assert score.part("vocals").role == "vocal" and score.part("vocals").program == 54


def test_stressed_syllables_fall_on_strong_beats(song, sheet):
    plan, _, vocal = song
    _, words = sheet
    on_strong = {True: [], False: []}
    for line, line_words in zip(vocal.lines, words, strict=True):
        stresses = [s for w in line_words for s in w.stresses]
        notes = [n for n in line.notes if n.lyric != "-"]
        for note, stress in zip(notes, stresses, strict=True):
            on_strong[stress in (1, 2)].append(metric_weight(note.start_beat, meter=plan.meter) >= 3)
    stressed, unstressed = np.mean(on_strong[True]), np.mean(on_strong[False])
    assert stressed > 0.55
    assert stressed > unstressed + 0.3


def test_range_breath_and_phrase_ends(song):
    plan, _, vocal = song
    lo, hi = plan.vocal_range
    assert all(lo <= n.pitch <= hi for n in vocal.notes)
    for a, b in zip(vocal.lines, vocal.lines[1:], strict=False):
        assert b.notes[0].start_beat - a.notes[-1].end_beat >= BREATH_BEATS - 1e-6
    ends = [line.notes[-1].duration_beats for line in vocal.lines]
    assert np.mean([d >= 2.0 for d in ends]) >= 0.8
    for line in vocal.lines:
        for a, b in zip(line.notes, line.notes[1:], strict=False):
            assert b.start_beat >= a.end_beat - 1e-6
            assert a.duration_beats >= 0.25 - 1e-6


def test_mostly_stepwise(song):
    _, _, vocal = song
    steps = [abs(b.pitch - a.pitch) for line in vocal.lines
             for a, b in zip(line.notes, line.notes[1:], strict=False)]
    assert np.mean(np.asarray(steps) <= 2) > 0.6
    assert max(steps) <= 9


def test_choruses_repeat_their_melody(song):
    _, _, vocal = song
    by_text: dict[str, list] = {}
    for line in vocal.lines:
        by_text.setdefault(line.text, []).append(_shape(line))
    assert len(by_text["Hold on to the night"]) == 6
    for shapes in by_text.values():
        assert all(s == shapes[0] for s in shapes)


def test_verses_lower_than_choruses(song):
    _, score, vocal = song
    kinds = {s.name: s.kind for s in score.sections}

    def mean_pitch(kind):
        spans = [s for s in score.sections if kinds[s.name] == kind]
        return np.mean([n.pitch for n in vocal.notes
                        if any(s.start_beat <= n.start_beat < s.end_beat for s in spans)])

    assert mean_pitch("verse") < mean_pitch("chorus")


def test_lead_rests_while_the_singer_sings_and_harmony_in_choruses(song):
    _, score, vocal = song
    sung = [s for s in score.sections if s.name in vocal.sung_sections]
    lead = score.part("lead").notes
    assert lead
    assert not [n for n in lead if any(s.start_beat <= n.start_beat < s.end_beat - 0.1 for s in sung)]
    harmony = score.part("harmony_vocal")
    assert harmony.role == "harmony_vocal"
    choruses = [s for s in score.sections if s.kind == "chorus"]
    assert all(any(c.start_beat <= n.start_beat < c.end_beat for c in choruses) for n in harmony.notes)
    assert [line.text for line in vocal.harmony_lines] == [
        line.text for line in vocal.lines
        if any(c.start_beat <= line.notes[0].start_beat < c.end_beat for c in choruses)]
    for h, line in zip(vocal.harmony_lines, [ln for ln in vocal.lines if ln.text in
                                             {x.text for x in vocal.harmony_lines}], strict=False):
        assert [n.lyric for n in h.notes] == [n.lyric for n in line.notes]
        assert all(n.pitch <= 74 + 3 for n in h.notes)


def test_male_plan_sings_in_the_male_range(sheet):
    lyrics, words = sheet
    plan = _plan(gender="male", vocal_range=(45, 64), seed=3)
    _, vocal = compose_song(plan, lyrics=lyrics, words_per_line=words)
    pitches = [n.pitch for n in vocal.notes]
    assert min(pitches) >= 45 and max(pitches) <= 64


def test_other_meters_and_tempi(sheet):
    lyrics, words = sheet
    for kw in (dict(meter=(3, 4), tempo_bpm=96.0), dict(meter=(6, 8), tempo_bpm=70.0),
               dict(tempo_bpm=176.0, weirdness=1.0, seed=2)):
        plan = _plan(**kw)
        _, vocal = compose_song(plan, lyrics=lyrics, words_per_line=words)
        assert [line.text for line in vocal.lines] == lyrics.lines
        for line, n in zip(vocal.lines, syllable_counts(words), strict=True):
            assert sum(1 for note in line.notes if note.lyric != "-") == n
        for a, b in zip(vocal.lines, vocal.lines[1:], strict=False):
            assert b.notes[0].start_beat - a.notes[-1].end_beat >= BREATH_BEATS - 1e-6
        seconds = 60.0 / plan.quarter_bpm
        assert min(n.duration_beats for n in vocal.notes) * seconds >= 0.15


def test_melisma_is_rare_and_marked(sheet):
    lyrics, words = sheet
    counts = []
    for seed in range(4):
        _, vocal = compose_song(_plan(weirdness=1.0, seed=seed), lyrics=lyrics, words_per_line=words)
        counts.append(sum(1 for n in vocal.notes if n.lyric == "-"))
        assert vocal.notes[0].lyric != "-"
    assert sum(counts) > 0
    assert max(counts) < 0.2 * sum(syllable_counts(words))


def test_chinese_lines_one_note_per_character():
    lyrics = parse_lyrics("[Verse]\n我爱你中国\n亲爱的母亲\n[Chorus]\n我为你流泪也为你自豪")
    _, vocal = compose_song(_plan(), lyrics=lyrics)
    assert [len([n for n in line.notes if n.lyric != "-"]) for line in vocal.lines] == [5, 5, 10]
    assert "".join(n.lyric for n in vocal.lines[0].notes) == "我爱你中国"


def test_deterministic(sheet, song):
    lyrics, words = sheet
    score, vocal = compose_song(_plan(), lyrics=lyrics, words_per_line=words)
    assert vocal == song[2]
    assert score == song[1]


def test_without_lyrics_it_is_compose():
    plan = _plan(duration_s=30.0)
    score, vocal = compose_song(plan)
    assert vocal is None
    assert score == compose(plan)


def test_sung_end_to_end():
    from songforge.engine.voice import sing

    lyrics = parse_lyrics("[Verse]\nUnder the city lights we are dancing again\n"
                          "[Chorus]\nHold on to the night\nNever let it go\n[Chorus]")
    score, vocal = compose_song(_plan(duration_s=30.0), lyrics=lyrics)
    sung = sing(vocal.lines, tempo_bpm=score.tempo_bpm, sample_rate_hz=16000)
    words = [w[0].lower() for w in sung.word_timings]
    expected = [w.lower() for line in lyrics.lines for w in line.split()]
    assert words == expected
    starts = [w[1] for w in sung.word_timings]
    assert starts == sorted(starts)


def _tone_violations(vocal, words_per_line) -> tuple[int, int]:
    """(tone-4/3 syllables set on a rising interval + tone-2 on a falling one, syllables checked),
    the first and last (cadence) note of each line left out."""
    bad = checked = 0
    for line, words in zip(vocal.lines, words_per_line, strict=True):
        tones = [s for w in words for s in w.stresses]
        notes = [n for n in line.notes if n.lyric != "-"]
        assert len(notes) == len(tones)
        for k in range(1, len(notes) - 1):
            step = notes[k].pitch - notes[k - 1].pitch
            checked += tones[k] in (2, 3, 4)
            bad += (tones[k] in (3, 4) and step > 0) or (tones[k] == 2 and step < 0)
    return bad, checked


def test_chinese_melodies_follow_the_tones_without_melisma():
    """A falling 4th tone is never set on a rising interval, a 3rd tone never above the note
    before, a 2nd tone never below it (where a chord tone allows), and no syllable is turned."""
    from songforge.evalsets import LYRIC_SHEETS_ZH

    bad = checked = 0
    for seed, (_, text) in enumerate(LYRIC_SHEETS_ZH):
        lyrics = parse_lyrics(text)
        words = syllabify_lines(lyrics.lines)
        _, vocal = compose_song(_plan(weirdness=1.0, seed=seed), lyrics=lyrics, words_per_line=words)
        assert not [n for n in vocal.notes if n.lyric == "-"]
        b, c = _tone_violations(vocal, words)
        bad, checked = bad + b, checked + c
    assert checked > 200
    assert bad <= 0.03 * checked
