"""Notes by basic-pitch (Spotify's ICASSP 2022 model, ONNX through onnxruntime), the lead line,
and vocal presence.

basic-pitch is installed with ``--no-deps`` (its metadata asks for TensorFlow); the ONNX model
ships in its wheel at ``basic_pitch.ICASSP_2022_MODEL_PATH`` and is loaded once per process.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from songforge.engine.analysis.signal import ANALYSIS_RATE_HZ
from songforge.errors import MissingDependency

__all__ = ["RawNote", "transcribe_notes", "top_line", "vocal_presence", "presence_spans", "vocal_line",
           "vocal_range", "VOCAL_RANGE_MIDI", "VOCAL_GRID_S", "MIN_VOCAL_SHARE"]

VOCAL_RANGE_MIDI = (43, 81)  # G2-A5: where a lead singer's notes lie
_OVERTONE_STEPS = (12, 19, 24)
_OVERTONE_RATIO = 1.3
_INSTALL_HINT = "pip install --no-deps basic-pitch && pip install onnxruntime mir-eval 'resampy<0.4.3'"


@dataclass(frozen=True)
class RawNote:
    """A note from basic-pitch: times in seconds, MIDI ``pitch``, ``amplitude`` 0-1 and
    ``bend_std`` the spread of its pitch-bend track (1/3 semitone units; vibrato and glides)."""

    start_s: float
    end_s: float
    pitch: int
    amplitude: float
    bend_std: float


@functools.cache
def _model():
    """The basic-pitch ONNX model (loaded once); its import logs noise about absent backends."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        import basic_pitch
        from basic_pitch.inference import Model
    except ImportError:
        raise MissingDependency(f"basic-pitch is not installed; run: {_INSTALL_HINT}") from None
    finally:
        root.setLevel(level)
    return Model(basic_pitch.ICASSP_2022_MODEL_PATH)


def transcribe_notes(y: np.ndarray, *, min_note_s: float = 0.08) -> list[RawNote]:
    """Polyphonic notes of (n,) mono float32 audio at 22.05 kHz, in start order.

    basic-pitch reads a file, so the audio goes through a temporary 16-bit WAV.
    """
    import soundfile as sf
    from basic_pitch.inference import predict

    with tempfile.TemporaryDirectory(prefix="songforge-bp-") as tmp:
        path = Path(tmp) / "harmonic.wav"
        sf.write(path, np.clip(y, -1.0, 1.0), ANALYSIS_RATE_HZ, subtype="PCM_16")
        with contextlib.redirect_stdout(io.StringIO()):
            _, _, events = predict(path, _model(), onset_threshold=0.5, frame_threshold=0.3,
                                   minimum_note_length=min_note_s * 1000.0, melodia_trick=True)
    notes = [RawNote(float(s), float(e), int(p), float(a), _inner_spread(b)) for s, e, p, a, b in events]
    return sorted(notes, key=lambda n: (n.start_s, -n.pitch))


def _inner_spread(bends: list[int] | None) -> float:
    """Spread of the pitch-bend track over the middle half of a note (vibrato, not the glides
    and attack transients at its edges); 0.0 for short notes."""
    if not bends or len(bends) < 8:
        return 0.0
    q = len(bends) // 4
    return float(np.std(bends[q:len(bends) - q]))


def top_line(notes: list[RawNote], *, min_amplitude: float = 0.4, overlap_share: float = 0.5,
             max_pitch: int = 84) -> list[RawNote]:
    """The skyline: notes (amplitude >= ``min_amplitude``, pitch <= ``max_pitch``: higher ones are
    mostly overtones) not covered for more than ``overlap_share`` of their length by a higher
    note; overlaps trimmed so the line is monophonic."""
    kept = [n for n in notes if n.amplitude >= min_amplitude and n.pitch <= max_pitch]
    kept = [n for n in kept if not _overtone(n, kept)]
    line: list[RawNote] = []
    for n in kept:
        covered = sum(max(0.0, min(n.end_s, o.end_s) - max(n.start_s, o.start_s))
                      for o in kept if o.pitch > n.pitch)
        if covered <= overlap_share * (n.end_s - n.start_s):
            line.append(n)
    return _monophonic(line)


def _overtone(n: RawNote, notes: list[RawNote]) -> bool:
    """``n`` sounds with a clearly louder note an octave, twelfth or two octaves below it."""
    return any(n.pitch - o.pitch in _OVERTONE_STEPS and o.amplitude >= _OVERTONE_RATIO * n.amplitude
               and min(n.end_s, o.end_s) - max(n.start_s, o.start_s) > 0.5 * (n.end_s - n.start_s)
               for o in notes)


def _monophonic(notes: list[RawNote]) -> list[RawNote]:
    out: list[RawNote] = []
    for n in sorted(notes, key=lambda n: (n.start_s, -n.pitch)):
        if out and n.start_s < out[-1].start_s + 0.05:
            continue  # same onset: the higher one is kept
        if out and out[-1].end_s > n.start_s:
            p = out[-1]
            out[-1] = RawNote(p.start_s, n.start_s, p.pitch, p.amplitude, p.bend_std)
        out.append(n)
    return out


# --------------------------------------------------------------------------- vocals

