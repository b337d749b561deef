"""The operator's songwriter options, passed per call (never read from global settings here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from songforge.engine.songwriter.llm import LlmEndpoint

__all__ = ["SongwriterOptions"]


@dataclass(frozen=True)
class SongwriterOptions:
    """``llm``: an OpenAI-compatible endpoint tried first (the offline writer is the fallback);
    ``blocklist_path``: the content word list (``None``: the shipped list)."""

    llm: LlmEndpoint | None = None
    blocklist_path: Path | None = None

    @classmethod
    def from_settings(cls, settings: object) -> SongwriterOptions:
        """Options from ``Settings.lyrics_llm_*`` and ``Settings.content_blocklist_path``."""
        return cls(llm=LlmEndpoint.from_settings(settings), blocklist_path=getattr(settings, "content_blocklist_path", None))
