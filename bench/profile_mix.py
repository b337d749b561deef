"""Time the instrumental pipeline phase by phase (wall and process CPU) for one song.

Usage: python bench/profile_mix.py [duration_s] [--cache DIR] [--repeat N] [--profile]

Rendered stems are cached (npy) in ``--cache`` so mix/master/encode can be timed again without
re-rendering. CPU time is ``time.process_time`` (all threads of this process).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import time
from pathlib import Path

import numpy as np

PROMPT = "upbeat pop song with piano, synth and drums"
SR = 48000


def _usage() -> tuple[float, float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt


class Timer:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, float, int]] = []

    def __call__(self, name, fn, *a, **k):
        w, c, u = time.perf_counter(), time.process_time(), _usage()
        out = fn(*a, **k)
        u2 = _usage()
        self.rows.append(
            (name, time.perf_counter() - w, time.process_time() - c, u2[1] - u[1], u2[2] - u[2])
        )
        return out

    def report(self) -> None:
        for name, w, c, sys_s, faults in self.rows:
            print(
                f"{name:28s} wall {w:7.3f} s  cpu {c:7.3f} s  (sys {sys_s:6.3f} s, "
                f"{faults:7d} page faults)"
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("duration", type=float, nargs="?", default=180.0)
    ap.add_argument("--cache", default="/tmp/songforge_stems")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    from songforge.engine import mix as M
    from songforge.engine.compose import compose
    from songforge.engine.encode import StreamEncoder
    from songforge.engine.evaluate import integrated_lufs, true_peak_dbtp
    from songforge.engine.plan import plan_song
    from songforge.engine.presets import get_preset
    from songforge.engine.render import render_stems
    from songforge.engine.styles import load_style
    from songforge.models import SongRequest

    settings = get_preset("default")
    plan = plan_song(
        SongRequest(prompt=PROMPT, instrumental=True, duration_s=args.duration, seed=args.seed),
        seed=args.seed,
    )
    score = compose(plan)
    roles = {p.name: p.role for p in score.parts}
    style_mix = load_style(plan.genre).mix
    cache = Path(args.cache) / f"{int(args.duration)}_{args.seed}"
    for rep in range(args.repeat):
        t = Timer()
        if cache.is_dir() and rep == 0 and any(cache.glob("*.npy")):
            stems = {p.stem: np.load(p) for p in sorted(cache.glob("*.npy"))}
            stems = {p.name: stems[p.name] for p in score.parts}
        else:
            stems = t(
                "render",
                render_stems,
                score,
                sample_rate_hz=SR,
                soundfont=settings.soundfont,
                tail_s=settings.render_tail_s,
            )
            cache.mkdir(parents=True, exist_ok=True)
            for k, v in stems.items():
                np.save(cache / f"{k}.npy", v)
        prof = cProfile.Profile() if args.profile else None
        if prof:
            prof.enable()
        mixed, processed = t(
            "mix_stems", M.mix_stems, stems, roles=roles, sample_rate_hz=SR, style_mix=style_mix
        )
        out = t("master", M.master, mixed, sample_rate_hz=SR)
        if prof:
            prof.disable()

        def _mp3(out: np.ndarray = out) -> bytes:
            enc = StreamEncoder(
                format="mp3",
                sample_rate_hz=SR,
                bitrate_kbps=256,
                total_frames=out.shape[0],
                mp3_quality=settings.mp3_quality,
            )
            return enc.feed(out) + enc.finish()

        data = t(f"mp3 q{settings.mp3_quality}", _mp3)
        t.report()
        total_w = sum(r[1] for r in t.rows)
        total_c = sum(r[2] for r in t.rows)
        print(f"{'total':28s} wall {total_w:7.3f} s  cpu {total_c:7.3f} s   mp3 {len(data)} bytes")
        print(
            f"  LUFS {integrated_lufs(out, SR):.3f}  TP {true_peak_dbtp(out, SR):.3f} dBTP  "
            f"max {np.abs(out).max():.4f}  dc {out[SR:].mean(axis=0)}  "
            f"pre-bus sum peak {np.abs(np.sum(list(processed.values()), axis=0)).max():.3f}"
        )
        if prof:
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
