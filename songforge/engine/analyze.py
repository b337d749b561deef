"""Reference audio -> tempo, beats, key, chords, sections, melody, vocal range and lyrics.

The types here are the contract between analysis (this module) and the engine operations that
follow a reference (cover, extend, add vocals / instrumental, voice and instrumental profiles).
Times are seconds from the start of the audio; pitches are MIDI note numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "Analysis", "Section", "ChordSpan", "Note", "Word", "SECTION_LABELS", "analyze", "analyze_file",
]

SECTION_LABELS = ("intro", "verse", "chorus", "bridge", "outro", "inst", "silence")


@dataclass(frozen=True)
class Section:
    """A labelled stretch of the audio (label one of :data:`SECTION_LABELS`)."""

    label: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class ChordSpan:
    """A chord held from ``start_s`` to ``end_s``: ``root_pc`` 0-11 (C=0), ``quality`` e.g.
    ``"maj"``, ``"min"``; ``label`` as text (``"Am"``, ``"F"``, ``"N"`` for no chord)."""

    start_s: float
    end_s: float
    root_pc: int
    quality: str
    label: str


@dataclass(frozen=True)
class Note:
    """One note of a line: MIDI ``pitch``, ``velocity`` 0-1."""

    start_s: float
    end_s: float
    pitch: int
    velocity: float = 0.8


@dataclass(frozen=True)
class Word:
    """One transcribed word with its time span."""

    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Analysis:
    """What analysis found in one piece of audio.

    Parameters
    ----------
    duration_s : length of the audio.
    tempo_bpm : beats per minute; ``beats_s`` beat times; ``meter`` beats per bar.
    key_tonic_pc : tonic pitch class 0-11 (C=0); ``key_mode`` ``"major"`` or ``"minor"``.
    chords : chord spans in time order; ``sections`` labelled sections covering the audio.
    melody : the lead line (the sung line when there are vocals), notes in time order.
    has_vocals : whether a singing voice was found; ``vocal_range_midi`` its (lowest, highest).
    lyrics : tagged lyrics transcribed from the vocals (``None`` without vocals); ``words`` timed.
    """

    duration_s: float
    tempo_bpm: float
    beats_s: tuple[float, ...]
    meter: int
    key_tonic_pc: int
    key_mode: str
    chords: tuple[ChordSpan, ...] = ()
    sections: tuple[Section, ...] = ()
    melody: tuple[Note, ...] = ()
    has_vocals: bool = False
    vocal_range_midi: tuple[int, int] | None = None
    lyrics: str | None = None
    words: tuple[Word, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        """The key as text, e.g. ``"A minor"``."""
        names = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
        return f"{names[self.key_tonic_pc % 12]} {self.key_mode}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (``key`` included for readers); :meth:`from_dict` inverts it."""
        data = asdict(self)
        data["key"] = self.key
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Analysis:
        """The analysis stored by :meth:`to_dict`."""
        rng = data.get("vocal_range_midi")
        return cls(
            duration_s=float(data["duration_s"]), tempo_bpm=float(data["tempo_bpm"]),
            beats_s=tuple(data.get("beats_s", ())), meter=int(data.get("meter", 4)),
            key_tonic_pc=int(data["key_tonic_pc"]), key_mode=str(data["key_mode"]),
            chords=tuple(ChordSpan(**c) for c in data.get("chords", ())),
            sections=tuple(Section(**s) for s in data.get("sections", ())),
            melody=tuple(Note(**n) for n in data.get("melody", ())),
            has_vocals=bool(data.get("has_vocals", False)),
            vocal_range_midi=(int(rng[0]), int(rng[1])) if rng else None,
            lyrics=data.get("lyrics"), words=tuple(Word(**w) for w in data.get("words", ())),
            extra=dict(data.get("extra", {})),
        )


def analyze(audio: np.ndarray, *, sample_rate_hz: int, transcribe: bool = True) -> Analysis:
    """Analyse ``audio`` (shape (n,) or (n, channels), float) at ``sample_rate_hz``.

    ``transcribe``: run faster-whisper on vocal stretches for the lyrics.
    """
    raise NotImplementedError("engine.analyze is being written")


def analyze_file(path: str | Path, *, transcribe: bool = True) -> Analysis:
    """Decode ``path`` (wav, mp3, flac, ogg, m4a) and :func:`analyze` it."""
    raise NotImplementedError("engine.analyze is being written")
