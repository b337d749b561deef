"""The AI/ML API (aimlapi.com) music dialect (API_SPEC.md section 4).

``POST /v2/generate/audio`` queues a song for one of :data:`~songforge.api.aimlapi.wire.MODEL_NAMES`
and answers ``{id, status: "queued", meta: {usage}}``; ``GET /v2/generate/audio?generation_id=``
polls it (``queued``, ``generating``, ``completed`` with ``audio_file.url``, ``error``).

* :mod:`.wire` -- per-model bodies with the vendor's limits, and the responses;
* :mod:`.issues` -- validation errors worded as AIML's zod validation words them;
* :mod:`.convert` -- bodies to canonical requests (reference audio through the
  ``ReferenceService``), jobs to AIML views, and the credits rule of ``meta.usage``;
* :mod:`.errors` -- the error envelope ``{message, path, requestId, statusCode, timestamp}``;
* :mod:`.routes` -- the two routes.

AIML has no callbacks, so the dialect has no callback renderer.
"""

from __future__ import annotations

from songforge.api.aimlapi.errors import render_error
from songforge.api.aimlapi.routes import NAME, PATH, router
from songforge.api.dialect import Dialect

__all__ = ["dialect", "router", "render_error", "NAME", "PATH"]


def dialect() -> Dialect:
    """This dialect, for the app."""
    return Dialect(name=NAME, router=router, prefixes=(PATH,), render_error=render_error)
