"""How well an analysis recovers the score a song was rendered from (for benches and tests).

Tempo within 4% (x2 and x1/2 allowed, :func:`songforge.engine.evaluate.tempo_matches`), key
(tonic and mode), section boundaries within one beat, and the melody's onset F1 against the
written lead (the sung line when there is one) with mir_eval's transcription metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from songforge.engine.evaluate import tempo_matches

if TYPE_CHECKING:
    from songforge.engine.analyze import Analysis
    from songforge.engine.score import Score

__all__ = ["reference_melody", "boundary_scores", "melody_scores", "compare"]

_ONSET_TOLERANCE_S = 0.05


def reference_melody(score: Score) -> list[tuple[float, float, int]]:
    """``(start_s, end_s, pitch)`` of the lead vocal, else of the ``lead`` part ([] if neither)."""
    for role in ("vocal", "lead"):
        parts = [p for p in score.parts if p.role == role]
        if parts:
            return [(score.beats_to_seconds(n.start_beat), score.beats_to_seconds(n.end_beat), n.pitch)
                    for n in parts[0].notes]
    return []


def boundary_scores(analysis: Analysis, score: Score) -> dict[str, float]:
    """Inner boundaries (section starts after 0 s), matched within one beat of the written tempo.

    ``hit_rate`` (the target metric, recall): share of the score's boundaries with a found
    boundary within one beat; ``precision``: share of found boundaries within one beat of a true
    one; ``n_true`` / ``n_found`` / ``n_false`` counts (``n_false`` found ones near no true one).
    """
    beat_s = 60.0 / score.tempo_bpm
    true = [a for _, _, a, _ in score.section_times_s()[1:]]
    found = [s.start_s for s in analysis.sections[1:]]
    hits = sum(any(abs(t - f) <= beat_s for f in found) for t in true)
    good = sum(any(abs(t - f) <= beat_s for t in true) for f in found)
    return {"hit_rate": hits / len(true) if true else 1.0,
            "precision": good / len(found) if found else 1.0, "n_true": float(len(true)),
            "n_found": float(len(found)), "n_false": float(len(found) - good)}


def melody_scores(analysis: Analysis, score: Score) -> dict[str, float] | None:
    """mir_eval onset F1 (50 ms) and note F1 (onset + pitch, offsets ignored) of the analysed
    melody against :func:`reference_melody`; ``None`` when the score has no lead."""
    import mir_eval

    ref = reference_melody(score)
    if not ref:
        return None
    ref_iv = np.array([[a, b] for a, b, _ in ref])
    ref_hz = 440.0 * 2 ** ((np.array([p for _, _, p in ref]) - 69) / 12)
    est = [(n.start_s, max(n.end_s, n.start_s + 0.01), n.pitch) for n in analysis.melody]
    if not est:
        return {"onset_f1": 0.0, "note_f1": 0.0}
    est_iv = np.array([[a, b] for a, b, _ in est])
    est_hz = 440.0 * 2 ** ((np.array([p for _, _, p in est]) - 69) / 12)
    _, _, onset_f1 = mir_eval.transcription.onset_precision_recall_f1(
        ref_iv, est_iv, onset_tolerance=_ONSET_TOLERANCE_S)
    _, _, note_f1, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref_iv, ref_hz, est_iv, est_hz, onset_tolerance=_ONSET_TOLERANCE_S, offset_ratio=None)
    return {"onset_f1": float(onset_f1), "note_f1": float(note_f1)}


def compare(analysis: Analysis, score: Score, *, sung: bool) -> dict[str, Any]:
    """All of the above plus ``tempo_ok``, ``key_ok``, ``vocals_ok`` in one dict."""
    return {
        "tempo_ok": tempo_matches(analysis.tempo_bpm, score.tempo_bpm, meter=score.meter),
        "key_ok": (analysis.key_tonic_pc, analysis.key_mode) == (score.tonic_pc % 12, score.mode),
        "vocals_ok": analysis.has_vocals == sung,
        "boundaries": boundary_scores(analysis, score),
        "melody": melody_scores(analysis, score),
    }
