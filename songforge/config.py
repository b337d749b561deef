"""Service settings, read once from ``SONGFORGE_*`` environment variables and passed down.

Nothing here touches the disk or the environment at import time: :func:`get_settings` reads the
environment on its first call, and tests build ``Settings(...)`` directly.

Example
-------
>>> settings = Settings(data_dir="/tmp/sf", dev_mode=True, workers=1)  # doctest: +SKIP
>>> settings.database_url_or_default()  # doctest: +SKIP
'sqlite:////tmp/sf/songforge.db'
"""

from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings", "SECRET_FILENAME"]

SECRET_FILENAME = "signing_secret"


def _cpu_count() -> int:
    return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    """Everything the service needs to start.

    Attributes
    ----------
    data_dir : folder for the job database, the blobs and the generated signing secret.
    dev_mode : accept any API key (local development only).
    host, port : where ``songforge serve`` listens.
    public_base_url : absolute base of the file URLs handed to clients; default ``http://host:port``.
    workers : generation worker processes (default: the CPU count).
    job_timeout_s : a running job is killed and failed with ``timeout`` after this many seconds.
    url_ttl_s : lifetime of signed file URLs.
    retention_days : jobs and their files are deleted this many days after creation.
    signing_secret : HMAC secret for file URLs; generated once and kept in ``data_dir`` if unset.
    max_body_bytes : largest request body accepted.
    allow_private_callbacks : allow callbacks to loopback and private addresses (tests, LAN setups).
    preset : engine preset (``"default"``, or ``"tiny"`` for tests and CI).
    database_url : SQLAlchemy URL; default a SQLite file in ``data_dir``.
    callback_timeout_s, callback_attempts : webhook delivery per attempt timeout and attempt count.
    lyrics_llm_base_url, lyrics_llm_model, lyrics_llm_api_key : an OpenAI-compatible endpoint
        (``{base}/chat/completions``) that writes lyrics; unset = the offline songwriter only
        (it is also the fallback when the endpoint fails).
    content_blocklist_path : word list for the content rules (format in the shipped
        ``engine/data/content_blocklist.txt``); unset = the shipped list.
    upstream_<name>_url, upstream_<name>_key : base URL and key of a real vendor backend
        (``dashscope``, ``minimax``, ``suno``, ``aimlapi``); a backend is on only when its URL is
        set (see :mod:`songforge.upstream` and docs/upstream.md).
    upstream_routes : JSON routing table (which backend serves which model, key or header);
        unset = every job runs on the local engine.
    upstream_timeout_s, upstream_retries : per-request timeout and attempts on 429/5xx/transport
        errors; upstream_breaker_failures, upstream_breaker_reset_s : circuit breaker per backend.
    broker_url : ``amqp://...`` (RabbitMQ) or ``redis://...``: jobs go to ``songforge worker``
        processes through Dramatiq; unset = the local worker pool inside ``songforge serve``.
    redis_url : shared state of several API processes (events for SSE, rate limits); unset =
        per process (right for one process).
    s3_endpoint, s3_bucket, s3_access_key, s3_secret_key, s3_region : files in an
        S3-compatible store (set ``s3_bucket``; ``s3_endpoint`` for anything but AWS); unset =
        files under ``data_dir/blobs``.
    worker_resend_after_s : broker workers send a job again when it has been active this long
        with no live lease and no change (its message was lost); duplicates are dropped.
    broker_queue : the broker's queue name, also the prefix of the Redis event channel: one per
        deployment sharing a broker or a Redis.
    worker_lease_s : a broker worker renews its claim on a job every third of this; a job whose
        claim is older is taken over by another worker (the first one is presumed dead).
    """

    model_config = SettingsConfigDict(env_prefix="SONGFORGE_", extra="ignore")

    data_dir: Path = Path("./data")
    dev_mode: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str | None = None
    workers: int = Field(default_factory=_cpu_count, ge=1)
    job_timeout_s: float = Field(default=1200.0, gt=0)
    url_ttl_s: int = Field(default=86400, gt=0)
    retention_days: float = Field(default=15.0, gt=0)
    signing_secret: str | None = None
    max_body_bytes: int = Field(default=72 * 1024 * 1024, gt=0)  # a 50 MB reference as base64 JSON
    allow_private_callbacks: bool = False
    preset: str = "default"
    database_url: str | None = None
    callback_timeout_s: float = Field(default=10.0, gt=0)
    callback_attempts: int = Field(default=5, ge=1)
    lyrics_llm_base_url: str | None = None
    lyrics_llm_model: str | None = None
    lyrics_llm_api_key: str | None = None
    content_blocklist_path: Path | None = None
    upstream_dashscope_url: str | None = None
    upstream_dashscope_key: SecretStr | None = None
    upstream_minimax_url: str | None = None
    upstream_minimax_key: SecretStr | None = None
    upstream_suno_url: str | None = None
    upstream_suno_key: SecretStr | None = None
    upstream_aimlapi_url: str | None = None
    upstream_aimlapi_key: SecretStr | None = None
    upstream_routes: str | None = None
    upstream_timeout_s: float = Field(default=600.0, gt=0)
    upstream_retries: int = Field(default=3, ge=1)
    upstream_breaker_failures: int = Field(default=3, ge=1)
    upstream_breaker_reset_s: float = Field(default=60.0, gt=0)
    broker_url: str | None = None
    redis_url: str | None = None
    s3_endpoint: str | None = None
    s3_bucket: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str | None = None
    broker_queue: str = Field(default="songforge-jobs", pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    worker_lease_s: float = Field(default=30.0, gt=0)
    worker_resend_after_s: float = Field(default=600.0, gt=0)

    _secret: bytes | None = PrivateAttr(default=None)

    def database_url_or_default(self) -> str:
        """The configured database URL, or a SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path(self.data_dir) / 'songforge.db').resolve()}"

    def blob_root(self) -> Path:
        """Folder of the file blob store."""
        return Path(self.data_dir) / "blobs"

    def blob_store(self) -> Any:
        """The configured blob store: S3 when ``s3_bucket`` is set, else files in :meth:`blob_root`."""
        from songforge.storage.blobs import FileBlobStore, S3BlobStore

        if not self.s3_bucket:
            return FileBlobStore(self.blob_root())
        return S3BlobStore(
            self.s3_bucket, Path(self.data_dir) / "s3-cache", endpoint_url=self.s3_endpoint,
            access_key=self.s3_access_key, secret_key=self.s3_secret_key, region=self.s3_region,
        )

    def base_url(self) -> str:
        """Absolute base URL for links handed to clients (no trailing slash)."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def signing_key(self) -> bytes:
        """The URL signing secret as bytes, generated and persisted on first use if not set."""
        if self._secret is None:
            self._secret = (self.signing_secret or _load_or_create_secret(Path(self.data_dir))).encode()
        return self._secret


def _load_or_create_secret(data_dir: Path) -> str:
    """Read ``data_dir/signing_secret``, creating it (mode 0600) the first time."""
    path = data_dir / SECRET_FILENAME
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its secret
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
