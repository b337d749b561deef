"""Cover and add_instrumental: a rendered song's melody kept in a new style; a band under a vocal."""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import numpy as np
import pytest

from songforge.engine.compose import compose_song
from songforge.engine.compose._theory import chord_tones, scale_pcs
from songforge.engine.lyrics import parse_lyrics
from songforge.engine.plan import plan_song
from songforge.engine.remake import ResolvedReference, add_instrumental, cover
from songforge.engine.remake.follow import BeatGrid, reference_sections
from songforge.engine.remake.similarity import SAME_TUNE_F1, lead_similarity
from songforge.engine.song import make_song
from songforge.errors import InvalidRequest
from songforge.models import Reference, SongRequest
from tests.engine._reference import analysis_of, resolved

SHEET = "[Verse]\nthe river runs across the silver valley\nand every morning light comes back to me\n" \
        "[Chorus]\nwe walk along the open road tonight\nand sing until the stars are gone"


@pytest.fixture(scope="module")
def source():
    return make_song(SongRequest(prompt="upbeat pop song with piano", duration_s=25, seed=3, format="wav"),
                     preset="tiny")


def _unrelated_lines(n: int = 6):
    lyrics = parse_lyrics(SHEET)
    out = []
    for seed, prompt in zip(range(n), ("pop", "rock", "folk", "jazz", "country", "rnb"), strict=False):
        plan = plan_song(SongRequest(prompt=prompt, lyrics=SHEET, seed=seed), seed=seed)
        _, vocal = compose_song(plan, lyrics=lyrics)
        assert vocal is not None
        out.append(list(vocal.notes))
    return out


def test_similarity_threshold_separates_unrelated_songs(source):
    lines = _unrelated_lines()
    unrelated = [lead_similarity(a, b) for a, b in combinations(lines, 2)]
    unrelated += [lead_similarity(source.score.part("vocals").notes, b) for b in lines]
    assert max(unrelated) < SAME_TUNE_F1, unrelated


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_audio_weight_is_monotonic_in_similarity(source, seed):
    analysis = analysis_of(source)
    grid = BeatGrid.from_analysis(analysis)
    sections = reference_sections(analysis, grid, bar_beats=float(analysis.meter))
    plan = cover.cover_plan(SongRequest(prompt="jazz", seed=seed), analysis, seed=seed, audio_weight=1.0)
    original = source.score.part("vocals").notes
    sims = [lead_similarity(original, cover.cover_melody(analysis, grid, sections, plan=plan, audio_weight=w,
                                                        rng=np.random.default_rng(seed)))
            for w in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert sims[-1] == 1.0
    assert all(b >= a - 1e-9 for a, b in zip(sims, sims[1:], strict=False)), sims
    assert sims[0] < SAME_TUNE_F1 <= sims[3]


def test_cover_tempo_mapping():
    assert cover.cover_tempo_bpm(120, 80, audio_weight=1.0) == pytest.approx(120)
    assert cover.cover_tempo_bpm(120, 80, audio_weight=0.0) == pytest.approx(80)
    assert 80 < cover.cover_tempo_bpm(120, 80, audio_weight=0.5) < 120


@pytest.mark.heavy
def test_cover_keeps_melody_and_lyrics_while_instrumentation_changes(source):
    song = cover.make(SongRequest(prompt="slow country ballad with fiddle, male vocals", seed=5, format="wav"),
                      resolved("cover", source=source, audio_weight=1.0), preset="tiny")
    assert lead_similarity(source.score.part("vocals").notes, song.score.part("vocals").notes) == 1.0
    assert song.score.tempo_bpm == pytest.approx(source.score.tempo_bpm)
    assert song.score.key_name == source.score.key_name
    assert [s.start_beat for s in song.score.sections] == [s.start_beat for s in source.score.sections]
    band = {p.program for p in song.score.parts if p.role not in ("vocal", "drums")}
    before = {p.program for p in source.score.parts if p.role not in ("vocal", "drums")}
    assert len(band - before) >= 2, (band, before)
    sung = " ".join(line.text for line in song.lines or ()).lower().split()
    original = " ".join(line.text for line in source.lines or ()).lower().split()
    assert sung == original
    assert song.audio.shape[1] == 2 and np.isfinite(song.audio).all() and np.abs(song.audio).max() > 0.1
    assert song.dry_vocals is not None and np.abs(song.dry_vocals).max() > 0.05


def test_cover_needs_a_source():
    spec = ResolvedReference(Reference(mode="cover", audio_id="0" * 32))  # the id resolved to no audio
    with pytest.raises(InvalidRequest) as err:
        cover.make(SongRequest(prompt="rock", seed=1), spec, preset="tiny")
    assert err.value.field == "reference.audio_id"


@pytest.mark.heavy
def test_add_instrumental_follows_the_vocal(source):
    vocal_only = replace(source, audio=source.dry_vocals)
    song = add_instrumental.make(SongRequest(prompt="funky rnb with electric piano", seed=4, format="wav"),
                                 resolved("add_instrumental", source=vocal_only), preset="tiny")
    assert song.score.tempo_bpm == pytest.approx(source.score.tempo_bpm)
    assert song.score.key_name == source.score.key_name
    assert "vocals" in song.stems and not any(p.role == "lead" for p in song.score.parts)
    chords = [c for s in song.score.sections for c in s.chords]
    melody = source.score.part("vocals").notes
    scale = set(scale_pcs(song.score.tonic_pc, song.score.mode))
    fits = 0.0
    for n in melody:
        chord = next(c for c in chords if c.start_beat <= n.start_beat < c.start_beat + c.duration_beats)
        fits += n.duration_beats * (n.pitch % 12 in chord_tones(chord) or n.pitch % 12 in scale)
    assert fits / sum(n.duration_beats for n in melody) >= 0.9
    on_chord = sum(n.duration_beats for n in melody
                   if n.pitch % 12 in chord_tones(next(c for c in chords
                                                       if c.start_beat <= n.start_beat < c.start_beat + c.duration_beats)))
    assert on_chord / sum(n.duration_beats for n in melody) >= 0.6
