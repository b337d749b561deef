"""Which upstream backends are on, and the routing table that chooses among them.

A backend is on when ``SONGFORGE_UPSTREAM_<NAME>_URL`` is set (its key from ``..._KEY``). The
routing table (``SONGFORGE_UPSTREAM_ROUTES``, JSON) names, for a job, the chain of backends to
try in order; ``local`` is the local engine::

    {"default": ["local"],
     "models": {"V4_5": ["minimax"], "fun-music-v1": ["suno", "minimax"]},
     "keys": {"team-a": ["suno"]},
     "header": true,
     "fallback": ["local"]}

``models`` matches the model the caller named in its own dialect, ``keys`` the caller's API key
(its name or id), ``header`` allows ``X-Songforge-Upstream: minimax,suno`` per request. The first
match wins in the order header, key, model, default; ``fallback`` (default ``["local"]``) is
appended to every chain, so a job whose upstreams all fail still runs on the local engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from songforge.errors import InvalidRequest

__all__ = ["UpstreamConfig", "RouteTable", "BACKEND_NAMES", "LOCAL", "configs_from_settings"]

LOCAL = "local"
CALLBACK_PATH = "/upstream/callback"  # served by songforge.api.upstream
BACKEND_NAMES = ("dashscope", "minimax", "suno", "aimlapi")


@dataclass(frozen=True)
class UpstreamConfig:
    """One upstream backend: where it is, its key, and how hard to try.

    The key is kept out of ``repr`` so that it never reaches a log line.
    """

    name: str
    base_url: str
    key: str = field(default="", repr=False)
    timeout_s: float = 600.0
    retries: int = 3
    poll_s: float = 1.0
    breaker_failures: int = 3
    breaker_reset_s: float = 60.0
    callback_url: str | None = None

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this backend."""
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"


def configs_from_settings(settings: Any) -> dict[str, UpstreamConfig]:
    """The configured backends, by name (those whose URL is set)."""
    configs = {}
    for name in BACKEND_NAMES:
        url = getattr(settings, f"upstream_{name}_url", None)
        if not url:
            continue
        secret: Any = getattr(settings, f"upstream_{name}_key", None)
        key = secret.get_secret_value() if hasattr(secret, "get_secret_value") else str(secret or "")
        configs[name] = UpstreamConfig(
            name=name, base_url=str(url), key=key, timeout_s=settings.upstream_timeout_s,
            retries=settings.upstream_retries, breaker_failures=settings.upstream_breaker_failures,
            breaker_reset_s=settings.upstream_breaker_reset_s,
            callback_url=f"{settings.base_url()}{CALLBACK_PATH}",
        )
    return configs


@dataclass(frozen=True)
class RouteTable:
    """The parsed routing table (see the module docstring)."""

    default: tuple[str, ...] = (LOCAL,)
    models: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    header: bool = False
    fallback: tuple[str, ...] = (LOCAL,)

    @classmethod
    def parse(cls, text: str | None, *, known: set[str]) -> RouteTable:
        """The table in ``text`` (JSON; ``None``: local only); every name must be in ``known``
        or ``local``, else :class:`InvalidRequest` names it."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"SONGFORGE_UPSTREAM_ROUTES is not JSON: {exc}", field="upstream_routes") from None
        if not isinstance(data, dict):
            raise InvalidRequest("SONGFORGE_UPSTREAM_ROUTES must be a JSON object", field="upstream_routes")
        chain = lambda value: check_chain(value, known=known)  # noqa: E731
        return cls(
            default=chain(data.get("default", [LOCAL])),
            models={str(k): chain(v) for k, v in (data.get("models") or {}).items()},
            keys={str(k): chain(v) for k, v in (data.get("keys") or {}).items()},
            header=bool(data.get("header", False)),
            fallback=chain(data.get("fallback", [LOCAL])) if data.get("fallback", [LOCAL]) else (),
        )


def check_chain(value: Any, *, known: set[str]) -> tuple[str, ...]:
    """A chain of backend names from a list or a comma-separated string; unknown names refused."""
    names = [n.strip().lower() for n in (value.split(",") if isinstance(value, str) else value or [])]
    names = [n for n in names if n]
    allowed = sorted(known | {LOCAL})
    for name in names:
        if name not in allowed:
            raise InvalidRequest(
                f"upstream {name!r} is not configured; configured: {', '.join(allowed)}",
                field="upstream", limit=", ".join(allowed),
            )
    if not names:
        raise InvalidRequest("an upstream route names no backend", field="upstream", limit=", ".join(allowed))
    return tuple(names)
