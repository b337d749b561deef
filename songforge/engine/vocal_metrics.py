"""Objective measures of a sung vocal against its score: pitch accuracy, intelligibility, timing.

- :func:`pitch_accuracy`: per-note pitch error in cents on the dry vocal, and the share of voiced
  frames within 50 cents of the written note.
- :func:`intelligibility`: word error rate (English) or character error rate (Chinese) of
  Whisper-base's transcript against the lyrics.
- :func:`onset_errors_s`: how far the transcript's word onsets lie from the planned ones.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from songforge.engine.score import Note, midi_to_hz

__all__ = ["PitchReport", "pitch_accuracy", "intelligibility", "onset_errors_s"]

_FRAME_S = 0.005
_ANALYSIS_RATE_HZ = 16000


@dataclass(frozen=True)
class PitchReport:
    """``note_errors_cents``: signed median error per measured note; ``within_50_share``: share of
    voiced frames (in the steady part of every note) within 50 cents of the score."""

    note_errors_cents: tuple[float, ...]
    within_50_share: float
    n_frames: int

    @property
    def median_abs_cents(self) -> float:
        return float(np.median(np.abs(self.note_errors_cents))) if self.note_errors_cents else float("nan")


def _f0_track(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """F0 in Hz every 5 ms (0 where unvoiced), by WORLD's harvest on a 16 kHz copy."""
    import soxr

    from songforge.engine.voice.singer import import_pyworld

    pyworld = import_pyworld()
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    x = soxr.resample(mono.astype(np.float64), sample_rate_hz, _ANALYSIS_RATE_HZ)
    f0, _ = pyworld.harvest(x, _ANALYSIS_RATE_HZ, f0_floor=60.0, f0_ceil=1000.0, frame_period=_FRAME_S * 1000)
    return f0


def pitch_accuracy(
    audio: np.ndarray, *, sample_rate_hz: int, notes: Sequence[Note], tempo_bpm: float,
    guard_start_s: float = 0.05, guard_end_s: float = 0.09,
) -> PitchReport:
    """Pitch error of a dry vocal against its notes.

    Parameters
    ----------
    audio : (n,) or (n, 2) dry vocal.
    notes : the sung notes (quarter-note beats); ``Note.pitch`` is the written MIDI pitch.
    tempo_bpm : quarter notes per minute of the score.
    guard_start_s, guard_end_s : left out at each note's ends, matched to what the singer
        (``songforge.engine.voice.singer.VoiceProfile``) does there. Start, 0.05 s: the 70 ms
        Hann portamento glides into the note for its first 35 ms, plus ~15 ms for the F0
        tracker's own smoothing (the vowel starts on the onset: the syllable's onset consonants
        lie before the note). End, 0.09 s: the next syllable's onset consonants start up to
        90 ms (``onset_lead_s``) before its note, so the last 90 ms of a note carry this
        syllable's coda and the next one's onset (unvoiced there; harvest reports spurious F0 on
        those consonants, hundreds of cents off) and the glide out (the last 35 ms).
        Everything else in the note is measured, vibrato (+-35 cents) and drift included.

    Returns
    -------
    PitchReport; notes shorter than the guards, or with under 3 voiced frames, are not measured.
    """
    f0 = _f0_track(audio, sample_rate_hz)
    errors, inside = [], []
    for note in notes:
        start_s = note.start_beat * 60.0 / tempo_bpm + guard_start_s
        end_s = note.end_beat * 60.0 / tempo_bpm - guard_end_s
        frames = f0[int(start_s / _FRAME_S): max(int(end_s / _FRAME_S), 0)]
        voiced = frames[frames > 0]
        if voiced.size < 3:
            continue
        cents = 1200.0 * np.log2(voiced / float(midi_to_hz(note.pitch)))
        errors.append(float(np.median(cents)))
        inside.append(np.abs(cents) <= 50.0)
    frames_ok = np.concatenate(inside) if inside else np.zeros(0, dtype=bool)
    share = float(frames_ok.mean()) if frames_ok.size else float("nan")
    return PitchReport(tuple(errors), share, int(frames_ok.size))


def intelligibility(audio: np.ndarray, *, sample_rate_hz: int, lyrics: Sequence[str], language: str,
                    spans_s: Sequence[tuple[float, float]] | None = None) -> dict[str, object]:
    """Whisper-base transcript of ``audio`` and its error rate against the sung ``lyrics`` lines.

    ``spans_s``: the sung lines' ``(start_s, end_s)`` (e.g. ``Song.lines`` or
    ``SungVocal.line_timings``). When given, only those spans are transcribed, a few lines at a
    time (:func:`songforge.engine.asr.transcribe_spans`): on a whole song Whisper-base skips
    30 s windows of synthetic singing as "no speech" and fills instrumental stretches with
    hallucinated credits, which measures Whisper's segmentation rather than the singing (and
    puts word onsets tens of seconds off). ``None`` transcribes the whole audio at once.

    Returns ``{"error_rate", "metric" ("wer" or "cer"), "transcript", "words"}``.
    """
    from songforge.engine.asr import (
        character_error_rate,
        transcribe,
        transcribe_spans,
        word_error_rate,
    )

    if spans_s is not None:
        transcript = transcribe_spans(audio, sample_rate_hz=sample_rate_hz, spans_s=spans_s,
                                      language=language)
    else:
        transcript = transcribe(audio, sample_rate_hz=sample_rate_hz, language=language)
    reference = "\n".join(lyrics)
    if language == "zh":
        rate, metric = character_error_rate(reference, transcript.text), "cer"
    else:
        rate, metric = word_error_rate(reference, transcript.text), "wer"
    return {"error_rate": rate, "metric": metric, "transcript": transcript.text, "words": transcript.words}


def onset_errors_s(
    planned: Sequence[tuple[str, float]], heard: Sequence[tuple[str, float, float]]
) -> list[float]:
    """|heard - planned| onset in seconds for each planned word matched to a transcript word.

    ``planned`` is ``(word, start_s)`` from our timings, ``heard`` the transcript's
    ``(word, start_s, end_s)``; words are matched in order by their normalised spelling.
    Chinese is matched character by character: our timings have one word per character while
    Whisper's words span several (``我們``), so a heard word with Chinese characters is split
    into its characters (times shared out evenly) and traditional characters are simplified.
    """
    from songforge.engine.asr import normalize_chinese

    def norm(word: str) -> str:
        return "".join(ch for ch in word.lower() if ch.isalnum())

    def split(word: str, start_s: float, end_s: float) -> list[tuple[str, float]]:
        if not _HAN.search(word):
            return [(norm(word), start_s)]
        chars = [ch for ch in normalize_chinese(word) if not ch.isspace()]
        step = (end_s - start_s) / max(len(chars), 1)
        return [(ch, start_s + k * step) for k, ch in enumerate(chars)]

    a = [norm(w) for w, _ in planned]
    pieces = [p for w, s, e in heard for p in split(w, s, e)]
    b = [w for w, _ in pieces]
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    errors = []
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            errors.append(abs(pieces[block.b + k][1] - planned[block.a + k][1]))
    return errors


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
