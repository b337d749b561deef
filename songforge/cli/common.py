"""Helpers shared by the CLI commands: error display and the stage progress display."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from songforge.errors import SongforgeError

__all__ = ["console", "fail_cleanly", "stage_progress"]

console = Console(stderr=True)


@contextlib.contextmanager
def fail_cleanly() -> Iterator[None]:
    """Turn a songforge error into a one-line message and exit status 2."""
    try:
        yield
    except SongforgeError as exc:
        console.print(f"[bold red]error:[/] {exc.message}")
        raise typer.Exit(2) from None


@contextlib.contextmanager
def stage_progress(enabled: bool = True) -> Iterator[object]:
    """A rich progress display with one bar per stage; yields ``on_progress(stage, fraction)``."""
    progress = Progress(
        TextColumn("{task.description:>8}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), console=console, disable=not enabled,
    )
    tasks: dict[str, object] = {}
    last: list[str] = []

    def on_progress(stage: str, fraction: float) -> None:
        if stage not in tasks:
            if last:
                progress.update(tasks[last[-1]], completed=100)  # type: ignore[arg-type]
            tasks[stage] = progress.add_task(stage, total=100)
            last.append(stage)
        else:
            progress.update(tasks[stage], completed=100)  # type: ignore[arg-type]

    with progress:
        yield on_progress
        for task in tasks.values():
            progress.update(task, completed=100)  # type: ignore[arg-type]
