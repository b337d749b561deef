"""The planner and the genre presets: styles validate, prompts are read, plans are reproducible."""

from __future__ import annotations

import re

import pytest

from songforge.engine.instruments import ROLES, find_instruments, lexicon, lookup
from songforge.engine.plan import (
    MOODS,
    SongPlan,
    describe_plan,
    detect_genre,
    plan_song,
    style_tags,
)
from songforge.engine.styles import DRUM_LANES, all_styles, load_style, steps_for_meter, style_names
from songforge.models import SongRequest

GENRES = {
    "pop", "rock", "folk", "country", "electronic", "hiphop", "rnb", "jazz", "lofi", "ballad",
    "cinematic", "reggae", "latin", "metal",
}
SECTIONS = ("intro", "verse", "pre_chorus", "chorus", "bridge", "outro")
NUMERAL = r"[b#]?(?:VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)"
CHORD = re.compile(rf"^{NUMERAL}[o+]?(?:maj7|7|9|sus2|sus4|add9|6)?(?:/{NUMERAL})?(?::\d+)?$")
KITS = {0, 8, 16, 24, 25, 32, 40, 48}  # drum kits both shipped SoundFonts have
GUITARS = set(range(24, 32))


def plan(prompt: str, seed: int = 7, **kw) -> SongPlan:
    return plan_song(SongRequest(prompt=prompt, **kw), seed=seed)


def melodic(p: SongPlan) -> list[int]:
    return [prog for role, prog in p.instruments if role != "drums"]


# --------------------------------------------------------------------------- styles


def test_fourteen_styles_ship():
    assert set(style_names()) == GENRES


@pytest.mark.parametrize("style", all_styles(), ids=lambda s: s.name)
def test_style_header(style):
    assert style.description.lower().startswith((style.name, style.label.lower()))
    assert 30 <= style.tempo_bpm[0] < style.tempo_bpm[1] <= 220
    assert style.meters[0] == (4, 4)
    assert all(m in {(4, 4), (3, 4), (6, 8)} for m in style.meters)
    assert 0 <= style.minor_probability <= 1 and 0 <= style.energy <= 1 and 0 <= style.swing <= 0.33
    assert style.vocal_gender in {"female", "male"}
    assert style.keywords and all(k == k.lower() for k in style.keywords)


@pytest.mark.parametrize("style", all_styles(), ids=lambda s: s.name)
def test_style_progressions_parse_and_centre_on_the_tonic(style):
    for mode, tonic in (("major", "I"), ("minor", "i")):
        is_tonic = re.compile(rf"^{tonic}(?:maj7|7|9|6|add9|sus2|sus4)?(?::\d+)?$").match
        for kind in SECTIONS:
            progressions = style.progressions[mode][kind]
            assert progressions, (mode, kind)
            for prog in progressions:
                assert 3 <= len(prog) <= 8
                assert all(CHORD.match(ch) for ch in prog), prog
        home = [p for k in ("verse", "chorus") for p in style.progressions[mode][k]]
        assert sum(any(is_tonic(c) for c in p) for p in home) > len(home) / 2
        assert all(any(is_tonic(c) for c in p) for p in style.progressions[mode]["outro"])


@pytest.mark.parametrize("style", all_styles(), ids=lambda s: s.name)
def test_style_grids_fit_their_meters(style):
    triple = any(m in {(3, 4), (6, 8)} for m in style.meters)
    assert bool(style.drums_triple) == triple and bool(style.bass_triple) == triple
    assert style.drums["kit"] in KITS
    tables = [(style.drums, 16)] + ([(style.drums_triple, 12)] if triple else [])
    for table, steps in tables:
        for kind in SECTIONS:
            lanes = {k: v for k, v in table[kind].items() if k != "kit"}
            assert lanes and set(lanes) <= set(DRUM_LANES), (kind, lanes)
            for grid in lanes.values():
                assert len(grid) == steps and set(grid) <= set("xo.-"), (kind, grid)
    for patterns, steps in ((style.bass["patterns"], 16), (style.bass_triple, 12)):
        assert all(len(p) == steps and set(p) <= set("R3578a-") and p[:1] != "" for p in patterns)


