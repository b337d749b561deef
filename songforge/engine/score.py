"""The musical score: immutable notes, parts and sections, with time conversions and MIDI export.

Times are in quarter-note beats from the start of the song; ``Score.tempo_bpm`` is quarter notes
per minute and is constant for a song. ``Score.pulse_quarters`` is the felt beat in quarter notes
(1.0 for x/4 meters, 1.5 for 6/8 and 12/8), so ``Score.pulse_bpm`` is the tempo a listener taps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "Note",
    "Chord",
    "Part",
    "Section",
    "Score",
    "midi_to_hz",
    "hz_to_midi",
    "beats_to_seconds",
    "seconds_to_beats",
    "PITCH_CLASSES",
]

PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def midi_to_hz(midi: float | np.ndarray) -> float | np.ndarray:
    """MIDI note number (69 = A4) -> frequency in Hz."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=float) - 69.0) / 12.0)


def hz_to_midi(hz: float | np.ndarray) -> float | np.ndarray:
    """Frequency in Hz (> 0) -> fractional MIDI note number."""
    return 69.0 + 12.0 * np.log2(np.asarray(hz, dtype=float) / 440.0)


def beats_to_seconds(beats: float, *, tempo_bpm: float) -> float:
    """Quarter-note beats -> seconds at ``tempo_bpm`` quarter notes per minute."""
    return beats * 60.0 / tempo_bpm


def seconds_to_beats(seconds: float, *, tempo_bpm: float) -> float:
    """Seconds -> quarter-note beats at ``tempo_bpm``."""
    return seconds * tempo_bpm / 60.0


@dataclass(frozen=True)
class Note:
    """One note. ``pitch`` is MIDI 0-127 (a GM drum key on drum parts); ``velocity`` 1-127.

    ``lyric`` is the syllable sung on the note (vocal parts only); a note whose lyric is ``"-"``
    continues the previous syllable (melisma).
    """

    pitch: int
    start_beat: float
    duration_beats: float
    velocity: int = 90
    lyric: str | None = None

    @property
    def end_beat(self) -> float:
        return self.start_beat + self.duration_beats


@dataclass(frozen=True)
class Chord:
    """A chord held from ``start_beat`` for ``duration_beats``; root and bass are pitch classes 0-11.

    ``quality`` is one of ``maj``, ``min``, ``dim``, ``aug``, ``sus2``, ``sus4``, ``7``, ``maj7``,
    ``min7``, ``m7b5``, ``dim7``, ``add9``, ``min9``, ``maj9``, ``9``, ``6``, ``min6``.
    """

    start_beat: float
    duration_beats: float
    root_pc: int
    quality: str = "maj"
    bass_pc: int | None = None


@dataclass(frozen=True)
class Part:
    """One instrument line, rendered to one stem.

    ``name`` is unique in a score and names the stem file; ``role`` is one of ``drums``, ``bass``,
    ``chords``, ``pad``, ``lead``, ``arp``, ``counter``, ``vocal``, ``harmony_vocal``, ``fx``.
    ``program`` is the General MIDI program 0-127 (the kit number on drum parts).
    ``pan`` is -1 (left) .. +1 (right).
    """

    name: str
    role: str
    program: int
    notes: tuple[Note, ...] = ()
    is_drum: bool = False
    pan: float = 0.0
    gain_db: float = 0.0


@dataclass(frozen=True)
class Section:
    """A section of the form. ``kind`` is one of ``intro``, ``verse``, ``pre_chorus``, ``chorus``,
    ``post_chorus``, ``bridge``, ``solo``, ``inst``, ``break``, ``build_up``, ``hook``,
    ``interlude``, ``outro``; ``name`` is unique (``"verse 2"``). ``energy`` is 0-1.
    """

    name: str
    kind: str
    start_beat: float
    length_beats: float
    energy: float = 0.5
    chords: tuple[Chord, ...] = ()

    @property
    def end_beat(self) -> float:
        return self.start_beat + self.length_beats


@dataclass(frozen=True)
class Score:
    """A whole song as notes.

    ``meter`` is (numerator, denominator), e.g. (6, 8); ``beats_per_bar`` is the bar length in
    quarter notes (4/4 -> 4, 3/4 -> 3, 6/8 -> 3). ``tonic_pc`` is the key's pitch class (0 = C) and
    ``mode`` is ``"major"`` or ``"minor"``.
    """

    tempo_bpm: float
    meter: tuple[int, int]
    tonic_pc: int
    mode: str
    sections: tuple[Section, ...]
    parts: tuple[Part, ...]
    pulse_quarters: float = 1.0
    title: str = ""
    metadata: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def beats_per_bar(self) -> float:
        num, den = self.meter
        return num * 4.0 / den

    @property
    def pulse_bpm(self) -> float:
        """The felt beat in beats per minute (dotted quarters in 6/8)."""
        return self.tempo_bpm / self.pulse_quarters

    @property
    def length_beats(self) -> float:
        return max((s.end_beat for s in self.sections), default=0.0)

    @property
    def duration_s(self) -> float:
        """Length of the form in seconds (instrument release tails ring on past it)."""
        return self.beats_to_seconds(self.length_beats)

    @property
    def key_name(self) -> str:
        return f"{PITCH_CLASSES[self.tonic_pc % 12]} {self.mode}"

    def beats_to_seconds(self, beats: float) -> float:
        return beats_to_seconds(beats, tempo_bpm=self.tempo_bpm)

    def seconds_to_beats(self, seconds: float) -> float:
        return seconds_to_beats(seconds, tempo_bpm=self.tempo_bpm)

    def part(self, name: str) -> Part:
        """The part called ``name``; ``KeyError`` if there is none."""
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(name)

    def section_times_s(self) -> list[tuple[str, str, float, float]]:
        """``(name, kind, start_s, end_s)`` for every section, in playing order."""
        return [
            (s.name, s.kind, self.beats_to_seconds(s.start_beat), self.beats_to_seconds(s.end_beat))
            for s in self.sections
        ]

    def to_midi(self, path: str | Path | None = None):  # -> pretty_midi.PrettyMIDI
        """Export the score as a General MIDI file (written to ``path`` when given).

        Drum parts go to channel 10; vocal syllables are written as MIDI lyric events.
        Returns the ``pretty_midi.PrettyMIDI`` object.
        """
        import pretty_midi

        pm = pretty_midi.PrettyMIDI(initial_tempo=float(self.tempo_bpm))
        pm.time_signature_changes.append(pretty_midi.TimeSignature(self.meter[0], self.meter[1], 0.0))
        key_number = self.tonic_pc % 12 + (12 if self.mode == "minor" else 0)
        pm.key_signature_changes.append(pretty_midi.KeySignature(key_number, 0.0))
        for part in self.parts:
            inst = pretty_midi.Instrument(
                program=0 if part.is_drum else int(part.program), is_drum=part.is_drum, name=part.name
            )
            for n in part.notes:
                start_s = self.beats_to_seconds(n.start_beat)
                end_s = self.beats_to_seconds(n.end_beat)
                inst.notes.append(pretty_midi.Note(int(n.velocity), int(n.pitch), start_s, end_s))
                if n.lyric and n.lyric != "-":
                    pm.lyrics.append(pretty_midi.Lyric(n.lyric, start_s))
            pm.instruments.append(inst)
        if path is not None:
            pm.write(str(path))
        return pm
