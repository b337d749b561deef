"""Style tags for a lyric sheet, in MiniMax's form, from the prompt's song plan."""

from __future__ import annotations

__all__ = ["lyric_style_tags"]

_MAX_PROMPT_CHARS = 2000


def lyric_style_tags(prompt: str, *, seed: int) -> str:
    """Style tags (``"Pop, Upbeat, Female Vocals"``) from :func:`~songforge.engine.plan.plan_song`
    and :func:`~songforge.engine.plan.style_tags`."""
    from songforge.engine.plan import plan_song, style_tags
    from songforge.models import SongRequest

    request = SongRequest(prompt=(prompt or "")[:_MAX_PROMPT_CHARS])
    return style_tags(plan_song(request, seed=seed))
