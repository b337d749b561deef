"""Upstream backends: real vendor services that make the song instead of the local engine.

One small interface per vendor (:mod:`songforge.upstream.backends`), a translation of the
canonical request to each vendor's body (:mod:`~songforge.upstream.translate`), a routing table
chosen by settings (:mod:`~songforge.upstream.config`, :mod:`~songforge.upstream.routing`) and the
runner that a worker runs in the engine's place (:mod:`~songforge.upstream.runner`). Off unless a
``SONGFORGE_UPSTREAM_<NAME>_URL`` is set; the local engine is the default and the fallback.
See docs/upstream.md.
"""

from songforge.upstream.config import BACKEND_NAMES, LOCAL, RouteTable, UpstreamConfig
from songforge.upstream.routing import HEADER, ROUTE_KEY, Router

__all__ = ["Router", "RouteTable", "UpstreamConfig", "BACKEND_NAMES", "LOCAL", "ROUTE_KEY", "HEADER"]
