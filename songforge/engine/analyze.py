"""Reference audio -> tempo, beats, key, chords, sections, melody, vocal range and lyrics.

The types here are the contract between analysis (this module) and the engine operations that
follow a reference (cover, extend, add vocals / instrumental, voice and instrumental profiles).
Times are seconds from the start of the audio; pitches are MIDI note numbers.

The parts live in :mod:`songforge.engine.analysis` (rhythm, harmony, structure, melody, lyrics);
:func:`analyze` runs them on one shared 22.05 kHz mono signal. The first call in a process pays
librosa's numba compilation (~10 s): workers call :func:`warm_up` once.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from songforge.errors import InvalidRequest

__all__ = [
    "Analysis", "Section", "ChordSpan", "Note", "Word", "SECTION_LABELS", "analyze", "analyze_file",
    "warm_up",
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
        safe: dict[str, Any] = json.loads(json.dumps(data, default=_plain))  # numpy scalars -> Python numbers
        return safe

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


def _plain(value: Any) -> Any:
    """JSON form of numpy scalars and arrays."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def analyze(audio: np.ndarray, *, sample_rate_hz: int, transcribe: bool = True) -> Analysis:
    """Analyse ``audio`` (shape (n,) or (n, channels), float or int) at ``sample_rate_hz``.

    ``transcribe``: run faster-whisper on the vocal stretches for the lyrics.

    Returns
    -------
    Analysis : tempo and beats, meter, key, chords (one span per change, on beats), sections
        covering the audio, the melody (the sung line when there are vocals, else the top line),
        vocal presence and range, and tagged lyrics. ``extra`` holds ``key_correlation``,
        ``vocal_share`` and ``timings_s`` (seconds per stage).

    Raises
    ------
    InvalidRequest : bad shape or sample rate, or audio shorter than 0.5 s / longer than 20 min.

    Examples
    --------
    >>> a = analyze(audio, sample_rate_hz=48000, transcribe=False)  # doctest: +SKIP
    >>> a.tempo_bpm, a.key, [s.label for s in a.sections]  # doctest: +SKIP
    (120.2, 'A minor', ['intro', 'verse', 'chorus', 'outro'])
    """
    from songforge.engine.analysis import melody as melody_part
    from songforge.engine.analysis import pipeline

    clock = _Clock()
    found = pipeline.run(audio, sample_rate_hz=sample_rate_hz, transcribe=transcribe, clock=clock.lap)
    vocal_share = float(found.presence.mean()) if len(found.presence) else 0.0
    has_vocals = vocal_share >= melody_part.MIN_VOCAL_SHARE
    melody = found.vocal_line if has_vocals and found.vocal_line else found.top_line
    return Analysis(
        duration_s=found.duration_s, tempo_bpm=round(found.tempo_bpm, 3),
        beats_s=tuple(round(float(t), 4) for t in found.beats_s), meter=found.meter,
        key_tonic_pc=found.key[0], key_mode=found.key[1],
        chords=tuple(ChordSpan(round(a, 4), round(b, 4), r, q, lab) for a, b, r, q, lab in found.chords),
        sections=tuple(Section(lab, round(a, 4), round(b, 4)) for lab, a, b in found.sections),
        melody=tuple(Note(round(n.start_s, 4), round(n.end_s, 4), n.pitch, round(n.amplitude, 3))
                     for n in melody),
        has_vocals=has_vocals,
        vocal_range_midi=melody_part.vocal_range(found.vocal_line) if has_vocals else None,
        lyrics=found.lyrics if has_vocals else None,
        words=tuple(Word(w, round(a, 3), round(b, 3)) for w, a, b in found.words) if has_vocals else (),
        extra={"key_correlation": round(found.key[2], 4), "vocal_share": round(vocal_share, 3),
               "downbeat_s": found.downbeat_s, "timings_s": clock.timings_s},
    )


class _Clock:
    def __init__(self) -> None:
        self.timings_s: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings_s[stage] = round(now - self._t, 3)
        self._t = now


def analyze_file(path: str | Path, *, transcribe: bool = True) -> Analysis:
    """Decode ``path`` (wav, mp3, flac, ogg, m4a: soundfile, else ffmpeg) and :func:`analyze` it.

    Raises
    ------
    InvalidRequest : no such file; UnsupportedFormat : it cannot be decoded.
    """
    from songforge.engine.encode import decode

    path = Path(path)
    if not path.is_file():
        raise InvalidRequest(f"no audio file at {path}", field="path", limit="an existing file")
    audio, rate = decode(path)
    return analyze(audio, sample_rate_hz=rate, transcribe=transcribe)


def warm_up() -> None:
    """Compile librosa's numba code and load basic-pitch once (a few seconds) on 3 s of noise."""
    rng = np.random.default_rng(0)
    analyze(0.1 * rng.standard_normal(3 * 22050).astype(np.float32), sample_rate_hz=22050, transcribe=False)
