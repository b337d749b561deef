"""How alike two lead lines are: the measure a cover is judged by.

:func:`lead_similarity` is the note-level F1 of ``mir_eval.transcription`` (onset within
``onset_tolerance_beats``, pitch within 50 cents, offsets ignored) between two lines in score
beats, i.e. after tempo normalisation: each line is on its own song's beat grid, so a cover at
another tempo is compared beat for beat. It is octave-blind (the best of shifts by -2..+2 octaves),
since a cover sung by another voice moves the tune by octaves.

Measured (tests/engine/test_remake_cover.py): covers of a rendered song at ``audio_weight`` 1 score
1.0 and at 0.5 about 0.5-0.7; unrelated songs score <= 0.12 against each other. The threshold
:data:`SAME_TUNE_F1` = 0.3 sits between, well clear of both.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from songforge.engine.score import Note, midi_to_hz

__all__ = ["lead_similarity", "SAME_TUNE_F1"]

SAME_TUNE_F1 = 0.3
"""Above this F1, two lead lines are the same tune (see the module doc for the measurements)."""


def lead_similarity(
    reference: Sequence[Note], estimate: Sequence[Note], *, onset_tolerance_beats: float = 0.125,
    octave_blind: bool = True,
) -> float:
    """Note F1 (0-1) of ``estimate`` against ``reference`` (both in beats; pitches MIDI).

    Parameters
    ----------
    reference, estimate : the lines; notes with ``lyric == "-"`` continue the previous syllable
        but are notes all the same.
    onset_tolerance_beats : how far an onset may be from the reference's and still match.
    octave_blind : score the best of the estimate moved by whole octaves (-24..24 semitones).

    Returns
    -------
    float, 0 when either line is empty.

    Examples
    --------
    >>> from songforge.engine.score import Note
    >>> line = [Note(60, 0, 1), Note(62, 1, 1), Note(64, 2, 2)]
    >>> lead_similarity(line, [Note(n.pitch + 12, n.start_beat, n.duration_beats) for n in line])
    1.0
    """
    import mir_eval

    if not reference or not estimate:
        return 0.0
    ref_iv, ref_hz = _arrays(reference, 0)
    shifts = (-24, -12, 0, 12, 24) if octave_blind else (0,)
    best = 0.0
    for shift in shifts:
        est_iv, est_hz = _arrays(estimate, shift)
        _, _, f1, _ = mir_eval.transcription.precision_recall_f1_overlap(
            ref_iv, ref_hz, est_iv, est_hz, onset_tolerance=onset_tolerance_beats, pitch_tolerance=50.0,
            offset_ratio=None)
        best = max(best, float(f1))
    return best


def _arrays(notes: Sequence[Note], shift: int) -> tuple[np.ndarray, np.ndarray]:
    """(intervals (n, 2) in beats, pitches (n,) in Hz): beats stand in for seconds."""
    ordered = sorted(notes, key=lambda n: n.start_beat)
    intervals = np.array([[n.start_beat, n.start_beat + max(n.duration_beats, 1e-3)] for n in ordered])
    pitches = np.asarray(midi_to_hz(np.array([n.pitch + shift for n in ordered], dtype=float)))
    return intervals, pitches
