"""Chinese vs English song speed: the same 180 s song (prompt, seed, form) to mp3, sung in each language.

Usage: `python bench/zh_speed.py [--duration 180] [--rounds 2] [--preset default]`.
Alternates English and Chinese renders (so machine load hits both alike) and prints the wall
time of each, the vocal stage's time, and the ratio Chinese / English of the medians.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from songforge.engine.song import make_song
from songforge.evalsets import LYRIC_SHEETS_EN, LYRIC_SHEETS_ZH
from songforge.models import SongRequest

_PROMPT = "pop ballad with piano and strings"


def _render(sheet: str, *, duration_s: float, preset: str) -> tuple[float, float, float]:
    """(wall seconds, vocal-stage seconds, song seconds) of one song encoded to mp3 (in ``make_song``)."""
    start = time.perf_counter()
    song = make_song(SongRequest(prompt=_PROMPT, lyrics=sheet, duration_s=duration_s, seed=3, format="mp3"),
                     preset=preset)
    assert song.encoded and song.lines
    return time.perf_counter() - start, song.timings_s["vocals"], song.duration_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=180.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--preset", default="default")
    args = parser.parse_args()
    # 16 lyric lines in each language: two English sheets, four Chinese ones
    sheets = {"en": "\n".join(s for _, s in LYRIC_SHEETS_EN[:2]),
              "zh": "\n".join(s for _, s in LYRIC_SHEETS_ZH[:4])}
    _render("[Verse]\n你好\n", duration_s=15.0, preset="tiny")  # load the Mandarin model once, as a worker does
    rows: dict[str, list[tuple[float, float, float]]] = {"en": [], "zh": []}
    for _ in range(args.rounds):
        for language in ("en", "zh"):
            rows[language].append(_render(sheets[language], duration_s=args.duration, preset=args.preset))
    table = Table(title=f"{args.duration:.0f} s song to mp3, preset {args.preset}")
    for col in ("language", "wall s (each)", "vocals s (each)", "song s"):
        table.add_column(col, justify="right")
    for language, runs in rows.items():
        table.add_row(language, ", ".join(f"{w:.1f}" for w, _, _ in runs),
                      ", ".join(f"{v:.1f}" for _, v, _ in runs), f"{runs[0][2]:.1f}")
    console = Console(width=120)
    console.print(table)
    ratio = np.median([w for w, _, _ in rows["zh"]]) / np.median([w for w, _, _ in rows["en"]])
    console.print(f"Chinese / English wall time (medians): {ratio:.2f}x")


if __name__ == "__main__":
    main()
