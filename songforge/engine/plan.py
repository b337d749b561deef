"""Prompt -> SongPlan: genre, tempo, key, mode, meter, energy, instruments, vocal range.

``plan_song`` is the entry point (implemented below the dataclass).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["SongPlan", "plan_song"]


@dataclass(frozen=True)
class SongPlan:
    """Everything the composer needs to know, decided from the request.

    Attributes
    ----------
    prompt : the prompt the plan was made from.
    genre : a style name from ``engine/styles`` (e.g. ``"pop"``).
    tempo_bpm : the felt beat in beats per minute (dotted quarters in 6/8).
    meter : (numerator, denominator), e.g. (4, 4), (3, 4), (6, 8).
    tonic_pc : key's pitch class, 0 = C .. 11 = B.
    mode : ``"major"`` or ``"minor"``.
    energy : 0-1 (calm .. intense).
    mood : one word: ``happy``, ``sad``, ``dark``, ``calm``, ``energetic``, ``romantic``,
        ``epic``, ``dreamy``, ``angry`` or ``neutral``.
    instruments : ``(role, GM program)`` pairs that will play; roles as in ``Part.role``.
    requested_programs : GM programs named in the prompt (each is in ``instruments``).
    excluded_programs : GM programs the prompt rules out (none is in ``instruments``).
    excluded_roles : roles the prompt rules out entirely (e.g. ``"drums"`` for "no drums").
    duration_s : target length in seconds.
    seed : the seed every later random stage derives from.
    instrumental : no vocals.
    gender : ``"female"`` or ``"male"``.
    vocal_range : (lowest, highest) MIDI note for the singer.
    swing : 0 straight .. 0.33 triplet swing.
    style_weight : 0-1, how strictly the genre preset is followed.
    weirdness : 0-1, how adventurous harmony, melody and form get.
    title : a song title.
    """

    prompt: str
    genre: str
    tempo_bpm: float
    meter: tuple[int, int]
    tonic_pc: int
    mode: str
    energy: float
    mood: str
    instruments: tuple[tuple[str, int], ...]
    requested_programs: tuple[int, ...]
    excluded_programs: tuple[int, ...]
    excluded_roles: tuple[str, ...]
    duration_s: float
    seed: int
    instrumental: bool
    gender: str
    vocal_range: tuple[int, int]
    swing: float = 0.0
    style_weight: float = 0.5
    weirdness: float = 0.5
    title: str = ""

    @property
    def pulse_quarters(self) -> float:
        """Felt beat in quarter notes: 1.5 in compound meters (6/8, 9/8, 12/8), else 4/denominator."""
        num, den = self.meter
        if den == 8 and num % 3 == 0:
            return 1.5
        return 4.0 / den

    @property
    def quarter_bpm(self) -> float:
        """Quarter notes per minute (the MIDI tempo)."""
        return self.tempo_bpm * self.pulse_quarters

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
