"""The songwriter as the service offers it to every dialect: the operator's options (an LLM
endpoint, the content word list) from the settings, and a clear error where no songwriter is
installed. Blocking (CPU work): async routes call these in a thread.
"""

from __future__ import annotations

import importlib
from typing import Any

from songforge.errors import FeatureUnavailable

__all__ = ["SONGWRITER_MODULE", "songwriter_function", "write_sheet", "edit_sheet"]

SONGWRITER_MODULE = "songforge.engine.songwriter"


def songwriter_function(name: str) -> Any:
    """``write_lyrics`` or ``edit_lyrics`` of the songwriter module; raises ``FeatureUnavailable``."""
    try:
        function = getattr(importlib.import_module(SONGWRITER_MODULE), name, None)
    except ModuleNotFoundError as exc:
        if exc.name != SONGWRITER_MODULE:
            raise
        function = None
    if function is None:
        raise FeatureUnavailable(
            "writing lyrics is not available in this installation (the songwriter module is not installed); "
            "send your own lyrics, or leave them out for an instrumental"
        )
    return function


def write_sheet(settings: Any, prompt: str, **options: Any) -> Any:
    """A lyric sheet for ``prompt`` (``options``: seed, language, title; ``None`` values are
    dropped) with the operator's LLM endpoint and word list. Raises ``SensitiveContent``."""
    write = songwriter_function("write_lyrics")
    from songforge.engine.songwriter.options import SongwriterOptions

    writer = SongwriterOptions.from_settings(settings)
    kwargs = {**options, "llm": writer.llm, "blocklist_path": writer.blocklist_path}
    return write(prompt, **{k: v for k, v in kwargs.items() if v is not None})


def edit_sheet(settings: Any, lyrics: str, *, prompt: str, seed: int) -> Any:
    """``lyrics`` continued or modified as ``prompt`` asks, with the operator's word list."""
    edit = songwriter_function("edit_lyrics")
    from songforge.engine.songwriter.options import SongwriterOptions

    writer = SongwriterOptions.from_settings(settings)
    return edit(lyrics, prompt=prompt, seed=seed, blocklist_path=writer.blocklist_path)
