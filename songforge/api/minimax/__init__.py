"""The MiniMax music dialect (API_SPEC.md section 2) and the AI/ML API's music-01 pass-through
(section 4.3), which is MiniMax-shaped.

Modules: :mod:`.wire` (bodies), :mod:`.rules` (per-model limits), :mod:`.convert` (wire <->
SongRequest / Job), :mod:`.sources` (reference audio via the ReferenceService), :mod:`.stream`
(hex SSE), :mod:`.writer` (lyrics), :mod:`.errors` (``base_resp`` envelope), :mod:`.routes`.
"""

from __future__ import annotations

from songforge.api.dialect import Dialect
from songforge.api.minimax.errors import render_error
from songforge.api.minimax.routes import NAME, PREFIXES, router

__all__ = ["dialect", "router", "NAME", "render_error"]


def dialect() -> Dialect:
    """This dialect, for the app (no callbacks: MiniMax calls are synchronous)."""
    return Dialect(name=NAME, router=router, prefixes=PREFIXES, render_error=render_error)
