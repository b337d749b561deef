"""``songforge eval``: objective measurements of a song file, against its plan when given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from songforge.cli.common import fail_cleanly

__all__ = ["evaluate"]


def evaluate(
    file: Annotated[Path, typer.Argument(help="Audio file to measure (wav, mp3, flac).")],
    plan: Annotated[Path | None, typer.Option("--plan", help="Plan JSON written by generate --plan.")] = None,
    spectrogram: Annotated[Path | None, typer.Option("--spectrogram", help="Write a spectrogram PNG.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Loudness, true peak, clipping, DC offset, duration, tempo and key (vs the plan)."""
    from songforge.engine.evaluate import evaluate_file

    with fail_cleanly():
        plan_data = json.loads(plan.read_text()) if plan else None
        report = evaluate_file(file, plan=plan_data, spectrogram_png=spectrogram)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    table = Table(title=str(file))
    table.add_column("measure")
    table.add_column("value")
    for key, value in report.items():
        if isinstance(value, list | dict):
            continue
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    Console().print(table)
