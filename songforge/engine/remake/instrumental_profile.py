"""Instrumental profiles: what the composer follows from an uploaded instrumental.

:func:`instrumental_profile` takes the reference's analysis (tempo, key, meter, chords) and
measures two things in its audio:

* groove density: onsets per beat (librosa onset detection on the percussive part);
* palette: which General MIDI programs it sounds like. Each candidate of :data:`CANDIDATES`
  (one per family) is rendered with the engine's soundfont playing the reference's own chords;
  the palette is the candidates nearest the reference in timbre features (mean log-mel
  spectrum, its spread over time, attack strength), nearest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from songforge.engine.analyze import Analysis
from songforge.engine.compose._theory import chord_pcs
from songforge.engine.score import Chord, Note, Part, Score, Section

__all__ = ["InstrumentalProfile", "instrumental_profile", "CANDIDATES", "groove_density", "palette"]

CANDIDATES = (0, 4, 16, 24, 30, 48, 56, 65, 73, 81, 89)
"""GM programs the palette is matched against: piano, e-piano, organ, nylon guitar, distortion
guitar, strings, trumpet, alto sax, flute, saw lead, warm pad."""
_RATE_HZ = 22050


@dataclass(frozen=True)
class InstrumentalProfile:
    """Tempo (quarter notes per minute), key, meter (beats per bar), a chord cycle from beat 0,
    onsets per beat and the GM programs it sounds like, best first."""

    tempo_bpm: float
    tonic_pc: int
    mode: str
    meter: int
    progression: tuple[Chord, ...]
    onsets_per_beat: float
    programs: tuple[int, ...]

    @property
    def energy(self) -> float:
        """0-1 for the plan: a busier groove plays with more energy (4 onsets a beat -> 0.9)."""
        return float(np.clip(0.2 + 0.175 * self.onsets_per_beat, 0.2, 0.95))


def instrumental_profile(audio: np.ndarray, *, sample_rate_hz: int, analysis: Analysis,
                         soundfont: str) -> InstrumentalProfile:
    """Profile ``audio`` ((n, 2) or (n,) float) whose analysis is ``analysis``."""
    mono = _mono(audio, sample_rate_hz)
    progression = _progression(analysis)
    return InstrumentalProfile(
        tempo_bpm=float(analysis.tempo_bpm), tonic_pc=analysis.key_tonic_pc % 12, mode=analysis.key_mode,
        meter=int(analysis.meter), progression=progression,
        onsets_per_beat=groove_density(mono, tempo_bpm=analysis.tempo_bpm),
        programs=palette(mono, chords=progression, tempo_bpm=analysis.tempo_bpm, soundfont=soundfont),
    )


def _mono(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    import soxr

    x = np.asarray(audio, dtype=np.float32)
    x = x.mean(axis=1) if x.ndim == 2 else x
    return soxr.resample(x, sample_rate_hz, _RATE_HZ).astype(np.float32)


def _progression(analysis: Analysis, *, bars: int = 4) -> tuple[Chord, ...]:
    """The reference's first ``bars`` bars of chords (one per bar, by most time), from beat 0."""
    bar_s = analysis.meter * 60.0 / analysis.tempo_bpm
    start = analysis.beats_s[0] if analysis.beats_s else 0.0
    out: list[Chord] = []
    for k in range(bars):
        a, b = start + k * bar_s, start + (k + 1) * bar_s
        best = max(analysis.chords, key=lambda c: min(b, c.end_s) - max(a, c.start_s), default=None)
        if best is None or best.label == "N" or min(b, best.end_s) <= max(a, best.start_s):
            root, quality = analysis.key_tonic_pc % 12, "min" if analysis.key_mode == "minor" else "maj"
        else:
            root, quality = best.root_pc % 12, "min" if best.quality.startswith("min") else "maj"
        out.append(Chord(float(k * analysis.meter), float(analysis.meter), root, quality))
    return tuple(out)


def groove_density(mono: np.ndarray, *, tempo_bpm: float) -> float:
    """Onsets per beat in ``mono`` (at 22.05 kHz)."""
    import librosa

    onsets = librosa.onset.onset_detect(y=mono, sr=_RATE_HZ, units="time", backtrack=False)
    beats = len(mono) / _RATE_HZ * tempo_bpm / 60.0
    return float(len(onsets) / max(beats, 1e-6))


def palette(mono: np.ndarray, *, chords: Sequence[Chord], tempo_bpm: float, soundfont: str,
            top: int = 3) -> tuple[int, ...]:
    """The ``top`` programs of :data:`CANDIDATES` nearest in timbre to ``mono``, nearest first."""
    target = _timbre(mono)
    distance = {p: float(np.linalg.norm(target - _timbre(_render_candidate(p, chords=chords, tempo_bpm=tempo_bpm,
                                                                           soundfont=soundfont))))
                for p in CANDIDATES}
    return tuple(sorted(distance, key=lambda p: distance[p])[:top])


def _timbre(mono: np.ndarray) -> np.ndarray:
    """Timbre features: the mean log-mel spectrum (48 bands, level removed), its spread over
    time per band (sustain vs decay), and the onset strength's mean/peak ratio."""
    import librosa

    mel = librosa.feature.melspectrogram(y=mono, sr=_RATE_HZ, n_fft=2048, hop_length=512, n_mels=48, fmax=10000)
    log_mel = np.log(mel + 1e-8)
    onset = librosa.onset.onset_strength(y=mono, sr=_RATE_HZ)
    attack = 10.0 * float(onset.mean() / (onset.max() + 1e-9))
    return np.concatenate([log_mel.mean(axis=1) - log_mel.mean(), log_mel.std(axis=1), [attack]])


def _render_candidate(program: int, *, chords: Sequence[Chord], tempo_bpm: float, soundfont: str) -> np.ndarray:
    """``program`` playing ``chords`` as block chords around C4 (twice through), mono 22.05 kHz."""
    from songforge.engine.render import render_stems

    notes: list[Note] = []
    length = sum(c.duration_beats for c in chords)
    for rep in range(2):
        for c in chords:
            for pc in chord_pcs(c)[:3]:
                notes.append(Note(60 + pc, rep * length + c.start_beat, c.duration_beats * 0.95, 90))
    section = Section("verse", "verse", 0.0, 2 * length)
    score = Score(tempo_bpm=tempo_bpm, meter=(4, 4), tonic_pc=0, mode="major", sections=(section,),
                  parts=(Part("probe", "chords", program, tuple(notes)),))
    stems = render_stems(score, sample_rate_hz=_RATE_HZ * 2, soundfont=soundfont, tail_s=0.2)
    return _mono(stems["probe"], _RATE_HZ * 2)