@pytest.mark.parametrize("style", all_styles(), ids=lambda s: s.name)
def test_style_palette(style):
    assert set(style.instruments) <= set(ROLES) - {"drums"}
    assert style.instruments["bass"] and style.instruments["chords"]
    assert all(0 <= p <= 127 for progs in style.instruments.values() for p in progs)


@pytest.mark.parametrize("meter", [(4, 4), (3, 4), (6, 8), (12, 8)])
def test_patterns_for_meter_have_one_bar_of_steps(meter):
    steps = steps_for_meter(meter)
    assert steps == {(4, 4): 16, (3, 4): 12, (6, 8): 12, (12, 8): 24}[meter]
    for style in all_styles():
        for kind in SECTIONS:
            assert all(len(g) == steps for g in style.drum_pattern_for(meter, kind).values())
        assert all(len(p) == steps for p in style.bass_patterns_for(meter))


def test_triple_meter_uses_the_triple_table():
    jazz = load_style("jazz")
    assert jazz.drum_pattern_for((3, 4), "verse") == jazz.drums_triple["verse"]
    assert jazz.bass_patterns_for((3, 4)) == jazz.bass_triple


# --------------------------------------------------------------------------- genre


@pytest.mark.parametrize("style", all_styles(), ids=lambda s: s.name)
def test_every_keyword_selects_its_own_style(style):
    for keyword in style.keywords:
        assert detect_genre(f"make me a {keyword} song") == style.name, keyword


@pytest.mark.parametrize(
    ("prompt", "genre"),
    [
        ("an upbeat k-pop anthem", "pop"),
        ("classic rock with a guitar solo", "rock"),
        ("an indie folk tune", "folk"),
        ("nashville country about a pickup truck", "country"),
        ("a dubstep drop", "electronic"),
        ("boom bap with vinyl scratches", "hiphop"),
        ("neo-soul groove", "rnb"),
        ("bebop quartet", "jazz"),
        ("lo-fi hip hop beat to study to", "lofi"),  # longest keyword beats "hip hop"
        ("a power ballad", "ballad"),
        ("epic orchestral trailer music", "cinematic"),
        ("roots reggae one drop", "reggae"),
        ("reggaeton party", "latin"),  # not reggae
        ("bossa nova by the beach", "latin"),
        ("pop punk", "metal"),  # not pop
        ("blues rock", "rock"),
    ],
)
def test_prompt_keyword_picks_genre(prompt, genre):
    assert plan(prompt).genre == genre


@pytest.mark.parametrize(
    ("prompt", "genres"),
    [
        ("music for a rainy night in a smoky bar", {"jazz", "lofi"}),
        ("heroic music for a fantasy film battle", {"cinematic"}),
        ("loud distorted riffs and screaming", {"metal"}),
        ("a slow tearful song for a lonely evening", {"ballad"}),
        ("sunny beach vibes in Kingston with offbeat guitar", {"reggae"}),
    ],
)
def test_embedding_fallback_without_keywords(prompt, genres):
    assert detect_genre(prompt) is None
    assert plan(prompt).genre in genres


def test_negated_genre_is_never_chosen():
    assert plan("guitar music, not rock").genre != "rock"
    assert plan("rock", negative_prompt="rock").genre != "rock"


# --------------------------------------------------------------------------- tempo, key, meter, mood


@pytest.mark.parametrize(("prompt", "bpm"), [("a pop song at 90 bpm", 90), ("tempo 140 rock", 140),
                                            ("jazz, bpm: 203", 203), ("metal 300 bpm", 220),
                                            ("ballad at 12 bpm", 30)])
def test_explicit_tempo(prompt, bpm):
    assert plan(prompt).tempo_bpm == bpm


@pytest.mark.parametrize("genre", ["pop", "metal", "ballad", "jazz"])
@pytest.mark.parametrize("seed", [0, 1])
def test_tempo_words_order(genre, seed):
    slow, plain, fast = (plan(f"{w} {genre} song", seed).tempo_bpm for w in ("slow", "", "fast"))
    assert 30 <= slow < fast <= 220
    assert plan(f"slower {genre} song", seed).tempo_bpm < plain


def test_tempo_stays_in_style_range_by_default():
    for seed in range(10):
        p = plan("a pop song", seed)
        lo, hi = load_style("pop").tempo_bpm
        assert lo <= p.tempo_bpm <= hi


