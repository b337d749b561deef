"""The audible AI-content tag some vendors append on request (MiniMax ``aigc_watermark``).

A short, recognisable three-note bell motif (E6, G#6, B6: an E major arpeggio) after a brief
pause at the end of the song, at a fixed level below full scale so it never clips the master.
"""

from __future__ import annotations

import numpy as np

__all__ = ["append_watermark", "WATERMARK_NOTES_HZ", "WATERMARK_GAP_S", "WATERMARK_LEVEL_DBFS"]

WATERMARK_NOTES_HZ = (1318.51, 1661.22, 1975.53)
WATERMARK_GAP_S = 0.4
WATERMARK_NOTE_S = 0.35
WATERMARK_LEVEL_DBFS = -12.0


def watermark_tag(*, sample_rate_hz: int) -> np.ndarray:
    """The tag alone: shape (n,), float32, peak at :data:`WATERMARK_LEVEL_DBFS`."""
    note_n = int(WATERMARK_NOTE_S * sample_rate_hz)
    t_s = np.arange(note_n * 2) / sample_rate_hz
    tag = np.zeros(note_n * (len(WATERMARK_NOTES_HZ) + 1), dtype=np.float64)
    for i, freq_hz in enumerate(WATERMARK_NOTES_HZ):
        bell = np.sin(2 * np.pi * freq_hz * t_s) + 0.3 * np.sin(2 * np.pi * 2.76 * freq_hz * t_s)
        bell *= np.exp(-t_s * 6.0) * np.minimum(1.0, t_s * 400.0)
        start = i * note_n
        tag[start:start + len(bell)] += bell[: len(tag) - start]
    tag *= 10 ** (WATERMARK_LEVEL_DBFS / 20) / np.max(np.abs(tag))
    return tag.astype(np.float32)


def append_watermark(audio: np.ndarray, *, sample_rate_hz: int) -> np.ndarray:
    """``audio`` (n, channels) float32 followed by a pause and the tag: (n + tag, channels)."""
    tag = watermark_tag(sample_rate_hz=sample_rate_hz)
    gap = np.zeros(int(WATERMARK_GAP_S * sample_rate_hz), dtype=np.float32)
    tail = np.concatenate([gap, tag])[:, None].repeat(audio.shape[1], axis=1)
    return np.concatenate([audio.astype(np.float32, copy=False), tail], axis=0)
