"""The audible AI tag: appended after a pause, at its level, with its three bell notes."""

from __future__ import annotations

import numpy as np

from songforge.engine.watermark import (
    WATERMARK_GAP_S,
    WATERMARK_LEVEL_DBFS,
    WATERMARK_NOTES_HZ,
    append_watermark,
)

SR_HZ = 48000


def test_the_song_is_kept_and_the_tag_follows_a_pause():
    song = np.random.default_rng(0).uniform(-0.5, 0.5, (SR_HZ * 2, 2)).astype(np.float32)
    marked = append_watermark(song, sample_rate_hz=SR_HZ)
    assert marked.shape[1] == 2 and marked.shape[0] > song.shape[0] + SR_HZ
    assert np.array_equal(marked[: song.shape[0]], song)
    gap = marked[song.shape[0]: song.shape[0] + int(WATERMARK_GAP_S * SR_HZ)]
    assert np.all(gap == 0)
    tag = marked[song.shape[0] + len(gap):, 0]
    peak_dbfs = 20 * np.log10(np.max(np.abs(tag)))
    assert abs(peak_dbfs - WATERMARK_LEVEL_DBFS) < 0.1


def test_the_tag_sounds_its_three_notes_in_order():
    marked = append_watermark(np.zeros((SR_HZ, 1), np.float32), sample_rate_hz=SR_HZ)
    tag = marked[SR_HZ + int(WATERMARK_GAP_S * SR_HZ):, 0]
    note_n = len(tag) // (len(WATERMARK_NOTES_HZ) + 1)
    freqs_hz = np.fft.rfftfreq(note_n, 1 / SR_HZ)
    for i, expected_hz in enumerate(WATERMARK_NOTES_HZ):
        segment = tag[i * note_n + note_n // 10:(i + 1) * note_n]
        spectrum = np.abs(np.fft.rfft(segment, n=note_n))
        assert abs(freqs_hz[np.argmax(spectrum)] - expected_hz) < 2 * SR_HZ / note_n
