"""All analysis stages on one shared signal; :func:`songforge.engine.analyze.analyze` turns the
result into the public :class:`~songforge.engine.analyze.Analysis`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from songforge.engine.analysis import harmony, melody, rhythm, structure
from songforge.engine.analysis.lyrics import tag_lyrics, transcribe_lyrics
from songforge.engine.analysis.signal import ANALYSIS_RATE_HZ, HOP, Signal, beat_sync, prepare

__all__ = ["Found", "run"]

_HPSS_KERNEL = 17  # median-filter length of the harmonic/percussive split (frames / bins)
_N_BANDS = 8  # band levels for the section-boundary cue


@dataclass
class Found:
    """Raw results: times in seconds; ``chords`` ``(start, end, root, quality, label)``;
    ``sections`` ``(label, start, end)``; ``presence`` the vocal-presence track (0.1 s steps)."""

    duration_s: float
    tempo_bpm: float
    beats_s: np.ndarray
    meter: int
    downbeat_s: float | None
    key: tuple[int, str, float]
    chords: list[tuple[float, float, int, str, str]]
    sections: list[tuple[str, float, float]]
    top_line: list[melody.RawNote]
    vocal_line: list[melody.RawNote]
    presence: np.ndarray
    words: list[tuple[str, float, float]] = field(default_factory=list)
    lyrics: str | None = None


def run(audio: np.ndarray, *, sample_rate_hz: int, transcribe: bool,
        clock: Callable[[str], None] = lambda stage: None) -> Found:
    """Every stage; ``clock(stage)`` is called as each one ends."""
    import librosa

    sig = prepare(audio, sample_rate_hz=sample_rate_hz)
    beats = rhythm.track_beats(sig)
    clock("beats")
    harmonic = librosa.effects.harmonic(sig.y, kernel_size=_HPSS_KERNEL)
    chroma = librosa.feature.chroma_cqt(y=harmonic, sr=ANALYSIS_RATE_HZ, hop_length=HOP)
    key = harmony.estimate_key(chroma)
    clock("key")
    beat_chroma = beat_sync(chroma, beats.beat_frames)
    beat_rms = beat_sync(sig.rms[None, :], beats.beat_frames, aggregate=np.mean)[0]
    meter, phase = rhythm.estimate_meter(beats.onset_env, beats.beat_frames, beat_chroma)
    chords = _chord_spans(harmony.estimate_chords(beat_chroma, beat_rms), beats.beats_s, sig.duration_s)
    clock("chords")
    notes = melody.transcribe_notes(harmonic)
    presence = melody.vocal_presence(notes, duration_s=sig.duration_s)
    clock("melody")
    sections = _sections(sig, beats, beat_chroma, beat_rms, meter, phase, presence)
    clock("sections")
    found = Found(
        duration_s=sig.duration_s, tempo_bpm=beats.tempo_bpm, beats_s=beats.beats_s, meter=meter,
        downbeat_s=float(beats.beats_s[phase]) if len(beats.beats_s) > phase else None, key=key,
        chords=chords, sections=sections, top_line=melody.top_line(notes),
        vocal_line=melody.vocal_line(notes, presence), presence=presence,
    )
    if transcribe and len(presence) and float(presence.mean()) >= melody.MIN_VOCAL_SHARE:
        found.words = transcribe_lyrics(audio, sample_rate_hz=sample_rate_hz,
                                        spans_s=melody.presence_spans(presence))
        found.lyrics = tag_lyrics(found.words, sections) or None
        clock("lyrics")
    return found


def _chord_spans(per_beat: list[tuple[int, str]], beats_s: np.ndarray,
                 duration_s: float) -> list[tuple[float, float, int, str, str]]:
    """Merge per-beat chords (column ``i`` from edge ``i`` to ``i + 1`` of 0, beats..., end)."""
    edges = np.concatenate([[0.0], beats_s, [duration_s]])
    spans: list[tuple[float, float, int, str, str]] = []
    for i, (root, quality) in enumerate(per_beat):
        a, b = float(edges[i]), float(edges[i + 1])
        if b <= a:
            continue
        if spans and spans[-1][2:4] == (root, quality):
            spans[-1] = (spans[-1][0], b, root, quality, spans[-1][4])
        else:
            spans.append((a, b, root, quality, harmony.chord_label(root, quality)))
    return spans


def _sections(sig: Signal, beats: rhythm.Rhythm, beat_chroma: np.ndarray, beat_rms: np.ndarray,
              meter: int, phase: int, presence: np.ndarray) -> list[tuple[str, float, float]]:
    """Labelled sections covering ``[0, duration_s]``."""
    import librosa

    frame_s = HOP / ANALYSIS_RATE_HZ
    silences = structure.silent_spans(sig.rms, frame_s=frame_s)
    mfcc = librosa.feature.mfcc(y=sig.y, sr=ANALYSIS_RATE_HZ, hop_length=HOP, n_mfcc=13)
    loud_db = 20 * np.log10(np.maximum(beat_rms, 1e-6))
    feats = np.vstack([beat_chroma, beat_sync(mfcc, beats.beat_frames), loud_db[None, :]])
    starts: list[float] = []
    if len(beats.beats_s) >= 4 * meter:
        band_db = beat_sync(_band_levels_db(sig.y), beats.beat_frames, aggregate=np.mean)
        # column i + 1 starts at beat i
        strength = structure.boundary_strength(feats[:, 1:], band_db[:, 1:], meter=meter)
        starts = [float(beats.beats_s[i]) for i in structure.pick_boundaries(strength, meter=meter, phase=phase)]
    edges = _merge_edges(starts, silences, sig.duration_s, min_gap_s=_beat_s(beats.beats_s))
    blocks = [_block(a, b, feats, beats.beats_s, silences, presence) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    labels = structure.label_blocks(blocks)
    return [(lab, blk.start_s, blk.end_s) for lab, blk in zip(labels, blocks, strict=True)]


def _band_levels_db(y: np.ndarray) -> np.ndarray:
    """(8, frames) levels in dB (re the loudest bin) of 8 groups of 8 mel bands of ``y``."""
    import librosa

    mel = librosa.feature.melspectrogram(y=y, sr=ANALYSIS_RATE_HZ, hop_length=HOP, n_mels=_N_BANDS * 8)
    mel_db = librosa.power_to_db(mel, ref=np.max)
    return mel_db.reshape(_N_BANDS, 8, -1).mean(axis=1)


def _beat_s(beats_s: np.ndarray) -> float:
    return float(np.median(np.diff(beats_s))) if len(beats_s) > 1 else 0.5


def _merge_edges(starts: list[float], silences: list[tuple[float, float]], duration_s: float,
                 *, min_gap_s: float) -> list[float]:
    """Sorted section edges from 0 to ``duration_s``: silence edges win over novelty boundaries
    that fall inside or within ``min_gap_s`` of a silence."""
    fixed = sorted({0.0, duration_s} | {t for span in silences for t in span})
    for t in starts:
        near = any(a - min_gap_s <= t <= b + min_gap_s for a, b in silences)
        if not near and all(abs(t - f) >= min_gap_s for f in fixed):
            fixed.append(t)
    return sorted(t for t in fixed if 0.0 <= t <= duration_s)


def _block(start_s: float, end_s: float, feats: np.ndarray, beats_s: np.ndarray,
           silences: list[tuple[float, float]], presence: np.ndarray) -> structure.Block:
    edges = np.concatenate([[0.0], beats_s])  # column i starts at edges[i]
    cols = np.flatnonzero((edges >= start_s - 1e-6) & (edges < end_s - 1e-6))
    if len(cols) == 0:
        cols = np.array([min(int(np.searchsorted(edges, start_s, side="right")) - 1, feats.shape[1] - 1)])
    z = (feats - feats.mean(axis=1, keepdims=True)) / (feats.std(axis=1, keepdims=True) + 1e-9)
    a, b = int(start_s / melody.VOCAL_GRID_S), max(int(start_s / melody.VOCAL_GRID_S) + 1, int(end_s / melody.VOCAL_GRID_S))
    sung = float(presence[a:b].mean()) if b <= len(presence) or a < len(presence) else 0.0
    silent = any(s <= start_s + 1e-6 and end_s <= e + 1e-6 for s, e in silences)
    return structure.Block(start_s, end_s, z[:, cols].mean(axis=1), float(feats[-1, cols].mean()),
                           sung if np.isfinite(sung) else 0.0, silent)
