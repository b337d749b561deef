"""The whole pipeline on the tiny preset: reproducibility, streaming, exports, instruments."""

from __future__ import annotations

import io
import json

import pretty_midi
import pytest
import soundfile as sf

from songforge.engine.evaluate import evaluate_audio
from songforge.engine.song import make_song, write_exports
from songforge.models import SongRequest


def _song(prompt: str = "upbeat pop song with piano", **kwargs):
    kwargs.setdefault("duration_s", 12.0)
    kwargs.setdefault("seed", 3)
    kwargs.setdefault("format", "wav")
    return make_song(SongRequest(prompt=prompt, instrumental=True, **kwargs), preset="tiny")


@pytest.fixture(scope="module")
def pop_song():
    return _song()


def test_same_prompt_and_seed_give_identical_bytes(pop_song):
    assert _song().encoded == pop_song.encoded


def test_different_seeds_give_different_songs(pop_song):
    other = _song(seed=4)
    assert other.encoded != pop_song.encoded
    assert other.score != pop_song.score


def test_master_is_48k_stereo_at_target_loudness(pop_song):
    assert pop_song.sample_rate_hz == 48000 and pop_song.audio.shape[1] == 2
    report = evaluate_audio(pop_song.audio, sample_rate_hz=48000)
    assert abs(report["integrated_lufs"] + 14.0) <= 0.5
    assert report["true_peak_dbtp"] <= -1.0
    assert report["clipped_samples"] == 0


def test_wav_decodes_to_the_master_length(pop_song):
    audio, rate = sf.read(io.BytesIO(pop_song.encoded))
    assert rate == 48000 and audio.shape == pop_song.audio.shape
    assert 12.0 <= pop_song.duration_s <= 12.0 + 60.0 / pop_song.score.tempo_bpm * 4 + 3.0


@pytest.mark.parametrize("fmt", ["mp3", "wav", "pcm"])
def test_streamed_chunks_concatenate_to_the_file(fmt):
    chunks: list[bytes] = []
    song = make_song(
        SongRequest(prompt="chill lo-fi beat", instrumental=True, duration_s=30.0, seed=5, format=fmt),
        preset="tiny", on_chunk=chunks.append,
    )
    assert len(chunks) >= 2
    assert b"".join(chunks) == song.encoded


def test_progress_reports_every_stage_in_order():
    seen: list[str] = []
    make_song(SongRequest(prompt="rock", instrumental=True, duration_s=10.0, seed=1, format="wav"),
              preset="tiny", on_progress=lambda stage, _f: seen.append(stage))
    order = list(dict.fromkeys(seen))
    assert order == ["compose", "render", "mix", "encode"]


def test_named_instruments_are_played_and_excluded_ones_are_not():
    song = _song("folk song with harmonica and cello, no drums")
    midi = pretty_midi.PrettyMIDI(io.BytesIO(song.midi_bytes()))
    programs = {i.program for i in midi.instruments if not i.is_drum and i.notes}
    assert {22, 42} <= programs  # harmonica, cello
    assert not any(i.is_drum for i in midi.instruments)
    rock = _song("hard rock anthem without guitar")
    rock_programs = {i.program for i in pretty_midi.PrettyMIDI(io.BytesIO(rock.midi_bytes())).instruments}
    assert not rock_programs & set(range(24, 32))


def test_exports_stems_midi_and_plan(pop_song, tmp_path):
    paths = write_exports(pop_song, stems_dir=tmp_path / "stems", midi_path=tmp_path / "s.mid",
                          plan_path=tmp_path / "plan.json")
    stems = sorted((tmp_path / "stems").glob("*.wav"))
    assert {p.stem for p in stems} == {p.name for p in pop_song.score.parts}
    assert all(sf.info(str(p)).samplerate == 48000 and sf.info(str(p)).channels == 2 for p in stems)
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert {"genre", "tempo_bpm", "key", "sections", "instruments", "seed"} <= plan.keys()
    sections = plan["sections"]
    assert sections[0]["start_s"] == 0.0
    assert all(a["end_s"] == b["start_s"] for a, b in zip(sections, sections[1:], strict=False))
    assert pretty_midi.PrettyMIDI(str(tmp_path / "s.mid")).get_end_time() > 10.0
    assert len(paths) == len(stems) + 2
