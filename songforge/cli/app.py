"""Typer application: one sub-command per module of this package."""

from __future__ import annotations

import typer

from songforge.cli import bench, doctor, evaluate, generate, keys, lyrics, serve
from songforge.cli import worker as worker_cli

app = typer.Typer(
    name="songforge",
    help="Offline song generation: write, compose, render, mix and master songs on the CPU.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("generate")(generate.generate)
app.command("doctor")(doctor.doctor)
app.command("eval")(evaluate.evaluate)
app.command("bench")(bench.bench)
app.command("serve")(serve.serve)
app.command("lyrics")(lyrics.lyrics)
app.add_typer(keys.app, name="keys")
app.command("worker")(worker_cli.worker)
