"""Reference-analysis benchmark: `python bench/analyze.py [--duration 40] [--cache DIR]`.

Renders songs from known scores with the engine (tiny preset; 12 prompts x instrumental / sung),
analyses the mastered audio (no transcription) and prints, per song: tempo found vs written
(ok = within 4%, x2 / x1/2 allowed), key found vs written, section boundaries found within one
beat (hit rate = share of the written boundaries with a found one within one beat, the target;
precision = share of found boundaries within one beat of a written one; false = found boundaries
near none), melody onset F1 and note F1 (mir_eval, 50 ms; the sung line, or
the lead part of instrumentals), whether vocals were detected rightly, and seconds of analysis
per second of audio. Then the real recordings of the Debian package ``abe-data`` (tempo, key,
sections; no ground truth). ``--cache`` keeps the rendered songs between runs.
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

import numpy as np

from songforge.engine.analysis.against_score import compare
from songforge.engine.analyze import analyze, analyze_file, warm_up

PROMPTS = (
    "upbeat pop song with piano", "energetic rock song with electric guitar", "chill lo-fi hip hop beat",
    "country ballad with acoustic guitar", "jazz waltz with piano", "edm dance track",
    "sad piano ballad", "reggae groove", "funk with slap bass", "slow blues", "indie folk song",
    "retro synthwave",
)
REAL_TRACKS = sorted(Path("/usr/share/games/abe/sounds").glob("*.ogg"))


def _render(prompt: str, *, sung: bool, seed: int, duration_s: float, cache: Path | None):
    from songforge.engine.song import make_song
    from songforge.models import SongRequest

    path = cache / f"{seed}-{int(sung)}-{duration_s:g}.pkl" if cache else None
    if path and path.is_file():
        return pickle.loads(path.read_bytes())
    song = make_song(SongRequest(prompt=prompt, instrumental=not sung, seed=seed, duration_s=duration_s,
                                 format="wav"), preset="tiny")
    out = (song.audio, song.sample_rate_hz, song.score)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(out))
    return out


def _row(prompt: str, sung: bool, seed: int, args: argparse.Namespace) -> dict:
    audio, rate, score = _render(prompt, sung=sung, seed=seed, duration_s=args.duration, cache=args.cache)
    start = time.perf_counter()
    found = analyze(audio, sample_rate_hz=rate, transcribe=False)
    speed = (time.perf_counter() - start) / found.duration_s
    got = compare(found, score, sung=sung)
    mel = got["melody"] or {"onset_f1": float("nan"), "note_f1": float("nan")}
    b = got["boundaries"]
    print(f"{prompt[:26]:26} {'sung' if sung else 'inst':4} {score.tempo_bpm:6.1f} {found.tempo_bpm:6.1f} "
          f"{'ok' if got['tempo_ok'] else 'NO':>3} {score.key_name:>9} {found.key:>9} "
          f"{'ok' if got['key_ok'] else 'NO':>3} {b['hit_rate']:5.2f} {b['precision']:5.2f} "
          f"{mel['onset_f1']:5.2f} {mel['note_f1']:5.2f} {'ok' if got['vocals_ok'] else 'NO':>3} "
          f"{speed:6.3f}", flush=True)
    return {**got, "speed": speed, "mel": mel}


def _summary(rows: list[dict]) -> None:
    hits = sum(r["boundaries"]["hit_rate"] * r["boundaries"]["n_true"] for r in rows)
    n_true = sum(r["boundaries"]["n_true"] for r in rows)
    for label, keep in (("instrumental", False), ("sung", True), ("all", None)):
        rs = [r for r in rows if keep is None or r["sung"] == keep]
        if not rs:
            continue
        print(f"{label:12}: tempo ok {np.mean([r['tempo_ok'] for r in rs]):.0%}  key ok "
              f"{np.mean([r['key_ok'] for r in rs]):.0%}  boundary precision "
              f"{np.mean([r['boundaries']['precision'] for r in rs]):.2f}  onset F1 "
              f"{np.nanmean([r['mel']['onset_f1'] for r in rs]):.2f}  note F1 "
              f"{np.nanmean([r['mel']['note_f1'] for r in rs]):.2f}  vocals ok "
              f"{np.mean([r['vocals_ok'] for r in rs]):.0%}  s/s {np.mean([r['speed'] for r in rs]):.3f}")
    n_found = sum(r["boundaries"]["n_found"] for r in rows)
    n_false = sum(r["boundaries"]["n_false"] for r in rows)
    print(f"section boundaries within one beat: {hits:.0f}/{n_true:.0f} = {hits / max(n_true, 1):.0%} of the true "
          f"ones found; {n_false:.0f} of {n_found:.0f} found are false (precision {1 - n_false / max(n_found, 1):.0%})")
    inst_flagged = sum(r["vocals_ok"] is False for r in rows if not r["sung"])
    sung_missed = sum(r["vocals_ok"] is False for r in rows if r["sung"])
    print(f"vocals: {inst_flagged} instrumental(s) flagged sung, {sung_missed} sung one(s) missed")


def _real(transcribe: bool) -> None:
    if not REAL_TRACKS:
        print("abe-data is not installed (scripts/install-system.sh): no real recordings")
        return
    print("\nreal recordings (Debian abe-data, no ground truth)")
    for path in REAL_TRACKS:
        start = time.perf_counter()
        found = analyze_file(path, transcribe=transcribe)
        speed = (time.perf_counter() - start) / found.duration_s
        print(f"{path.name:12} {found.duration_s:6.1f} s  tempo {found.tempo_bpm:6.1f}  meter {found.meter}  "
              f"key {found.key:9}  vocals {found.has_vocals!s:5}  {len(found.chords):3} chords  "
              f"sections {' '.join(s.label for s in found.sections)}  {speed:.3f} s/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=40.0, help="song length in seconds")
    parser.add_argument("--songs", type=int, default=len(PROMPTS), help="how many prompts")
    parser.add_argument("--cache", type=Path, default=None, help="keep rendered songs here")
    parser.add_argument("--transcribe", action="store_true", help="also transcribe the real tracks")
    args = parser.parse_args()
    warm_up()
    print(f"{'prompt':26} {'kind':4} {'bpm':>6} {'found':>6} {'':>3} {'key':>9} {'found':>9} {'':>3} "
          f"{'bhit':>5} {'bprec':>5} {'onF1':>5} {'ntF1':>5} {'voc':>3} {'s/s':>6}")
    rows = []
    for seed, prompt in enumerate(PROMPTS[:args.songs], start=1):
        for sung in (False, True):
            rows.append({**_row(prompt, sung, seed, args), "sung": sung})
    _summary(rows)
    _real(args.transcribe)


if __name__ == "__main__":
    main()