@pytest.mark.parametrize(
    ("prompt", "tonic", "mode"),
    [("a song in D minor", 2, "minor"), ("key of F# pop", 6, None), ("Bb major ballad", 10, "major"),
     ("jazz in Eb", 3, None), ("rock in Em", 4, "minor"), ("folk in c sharp minor", 1, "minor")],
)
def test_explicit_key(prompt, tonic, mode):
    p = plan(prompt)
    assert p.tonic_pc == tonic
    if mode:
        assert p.mode == mode


def test_article_a_is_not_a_key():
    keys = {plan("a song in a minor key", seed).tonic_pc for seed in range(8)}
    assert len(keys) > 1
    assert all(plan("a song in a minor key", seed).mode == "minor" for seed in range(4))


@pytest.mark.parametrize(("prompt", "meter"), [("a country waltz", (3, 4)), ("rock in 3/4", (3, 4)),
                                               ("a ballad in 6/8", (6, 8)), ("a jazz waltz", (3, 4))])
def test_explicit_meter(prompt, meter):
    assert plan(prompt).meter == meter


def test_meter_defaults_to_the_styles_first_and_weirdness_raises_the_others():
    plain = [plan("folk song", s, weirdness=0.0).meter for s in range(40)]
    weird = [plan("folk song", s, weirdness=1.0).meter for s in range(40)]
    assert plain.count((4, 4)) > weird.count((4, 4)) and plain.count((4, 4)) >= 34
    assert {m for m in weird} <= {(4, 4), (3, 4)}


def test_mood_mode_and_energy():
    for seed in range(4):
        assert plan("a sad melancholic pop song", seed).mode == "minor"
        assert plan("a happy joyful rock song", seed).mode == "major"
        assert plan("calm relaxed pop", seed).energy < plan("energetic intense pop", seed).energy
    assert plan("a dark brooding song").mood == "dark"
    assert plan("a not sad pop song").mood != "sad"
    assert plan("a song", negative_prompt="sad, dark").mood not in {"sad", "dark"}
    assert all(plan("ballad", s, negative_prompt="minor").mode == "major" for s in range(6))
    assert all(plan(p).mood in MOODS for p in ("pop", "metal", "lofi", "whatever"))


def test_compound_meter_tempo_is_a_dotted_quarter():
    p = plan("a ballad in 6/8", 3)
    lo, hi = load_style("ballad").tempo_bpm
    assert p.pulse_quarters == 1.5 and p.tempo_bpm < hi
    assert p.quarter_bpm == pytest.approx(p.tempo_bpm * 1.5)


# --------------------------------------------------------------------------- instruments


def test_named_instruments_are_present_and_requested():
    p = plan("a pop song with violin and cello and a flute")
    assert p.requested_programs == (40, 42, 73)
    assert set(p.requested_programs) <= {prog for _, prog in p.instruments}
    roles = {prog: role for role, prog in p.instruments}
    assert roles[40] != roles[42]  # two named instruments never fight over one role


def test_named_instrument_replaces_the_style_choice_for_its_role():
    p = plan("metal with an upright bass")
    assert dict(p.instruments)["bass"] == 32


def test_generic_word_keeps_the_genres_own_family_member():
    assert dict(plan("rock with guitar").instruments)["chords"] in {29, 30}
    assert dict(plan("folk with guitar").instruments)["chords"] in {24, 25}


@pytest.mark.parametrize("prompt", ["pop, no drums", "jazz without drums", "rock, drumless",
                                    "lofi without any percussion"])
def test_no_drums(prompt):
    p = plan(prompt)
    assert "drums" in p.excluded_roles
    assert all(role != "drums" for role, _ in p.instruments)


@pytest.mark.parametrize("genre", ["rock", "metal", "folk", "country", "latin", "pop"])
def test_negative_prompt_guitar_removes_every_guitar(genre):
    for seed in range(3):
        p = plan(f"{genre} song with electric guitar", seed, negative_prompt="guitar")
        assert not GUITARS & set(melodic(p))
        assert set(p.excluded_programs) >= GUITARS
        assert len(melodic(p)) >= 3


def test_without_a_list_of_instruments():
    p = plan("folk song without guitar or bass, happy")
    assert not GUITARS & set(melodic(p))
    assert "bass" in p.excluded_roles and "bass" not in dict(p.instruments)
    assert p.mood == "happy"  # the clause after "or bass" is not negated


