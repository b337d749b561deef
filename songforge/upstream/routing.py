"""The router: which chain of backends serves a job, decided once when the job is submitted.

:meth:`Router.route` runs in :meth:`SongService.submit <songforge.service.songs.SongService.submit>`
and its answer is stored in the job (``request["upstream_route"]``), so a retried or recovered job
runs the same chain. Backends that would refuse the request (see
:mod:`songforge.upstream.translate`) are left out of the chain there and then; when none is left
the caller gets the refusal in its own dialect. :meth:`Router.generate_for` gives the worker the
callable to run: the local engine for local-only chains, else :func:`~songforge.upstream.runner.run_upstream`
bound to the chain.
"""

from __future__ import annotations

import contextvars
import functools
from pathlib import Path
from typing import Any

from songforge.models import SongRequest
from songforge.upstream.config import (
    LOCAL,
    RouteTable,
    UpstreamConfig,
    check_chain,
    configs_from_settings,
)
from songforge.upstream.translate import Refused, translate

__all__ = ["Router", "ROUTE_KEY", "HEADER", "requested_route", "MODEL_KEYS"]

ROUTE_KEY = "upstream_route"
HEADER = "x-songforge-upstream"
# where each dialect keeps the model its caller named (SongRequest.extra)
MODEL_KEYS = ("dashscope_model", "minimax_model", "suno_model", "aimlapi_model")

requested_route: contextvars.ContextVar[str | None] = contextvars.ContextVar("requested_route", default=None)
"""The ``X-Songforge-Upstream`` header of the HTTP request being handled (set by the API middleware)."""


class Router:
    """Parameters
    ----------
    settings : the upstream settings (backends, routing table, state folder under ``data_dir``).
    """

    def __init__(self, settings: Any) -> None:
        self.configs: dict[str, UpstreamConfig] = configs_from_settings(settings)
        self.table = RouteTable.parse(settings.upstream_routes, known=set(self.configs))
        self.state_dir = str(Path(settings.data_dir) / "upstream")

    @property
    def active(self) -> bool:
        """Whether any job can leave the local engine."""
        return bool(self.configs)

    def route(self, request: SongRequest, *, key: Any = None) -> tuple[str, ...]:
        """The chain for ``request`` (``("local",)`` when nothing routes it elsewhere).

        Raises the translation's :class:`~songforge.upstream.translate.Refused` when every backend
        of the chain refuses the request."""
        chain = self._choose(request, key)
        chain += tuple(n for n in self.table.fallback if n not in chain)
        refusals: list[Refused] = []
        kept = []
        for name in chain:
            try:
                if name != LOCAL:
                    translate(name, request, callback_url="http://check.invalid/")
                kept.append(name)
            except Refused as exc:
                refusals.append(exc)
        if not kept:
            raise refusals[0]
        return tuple(kept)

    def _choose(self, request: SongRequest, key: Any) -> tuple[str, ...]:
        header = requested_route.get()
        known = set(self.configs)
        if header:
            if not self.table.header:
                raise Refused("routing by the X-Songforge-Upstream header is off on this server",
                              field="X-Songforge-Upstream", limit="set \"header\": true in SONGFORGE_UPSTREAM_ROUTES")
            return check_chain(header, known=known)
        for name in (getattr(key, "name", None), getattr(key, "id", None)):
            if name is not None and str(name) in self.table.keys:
                return self.table.keys[str(name)]
        for model_key in MODEL_KEYS:
            model = request.extra.get(model_key)
            if model is not None and str(model) in self.table.models:
                return self.table.models[str(model)]
        return self.table.default

    def generate_for(self, request_data: dict[str, Any], local: Any) -> Any:
        """What a worker runs for a job stored with ``request_data``: ``None`` for the local engine
        alone, else the upstream runner bound to the job's chain (``local`` is its local engine)."""
        chain = tuple(request_data.get(ROUTE_KEY) or (LOCAL,))
        if chain == (LOCAL,):
            return None
        from songforge.upstream.runner import run_upstream

        configs = {name: self.configs[name] for name in chain if name in self.configs}
        missing = [n for n in chain if n != LOCAL and n not in configs]
        if missing:  # configured when the job was submitted, gone since: the rest of the chain serves it
            chain = tuple(n for n in chain if n not in missing) or (LOCAL,)
        return functools.partial(run_upstream, chain=chain, configs=configs, state_dir=self.state_dir, local=local)
