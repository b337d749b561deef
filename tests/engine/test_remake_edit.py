"""Extend, replace a section, add vocals: the remake modes that edit a song in place."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from songforge.engine.compose._theory import scale_pcs
from songforge.engine.encode import encode
from songforge.engine.remake import ReferenceAudio, ResolvedReference, make_from_reference
from songforge.engine.remake._common import (
    analysis_of_score,
    crossfade_join,
    master_from_flac,
    master_to_flac,
    quantize_24bit,
    recompose,
)
from songforge.engine.song import make_song
from songforge.errors import InvalidRequest
from songforge.models import Reference, SongRequest

RATE = 48000


@pytest.fixture(scope="module")
def source():
    """A 16 s instrumental of ours (tiny preset) as the pipeline resolves it."""
    request = SongRequest(prompt="bright pop with piano, bass and drums", instrumental=True, duration_s=16.0,
                          seed=11, format="wav")
    song = make_song(request, preset="tiny")
    made = song.request.with_(seed=song.seed)
    analysis = analysis_of_score(song.score, duration_s=song.duration_s)
    return song, ReferenceAudio(song.audio, RATE, analysis, made)


def _resolved(spec: Reference, ref: ReferenceAudio, *, as_instrumental: bool = False) -> ResolvedReference:
    if as_instrumental:
        return ResolvedReference(spec, instrumental=ref)
    return ResolvedReference(spec, source=ref)


def _max_jump(x: np.ndarray) -> float:
    return float(np.max(np.abs(np.diff(x.astype(np.float64), axis=0)))) if x.shape[0] > 1 else 0.0


def _assert_smooth_seam(audio: np.ndarray, seam: int, *, around_s: float = 1.0, seam_ms: float = 60.0) -> None:
    """No click: the largest sample-to-sample step within ``seam_ms`` of the seam is no larger
    than the largest step in the second of audio on either side of it."""
    half, ctx = int(seam_ms / 1000 * RATE), int(around_s * RATE)
    seam_jump = _max_jump(audio[seam - half:seam + half])
    context = np.concatenate([audio[max(0, seam - half - ctx):seam - half], audio[seam + half:seam + half + ctx]])
    assert seam_jump <= _max_jump(context) + 1e-6


def _in_key(pitches: list[int], *, tonic_pc: int, mode: str) -> float:
    scale = set(scale_pcs(tonic_pc, mode))
    return sum(p % 12 in scale for p in pitches) / max(1, len(pitches))


# --------------------------------------------------------------------------- helpers (fast)


def test_stored_master_is_bit_exact() -> None:
    rng = np.random.default_rng(0)
    audio = quantize_24bit(rng.uniform(-0.9, 0.9, size=(4800, 2)))
    assert np.array_equal(master_from_flac(master_to_flac(audio)), audio)
    assert np.array_equal(quantize_24bit(audio), audio)  # grid values pass unchanged


def test_crossfade_join_keeps_the_part_before() -> None:
    t = np.arange(RATE) / RATE
    a = np.stack([np.sin(2 * np.pi * 220 * t)] * 2, axis=1).astype(np.float32)
    b = np.stack([np.sin(2 * np.pi * 330 * t + 1.0)] * 2, axis=1).astype(np.float32)
    out = crossfade_join(a, b, at=24000, fade_n=2400)
    assert np.array_equal(out[:24000], a[:24000]) and np.array_equal(out[26400:], b[26400:])
    _assert_smooth_seam(out, 24000, around_s=0.4)


def test_recompose_gives_the_source_score(source) -> None:
    song, ref = source
    assert recompose(ref.request).score == song.score


@pytest.mark.parametrize("window", [(-1.0, 3.0), (5.0, 4.0), (5.0, 99.0), (5.0, 5.5)])
def test_replace_rejects_a_bad_window(source, window) -> None:
    _, ref = source
    spec = Reference(mode="replace_section", source_job_id="j", infill_start_s=window[0], infill_end_s=window[1])
    with pytest.raises(InvalidRequest) as info:
        make_from_reference(SongRequest(reference=spec, seed=1), _resolved(spec, ref), preset="tiny")
    assert info.value.field.startswith("reference.infill") and info.value.limit


@pytest.mark.parametrize("at_s", [0.0, -2.0, "end", 400.0, None])
def test_extend_rejects_continue_at_outside_the_song(source, at_s) -> None:
    _, ref = source
    at_s = ref.audio.shape[0] / RATE if at_s == "end" else at_s
    spec = Reference(mode="extend", source_job_id="j", continue_at_s=at_s)
    with pytest.raises(InvalidRequest) as info:
        make_from_reference(SongRequest(reference=spec, seed=1), _resolved(spec, ref), preset="tiny")
    assert info.value.field == "reference.continue_at_s" and "continue_at_s <" in str(info.value.limit)


# --------------------------------------------------------------------------- renders (heavy)


@pytest.mark.heavy
def test_replace_section_changes_only_the_window(source) -> None:
    _, ref = source
    start_s, end_s = 5.0, 9.5
    spec = Reference(mode="replace_section", source_job_id="j", infill_start_s=start_s, infill_end_s=end_s)
    stages: list[str] = []
    result = make_from_reference(SongRequest(reference=spec, seed=5, format="wav"), _resolved(spec, ref),
                                 preset="tiny", on_progress=lambda stage, _: stages.append(stage))
    a, b = int(start_s * RATE), int(end_s * RATE)
    out, src = result.audio, ref.audio
    assert out.shape == src.shape
    assert np.array_equal(out[:a], src[:a]) and np.array_equal(out[b:], src[b:])
    delivered, rate = sf.read(io.BytesIO(result.encoded), dtype="int16", always_2d=True)
    original, _ = sf.read(io.BytesIO(encode(src, sample_rate_hz=RATE, format="wav")), dtype="int16", always_2d=True)
    assert rate == RATE and np.array_equal(delivered[:a], original[:a]) and np.array_equal(delivered[b:], original[b:])
    change = np.sqrt(np.mean((out[a:b] - src[a:b]) ** 2)) / np.sqrt(np.mean(src[a:b] ** 2))
    assert change > 0.2  # the window really is new material
    _assert_smooth_seam(out, a + int(0.015 * RATE))
    _assert_smooth_seam(out, b - int(0.015 * RATE))
    assert {"compose", "render", "mix", "encode"} <= set(stages)
    assert result.score.tempo_bpm == ref.analysis.tempo_bpm and result.seed == 5


@pytest.mark.heavy
def test_extend_continues_in_key_and_tempo(source) -> None:
    song, ref = source
    spec = Reference(mode="extend", source_job_id="j", continue_at_s=9.0)
    result = make_from_reference(SongRequest(reference=spec, seed=8, duration_s=12.0, format="wav"),
                                 _resolved(spec, ref), preset="tiny")
    score = result.score
    bar_s = score.beats_to_seconds(score.beats_per_bar)
    join_s = min((round(9.0 / bar_s) * bar_s, ), key=lambda t: abs(t - 9.0))
    join = round(join_s * RATE) - int(0.05 * RATE)
    assert np.array_equal(result.audio[:join], ref.audio[:join])
    assert result.duration_s > join_s + 11.0
    assert (score.tempo_bpm, score.tonic_pc, score.mode) == (song.score.tempo_bpm, song.score.tonic_pc,
                                                              song.score.mode)
    at_beat = score.seconds_to_beats(join_s)
    new = [n.pitch for p in score.parts if not p.is_drum for n in p.notes if n.start_beat >= at_beat]
    assert new and _in_key(new, tonic_pc=score.tonic_pc, mode=score.mode) >= 0.9
    assert any(s.name.startswith("ext ") for s in score.sections)
    _assert_smooth_seam(result.audio, join + int(0.025 * RATE))


@pytest.mark.heavy
def test_add_vocals_sings_in_the_instrumentals_key_and_grid(source) -> None:
    song, ref = source
    instrumental = ReferenceAudio(ref.audio, RATE, ref.analysis)  # as an upload: no request
    spec = Reference(mode="add_vocals", instrumental_id="instrumental-" + "0" * 32)
    lyrics = "[Verse]\nWe walk along the river\nThe evening light is gold\n[Chorus]\nSing it out tonight\n"
    result = make_from_reference(SongRequest(reference=spec, lyrics=lyrics, seed=4, format="wav", want_timings=True),
                                 _resolved(spec, instrumental, as_instrumental=True), preset="tiny")
    analysis = ref.analysis
    notes = result.score.part("vocals").notes
    assert len(notes) >= 10
    assert _in_key([n.pitch for n in notes], tonic_pc=analysis.key_tonic_pc, mode=analysis.key_mode) >= 0.9
    beat_s = 60.0 / analysis.tempo_bpm
    steps = [(result.score.beats_to_seconds(n.start_beat) - analysis.beats_s[0]) / beat_s * 4 for n in notes]
    assert max(abs(x - round(x)) for x in steps) < 1e-3  # every onset on a 16th of the beat grid
    assert result.audio.shape == ref.audio.shape
    vocals, backing = result.stems["vocals"], result.stems["instrumental"]
    assert np.sqrt(np.mean(vocals ** 2)) > 1e-3
    corr = np.corrcoef(backing[:, 0], ref.audio[:, 0])[0, 1]
    assert corr > 0.999  # the instrumental is kept as it was
    mix_corr = np.corrcoef(result.audio[:, 0], ref.audio[:, 0])[0, 1]
    assert mix_corr > 0.5 and result.timings_json and "river" in result.timings_json
