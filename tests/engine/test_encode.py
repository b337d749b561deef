"""Encoding to wav / flac / mp3 / pcm, streaming, decoding (synthetic audio, fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from songforge.engine.encode import StreamEncoder, decode, encode, mp3_bitrate_kbps
from songforge.errors import UnsupportedFormat

SR = 48000
SECONDS = 1.5


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(SECONDS * SR)) / SR
    left = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    right = 0.3 * np.sin(2 * np.pi * 660 * t)
    return np.stack([left, right], axis=1).astype(np.float32)


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "pcm"])
@pytest.mark.parametrize("rate", [16000, 24000, 32000, 44100, 48000])
def test_every_format_and_rate_decodes_back(audio: np.ndarray, fmt: str, rate: int) -> None:
    channels = 1 if rate == 24000 else 2
    data = encode(
        audio,
        sample_rate_hz=SR,
        format=fmt,
        out_sample_rate_hz=rate,
        channels=channels,
        bitrate_kbps=128,
    )
    decoded, decoded_rate = decode(
        data, format="pcm" if fmt == "pcm" else None, sample_rate_hz=rate, channels=channels
    )
    assert decoded_rate == rate
    assert decoded.shape[1] == channels
    tolerance_s = 0.12 if fmt == "mp3" else 0.5 / rate  # mp3 adds encoder delay and padding
    assert abs(decoded.shape[0] / rate - SECONDS) <= tolerance_s
    assert 0.1 < np.abs(decoded).max() < 1.0


def test_wav_and_pcm_hold_the_same_samples(audio: np.ndarray) -> None:
    wav = encode(audio, sample_rate_hz=SR, format="wav")
    pcm = encode(audio, sample_rate_hz=SR, format="pcm")
    assert wav[44:] == pcm and wav[:4] == b"RIFF"
    decoded, _ = decode(wav)
    assert np.abs(decoded - audio).max() < 1.0 / 32767 + 1e-6


@pytest.mark.parametrize(
    "rate,kbps,expected", [(48000, 192, 192), (48000, 100, 96), (24000, 256, 160), (16000, 64, 64)]
)
def test_mp3_bitrate_respected(audio: np.ndarray, rate: int, kbps: int, expected: int) -> None:
    assert mp3_bitrate_kbps(kbps, sample_rate_hz=rate) == expected
    data = encode(
        audio, sample_rate_hz=SR, format="mp3", out_sample_rate_hz=rate, bitrate_kbps=kbps
    )
    assert data[0] == 0xFF and data[1] & 0xE0 == 0xE0  # frame sync
    measured_kbps = len(data) * 8 / SECONDS / 1000
    assert abs(measured_kbps - expected) / expected < 0.12


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "pcm"])
def test_deterministic_bytes(audio: np.ndarray, fmt: str) -> None:
    kwargs = {"sample_rate_hz": SR, "format": fmt, "out_sample_rate_hz": 44100}
    assert encode(audio, **kwargs) == encode(audio.copy(), **kwargs)


@pytest.mark.parametrize("fmt", ["mp3", "pcm", "wav"])
@pytest.mark.parametrize("rate", [24000, 48000])
def test_stream_concatenation_equals_whole(audio: np.ndarray, fmt: str, rate: int) -> None:
    whole = encode(audio, sample_rate_hz=SR, format=fmt, out_sample_rate_hz=rate, bitrate_kbps=128)
    encoder = StreamEncoder(
        format=fmt,
        sample_rate_hz=SR,
        out_sample_rate_hz=rate,
        bitrate_kbps=128,
        total_frames=audio.shape[0],
    )
    cuts = [0, 1, 4801, 30000, 30001, audio.shape[0]]
    pieces = [encoder.feed(audio[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)]
    pieces.append(encoder.finish())
    assert b"".join(pieces) == whole
    assert len(pieces[2]) > 0  # audio is handed out as it comes, not at the end


def test_flac_stream_buffers_until_finish(audio: np.ndarray) -> None:
    encoder = StreamEncoder(format="flac", sample_rate_hz=SR)
    assert encoder.feed(audio) == b""
    assert encoder.finish() == encode(audio, sample_rate_hz=SR, format="flac")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"format": "ogg"},
        {"format": "mp3", "out_sample_rate_hz": 22050},
        {"format": "wav", "out_sample_rate_hz": 96000},
        {"format": "mp3", "bitrate_kbps": 512},
        {"format": "wav", "channels": 3},
    ],
)
def test_bad_options_raise(audio: np.ndarray, kwargs: dict) -> None:
    with pytest.raises(UnsupportedFormat):
        encode(audio[:100], sample_rate_hz=SR, **kwargs)


def test_streaming_wav_needs_total_frames() -> None:
    with pytest.raises(UnsupportedFormat):
        StreamEncoder(format="wav", sample_rate_hz=SR)


def test_decode_path_and_mp3_ffmpeg_fallback(
    audio: np.ndarray, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import songforge.engine.encode as enc

    path = tmp_path / "song.mp3"
    path.write_bytes(encode(audio, sample_rate_hz=SR, format="mp3"))
    direct, rate = decode(path)

    def _no_soundfile(raw, data):
        if str(data).endswith("out.wav"):
            return _real(raw, data)
        raise RuntimeError("no mp3 in this libsndfile")

    _real = enc._decode_soundfile
    monkeypatch.setattr(enc, "_decode_soundfile", _no_soundfile)
    via_ffmpeg, rate2 = decode(path)
    assert rate == rate2 == SR
    assert abs(direct.shape[0] - via_ffmpeg.shape[0]) <= 2400
