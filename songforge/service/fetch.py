"""Guarded download of reference audio by URL (httpx).

The guard refuses anything but absolute http(s) URLs and, unless private addresses are allowed
(``Settings.allow_private_callbacks``, for tests and LAN setups), any host that resolves to a
loopback, private, link-local, CGNAT, multicast, reserved or cloud-metadata address
(:func:`songforge.service.callbacks.is_forbidden_address`). Redirects are followed by hand, each
hop checked the same way, and the address actually connected to is checked again before the body
is read (a name may resolve differently the second time). The body is streamed and dropped once
it passes ``max_bytes``; the whole download must finish within ``timeout_s``.

Every refusal is a :class:`~songforge.errors.ReferenceRejected` with ``reason`` ``unreachable``,
``private_address`` or ``too_large``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import httpx

from songforge.errors import ReferenceRejected
from songforge.service.callbacks import is_forbidden_address, resolve_host

__all__ = ["UrlFetcher", "Resolver", "FETCH_TIMEOUT_S", "MAX_REDIRECTS"]

Resolver = Callable[[str, int], list[str]]
FETCH_TIMEOUT_S = 30.0
MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK_BYTES = 64 * 1024


class UrlFetcher:
    """Downloads one URL into memory under the SSRF guard, a size cap and a deadline.

    Parameters
    ----------
    allow_private : skip the address checks (tests, LAN setups).
    timeout_s : deadline for the whole download, redirects included, in seconds.
    resolve : ``(host, port) -> [ip, ...]`` used by the guard (tests pass their own).
    transport : an httpx transport (tests pass ``httpx.MockTransport``); default: the network.
    """

    def __init__(
        self, *, allow_private: bool, timeout_s: float = FETCH_TIMEOUT_S, resolve: Resolver = resolve_host,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.timeout_s = timeout_s
        self._resolve = resolve
        self._transport = transport

    def fetch(self, url: str, *, max_bytes: int, field: str) -> bytes:
        """The body of ``url`` (at most ``max_bytes``); raises ``ReferenceRejected``."""
        deadline_s = time.monotonic() + self.timeout_s
        client = httpx.Client(
            timeout=self.timeout_s, follow_redirects=False, trust_env=False, transport=self._transport
        )
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                self._check_url(url, field=field)
                body, location = self._get(client, url, max_bytes=max_bytes, field=field, deadline_s=deadline_s)
                if location is None:
                    return body
                url = urljoin(url, location)
        except httpx.TimeoutException:
            raise _unreachable(url, f"it did not answer within {self.timeout_s:g} s", field) from None
        except httpx.HTTPError as exc:
            raise _unreachable(url, f"the download failed ({exc})", field) from None
        finally:
            client.close()
        raise _unreachable(url, f"it redirects more than {MAX_REDIRECTS} times", field)

    def _check_url(self, url: str, *, field: str) -> None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host:
            raise _unreachable(url, "it must be an absolute http or https URL", field)
        if self.allow_private:
            return
        try:
            addresses = self._resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
        except (OSError, UnicodeError, ValueError):
            raise _unreachable(url, "its host does not resolve", field) from None
        if not addresses:
            raise _unreachable(url, "its host does not resolve", field)
        if any(is_forbidden_address(a) for a in addresses):
            raise _private(url, field)

    def _get(
        self, client: httpx.Client, url: str, *, max_bytes: int, field: str, deadline_s: float
    ) -> tuple[bytes, str | None]:
        """One GET: ``(body, None)``, or ``(b"", location)`` for a redirect."""
        with client.stream("GET", url, headers={"Accept": "audio/*, */*;q=0.5"}) as response:
            self._check_peer(response, url, field=field)
            location = response.headers.get("location")
            if response.status_code in _REDIRECT_STATUSES and location:
                return b"", location
            if not response.is_success:
                raise _unreachable(url, f"it answered HTTP {response.status_code}", field)
            _check_declared_size(response, url, max_bytes=max_bytes, field=field)
            return _read_capped(response, url, max_bytes=max_bytes, field=field, deadline_s=deadline_s), None

    def _check_peer(self, response: httpx.Response, url: str, *, field: str) -> None:
        """Refuse a connection that landed on a forbidden address (DNS rebinding)."""
        stream = response.extensions.get("network_stream")
        if self.allow_private or stream is None:
            return
        peer = stream.get_extra_info("server_addr")
        if peer and is_forbidden_address(str(peer[0])):
            raise _private(url, field)


def _check_declared_size(response: httpx.Response, url: str, *, max_bytes: int, field: str) -> None:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(url, max_bytes, field)


def _read_capped(
    response: httpx.Response, url: str, *, max_bytes: int, field: str, deadline_s: float
) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes(_CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(url, max_bytes, field)
        if time.monotonic() > deadline_s:
            raise httpx.ReadTimeout("download deadline passed")
        chunks.append(chunk)
    return b"".join(chunks)


def _unreachable(url: str, why: str, field: str) -> ReferenceRejected:
    return ReferenceRejected(
        f"reference URL {url!r} cannot be used: {why}", reason="unreachable", field=field,
        limit="a reachable http(s) URL",
    )


def _private(url: str, field: str) -> ReferenceRejected:
    return ReferenceRejected(
        f"reference URL {url!r} is refused: it points at a loopback, private, link-local or reserved address",
        reason="private_address", field=field, limit="a public http(s) URL",
    )


def _too_large(url: str, max_bytes: int, field: str) -> ReferenceRejected:
    return ReferenceRejected(
        f"reference audio at {url!r} is larger than {max_bytes} bytes", reason="too_large", field=field,
        limit=f"{max_bytes} bytes",
    )
