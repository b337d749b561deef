"""Canonical request -> each vendor's body: what survives, what is dropped (with a warning), and
what is refused because dropping it would change the song."""

from __future__ import annotations

import pytest

from songforge.models import Reference, SongRequest
from songforge.upstream.translate import DROPPABLE, TRANSLATORS, Refused, translate

LYRICS = "[Verse]\nneon lights tonight"
VENDORS = sorted(TRANSLATORS)
# which droppable canonical fields each vendor keeps (docs/upstream.md's table says the same)
KEEPS = {"minimax": {"watermark"}, "aimlapi": set(), "dashscope": {"gender"},
         "suno": {"gender", "negative_prompt", "style_weight", "weirdness", "title"}}
ASKED = {"gender": "female", "duration_s": 30.0, "seed": 7, "negative_prompt": "no drums", "style_weight": 0.8,
         "weirdness": 0.2, "title": "Neon", "watermark": True, "want_stems": True, "want_midi": True,
         "want_timings": True}


def _t(vendor: str, **fields):
    return translate(vendor, SongRequest(**{"prompt": "synth pop", "lyrics": LYRICS, **fields}),
                     callback_url="https://songforge.test/cb")


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("name", sorted(DROPPABLE))
def test_a_field_the_vendor_lacks_is_dropped_with_a_warning(vendor, name):
    warnings = _t(vendor, **{name: ASKED[name]}).warnings
    named = [w for w in warnings if w.startswith(f"{name}:")]
    assert bool(named) == (name not in KEEPS[vendor]), warnings


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_reference_is_refused_not_dropped(vendor):
    with pytest.raises(Refused) as info:
        _t(vendor, reference=Reference(mode="cover", audio_id="0" * 32))
    assert info.value.field == "reference" and "cover" in info.value.message


@pytest.mark.parametrize("vendor", VENDORS)
def test_an_instrumental_needs_a_style_and_drops_its_lyrics(vendor):
    with pytest.raises(Refused):
        translate(vendor, SongRequest(lyrics=LYRICS, instrumental=True), callback_url="x")
    translation = _t(vendor, instrumental=True)
    assert any(w.startswith("lyrics:") for w in translation.warnings)
    assert LYRICS not in str(translation.body)


def test_minimax_body():
    body = _t("minimax", watermark=True).body
    assert body["model"] == "music-2.6" and body["lyrics"] == LYRICS and body["aigc_watermark"] is True
    assert body["output_format"] == "url" and body["audio_setting"]["format"] == "mp3"
    written = translate("minimax", SongRequest(prompt="synth pop", format="flac")).body
    assert written["lyrics_optimizer"] is True and "lyrics" not in written
    assert written["audio_setting"]["format"] == "wav"  # lossless for a lossless request
    instrumental = translate("minimax", SongRequest(prompt="synth pop", instrumental=True)).body
    assert instrumental["is_instrumental"] is True and "lyrics_optimizer" not in instrumental


def test_minimax_keeps_the_callers_minimax_model_and_refuses_long_lyrics():
    request = SongRequest(prompt="synth pop", lyrics=LYRICS, extra={"minimax_model": "music-2.6-free"})
    assert translate("minimax", request).body["model"] == "music-2.6-free"
    with pytest.raises(Refused) as info:
        translate("minimax", SongRequest(prompt="x", lyrics="la " * 1200))
    assert info.value.field == "lyrics" and "3500" in info.value.message


def test_suno_custom_and_non_custom_modes():
    custom = _t("suno", gender="male", title="Neon", negative_prompt="no drums", style_weight=0.8).body
    assert custom["customMode"] is True and custom["prompt"] == LYRICS and custom["style"] == "synth pop"
    assert (custom["title"], custom["vocalGender"], custom["negativeTags"], custom["styleWeight"]) == (
        "Neon", "m", "no drums", 0.8)
    assert custom["callBackUrl"] == "https://songforge.test/cb" and custom["model"] == "V4_5"
    plain = translate("suno", SongRequest(prompt="a song about rain", gender="female"), callback_url="x")
    assert plain.body["customMode"] is False and plain.body["prompt"] == "a song about rain"
    assert "vocalGender" not in plain.body and any("only with lyrics" in w for w in plain.warnings)
    assert any("two songs per task" in w for w in plain.warnings)
    with pytest.raises(Refused):
        translate("suno", SongRequest(prompt="x" * 501), callback_url="x")


def test_dashscope_warns_that_fun_music_ignores_the_prompt_with_lyrics():
    translation = _t("dashscope", gender="female")
    assert translation.body["input"] == {"format": "mp3", "prompt": "synth pop", "lyrics": LYRICS, "gender": "female"}
    assert translation.body["model"] == "fun-music-v1" and translation.body["parameters"] == {}
    assert any(w.startswith("prompt:") for w in translation.warnings)
    alone = translate("dashscope", SongRequest(prompt="synth pop"))
    assert not any(w.startswith("prompt:") for w in alone.warnings)


def test_aimlapi_body_uses_its_audio_setting_names():
    body = _t("aimlapi", format="wav").body
    assert body == {"model": "minimax/music-2.6", "prompt": "synth pop", "lyrics": LYRICS,
                    "audio_setting": {"audio_sample_rate": 44100, "bitrate": 256000, "format": "wav"}}
