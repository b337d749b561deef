"""Webhook delivery: POST JSON with httpx, bounded exponential backoff (tenacity), SSRF guard.

The guard resolves the callback host and refuses any address that is not globally routable
(loopback, private, link-local, CGNAT, multicast, reserved, unspecified) and the cloud metadata
endpoints, unless ``Settings.allow_private_callbacks``. It runs when a job is submitted and again
before every delivery attempt (a name may resolve differently later).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from songforge.config import Settings
from songforge.errors import InvalidRequest
from songforge.models import JobStatus
from songforge.service.lifecycle import EVENT_STATUS, EventBus, JobEvent
from songforge.storage.jobs import Job, JobStore

__all__ = [
    "resolve_host",
    "CallbackSender",
    "CallbackDispatcher",
    "Renderer",
    "check_callback_url",
    "is_forbidden_address",
    "CALLBACK_STATUSES",
]

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], list[str]]
Renderer = Callable[[Job, JobEvent], dict[str, Any] | None]
CALLBACK_STATUSES = frozenset({JobStatus.FIRST_READY, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"})
_METADATA_IPS = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class _Transient(Exception):
    """A delivery attempt that is worth repeating."""


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (sorted, unique)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def is_forbidden_address(address: str) -> bool:
    """Whether a callback must not go to ``address`` (an IP literal)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip in _METADATA_IPS or ip.is_multicast or not ip.is_global


def check_callback_url(url: str, *, allow_private: bool, resolve: Resolver = resolve_host) -> None:
    """Refuse a callback URL that is malformed or points at a non-public address.

    Raises
    ------
    InvalidRequest : with ``field="callback_url"``.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise _refused(url, "it must be an absolute http or https URL")
    if allow_private:
        return
    if host in _METADATA_HOSTS:
        raise _refused(url, "it names a cloud metadata service")
    try:
        addresses = resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError):
        raise _refused(url, "its host does not resolve") from None
    if not addresses or any(is_forbidden_address(a) for a in addresses):
        raise _refused(url, "it points at a loopback, private, link-local or reserved address")


def _refused(url: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"callback URL {url!r} is refused: {why}", field="callback_url", limit="public http(s) URL")


class CallbackSender:
    """Delivers JSON payloads, retrying transient failures with exponential backoff.

    Parameters
    ----------
    settings : timeout, attempt count and the private-address switch.
    backoff_s : first retry delay; it doubles up to ``max_backoff_s``.
    """

    def __init__(
        self, settings: Settings, *, backoff_s: float = 1.0, max_backoff_s: float = 60.0,
        resolve: Resolver = resolve_host, threads: int = 2,
    ) -> None:
        self.settings = settings
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._resolve = resolve
        self._client = httpx.Client(timeout=settings.callback_timeout_s, follow_redirects=False)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="songforge-callback")

    def deliver(self, url: str, payload: dict[str, Any]) -> bool:
        """POST ``payload`` to ``url``; ``True`` once a 2xx arrives, ``False`` when it gives up."""
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.callback_attempts),
            wait=wait_exponential(multiplier=self.backoff_s, max=self.max_backoff_s),
            retry=retry_if_exception_type(_Transient),
            reraise=False,
        )
        try:
            retrying(self._attempt, url, payload)
        except (RetryError, InvalidRequest, httpx.HTTPError) as exc:
            log.warning("callback to %s not delivered: %s", url, exc)
            return False
        return True

    def submit(self, url: str, payload: dict[str, Any]) -> Future[bool]:
        """Deliver in the background."""
        return self._executor.submit(self.deliver, url, payload)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def _attempt(self, url: str, payload: dict[str, Any]) -> None:
        check_callback_url(url, allow_private=self.settings.allow_private_callbacks, resolve=self._resolve)
        try:
            response = self._client.post(url, json=payload)
        except httpx.TransportError as exc:
            raise _Transient(str(exc)) from exc
        if response.status_code in _RETRY_STATUS:
            raise _Transient(f"HTTP {response.status_code}")
        if not response.is_success:
            raise httpx.HTTPStatusError(
                f"HTTP {response.status_code}", request=response.request, response=response
            )


class CallbackDispatcher:
    """Listens on the event bus and sends a callback for status events of jobs with a callback URL.

    ``renderers`` maps a dialect to the function building its payload (``None``: no callback for
    that event); dialects without one get ``default``.
    """

    def __init__(
        self, store: JobStore, sender: CallbackSender, *, default: Renderer,
        renderers: dict[str, Renderer] | None = None,
    ) -> None:
        self.store = store
        self.sender = sender
        self.default = default
        self.renderers = dict(renderers or {})
        self._unsubscribe: Callable[[], None] | None = None

    def attach(self, bus: EventBus) -> None:
        self._unsubscribe = bus.add_listener(self.on_event)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def on_event(self, event: JobEvent) -> None:
        if event.kind != EVENT_STATUS or event.status not in CALLBACK_STATUSES:
            return
        job = self.store.get(event.job_id)
        if not job.callback_url:
            return
        payload = self.renderers.get(job.dialect, self.default)(job, event)
        if payload is not None:
            self.sender.submit(job.callback_url, payload)
