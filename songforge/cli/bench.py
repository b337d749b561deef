"""``songforge bench``: speed and memory of the pipeline, by stage, for several song lengths.

Each length runs in a fresh child process so that peak RSS is that song's alone and the first
song does not pay the others' warm-up. Prints a table; ``--json`` prints the rows.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["bench", "measure_one", "run_bench"]

STAGES = ("plan", "lyrics", "compose", "analysis", "render", "vocals", "mix", "encode")
DEFAULT_DURATIONS_S = [30.0, 180.0, 480.0]


def measure_one(
    *, duration_s: float, prompt: str, seed: int, preset: str, format: str, sung: bool = False
) -> dict[str, float]:
    """Make one song in this process and return wall seconds per stage and peak RSS (MB).

    A sung song gets lyrics written for the prompt. A worker's warm-up
    (:func:`songforge.engine.warm.warm_up`: imports, the SoundFont, the songwriter's dictionary
    and embeddings, the synths) is paid before the clock starts, as in a long-lived worker. Stems
    are not kept (as when a job does not ask for them).
    """
    from songforge.engine.song import make_song
    from songforge.engine.warm import warm_up
    from songforge.models import SongRequest

    warm_up(preset)
    request = SongRequest(prompt=prompt, instrumental=not sung, duration_s=duration_s, seed=seed, format=format)
    result = make_song(request, preset=preset, keep_stems=False)
    row = {"duration_s": duration_s, "audio_s": result.duration_s, **result.timings_s}
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return row


def run_bench(
    durations_s: list[float], *, prompt: str, seed: int, preset: str, format: str, sung: bool = False
) -> list[dict[str, float]]:
    """One child process per duration; returns one row per duration."""
    rows = []
    for duration_s in durations_s:
        cmd = [sys.executable, "-m", "songforge", "bench", "--one", str(duration_s), "--prompt", prompt,
               "--seed", str(seed), "--preset", preset, "--format", format, *(["--sung"] if sung else [])]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    return rows


def _table(rows: list[dict[str, float]], *, title: str) -> Table:
    table = Table(title=title)
    for column in ("song s", *[f"{s} s/s" for s in STAGES], "total s", "total s/s", "first audio s", "peak RSS MB"):
        table.add_column(column, justify="right")
    for r in rows:
        per_s = [f"{r.get(s, 0.0) / r['audio_s']:.3f}" for s in STAGES]
        table.add_row(
            f"{r['audio_s']:.1f}", *per_s, f"{r['total']:.2f}", f"{r['total'] / r['audio_s']:.3f}",
            f"{r.get('first_chunk', float('nan')):.2f}", f"{r['peak_rss_mb']:.0f}",
        )
    return table


def bench(
    durations: Annotated[list[float] | None, typer.Option("--duration", help="Song lengths in s (repeatable).")] = None,
    prompt: Annotated[str, typer.Option("--prompt")] = "upbeat pop song with piano, synth and drums",
    seed: Annotated[int, typer.Option("--seed")] = 7,
    preset: Annotated[str, typer.Option("--preset", help="default (FluidR3_GM) or tiny.")] = "default",
    format: Annotated[str, typer.Option("--format")] = "mp3",
    sung: Annotated[bool, typer.Option("--sung", help="Sung songs (lyrics written for the prompt).")] = False,
    both: Annotated[bool, typer.Option("--both", help="Instrumental and sung songs, a table each.")] = False,
    one: Annotated[float | None, typer.Option("--one", hidden=True)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Seconds of compute per second of audio by stage, time to first audio, peak RSS."""
    if one is not None:
        row = measure_one(duration_s=one, prompt=prompt, seed=seed, preset=preset, format=format, sung=sung)
        typer.echo(json.dumps(row))
        return
    for kind_sung in ((False, True) if both else (sung,)):
        rows = run_bench(durations or DEFAULT_DURATIONS_S, prompt=prompt, seed=seed, preset=preset, format=format,
                         sung=kind_sung)
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            continue
        kind = "sung" if kind_sung else "instrumental"
        Console(width=180).print(
            _table(rows, title=f"songforge bench: {kind}, preset {preset}, {format}, prompt {prompt!r}"))
