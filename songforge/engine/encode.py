"""Encode float audio to wav / flac / mp3 / pcm, whole or as a stream; decode it back.

Every path goes float32 -> (soxr HQ resampling) -> (mono by averaging) -> int16 by rounding and
clipping, with no dither, so the same input always gives the same bytes. :func:`encode` is
:class:`StreamEncoder` fed once, so for mp3, pcm and wav the streamed pieces concatenate exactly to
:func:`encode` of the whole (soxr's stream resampler and LAME are both independent of chunking).

MP3 (lameenc): MPEG-1 at 32/44.1/48 kHz (32-320 kbps), MPEG-2 at 16/24 kHz (8-160 kbps); a
requested bitrate is snapped to the nearest one the MPEG version allows. CBR, no Xing/LAME tag.

Example
-------
>>> data = encode(audio, sample_rate_hz=48000, format="mp3", bitrate_kbps=192)  # doctest: +SKIP
>>> audio2, rate = decode(data)  # doctest: +SKIP
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from songforge.errors import MissingDependency, UnsupportedFormat
from songforge.models import BITRATE_MAX_KBPS, BITRATE_MIN_KBPS, SAMPLE_RATES_HZ, AudioFormat

__all__ = [
    "encode",
    "StreamEncoder",
    "decode",
    "mp3_bitrate_kbps",
    "MP3_BITRATES_KBPS",
    "DEFAULT_MP3_QUALITY",
]

DEFAULT_MP3_QUALITY = 5
MP3_BITRATES_KBPS = {
    "mpeg1": (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    "mpeg2": (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MPEG2_RATES_HZ = (16000, 22050, 24000)
_WAV_HEADER_BYTES = 44


def mp3_bitrate_kbps(bitrate_kbps: int, *, sample_rate_hz: int) -> int:
    """The MP3 bitrate actually used: the nearest (lower on a tie) that LAME allows at this rate.

    Raises :class:`UnsupportedFormat` outside 32-320 kbps.
    """
    if not BITRATE_MIN_KBPS <= int(bitrate_kbps) <= BITRATE_MAX_KBPS:
        raise UnsupportedFormat(
            f"bitrate {bitrate_kbps} kbps is out of range; it must be {BITRATE_MIN_KBPS}-{BITRATE_MAX_KBPS} kbps",
            field="bitrate_kbps",
            limit=f"{BITRATE_MIN_KBPS}-{BITRATE_MAX_KBPS} kbps",
        )
    table = MP3_BITRATES_KBPS["mpeg2" if sample_rate_hz in _MPEG2_RATES_HZ else "mpeg1"]
    return min(table, key=lambda b: (abs(b - int(bitrate_kbps)), b))


def encode(
    audio: np.ndarray,
    *,
    sample_rate_hz: int,
    format: AudioFormat | str,
    out_sample_rate_hz: int | None = None,
    channels: int = 2,
    bitrate_kbps: int = 256,
    mp3_quality: int = DEFAULT_MP3_QUALITY,
) -> bytes:
    """Encode a whole song.

    Parameters
    ----------
    audio : float32 (n_samples, 2) or (n_samples,), full scale 1.0 (values beyond are clipped).
    sample_rate_hz : rate of ``audio`` in Hz.
    format : ``wav`` (16-bit PCM), ``flac`` (16-bit), ``mp3`` (CBR) or ``pcm`` (raw s16le, interleaved).
    out_sample_rate_hz : one of 16000, 24000, 32000, 44100, 48000 (default: ``sample_rate_hz``).
    channels : 1 (average of the channels) or 2.
    bitrate_kbps : mp3 only; snapped with :func:`mp3_bitrate_kbps`.
    mp3_quality : LAME quality 0 (best, slow) - 9 (fast).

    Returns
    -------
    The file's bytes (identical for identical input).

    Raises
    ------
    UnsupportedFormat
        Unknown format, rate, channel count or bitrate.
    """
    fmt = AudioFormat.parse(format)
    x = _prepare_input(audio)
    if fmt == AudioFormat.FLAC:
        out_rate = _check_rate(out_sample_rate_hz or sample_rate_hz)
        _check_channels(channels)
        return _flac_bytes(
            _to_int16(_resample_all(x, sample_rate_hz, out_rate), channels), out_rate
        )
    encoder = StreamEncoder(
        format=fmt,
        sample_rate_hz=sample_rate_hz,
        out_sample_rate_hz=out_sample_rate_hz,
        channels=channels,
        bitrate_kbps=bitrate_kbps,
        total_frames=x.shape[0],
        mp3_quality=mp3_quality,
    )
    return encoder.feed(x) + encoder.finish()


class StreamEncoder:
    """Encode audio piece by piece; the returned pieces concatenate to :func:`encode` of the whole.

    Parameters
    ----------
    format, sample_rate_hz, out_sample_rate_hz, channels, bitrate_kbps, mp3_quality : as :func:`encode`.
    total_frames : input frames that will be fed in all; required for ``wav`` (its header, sent
        with the first piece, holds the final length).

    Notes
    -----
    ``flac`` is buffered: :meth:`feed` returns ``b""`` and :meth:`finish` the whole file.

    Example
    -------
    >>> enc = StreamEncoder(format="mp3", sample_rate_hz=48000)  # doctest: +SKIP
    >>> data = b"".join(enc.feed(chunk) for chunk in chunks) + enc.finish()  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        format: AudioFormat | str,
        sample_rate_hz: int,
        out_sample_rate_hz: int | None = None,
        channels: int = 2,
        bitrate_kbps: int = 256,
        total_frames: int | None = None,
        mp3_quality: int = DEFAULT_MP3_QUALITY,
    ) -> None:
        self.format = AudioFormat.parse(format)
        self.sample_rate_hz = int(sample_rate_hz)
        self.out_sample_rate_hz = _check_rate(out_sample_rate_hz or sample_rate_hz)
        self.channels = _check_channels(channels)
        self.total_frames = total_frames
        self._expected_out = (
            None
            if total_frames is None
            else _out_frames(total_frames, self.sample_rate_hz, self.out_sample_rate_hz)
        )
        self._resampler = _make_resampler(self.sample_rate_hz, self.out_sample_rate_hz)
        self._frames_in = 0
        self._frames_out = 0
        self._header_sent = False
        self._flac_chunks: list[np.ndarray] = []
        self._mp3 = (
            _lame(self.out_sample_rate_hz, self.channels, bitrate_kbps, mp3_quality)
            if self.format == AudioFormat.MP3
            else None
        )
        if self.format == AudioFormat.WAV and total_frames is None:
            raise UnsupportedFormat(
                "streaming wav needs total_frames (the header holds the length)", field="format"
            )

    def feed(self, chunk: np.ndarray) -> bytes:
        """Encode ``chunk`` (float32 (n, 2) or (n,)) and return the bytes ready so far."""
        x = _prepare_input(chunk)
        self._frames_in += x.shape[0]
        out = self._resampler(x, last=False) if self._resampler else x
        return self._emit(out)

    def finish(self) -> bytes:
        """Flush the resampler and encoder; returns the last bytes (the whole file for flac)."""
        tail = (
            self._resampler(np.zeros((0, 2), np.float32), last=True)
            if self._resampler
            else np.zeros((0, 2), np.float32)
        )
        tail = self._fit_length(tail)
        data = self._emit(tail)
        if self.format == AudioFormat.MP3:
            data += self._mp3_encoder().flush()
        elif self.format == AudioFormat.FLAC:
            pcm = (
                np.concatenate(self._flac_chunks)
                if self._flac_chunks
                else np.zeros((0, self.channels), np.int16)
            )
            data = _flac_bytes(pcm, self.out_sample_rate_hz)
        return data

    def _fit_length(self, tail: np.ndarray) -> np.ndarray:
        """Pad or trim the last samples so the output has exactly the expected length."""
        expected = _out_frames(self._frames_in, self.sample_rate_hz, self.out_sample_rate_hz)
        if self.total_frames is not None and self._frames_in != self.total_frames:
            raise ValueError(
                f"fed {self._frames_in} frames but total_frames was {self.total_frames}"
            )
        want = expected - self._frames_out
        if tail.shape[0] > want:
            return tail[: max(want, 0)]
        return (
            np.concatenate([tail, np.zeros((want - tail.shape[0], 2), np.float32)])
            if want > tail.shape[0]
            else tail
        )

    def _mp3_encoder(self) -> Any:
        if self._mp3 is None:
            raise RuntimeError("not an mp3 encoder")
        return self._mp3

    def _emit(self, audio: np.ndarray) -> bytes:
        self._frames_out += audio.shape[0]
        pcm = _to_int16(audio, self.channels)
        head = b""
        if self.format == AudioFormat.WAV and not self._header_sent:
            head = _wav_header(self._expected_out or 0, self.out_sample_rate_hz, self.channels)
            self._header_sent = True
        if self.format == AudioFormat.FLAC:
            self._flac_chunks.append(pcm)
            return b""
        if self.format == AudioFormat.MP3:
            return self._mp3_encoder().encode(pcm.tobytes()) if pcm.size else b""
        return head + pcm.astype("<i2", copy=False).tobytes()


