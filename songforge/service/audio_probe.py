"""What a blob of bytes is: the audio container sniffed from its magic numbers, and its length.

Containers are told apart by their first bytes, never by a file name or URL:

==========  =====================================================================
``wav``     ``RIFF`` .... ``WAVE`` (or ``RF64``)
``mp3``     an ``ID3`` tag, or an MPEG audio frame sync (11 set bits, a valid layer)
``flac``    ``fLaC`` (possibly after an ID3 tag)
``ogg``     ``OggS`` (Vorbis, Opus or FLAC inside)
``m4a``     ``ftyp`` at offset 4 (ISO base media: m4a, mp4)
==========  =====================================================================

The length comes from decoding the whole stream with ffmpeg (all five containers), so a file
whose header looks right but whose content does not decode is not audio.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from songforge.errors import MissingDependency

__all__ = ["sniff_format", "measure_duration_s", "NotAudio", "FORMATS"]

FORMATS = ("wav", "mp3", "flac", "ogg", "m4a")
_FFMPEG_DEMUXERS = {"wav": "wav", "mp3": "mp3", "flac": "flac", "ogg": "ogg", "m4a": "mov"}
_PROBE_RATE_HZ = 8000  # decode to 8 kHz mono s16: length to 1/8000 s, 16 kB per second in memory
_DECODE_TIMEOUT_S = 120.0
_ID3_HEADER_BYTES = 10


class NotAudio(ValueError):
    """The bytes are not decodable audio (the message says why)."""


def sniff_format(head: bytes) -> str | None:
    """The container of a file from its first bytes (at least 12; more helps after an ID3 tag).

    Returns one of :data:`FORMATS`, or ``None`` when the bytes are none of them.

    >>> sniff_format(b"fLaC\\x00\\x00\\x00\\x22" + bytes(8))
    'flac'
    """
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:3] == b"ID3":
        return _after_id3(head)
    return "mp3" if _is_mpeg_frame(head) else None


def _after_id3(head: bytes) -> str:
    """An ID3v2 tag is followed by MPEG frames, or rarely by FLAC."""
    if len(head) < _ID3_HEADER_BYTES:
        return "mp3"
    size = sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
    body = head[_ID3_HEADER_BYTES + size:]
    return "flac" if body[:4] == b"fLaC" else "mp3"


def _is_mpeg_frame(head: bytes) -> bool:
    """MPEG-1/2/2.5 audio frame header: sync, a real version and layer, a usable bitrate and rate."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0x3, (head[1] >> 1) & 0x3
    bitrate_index, rate_index = head[2] >> 4, (head[2] >> 2) & 0x3
    return version != 1 and layer != 0 and bitrate_index not in (0, 15) and rate_index != 3


def measure_duration_s(path: str | Path, *, format: str) -> float:
    """Length in seconds of the audio in ``path`` (a container of :data:`FORMATS`), by decoding it.

    Raises
    ------
    NotAudio : the file does not decode, or holds no audio samples.
    MissingDependency : ffmpeg is not installed.
    """
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise MissingDependency("measuring reference audio needs ffmpeg; apt-get install ffmpeg")
    cmd = [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-f", _FFMPEG_DEMUXERS[format],
        "-i", str(path), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(_PROBE_RATE_HZ),
        "-f", "s16le", "-",
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, check=False, timeout=_DECODE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise NotAudio(f"it did not decode within {_DECODE_TIMEOUT_S:g} s") from None
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        raise NotAudio(f"it does not decode as {format} ({why[-1] if why else 'ffmpeg failed'})")
    n_samples = len(done.stdout) // 2
    if n_samples == 0:
        raise NotAudio(f"it holds no {format} audio samples")
    return n_samples / _PROBE_RATE_HZ
