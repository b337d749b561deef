"""Quality benchmark of instrumental songs: tempo and key adherence, loudness, peaks, clipping.

Usage: `python bench/quality.py [--preset default|tiny] [--duration 30] [--seed 1]`.
Prints one row per prompt and a summary (share of songs whose detected tempo and key match the
plan; loudness and true-peak ranges; clipped samples).
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.table import Table

from songforge.engine.evaluate import evaluate_audio
from songforge.engine.song import make_song
from songforge.evalsets import INSTRUMENTAL_PROMPTS
from songforge.models import AudioFormat, SongRequest


def _row(prompt: str, *, preset: str, duration_s: float, seed: int) -> dict[str, object]:
    request = SongRequest(prompt=prompt, instrumental=True, duration_s=duration_s, seed=seed, format=AudioFormat.WAV)
    started = time.perf_counter()
    song = make_song(request, preset=preset)
    plan = song.plan.to_dict()  # type: ignore[attr-defined]
    report = evaluate_audio(song.audio, sample_rate_hz=song.sample_rate_hz, plan=plan)
    report.update(genre=plan["genre"], plan_bpm=plan["tempo_bpm"], plan_key=song.score.key_name,
                  wall_s=time.perf_counter() - started)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rows = [_row(p, preset=args.preset, duration_s=args.duration, seed=args.seed + i)
            for i, p in enumerate(INSTRUMENTAL_PROMPTS)]
    table = Table(title=f"quality: {len(rows)} prompts, {args.duration:g} s, preset {args.preset}")
    for col in ("genre", "plan BPM", "found BPM", "tempo", "plan key", "found key", "key", "LUFS", "dBTP", "clipped"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["genre"]), f"{r['plan_bpm']:.0f}", f"{r['tempo_bpm']:.1f}", "ok" if r["tempo_ok"] else "MISS",
                      str(r["plan_key"]), str(r["key_name"]), "ok" if r["key_ok"] else "MISS",
                      f"{r['integrated_lufs']:.2f}", f"{r['true_peak_dbtp']:.2f}", str(r["clipped_samples"]))
    console = Console(width=150)
    console.print(table)
    n = len(rows)
    console.print(
        f"tempo ok {sum(bool(r['tempo_ok']) for r in rows)}/{n}, key ok {sum(bool(r['key_ok']) for r in rows)}/{n}, "
        f"LUFS {min(r['integrated_lufs'] for r in rows):.2f}..{max(r['integrated_lufs'] for r in rows):.2f}, "
        f"max true peak {max(r['true_peak_dbtp'] for r in rows):.2f} dBTP, "
        f"clipped {sum(int(r['clipped_samples']) for r in rows)}, "
        f"mean wall {sum(float(r['wall_s']) for r in rows) / n:.2f} s"
    )


if __name__ == "__main__":
    main()
