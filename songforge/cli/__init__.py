"""The ``songforge`` command line (typer + rich)."""

from __future__ import annotations

from songforge.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``songforge`` console script."""
    app()
