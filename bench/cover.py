"""Cover bench: how well a cover keeps the source's tune, from the real analysis of the audio.

For each prompt a sung song is rendered (tiny preset), analysed as uploaded audio would be
(:func:`songforge.engine.analyze.analyze`, no knowledge of the score), and covered in another
style at ``audio_weight`` 1. Printed per song: analysis time, the note F1 of the transcribed
melody against the true vocal line, and the note F1 of the cover's vocal line against it
(:func:`songforge.engine.remake.similarity.lead_similarity`, same tune above
``SAME_TUNE_F1``). Our own songs given back byte-identical skip transcription (their score's
analysis is used), so this measures covers of audio we did not make.

    .venv/bin/python bench/cover.py [--duration 30]
"""

from __future__ import annotations

import argparse
import time

from songforge.engine.analyze import analyze
from songforge.engine.remake import ReferenceAudio, ResolvedReference, cover
from songforge.engine.remake.similarity import SAME_TUNE_F1, lead_similarity
from songforge.engine.score import Note, Score
from songforge.engine.song import make_song
from songforge.models import Reference, SongRequest

PROMPTS = ((3, "upbeat pop song with piano"), (11, "indie folk song"), (5, "soul ballad"))


def _vocal_in_beats(score: Score, tempo_bpm: float) -> list[Note]:
    """The score's vocal line re-timed onto ``tempo_bpm`` beats (so two scores compare in time)."""
    sec = score.beats_to_seconds
    return [Note(n.pitch, sec(n.start_beat) * tempo_bpm / 60,
                 max(0.05, (sec(n.end_beat) - sec(n.start_beat)) * tempo_bpm / 60)) for n in score.part("vocals").notes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="source length, seconds")
    args = parser.parse_args()
    print(f"{'source':28s} {'analyse s':>9s} {'melody F1':>9s} {'cover F1':>8s}  tempo found/true  (same tune >= {SAME_TUNE_F1})")
    for seed, prompt in PROMPTS:
        source = make_song(SongRequest(prompt=prompt, duration_s=args.duration, seed=seed, format="wav"), preset="tiny")
        started_s = time.perf_counter()
        found = analyze(source.audio, sample_rate_hz=source.sample_rate_hz, transcribe=True)
        analyse_s = time.perf_counter() - started_s
        tempo_bpm = source.score.tempo_bpm
        truth = _vocal_in_beats(source.score, tempo_bpm)
        melody = [Note(n.pitch, n.start_s * tempo_bpm / 60, max(0.05, (n.end_s - n.start_s) * tempo_bpm / 60))
                  for n in found.melody]
        spec = Reference(mode="cover", audio_id="0" * 32, audio_weight=1.0)
        resolved = ResolvedReference(spec, source=ReferenceAudio(source.audio, source.sample_rate_hz, found))
        covered = cover.make(SongRequest(prompt="jazz trio", seed=1, format="wav", reference=spec), resolved,
                             preset="tiny")
        print(f"{prompt:28s} {analyse_s:9.1f} {lead_similarity(truth, melody):9.2f} "
              f"{lead_similarity(truth, _vocal_in_beats(covered.score, tempo_bpm)):8.2f}  "
              f"{found.tempo_bpm:.1f}/{tempo_bpm:.1f}", flush=True)


if __name__ == "__main__":
    main()
