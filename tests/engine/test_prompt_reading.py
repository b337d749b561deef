"""Reading descriptive prompts: the evaluation set's four rates, the voice rule, tempo, mode, reasons."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path

import pytest

from songforge.engine.plan import plan_song
from songforge.engine.reading import gloss_chinese
from songforge.models import SongRequest

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "prompts.py"


@functools.cache
def _bench():
    spec = importlib.util.spec_from_file_location("bench_prompts", _BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_prompts"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def plan(prompt: str, seed: int = 1, **fields):
    return plan_song(SongRequest(prompt=prompt, **fields), seed=seed)


def test_the_evaluation_set_meets_the_four_targets():
    bench = _bench()
    cases = bench.load_cases()
    assert len(cases) >= 60 and {c.lang for c in cases} == {"en", "zh"}
    assert sum(c.heldout for c in cases) >= 15
    assert sum(c.vocals == "instrumental" for c in cases) >= 20  # both kinds, many of each
    rates, failures = bench.evaluate(cases, seeds=(1, 2, 3))
    assert all(rates[d] >= t for d, t in bench.TARGETS.items()), (rates, [f[0].id for f in failures])


def test_scoring_catches_a_wrong_plan():
    """The bench's checks can fail: a plan read from another prompt is scored wrong."""
    bench = _bench()
    case = next(c for c in bench.load_cases() if c.vocals == "instrumental" and c.tempo == "slow")
    wrong = plan("fast punk rock with a male singer and distorted guitar")
    problems = bench.check(case, wrong)
    assert problems["vocals"] and problems["tempo"]


@pytest.mark.parametrize(
    "prompt",
    [
        "There are no voices in this track. A warm piano plays jazzy chords.",
        "Nobody sings here: just a cello and a harp.",
        "The backing track of a pop song, with the lead vocals removed.",
        "Karaoke version of a rock ballad.",
        "An acoustic guitar is fingerpicked slowly while rain falls. A second guitar answers the melody.",
        "A solo piano piece in the style of Satie.",
        "这是一首纯音乐，钢琴和弦乐。",
        "古筝独奏，旋律宁静。",
        "chill lofi, no vocals",
    ],
)
def test_said_or_described_without_a_voice_is_instrumental(prompt):
    p = plan(prompt)
    assert p.instrumental and p.reasons[0].startswith("instrumental:"), p.reasons


@pytest.mark.parametrize(
    ("prompt", "gender"),
    [
        ("Voice and piano only, no other instruments. A slow ballad.", None),
        ("No drums and a soft female voice over piano and strings. The tempo is slow.", "female"),
        ("Female vocals only, no male voice, over synths and drums.", "female"),
        ("A woman hums a lullaby without words over a guitar. Two sentences, many instruments: piano.", "female"),
        ("A tenor saxophone plays along while a woman sings. Piano and drums.", "female"),
        ("An a cappella group, no instruments at all. Several singers harmonize.", None),
        ("A rapper delivers fast verses over a boom bap beat with piano samples.", None),
        ("The band plays hard; a snarling frontman spits out the lyrics over fuzz guitars.", "male"),
        ("An instrumental break with guitars, then a man sings the last chorus.", "male"),
        ("一位女歌手用温柔的声音演唱，伴奏是木吉他。", "female"),
        ("除了钢琴没有其他乐器，一位男歌手深情地演唱一首慢歌。", "male"),
    ],
)
def test_a_voice_mentioned_is_sung(prompt, gender):
    p = plan(prompt)
    assert not p.instrumental, p.reasons
    assert gender is None or p.gender == gender


def test_short_requests_and_own_lyrics_stay_sung():
    assert not plan("upbeat pop song with piano, synth and drums").instrumental
    assert not plan("a hopeful folk song about the sea at dawn").instrumental
    lyrics = "[Verse]\nHello moon\n"
    assert not plan("Two guitars play. The bass plays too. A long description of playing.", lyrics=lyrics).instrumental
    assert plan("pop", lyrics=lyrics, instrumental=True).instrumental


@pytest.mark.parametrize(
    ("prompt", "klass"),
    [
        ("A piano ballad. The pace is leisurely and the strings are warm.", "slow"),
        ("It feels relaxing, like a lounge late at night. Piano and bass.", "slow"),
        ("Rock with guitars; the drummer keeps things brisk throughout.", "fast"),
        ("A folk tune whose tempo sits at a moderate pace, with banjo.", "medium"),
        ("Ambient pads slowly evolve; the whole piece is danceable and upbeat.", "fast"),
        ("一首摇滚，速度非常快。", "fast"),
        ("钢琴曲，节奏很慢。", "slow"),
    ],
)
def test_tempo_words_anywhere_in_a_sentence(prompt, klass):
    bench = _bench()
    for seed in (1, 2, 3):
        p = plan(prompt, seed)
        assert bench.tempo_class(p.tempo_bpm) == klass, (p.tempo_bpm, p.reasons)
        assert any(r.startswith("tempo: '") for r in p.reasons)


def test_mode_precedence_key_then_word_then_mood():
    assert plan("a sad song in D major").mode == "major"  # the key named
    assert plan("a happy tune in a minor key").mode == "minor"  # the mode word
    for seed in range(5):
        assert plan("a melancholic love song with piano", seed).mode == "minor"  # sad outweighs love
        assert plan("a triumphant fanfare for brass", seed).mode == "major"
        assert plan("kids sing happily with ukulele", seed).mode == "major"
    p = plan("a lonely, mournful piano piece")
    assert "mode: 'lonely', 'mournful' -> minor" in p.reasons


def test_reasons_quote_the_prompt_and_reach_the_plan_json():
    p = plan("There are no voices. It feels relaxing, with piano and cello.")
    assert p.reasons[0] == "instrumental: 'There are no voices'"
    assert "tempo: 'relaxing' -> slow" in p.reasons
    assert "instruments: 'piano', 'cello'" in p.reasons
    assert p.to_dict()["reasons"] == list(p.reasons) or p.to_dict()["reasons"] == p.reasons


def test_chinese_gloss_keeps_english_and_reads_negation():
    assert gloss_chinese("an English prompt") == "an English prompt"
    glossed = gloss_chinese("没有人声，钢琴和二胡。")
    assert "no vocals" in glossed and "piano" in glossed and "erhu" in glossed
    p = plan("悲伤的小调钢琴曲，节奏缓慢，没有人声。")
    assert p.instrumental and p.mode == "minor" and p.tempo_bpm < 90
    assert any(prog in range(8) for _, prog in p.instruments)
