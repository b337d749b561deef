"""The Alibaba DashScope Fun-Music dialect (API_SPEC.md section 1).

``POST /api/v1/services/audio/tts/SpeechSynthesizer`` and ``POST /api/v1/services/audio/music/generation``
(same body, same answers), synchronous JSON or SSE with ``X-DashScope-SSE: enable``; errors in
DashScope's ``{code, message, request_id}`` envelope. DashScope has no callbacks.

* :mod:`~songforge.api.dashscope.wire`: the body, its limits, the canonical request;
* :mod:`~songforge.api.dashscope.errors`: the error envelope and code mapping;
* :mod:`~songforge.api.dashscope.routes`: the routes, the JSON answer and the event stream.
"""

from __future__ import annotations

from songforge.api.dashscope.errors import render_error
from songforge.api.dashscope.routes import NAME, PATHS, router
from songforge.api.dialect import Dialect

__all__ = ["dialect", "router", "render_error", "NAME", "PATHS", "PREFIXES"]

PREFIXES = ("/api/v1/services/audio/",)


def dialect() -> Dialect:
    """This dialect, for the app (no callbacks: DashScope has none)."""
    return Dialect(name=NAME, router=router, prefixes=PREFIXES, render_error=render_error, callback_renderer=None)