# --- helpers ---------------------------------------------------------------------------------


def _prepare_input(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        x = np.repeat(x[:, None], 2, axis=1)
    if x.ndim != 2 or x.shape[1] not in (1, 2):
        raise ValueError(f"audio must be shaped (n_samples, 2) or (n_samples,), not {x.shape}")
    if x.shape[1] == 1:
        x = np.repeat(x, 2, axis=1)
    return np.ascontiguousarray(x)


def _check_rate(rate_hz: int) -> int:
    if int(rate_hz) not in SAMPLE_RATES_HZ:
        raise UnsupportedFormat(
            f"sample rate {rate_hz} Hz is not supported; use one of {list(SAMPLE_RATES_HZ)}",
            field="sample_rate_hz",
            limit=", ".join(map(str, SAMPLE_RATES_HZ)),
        )
    return int(rate_hz)


def _check_channels(channels: int) -> int:
    if channels not in (1, 2):
        raise UnsupportedFormat(
            f"channels must be 1 or 2, not {channels}", field="channels", limit="1 or 2"
        )
    return int(channels)


def _out_frames(n_in: int, rate_in: int, rate_out: int) -> int:
    """Frames soxr produces for ``n_in`` input frames: round half up of n * out / in."""
    return (2 * n_in * rate_out + rate_in) // (2 * rate_in)


def _make_resampler(rate_in: int, rate_out: int) -> Any:  # (chunk, last) -> chunk, or None
    if rate_in == rate_out:
        return None
    import soxr

    stream = soxr.ResampleStream(rate_in, rate_out, 2, dtype="float32", quality="HQ")
    return lambda x, last: stream.resample_chunk(x, last=last)


def _resample_all(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    resample = _make_resampler(rate_in, rate_out)
    if resample is None:
        return x
    out = np.concatenate([resample(x, False), resample(np.zeros((0, 2), np.float32), True)])
    want = _out_frames(x.shape[0], rate_in, rate_out)
    return out[:want] if out.shape[0] >= want else np.pad(out, ((0, want - out.shape[0]), (0, 0)))


def _to_int16(audio: np.ndarray, channels: int) -> np.ndarray:
    """float (n, 2) -> int16 (n, channels), rounding and clipping, no dither."""
    x = ((audio[:, 0] + audio[:, 1]) * np.float32(0.5))[:, None] if channels == 1 else audio
    return np.clip(np.rint(x * np.float32(32767.0)), -32768, 32767).astype(np.int16)


def _wav_header(n_frames: int, rate_hz: int, channels: int) -> bytes:
    """Canonical 44-byte RIFF/WAVE header for 16-bit PCM (what libsndfile writes)."""
    data_bytes = n_frames * channels * 2
    return b"".join(
        [
            b"RIFF",
            struct.pack("<I", 36 + data_bytes),
            b"WAVE",
            b"fmt ",
            struct.pack(
                "<IHHIIHH", 16, 1, channels, rate_hz, rate_hz * channels * 2, channels * 2, 16
            ),
            b"data",
            struct.pack("<I", data_bytes),
        ]
    )


def _flac_bytes(pcm: np.ndarray, rate_hz: int) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, pcm, rate_hz, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


def _lame(rate_hz: int, channels: int, bitrate_kbps: int, quality: int) -> Any:  # lameenc.Encoder
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(mp3_bitrate_kbps(bitrate_kbps, sample_rate_hz=rate_hz))
    encoder.set_in_sample_rate(rate_hz)
    encoder.set_channels(channels)
    encoder.set_quality(int(np.clip(quality, 0, 9)))
    return encoder


# --- decoding --------------------------------------------------------------------------------


def decode(
    data: bytes | str | os.PathLike[str],
    *,
    format: AudioFormat | str | None = None,
    sample_rate_hz: int | None = None,
    channels: int = 2,
) -> tuple[np.ndarray, int]:
    """Decode a file or its bytes to float32 (n_samples, channels) and its rate in Hz.

    soundfile reads wav, flac and (libsndfile >= 1.1) mp3; mp3 falls back to ffmpeg. Raw ``pcm``
    needs ``format="pcm"`` with ``sample_rate_hz`` and ``channels``.
    """
    fmt = AudioFormat.parse(format) if format is not None else None
    raw: bytes | None
    path: Path | None
    if isinstance(data, bytes | bytearray):
        raw, path = bytes(data), None
    else:
        path = Path(data)
        raw = path.read_bytes() if fmt == AudioFormat.PCM or path.suffix.lower() == ".pcm" else None
        fmt = AudioFormat.PCM if path.suffix.lower() == ".pcm" and fmt is None else fmt
    if fmt == AudioFormat.PCM:
        return _decode_pcm(raw or b"", sample_rate_hz, channels)
    try:
        return _decode_soundfile(raw, path)
    except Exception as exc:  # libsndfile without mp3 support, or an odd file
        return _decode_ffmpeg(raw if raw is not None else Path(str(path)).read_bytes(), exc)


def _decode_pcm(raw: bytes, sample_rate_hz: int | None, channels: int) -> tuple[np.ndarray, int]:
    if not sample_rate_hz:
        raise UnsupportedFormat("decoding raw pcm needs sample_rate_hz", field="sample_rate_hz")
    pcm = np.frombuffer(raw, dtype="<i2").reshape(-1, _check_channels(channels))
    return (pcm.astype(np.float32) / np.float32(32768.0)), int(sample_rate_hz)


def _decode_soundfile(raw: bytes | None, data: Path | None) -> tuple[np.ndarray, int]:
    import soundfile as sf

    source = io.BytesIO(raw) if raw is not None else str(data)
    audio, rate = sf.read(source, dtype="float32", always_2d=True)
    return audio, int(rate)


def _decode_ffmpeg(raw: bytes, cause: Exception) -> tuple[np.ndarray, int]:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise MissingDependency(
            f"cannot decode this audio ({cause}); apt-get install ffmpeg"
        ) from cause
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp, "in.bin"), Path(tmp, "out.wav")
        src.write_bytes(raw)
        cmd = [
            ffmpeg,
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(src),
            "-c:a",
            "pcm_f32le",
            str(dst),
        ]
        done = subprocess.run(cmd, capture_output=True, check=False)
        if done.returncode != 0:
            raise UnsupportedFormat(
                f"cannot decode this audio: {done.stderr.decode(errors='replace')[-300:]}"
            ) from cause
        return _decode_soundfile(None, dst)
