"""Melodies and pitch checks shared by the voice, ASR and Mandarin tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from songforge.engine.score import Note, midi_to_hz

G_MAJOR_G3_G4 = (55, 57, 59, 60, 62, 64, 66, 67)


def random_walk_melody(texts: Sequence[str], *, language: str | None = None, seed: int = 0) -> list:
    """One note per syllable of each line on a G3-G4 random walk: 8ths and quarters, each line
    ending on a half note, a beat of rest between lines. Returns ``SungLine`` objects."""
    from songforge.engine.lyrics import syllabify_lines
    from songforge.engine.voice import SungLine

    rng = np.random.default_rng(seed)
    lines, beat = [], 0.0
    for text, words in zip(texts, syllabify_lines(texts, language=language), strict=True):
        syllables = [s for w in words for s in w.syllables]
        notes, step = [], int(rng.integers(2, 6))
        for j, syl in enumerate(syllables):
            beats = 2.0 if j == len(syllables) - 1 else (1.0 if rng.random() < 0.35 else 0.5)
            step = int(np.clip(step + rng.integers(-2, 3), 0, len(G_MAJOR_G3_G4) - 1))
            notes.append(Note(G_MAJOR_G3_G4[step], beat, beats * 0.95, lyric=syl))
            beat += beats
        lines.append(SungLine(text, tuple(notes)))
        beat += 1.0
    return lines


def note_pitch_cents(audio: np.ndarray, sample_rate_hz: int, notes: Sequence[Note], *,
                     tempo_bpm: float) -> tuple[np.ndarray, float]:
    """Per-note median pitch error (cents) inside each note's vowel (dio + stonemask at 16 kHz),
    and the share of those frames within 50 cents."""
    import soxr

    from songforge.engine.voice.singer import import_pyworld

    pyworld = import_pyworld()
    x = soxr.resample(audio.astype(np.float64), sample_rate_hz, 16000)
    f0, t = pyworld.dio(x, 16000, f0_floor=60.0, f0_ceil=900.0, frame_period=5.0)
    f0 = pyworld.stonemask(x, f0, t, 16000)
    spb = 60.0 / tempo_bpm
    medians, frames = [], []
    for n in notes:
        a = n.start_beat * spb + 0.04
        b = n.start_beat * spb + max(0.09, 0.45 * n.duration_beats * spb)
        sel = (t >= a) & (t < b) & (f0 > 0)
        cents = 1200 * np.log2(f0[sel] / midi_to_hz(n.pitch))
        medians.append(np.median(cents) if len(cents) else np.nan)
        frames.extend(cents)
    return np.array(medians), float(np.mean(np.abs(np.array(frames)) <= 50))
