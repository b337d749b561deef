"""Fixed prompt sets used by the quality benchmark and the heavy tests (one list, one place)."""

from __future__ import annotations

__all__ = ["INSTRUMENTAL_PROMPTS"]

INSTRUMENTAL_PROMPTS: tuple[str, ...] = (
    "upbeat pop song with piano and synth",
    "dark heavy metal with distorted guitars, fast",
    "acoustic folk with guitar and harmonica",
    "country song with banjo and fiddle",
    "euphoric EDM festival anthem, 128 bpm",
    "boom bap hip-hop beat with vinyl piano",
    "smooth R&B soul groove with electric piano",
    "swinging jazz trio with upright bass and piano",
    "chill lo-fi beat for studying, rainy mood",
    "emotional piano ballad with strings, slow",
    "epic cinematic orchestral trailer music with brass",
    "roots reggae one drop with organ",
    "latin salsa with trumpets and congas",
    "fast punk rock, energetic",
    "happy summer pop in D major",
    "sad waltz with accordion",
    "melancholic cello and piano in A minor, 70 bpm",
    "driving rock anthem with electric guitar and organ",
    "dreamy synthwave with pads",
    "bossa nova with nylon guitar and flute",
    "gentle classical piece for strings and harp",
    "funky soul with brass section and bass guitar",
    "calm ambient electronic with marimba",
    "energetic latin pop with trumpet, 100 bpm",
)
