"""Signed, expiring file URLs: ``/files/{key}?expires=<unix s>&sig=<hex HMAC-SHA256>``.

The signature covers the key and the expiry, so neither can be changed; verification uses a
constant-time comparison.

Example
-------
>>> signer = UrlSigner(b"secret", ttl_s=60)
>>> url = signer.sign("abc/song.mp3", now_s=1000)
>>> url
'/files/abc/song.mp3?expires=1060&sig=...'  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import parse_qs, quote, unquote, urlsplit

from songforge.errors import Unauthorized

__all__ = ["UrlSigner", "FILES_PREFIX"]

FILES_PREFIX = "/files/"
EXPIRY_GRID_S = 3600


class UrlSigner:
    """Makes and checks signed file URLs.

    Parameters
    ----------
    secret : HMAC key (``Settings.signing_key()``).
    ttl_s : default lifetime of a URL in seconds.
    base_url : prepended to the path (``""`` gives relative URLs).
    """

    def __init__(self, secret: bytes, *, ttl_s: int = 86400, base_url: str = "") -> None:
        if not secret:
            raise ValueError("the signing secret is empty")
        self._secret = secret
        self.ttl_s = ttl_s
        self.base_url = base_url.rstrip("/")

    def signature(self, key: str, expires_s: int) -> str:
        """Hex HMAC-SHA256 of ``key`` and ``expires_s``."""
        message = f"{key}\n{int(expires_s)}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def expiry(self, *, now_s: float | None = None, ttl_s: int | None = None) -> int:
        """Unix time (s) at which a URL signed now expires.

        The time is rounded up to a grid of ``min(ttl_s, 3600)`` s, so a link lives between ``ttl_s``
        and ``ttl_s`` plus one grid step, and every link to the same file minted within one step is the
        same URL (a poll and a callback about one song agree, caches see one address).
        """
        now_s = time.time() if now_s is None else now_s
        ttl_s = self.ttl_s if ttl_s is None else ttl_s
        step_s = max(1, min(int(ttl_s), EXPIRY_GRID_S))
        return -(-(int(now_s) + int(ttl_s)) // step_s) * step_s

    def sign(self, key: str, *, now_s: float | None = None, ttl_s: int | None = None) -> str:
        """A URL for ``key`` valid for ``ttl_s`` seconds (default: the signer's)."""
        expires_s = self.expiry(now_s=now_s, ttl_s=ttl_s)
        path = FILES_PREFIX + quote(key, safe="/")
        return f"{self.base_url}{path}?expires={expires_s}&sig={self.signature(key, expires_s)}"

    def verify(self, key: str, *, expires: int | str, sig: str, now_s: float | None = None) -> None:
        """Check a URL's parts; raises :class:`Unauthorized` if tampered with or expired."""
        try:
            expires_s = int(expires)
        except (TypeError, ValueError):
            raise Unauthorized("the file link is malformed") from None
        expected = self.signature(key, expires_s)
        if not hmac.compare_digest(expected.encode(), str(sig).encode()):
            raise Unauthorized("the file link signature is invalid")
        if (time.time() if now_s is None else now_s) > expires_s:
            raise Unauthorized("the file link has expired")

    def verify_url(self, url: str, *, now_s: float | None = None) -> str:
        """Check a whole signed URL (as made by :meth:`sign`); returns its key."""
        parts = urlsplit(url)
        if not parts.path.startswith(FILES_PREFIX):
            raise Unauthorized("not a file link")
        key = unquote(parts.path[len(FILES_PREFIX):])
        query = parse_qs(parts.query)
        self.verify(
            key, expires=query.get("expires", [""])[0], sig=query.get("sig", [""])[0], now_s=now_s
        )
        return key
