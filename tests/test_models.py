"""Canonical request validation: every limit is enforced with a message naming it."""

import pytest

from songforge.errors import ContentTooLong, InvalidRequest, UnsupportedFormat
from songforge.models import AudioFormat, SongRequest


def test_defaults_are_valid():
    req = SongRequest(prompt="pop")
    assert req.format is AudioFormat.MP3 and req.sample_rate_hz == 48000 and req.channels == 2


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"prompt": ""}, InvalidRequest, "prompt is empty"),
        ({"prompt": "   "}, InvalidRequest, "prompt is empty"),
        ({"prompt": "x", "duration_s": 9.9}, InvalidRequest, "10-480 s"),
        ({"prompt": "x", "duration_s": 481}, InvalidRequest, "10-480 s"),
        ({"prompt": "x", "format": "ogg"}, UnsupportedFormat, "mp3, wav, flac, pcm"),
        ({"prompt": "x", "sample_rate_hz": 22050}, UnsupportedFormat, "16000"),
        ({"prompt": "x", "bitrate_kbps": 8}, UnsupportedFormat, "32-320 kbps"),
        ({"prompt": "x", "bitrate_kbps": 512}, UnsupportedFormat, "32-320 kbps"),
        ({"prompt": "x", "channels": 6}, UnsupportedFormat, "1 or 2"),
        ({"prompt": "x", "gender": "robot"}, InvalidRequest, "female"),
        ({"prompt": "x" * 2001}, ContentTooLong, "2000"),
        ({"prompt": "x", "seed": -1}, InvalidRequest, "seed"),
        ({"prompt": "x", "weirdness": 1.5}, InvalidRequest, "0-1"),
    ],
)
def test_limits_are_enforced_with_a_clear_message(kwargs, error, words):
    with pytest.raises(error) as info:
        SongRequest(**kwargs)
    assert words in info.value.message
    assert info.value.field is not None and info.value.limit is not None


def test_format_is_case_insensitive_and_lyrics_alone_suffice():
    assert SongRequest(prompt="", lyrics="la la la", format="WAV").format is AudioFormat.WAV
