"""API keys: create (plaintext shown once, SHA-256 stored), list, revoke, verify, and per-tier limits.

Tiers set requests per minute (a moving window from the ``limits`` library: in memory, so per
process, or in Redis and so shared by every API process when ``SONGFORGE_REDIS_URL`` is set) and
the most jobs a key may have queued or running at once (counted in the job store, so shared). In ``dev_mode`` any key,
or none, is accepted as the unlimited ``dev`` key.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from songforge.config import Settings
from songforge.errors import InvalidRequest, RateLimited, Unauthorized
from songforge.storage.jobs import ApiKeyRecord, JobStore

__all__ = ["KeyService", "Tier", "TIERS", "DEV_KEY", "KEY_PREFIX", "hash_key"]

KEY_PREFIX = "sf_"


@dataclass(frozen=True)
class Tier:
    """Limits of a key tier."""

    name: str
    requests_per_minute: int
    max_concurrent_jobs: int


TIERS = {
    "free": Tier("free", requests_per_minute=10, max_concurrent_jobs=2),
    "paid": Tier("paid", requests_per_minute=120, max_concurrent_jobs=8),
}
DEV_KEY = ApiKeyRecord(id="dev", name="dev mode", tier="dev", key_hash="")


def _limit_storage(settings: Settings) -> Storage:
    """Rate-limit counters in Redis when configured (shared by API processes), else in memory."""
    if settings.redis_url:
        storage = storage_from_string(settings.redis_url)
        assert isinstance(storage, Storage)  # a synchronous URL scheme gives a synchronous storage
        return storage
    return MemoryStorage()


def hash_key(plaintext: str) -> str:
    """SHA-256 hex digest of a key (what the store keeps)."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


class KeyService:
    """Key management and admission checks.

    Parameters
    ----------
    settings : ``dev_mode`` turns checks off.
    store : where key records live.
    tiers : tier name -> limits.
    """

    def __init__(self, settings: Settings, store: JobStore, *, tiers: dict[str, Tier] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.tiers = dict(TIERS if tiers is None else tiers)
        self._limiter = MovingWindowRateLimiter(_limit_storage(settings))

    def create(self, *, name: str, tier: str = "free") -> tuple[ApiKeyRecord, str]:
        """Make a key; returns its record and the plaintext (shown this once, never stored)."""
        if tier not in self.tiers:
            raise InvalidRequest(f"unknown tier {tier!r}", field="tier", limit=", ".join(self.tiers))
        plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKeyRecord(id=uuid.uuid4().hex[:16], name=name, tier=tier, key_hash=hash_key(plaintext))
        return self.store.add_key(record), plaintext

    def list_keys(self) -> list[ApiKeyRecord]:
        """All keys, revoked ones included."""
        return self.store.list_keys()

    def revoke(self, key_id: str) -> ApiKeyRecord:
        """Revoke a key; raises :class:`~songforge.errors.NotFound`."""
        return self.store.revoke_key(key_id)

    def verify(self, plaintext: str | None) -> ApiKeyRecord:
        """The live key matching ``plaintext``; raises :class:`Unauthorized` (never in dev mode)."""
        record = self.store.key_by_hash(hash_key(plaintext)) if plaintext else None
        if record is not None and record.revoked_at is None:
            return record
        if self.settings.dev_mode:
            return DEV_KEY
        if record is not None:
            raise Unauthorized("this API key has been revoked")
        raise Unauthorized("a valid API key is required" if plaintext else "an API key is required")

    def hit(self, key: ApiKeyRecord) -> None:
        """Count one request against the key's per-minute limit; raises :class:`RateLimited`."""
        tier = self.tiers.get(key.tier)
        if tier is not None:
            self._hit_tier(tier, key.id)

    def hit_model(self, key: ApiKeyRecord, model_tier: str) -> None:
        """Count one request for a vendor model variant of ``model_tier`` (``"free"``: e.g.
        ``music-2.6-free``; ``"paid"``: ``music-2.6``) against that tier's rate, kept per key,
        so a free variant runs at the free rate even on a paid key. Called by dialects after
        :meth:`hit`; the dev key (dev mode) is never limited. Raises :class:`RateLimited`.
        """
        if key.tier in self.tiers and model_tier in self.tiers:
            self._hit_tier(self.tiers[model_tier], f"{key.id}:{model_tier}")

    def _hit_tier(self, tier: Tier, bucket: str) -> None:
        item = RateLimitItemPerMinute(tier.requests_per_minute)
        if not self._limiter.hit(item, bucket):
            reset_s = self._limiter.get_window_stats(item, bucket).reset_time
            retry_after_s = max(1.0, round(reset_s - time.time(), 1))
            raise RateLimited(
                f"rate limit of {tier.requests_per_minute} requests per minute exceeded",
                retry_after_s=retry_after_s,
            )

    def check_concurrency(self, key: ApiKeyRecord, new_jobs: int = 1) -> None:
        """Refuse ``new_jobs`` more if the key would exceed its concurrent-job limit."""
        tier = self.tiers.get(key.tier)
        if tier is None:
            return
        active = self.store.count_active(key.id)
        if active + new_jobs > tier.max_concurrent_jobs:
            raise RateLimited(
                f"{active} jobs are in progress; the {tier.name} tier allows {tier.max_concurrent_jobs} at once",
                retry_after_s=5.0,
            )