VOCAL_GRID_S = 0.1  # resolution of the vocal-presence track
MIN_VOCAL_SHARE = 0.3  # vocal presence over this share of the audio -> it has vocals
_VIBRATO_BEND_STD = 0.35  # pitch-bend spread (1/3 semitones) that marks a sung (vibrato) note
_VOCAL_MIN_AMPLITUDE = 0.4
_PRESENCE_WINDOW_S = 3.0
_PRESENCE_SHARE = 0.15  # share of a 3 s window covered by sung notes to call it vocal ...
_PRESENCE_MIN_NOTES = 3  # ... when at least this many sung notes start in it
_RANGE_NEIGHBOURS = 8  # notes either side whose median pitch a sung note is checked against ...
_RANGE_MAX_JUMP = 7  # ... semitones from it beyond which it is a stray (octave error, other part)
_LINE_BEND_STD = 0.2  # in vocal stretches, notes bending at least this much join the sung line


def _in_range(n: RawNote) -> bool:
    return VOCAL_RANGE_MIDI[0] <= n.pitch <= VOCAL_RANGE_MIDI[1]


def _sung(n: RawNote) -> bool:
    """A note that could be sung: in the vocal range, loud enough, with vibrato or glide."""
    return _in_range(n) and n.bend_std >= _VIBRATO_BEND_STD and n.amplitude >= _VOCAL_MIN_AMPLITUDE


def vocal_presence(notes: list[RawNote], *, duration_s: float) -> np.ndarray:
    """(ceil(duration_s / 0.1),) bool: where a singing voice is heard.

    A voice glides and vibrates, and it sings words: many separate notes, one or more per
    syllable. Notes in the vocal range with a pitch-bend spread >= 0.35 (x 1/3 semitone) and
    amplitude >= 0.4 count as sung; a 0.1 s step is vocal when, in the 3 s around it, sung notes
    cover >= 15% of the time *and* at least 3 of them start. An instrument with vibrato (a sax, a
    fiddle) plays fewer, longer bending notes and mostly fails the second test.
    """
    t = np.arange(0.0, duration_s, VOCAL_GRID_S)
    covered = np.zeros(len(t))
    onsets = np.zeros(len(t))
    for n in notes:
        if _sung(n) and len(t):
            covered[(t >= n.start_s) & (t < n.end_s)] = 1.0
            onsets[min(len(t) - 1, int(n.start_s / VOCAL_GRID_S))] += 1.0
    width = max(1, int(round(_PRESENCE_WINDOW_S / VOCAL_GRID_S)))
    share = np.convolve(covered, np.ones(width) / width, mode="same")
    starts = np.convolve(onsets, np.ones(width), mode="same")
    return (share >= _PRESENCE_SHARE) & (starts >= _PRESENCE_MIN_NOTES)


def presence_spans(presence: np.ndarray, *, min_gap_s: float = 1.0) -> list[tuple[float, float]]:
    """Vocal stretches ``(start_s, end_s)`` from a :func:`vocal_presence` track; gaps shorter than
    ``min_gap_s`` are bridged."""
    spans: list[list[float]] = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], presence.astype(int), [0]])))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        start, end = a * VOCAL_GRID_S, b * VOCAL_GRID_S
        if spans and start - spans[-1][1] < min_gap_s:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return [(a, b) for a, b in spans]


def vocal_line(notes: list[RawNote], presence: np.ndarray) -> list[RawNote]:
    """The sung line: notes in the vocal range, inside vocal stretches, that bend (>= 0.2) and are
    loud enough; where they overlap the louder one wins, then the line is made monophonic."""
    def voiced(n: RawNote) -> bool:
        i = min(len(presence) - 1, int((n.start_s + n.end_s) / 2 / VOCAL_GRID_S))
        return bool(presence[i]) if len(presence) else False

    cands = [n for n in notes if _in_range(n) and voiced(n) and n.bend_std >= _LINE_BEND_STD
             and n.amplitude >= _VOCAL_MIN_AMPLITUDE]
    kept = []
    for n in cands:
        louder = [o for o in cands if o is not n and o.amplitude > n.amplitude
                  and min(n.end_s, o.end_s) - max(n.start_s, o.start_s) > 0.5 * (n.end_s - n.start_s)]
        if not louder:
            kept.append(n)
    return _monophonic(kept)


def vocal_range(line: list[RawNote]) -> tuple[int, int] | None:
    """(lowest, highest) MIDI pitch of the sung ``line`` (``None`` when empty).

    Only notes within 7 semitones of the median of the 8 notes either side count (a voice moves
    by steps and small leaps; strays are octave errors of the transcription or notes of other
    parts that slipped into the line); of those the outer 2% are ignored.
    """
    pitches = np.array([n.pitch for n in line], dtype=float)
    if len(pitches) == 0:
        return None
    k = _RANGE_NEIGHBOURS
    local = np.array([np.median(pitches[max(0, i - k):i + k + 1]) for i in range(len(pitches))])
    kept = pitches[np.abs(pitches - local) <= _RANGE_MAX_JUMP]
    lo, hi = np.percentile(kept if len(kept) else pitches, [2, 98])
    return int(round(lo)), int(round(hi))
