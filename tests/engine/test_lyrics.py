"""Lyric sheets: structure tags, languages, errors, and Festival-backed syllables."""

from __future__ import annotations

import pytest

from songforge.engine.lyrics import (
    INSTRUMENTAL_KINDS,
    SECTION_KINDS,
    detect_language,
    parse_lyrics,
    spell_syllables,
    syllabify,
    syllabify_lines,
)
from songforge.engine.voice.festival import festival_available
from songforge.errors import InvalidRequest

needs_festival = pytest.mark.skipif(not festival_available(), reason="Festival is not installed")

SHEET = """\
Title: Paper Moon
[Intro]
[Verse 1]
Paper moon above the water
Shining on the sand
[Pre-Chorus]
Hold on
(Chorus)
We will rise again
[prechorus]
Hold on tighter
Verse 2:
Every city sleeps tonight
[CHORUS]
[Post Chorus]
Oh oh oh
[Guitar Solo]
[Bridge]
Nothing lasts forever
[Instrumental]
[Build-Up]
Higher
[Hook]
Hey hey
[Break]
[Interlude]
[Transition]
[Whispered]
[Outro]
Paper moon goodbye
"""


def test_tags_map_to_canonical_kinds_with_numbering_and_variants():
    lyr = parse_lyrics(SHEET)
    assert lyr.title == "Paper Moon"
    kinds = [s.kind for s in lyr.sections]
    assert kinds == [
        "intro", "verse", "pre_chorus", "chorus", "pre_chorus", "verse", "chorus", "post_chorus",
        "solo", "bridge", "inst", "build_up", "hook", "break", "interlude", "transition", "outro",
    ]
    assert set(kinds) <= set(SECTION_KINDS)
    names = [s.name for s in lyr.sections]
    assert len(names) == len(set(names))
    assert names[:3] == ["intro", "verse 1", "pre chorus 1"]
    verse2 = lyr.sections[5]
    assert verse2.lines == ("Every city sleeps tonight",)


def test_instrumental_sections_and_repeated_chorus():
    lyr = parse_lyrics(SHEET)
    by_kind = {}
    for s in lyr.sections:
        by_kind.setdefault(s.kind, []).append(s)
    assert by_kind["intro"][0].instrumental and by_kind["intro"][0].lines == ()
    for kind in INSTRUMENTAL_KINDS:
        assert all(s.instrumental and not s.lines for s in by_kind[kind])
    # an empty [CHORUS] repeats the chorus sung before it
    assert by_kind["chorus"][1].lines == ("We will rise again",)
    assert not by_kind["outro"][0].instrumental
    assert by_kind["outro"][0].lines == ("Paper moon goodbye",)


def test_untagged_lines_become_a_verse_and_lines_after_a_solo_start_one():
    lyr = parse_lyrics("first line here\nsecond line\n\n[Solo]\nthird line")
    assert [(s.kind, s.lines) for s in lyr.sections] == [
        ("verse", ("first line here", "second line")),
        ("solo", ()),
        ("verse", ("third line",)),
    ]
    assert lyr.lines == ["first line here", "second line", "third line"]


def test_colon_tag_with_text_on_the_same_line_and_lyric_parentheses_kept():
    lyr = parse_lyrics("Chorus: la la love\n(ooh yeah)\nVerse 2:\nhello: world")
    assert lyr.sections[0].kind == "chorus"
    assert lyr.sections[0].lines == ("la la love", "(ooh yeah)")
    assert lyr.sections[1].lines == ("hello: world",)


def test_languages_per_line():
    lyr = parse_lyrics("[Verse]\n月亮代表我的心\nthe moon is mine\n我爱你 baby")
    assert lyr.sections[0].languages == ("zh", "en", "zh")
    assert detect_language("Naïve café") == "en"


@pytest.mark.parametrize("text", ["", "   \n", "[Intro]\n[Chorus]\n[Outro]", "[Solo]\n[Inst]"])
def test_nothing_to_sing_is_an_invalid_request(text):
    with pytest.raises(InvalidRequest) as err:
        parse_lyrics(text)
    assert err.value.field == "lyrics"


@pytest.mark.parametrize("line", ["Привет мир", "مرحبا بالعالم", "hello κόσμε"])
def test_unsingable_scripts_are_rejected(line):
    with pytest.raises(InvalidRequest) as err:
        parse_lyrics(f"[Verse]\n{line}")
    assert err.value.field == "lyrics"


def test_spelling_splits_concatenate_back():
    assert spell_syllables("beautiful", 3) == ("beau", "ti", "ful")
    for word, n in [("straightforward", 3), ("chocolate", 2), ("rhythm", 2), ("a", 1)]:
        assert "".join(spell_syllables(word, n)) == word
        assert len(spell_syllables(word, n)) == n


@needs_festival
def test_syllable_counts_come_from_festivals_lexicon():
    words = syllabify("The beautiful fire, don't 21!", language="en")
    counts = {w.text: len(w.syllables) for w in words}
    assert counts["The"] == 1
    assert counts["beautiful"] == 3
    assert counts["fire"] == 2  # Festival's lexicon: f ay / er
    assert counts["don't"] == 1
    assert counts["21"] == 3 and words[-1].syllables == ("twen", "ty", "one")
    assert all(len(w.syllables) == len(w.stresses) for w in words)
    assert words[1].stresses == (1, 0, 0)


@needs_festival
def test_batch_syllabify_matches_single_lines_and_chinese_is_per_character():
    lines = ["hello world", "我爱你", "xyzzy plonk"]
    batch = syllabify_lines(lines)
    assert batch[0] == syllabify("hello world")
    assert [w.syllables for w in batch[1]] == [("我",), ("爱",), ("你",)]
    assert sum(len(w.syllables) for w in batch[2]) >= 2  # unknown words go through LTS rules
