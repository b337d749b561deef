"""``/v1/lyrics_generation`` through the same songwriter as the native ``/v1/lyrics`` route
(:data:`songforge.api.native.SONGWRITER_MODULE`, the operator's options from the settings):
``write_full_song`` -> ``write_lyrics``, ``edit`` -> ``edit_lyrics``. Blocking (CPU work)."""

from __future__ import annotations

import importlib
import secrets
from typing import Any

from songforge.api.minimax.convert import lyrics_fields
from songforge.api.minimax.wire import LyricsGenerationBody
from songforge.api.native import SONGWRITER_MODULE
from songforge.errors import FeatureUnavailable

__all__ = ["write_song_lyrics"]

_SEED_LIMIT = 2**32


def _songwriter(name: str) -> Any:
    try:
        function = getattr(importlib.import_module(SONGWRITER_MODULE), name, None)
    except ModuleNotFoundError as exc:
        if exc.name != SONGWRITER_MODULE:
            raise
        function = None
    if function is None:
        raise FeatureUnavailable("writing lyrics is not available in this installation (no songwriter module)")
    return function


def write_song_lyrics(body: LyricsGenerationBody, settings: Any) -> dict[str, str]:
    """``song_title``, ``style_tags`` and ``lyrics`` for a checked body; each call is a new song
    (a random seed: the vendor has none). Raises ``SensitiveContent`` for refused text."""
    from songforge.engine.songwriter.options import SongwriterOptions

    options = SongwriterOptions.from_settings(settings)
    seed = secrets.randbelow(_SEED_LIMIT)
    prompt = body.prompt or ""
    if body.mode == "edit":
        sheet = _songwriter("edit_lyrics")(body.lyrics or "", prompt=prompt, seed=seed,
                                           blocklist_path=options.blocklist_path)
    else:
        extra = {"title": body.title} if body.title else {}
        sheet = _songwriter("write_lyrics")(prompt, seed=seed, llm=options.llm,
                                            blocklist_path=options.blocklist_path, **extra)
    return lyrics_fields(sheet, title=body.title)