def test_no_vocals_makes_it_instrumental():
    assert plan("chill lofi, no vocals").instrumental
    assert plan("pop song", negative_prompt="vocals").instrumental
    assert not plan("pop song").instrumental
    assert plan("pop song", instrumental=True).instrumental


def test_solo_instrument_prompt_keeps_only_that_instrument():
    assert plan("solo piano piece").instruments == (("chords", 0),)


def test_excluded_beats_requested_and_invariants_hold():
    prompts = ["pop with piano, strings and sax", "jazz trio with piano", "metal, no synth",
               "latin with trumpet and congas", "cinematic with choir and timpani",
               "hip hop with 808 and rhodes, no piano"]
    for prompt in prompts:
        p = plan(prompt, negative_prompt="piano")
        assert not set(range(0, 6)) & set(melodic(p))
        assert not set(p.excluded_programs) & set(melodic(p))
        assert set(p.requested_programs) <= set(melodic(p))
        assert all(role in ROLES for role, _ in p.instruments)


def test_style_weight_sticks_to_the_default_palette():
    style = load_style("pop")

    def defaults(weight: float) -> int:
        hits = 0
        for seed in range(20):
            chosen = dict(plan("pop", seed, style_weight=weight).instruments)
            hits += sum(chosen[r] == style.instruments[r][0] for r in style.instruments)
        return hits

    assert defaults(1.0) > defaults(0.0)


def test_instrument_lexicon():
    assert lookup("Acoustic Guitars").program == 25
    assert lookup("rhodes").program == 4 and lookup("wurlitzer").program == 4
    assert lookup("distorted guitar").program == 30 and lookup("overdriven guitar").program == 29
    assert lookup("double bass").program == 32 and lookup("synth bass").program == 38
    assert lookup("drums").role == "drums" and lookup("percussion").role == "drums"
    assert lookup("kalimba").program == 108 and lookup("steel drums").program == 114
    assert len(lexicon()) > 300
    found = [m.instrument.program for m in find_instruments("synth-pop with a French horn, tenor sax")]
    assert found == [60, 66]  # "synth-pop" is a genre, not a synth


# --------------------------------------------------------------------------- the rest of the plan


def test_determinism_and_seed_sensitivity():
    request = SongRequest(prompt="dreamy synthwave about neon city lights", negative_prompt="guitar")
    assert plan_song(request, seed=11) == plan_song(request, seed=11)
    plans = {plan_song(request, seed=s) for s in range(8)}
    assert len({(p.tempo_bpm, p.tonic_pc, p.instruments, p.title) for p in plans}) > 4


def test_duration_gender_and_vocal_range():
    assert plan("pop").duration_s == 60.0
    assert plan("pop", duration_s=95.0).duration_s == 95.0
    assert plan("metal").gender == "male" and plan("metal", gender="female").gender == "female"
    assert plan("pop song with a male singer").gender == "male"
    for seed in range(12):
        p = plan("pop", seed, gender="female")
        q = plan("pop", seed, gender="male")
        assert abs(p.vocal_range[0] - 53) <= 2 and p.vocal_range[1] - p.vocal_range[0] == 16
        assert abs(q.vocal_range[0] - 45) <= 2 and q.vocal_range[1] - q.vocal_range[0] == 19


def test_title():
    assert plan("a slow song about falling in love").title == "Falling in Love"
    assert plan("pop", title="My Title").title == "My Title"
    assert plan('a song called "Midnight Drive"').title == "Midnight Drive"
    assert plan("music for a rainy night in a smoky bar").title == "Rainy Night"
    assert all(plan("pop", s).title for s in range(5))


def test_tags_and_description():
    p = plan("an upbeat pop song", gender="female")
    assert style_tags(p) == "Pop, Upbeat, Female Vocals"
    assert style_tags(plan("dark techno", instrumental=True)) == "Electronic, Dark, Instrumental"
    line = describe_plan(p)
    assert "pop" in line and f"{p.tempo_bpm:g} BPM" in line and str(p.seed) in line


def test_lyrics_only_request_still_plans():
    p = plan_song(SongRequest(prompt="", lyrics="[Verse]\nI walk alone under city rain"), seed=2)
    assert p.genre in GENRES and p.prompt == ""
