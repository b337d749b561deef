"""Rendering scores to stems with FluidSynth (TimGM6mb, short synthetic scores)."""

from __future__ import annotations

import numpy as np
import pytest

from songforge.engine.presets import get_preset, soundfont_path
from songforge.engine.render import (
    prepare_synths,
    release_soundfonts,
    render_stems,
    render_stems_iter,
)
from songforge.engine.score import Note, Part, Score, Section
from songforge.errors import InvalidRequest, MissingDependency

SR = 48000
SOUNDFONT = "timgm6mb"


def _have_soundfont() -> bool:
    try:
        soundfont_path(SOUNDFONT)
    except MissingDependency:
        return False
    return True


needs_soundfont = pytest.mark.skipif(
    not _have_soundfont(), reason="apt-get install timgm6mb-soundfont"
)


def _score(parts: tuple[Part, ...], *, bars: int = 2, tempo_bpm: float = 120.0) -> Score:
    sections = tuple(Section(f"s{i}", "verse", 4.0 * i, 4.0) for i in range(bars))
    return Score(
        tempo_bpm=tempo_bpm, meter=(4, 4), tonic_pc=0, mode="major", sections=sections, parts=parts
    )


def _band() -> Score:
    arpeggio = tuple(
        Note(p, 0.5 * i, 0.5, 90) for i, p in enumerate([60, 64, 67, 72, 67, 64, 60, 64] * 2)
    )
    bass = tuple(Note(36, float(b), 1.0, 100) for b in range(8))
    drums = tuple(Note(36 if b % 2 == 0 else 38, float(b), 0.25, 110) for b in range(8))
    return _score(
        (
            Part("piano", "chords", 0, arpeggio, pan=-0.8),
            Part("bass", "bass", 33, bass, pan=0.0),
            Part("drums", "drums", 0, drums, is_drum=True),
        )
    )


@pytest.fixture(scope="module")
def band_stems() -> dict[str, np.ndarray]:
    return render_stems(_band(), sample_rate_hz=SR, soundfont=SOUNDFONT, tail_s=1.0)


@needs_soundfont
def test_stems_shape_and_levels(band_stems: dict[str, np.ndarray]) -> None:
    score = _band()
    n = round((score.duration_s + 1.0) * SR)
    assert list(band_stems) == ["piano", "bass", "drums"]
    for name, stem in band_stems.items():
        assert stem.dtype == np.float32 and stem.shape == (n, 2), name
        assert np.sqrt(np.mean(stem**2)) > 1e-3, f"{name} is silent"


@needs_soundfont
def test_pan_left_part_is_louder_on_the_left(band_stems: dict[str, np.ndarray]) -> None:
    piano = band_stems["piano"]
    left, right = np.sqrt(np.mean(piano**2, axis=0))
    assert left > 2.0 * right


@needs_soundfont
def test_deterministic(band_stems: dict[str, np.ndarray]) -> None:
    again = render_stems(_band(), sample_rate_hz=SR, soundfont=SOUNDFONT, tail_s=1.0, max_workers=1)
    for name in band_stems:
        assert np.array_equal(again[name], band_stems[name]), name


@needs_soundfont
def test_release_soundfonts_then_render_again(band_stems: dict[str, np.ndarray]) -> None:
    release_soundfonts()
    again = render_stems(_band(), sample_rate_hz=SR, soundfont=SOUNDFONT, tail_s=1.0)
    assert all(np.array_equal(again[name], band_stems[name]) for name in band_stems)


@needs_soundfont
def test_prepared_synths_render_what_new_ones_do(band_stems: dict[str, np.ndarray]) -> None:
    """Synths prepared ahead of a render (a worker's warm-up) give exactly the samples of synths
    made for it; a render takes them (none are left) and played synths are not kept."""
    from songforge.engine import render

    release_soundfonts()
    assert prepare_synths(SOUNDFONT, sample_rate_hz=SR, count=2) == 2
    assert prepare_synths(SOUNDFONT, sample_rate_hz=SR, count=2) == 0
    prepared = render_stems(_band(), sample_rate_hz=SR, soundfont=SOUNDFONT, tail_s=1.0)
    assert not any(render._SPARES.values())
    for name in band_stems:
        assert np.array_equal(prepared[name], band_stems[name]), name


@needs_soundfont
def test_iter_chunks_concatenate_to_whole(band_stems: dict[str, np.ndarray]) -> None:
    chunks: dict[str, list[np.ndarray]] = {}
    indices = []
    for index, pieces in render_stems_iter(
        _band(), sample_rate_hz=SR, soundfont=SOUNDFONT, tail_s=1.0
    ):
        indices.append(index)
        for name, chunk in pieces.items():
            chunks.setdefault(name, []).append(chunk)
    assert indices == [0, 1]
    assert chunks["piano"][0].shape[0] == 2 * SR  # one 4/4 bar at 120 BPM
    for name, stem in band_stems.items():
        assert np.array_equal(np.concatenate(chunks[name]), stem), name


@needs_soundfont
def test_a4_piano_pitch_within_20_cents() -> None:
    import librosa

    score = _score((Part("piano", "lead", 0, (Note(69, 0.0, 2.0, 100),)),), bars=1)
    stem = render_stems(score, sample_rate_hz=SR, soundfont=SOUNDFONT, tail_s=0.0)["piano"]
    y = stem[int(0.1 * SR) : int(0.9 * SR)].mean(axis=1)
    f0 = librosa.yin(y, fmin=200, fmax=1000, sr=SR, frame_length=4096)
    cents = 1200 * np.log2(np.median(f0) / 440.0)
    assert abs(cents) < 20


@needs_soundfont
@pytest.mark.parametrize("start_beat", [1.0, 1.03])
def test_note_onset_timing(start_beat: float) -> None:
    score = _score((Part("piano", "lead", 0, (Note(60, start_beat, 0.5, 110),)),), bars=1)
    stem = render_stems(score, sample_rate_hz=SR, soundfont=SOUNDFONT, tail_s=0.0)["piano"]
    onset = int(np.flatnonzero(stem[:, 0])[0])
    assert (
        0 <= onset - round(start_beat * 0.5 * SR) <= 64
    )  # FluidSynth applies events on 64-sample blocks


def test_missing_soundfont_raises_with_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    import songforge.engine.presets as presets

    monkeypatch.setattr(presets, "_SYSTEM_DIRS", (tmp_path,))
    with pytest.raises(MissingDependency, match="apt-get install fluid-soundfont-gm"):
        soundfont_path("fluidr3")
    with pytest.raises(MissingDependency):
        soundfont_path(tmp_path / "nope.sf2")


def test_soundfont_dir_env_and_direct_path(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    target = tmp_path / "TimGM6mb.sf2"
    target.write_bytes(b"x")
    monkeypatch.setenv("SONGFORGE_SOUNDFONT_DIR", str(tmp_path))
    assert soundfont_path("timgm6mb") == target
    assert soundfont_path(str(target)) == target


def test_presets() -> None:
    assert get_preset("tiny").soundfont == "timgm6mb"
    assert get_preset().soundfont == "fluidr3"
    with pytest.raises(InvalidRequest):
        get_preset("huge")
