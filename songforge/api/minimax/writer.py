"""``/v1/lyrics_generation`` through the same songwriter as the native ``/v1/lyrics`` route
(:mod:`songforge.service.lyrics`: the operator's options from the settings):
``write_full_song`` -> ``write_lyrics``, ``edit`` -> ``edit_lyrics``. Blocking (CPU work)."""

from __future__ import annotations

import secrets
from typing import Any

from songforge.api.minimax.convert import lyrics_fields
from songforge.api.minimax.wire import LyricsGenerationBody
from songforge.service.lyrics import edit_sheet, write_sheet

__all__ = ["write_song_lyrics"]

_SEED_LIMIT = 2**32


def write_song_lyrics(body: LyricsGenerationBody, settings: Any) -> dict[str, str]:
    """``song_title``, ``style_tags`` and ``lyrics`` for a checked body; each call is a new song
    (a random seed: the vendor has none). Raises ``SensitiveContent`` for refused text."""
    seed = secrets.randbelow(_SEED_LIMIT)
    prompt = body.prompt or ""
    if body.mode == "edit":
        sheet = edit_sheet(settings, body.lyrics or "", prompt=prompt, seed=seed)
    else:
        sheet = write_sheet(settings, prompt, seed=seed, title=body.title or None)
    return lyrics_fields(sheet, title=body.title)
