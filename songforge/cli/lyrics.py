"""``songforge lyrics``: write a lyric sheet from a prompt and print it."""

from __future__ import annotations

from typing import Annotated

import typer

from songforge.cli.common import fail_cleanly

__all__ = ["lyrics"]


def lyrics(
    prompt: Annotated[str, typer.Argument(help="What the song is about (and its style).")],
    language: Annotated[str | None, typer.Option("--language", help="en or zh (default: from the prompt).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed; the same seed gives the same sheet.")] = 0,
    structure: Annotated[str | None, typer.Option(
        "--structure", help="Sections in order, e.g. verse,chorus,verse,chorus.")] = None,
    title: Annotated[str | None, typer.Option("--title", help="The song's title (default: from the hook).")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Ignore a configured lyrics endpoint.")] = False,
) -> None:
    """Write lyrics for PROMPT and print the tagged sheet (title and style tags first)."""
    from songforge.config import get_settings
    from songforge.engine.songwriter import LlmEndpoint, write_lyrics

    with fail_cleanly():
        settings = get_settings()
        sheet = write_lyrics(
            prompt, language=language, seed=seed, title=title,
            structure=[s for s in structure.split(",") if s.strip()] if structure else None,
            llm=None if offline else LlmEndpoint.from_settings(settings),
            blocklist_path=settings.content_blocklist_path,
        )
    typer.echo(f"Title: {sheet.title}\nStyle: {sheet.style_tags}\n")
    typer.echo(sheet.to_text())
