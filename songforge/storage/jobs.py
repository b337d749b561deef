"""The job store: jobs and API keys in SQL (SQLite in WAL mode by default), JSON columns as text.

Only :mod:`songforge.service.lifecycle` changes a job's status; it does so through
:meth:`SqlJobStore.transition`, an atomic compare-and-set. The durable local queue uses the
claim columns (``claim_token``, ``not_before``), which are not statuses.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.pool import StaticPool

from songforge.errors import NotFound
from songforge.models import JobStatus

__all__ = ["Job", "ApiKeyRecord", "JobStore", "SqlJobStore", "new_job_id", "utc_now", "ACTIVE_STATUSES"]

ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FIRST_READY)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_job_id() -> str:
    """A fresh job id (uuid4, 32 hex digits)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Job:
    """One generation job as stored.

    ``request`` is the canonical :class:`~songforge.models.SongRequest` as a JSON-safe dict with
    the service defaults applied; ``result`` holds asset keys, ``duration_s``, ``seed`` and the like.
    """

    id: str
    request: dict[str, Any]
    status: JobStatus = JobStatus.QUEUED
    stage: str | None = None
    progress_pct: float = 0.0
    dialect: str = "native"
    attempts: int = 0
    error_code: str | None = None
    error_message: str | None = None
    result: dict[str, Any] | None = None
    callback_url: str | None = None
    owner_key_id: str | None = None
    batch_id: str | None = None
    variation_index: int = 0
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)

    @property
    def is_terminal(self) -> bool:
        return self.status not in ACTIVE_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (timestamps as ISO 8601 strings, status as its value)."""
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        data["created_at"] = self.created_at.isoformat()
        data["updated_at"] = self.updated_at.isoformat()
        return data


@dataclass(frozen=True)
class ApiKeyRecord:
    """A stored API key: only the SHA-256 of the plaintext is kept."""

    id: str
    name: str
    tier: str
    key_hash: str
    created_at: datetime = field(default_factory=utc_now)
    revoked_at: datetime | None = None


class JobStore(Protocol):
    """What the service, queue and worker need from a job store."""

    def create(self, job: Job) -> Job: ...
    def get(self, job_id: str) -> Job: ...
    def update(self, job_id: str, **changes: Any) -> Job: ...
    def transition(
        self, job_id: str, *, from_statuses: Iterable[JobStatus], to_status: JobStatus, **changes: Any
    ) -> Job | None: ...
    def update_if_active(self, job_id: str, **changes: Any) -> Job | None: ...
    def list_jobs(
        self, *, statuses: Iterable[JobStatus] | None = None, owner_key_id: str | None = None,
        created_before: datetime | None = None, limit: int = 1000, newest_first: bool = False,
    ) -> list[Job]: ...
    def count_active(self, owner_key_id: str) -> int: ...
    def count_by_status(self) -> dict[JobStatus, int]: ...
    def ping(self) -> None: ...
    def delete(self, job_id: str) -> None: ...
    def claim_next(self) -> Job | None: ...
    def claim_job(self, job_id: str, *, lease_s: float) -> str | None: ...
    def touch_stale(self, *, idle_s: float, lease_s: float, limit: int = 100) -> list[str]: ...
    def heartbeat(self, job_id: str, token: str) -> bool: ...
    def release_job(self, job_id: str, token: str) -> None: ...
    def release_claim(self, job_id: str, *, not_before: datetime | None = None) -> None: ...
    def release_stale_claims(self) -> int: ...
    def add_key(self, record: ApiKeyRecord) -> ApiKeyRecord: ...
    def key_by_hash(self, key_hash: str) -> ApiKeyRecord | None: ...
    def list_keys(self) -> list[ApiKeyRecord]: ...
    def revoke_key(self, key_id: str) -> ApiKeyRecord: ...


_metadata = MetaData()

_jobs = Table(
    "jobs",
    _metadata,
    Column("id", String(32), primary_key=True),
    Column("batch_id", String(32), index=True),
    Column("created_at", DateTime, nullable=False, index=True),
    Column("updated_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("stage", String(16)),
    Column("progress_pct", Float, nullable=False, default=0.0),
    Column("request", Text, nullable=False),
    Column("dialect", String(32), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error_code", String(64)),
    Column("error_message", Text),
    Column("result", Text),
    Column("callback_url", Text),
    Column("owner_key_id", String(32), index=True),
    Column("variation_index", Integer, nullable=False, default=0),
    Column("claim_token", String(32)),
    Column("claimed_at", DateTime),
    Column("not_before", DateTime),
)

_keys = Table(
    "api_keys",
    _metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)

_JSON_FIELDS = ("request", "result")
_JOB_FIELDS = frozenset(f.name for f in dataclasses.fields(Job))


def _naive_utc(value: datetime | None) -> datetime | None:
    """Timestamps are stored as naive UTC (SQLite keeps no zone)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _job_to_row(values: dict[str, Any]) -> dict[str, Any]:
    row = dict(values)
    for name in _JSON_FIELDS:
        if name in row and row[name] is not None:
            row[name] = json.dumps(row[name], sort_keys=True)
    if isinstance(row.get("status"), JobStatus):
        row["status"] = row["status"].value
    for name in ("created_at", "updated_at", "claimed_at", "not_before"):
        if name in row:
            row[name] = _naive_utc(row[name])
    return row


def _row_to_job(row: Any) -> Job:
    data = {name: getattr(row, name) for name in _JOB_FIELDS}
    for name in _JSON_FIELDS:
        data[name] = json.loads(data[name]) if data[name] is not None else None
    data["status"] = JobStatus(data["status"])
    data["created_at"] = _aware(data["created_at"])
    data["updated_at"] = _aware(data["updated_at"])
    return Job(**data)


def _row_to_key(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id, name=row.name, tier=row.tier, key_hash=row.key_hash,
        created_at=_aware(row.created_at), revoked_at=_aware(row.revoked_at),  # type: ignore[arg-type]
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if url in ("sqlite://", "sqlite:///:memory:"):
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class SqlJobStore:
    """:class:`JobStore` on SQLAlchemy 2 Core; safe to share between threads.

    Parameters
    ----------
    url : SQLAlchemy database URL, e.g. ``sqlite:////var/lib/songforge/songforge.db``.
    """

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///") and url not in ("sqlite:///:memory:",):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = _make_engine(url)
        from songforge.storage.migrations import upgrade

        upgrade(self.engine)
        self._skip_locked = self.engine.dialect.name == "postgresql"

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    # -- jobs ---------------------------------------------------------------------------------

    def create(self, job: Job) -> Job:
        """Insert ``job`` (its id must be new); one round trip where the database has RETURNING."""
        statement = insert(_jobs).values(**_job_to_row(dataclasses.asdict(job)))
        if not self.engine.dialect.insert_returning:
            with self.engine.begin() as conn:
                conn.execute(statement)
            return self.get(job.id)
        with self.engine.begin() as conn:
            return _row_to_job(conn.execute(statement.returning(*_jobs.c)).one())

    def get(self, job_id: str) -> Job:
        """The job with ``job_id``; raises :class:`NotFound`."""
        with self.engine.connect() as conn:
            row = conn.execute(select(_jobs).where(_jobs.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"no job with id {job_id!r}")
        return _row_to_job(row)

    def update(self, job_id: str, **changes: Any) -> Job:
        """Set non-status fields of a job (``updated_at`` too); raises :class:`NotFound`."""
        _check_fields(changes, allow_status=False)
        with self.engine.begin() as conn:
            res = conn.execute(
                update(_jobs).where(_jobs.c.id == job_id).values(**_job_to_row(_stamped(changes)))
            )
        if res.rowcount == 0:
            raise NotFound(f"no job with id {job_id!r}")
        return self.get(job_id)

    def transition(
        self, job_id: str, *, from_statuses: Iterable[JobStatus], to_status: JobStatus, **changes: Any
    ) -> Job | None:
        """Atomically set ``status`` to ``to_status`` if it is one of ``from_statuses``.

        Returns the updated job, or ``None`` when the job was in another status (or is missing).
        Used by :mod:`songforge.service.lifecycle` only.
        """
        _check_fields(changes, allow_status=False)
        values = _job_to_row(_stamped({**changes, "status": to_status}))
        sources = [s.value for s in from_statuses]
        with self.engine.begin() as conn:
            res = conn.execute(
                update(_jobs).where(_jobs.c.id == job_id, _jobs.c.status.in_(sources)).values(**values)
            )
        return self.get(job_id) if res.rowcount else None

    def update_if_active(self, job_id: str, **changes: Any) -> Job | None:
        """Like :meth:`update`, but only while the job is running or first_ready."""
        _check_fields(changes, allow_status=False)
        active = [JobStatus.RUNNING.value, JobStatus.FIRST_READY.value]
        with self.engine.begin() as conn:
            res = conn.execute(
                update(_jobs).where(_jobs.c.id == job_id, _jobs.c.status.in_(active))
                .values(**_job_to_row(_stamped(changes)))
            )
        return self.get(job_id) if res.rowcount else None

    def list_jobs(
        self, *, statuses: Iterable[JobStatus] | None = None, owner_key_id: str | None = None,
        created_before: datetime | None = None, limit: int = 1000, newest_first: bool = False,
    ) -> list[Job]:
        """Jobs matching all given filters, oldest first (``newest_first``: the newest ``limit``, newest first)."""
        order = (_jobs.c.created_at.desc(), _jobs.c.variation_index.desc()) if newest_first else (
            _jobs.c.created_at, _jobs.c.variation_index)
        query = select(_jobs).order_by(*order).limit(limit)
        if statuses is not None:
            query = query.where(_jobs.c.status.in_([JobStatus(s).value for s in statuses]))
        if owner_key_id is not None:
            query = query.where(_jobs.c.owner_key_id == owner_key_id)
        if created_before is not None:
            query = query.where(_jobs.c.created_at < _naive_utc(created_before))
        with self.engine.connect() as conn:
            return [_row_to_job(r) for r in conn.execute(query)]

    def count_active(self, owner_key_id: str) -> int:
        """Number of the key's jobs that are queued, running or first_ready."""
        query = select(func.count()).select_from(_jobs).where(
            _jobs.c.owner_key_id == owner_key_id, _jobs.c.status.in_([s.value for s in ACTIVE_STATUSES])
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def count_by_status(self) -> dict[JobStatus, int]:
        """Number of jobs in each status (every status present, zero included)."""
        query = select(_jobs.c.status, func.count()).group_by(_jobs.c.status)
        with self.engine.connect() as conn:
            counts = {JobStatus(status): int(n) for status, n in conn.execute(query)}
        return {status: counts.get(status, 0) for status in JobStatus}

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def delete(self, job_id: str) -> None:
        """Remove a job row (the janitor's; files are the blob store's)."""
        with self.engine.begin() as conn:
            conn.execute(delete(_jobs).where(_jobs.c.id == job_id))

    # -- queue claims -------------------------------------------------------------------------

    def claim_next(self) -> Job | None:
        """Atomically claim the oldest queued, unclaimed, due job; ``None`` if there is none.

        The claim marks the row (``claim_token``); it does not change the status. On PostgreSQL
        the candidate row is taken with ``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent
        claimers never wait on (or both take) one row; SQLite serialises writers anyway.
        """
        token, now = uuid.uuid4().hex, _naive_utc(utc_now())
        oldest = (
            select(_jobs.c.id)
            .where(
                _jobs.c.status == JobStatus.QUEUED.value,
                _jobs.c.claim_token.is_(None),
                or_(_jobs.c.not_before.is_(None), _jobs.c.not_before <= now),
            )
            .order_by(_jobs.c.created_at, _jobs.c.variation_index)
            .limit(1)
        )
        with self.engine.begin() as conn:
            if self._skip_locked:
                job_id = conn.execute(oldest.with_for_update(skip_locked=True)).scalar()
                if job_id is None:
                    return None
                target = _jobs.c.id == job_id
            else:
                target = _jobs.c.id == oldest.scalar_subquery()
            conn.execute(
                update(_jobs).where(target, _jobs.c.claim_token.is_(None))
                .values(claim_token=token, claimed_at=now)
            )
            row = conn.execute(select(_jobs).where(_jobs.c.claim_token == token)).first()
        return _row_to_job(row) if row is not None else None

    def claim_job(self, job_id: str, *, lease_s: float) -> str | None:
        """Claim one named active job for a broker worker; returns the claim token or ``None``.

        The claim succeeds when the job is queued, running or first_ready and nobody holds it,
        or its holder stopped renewing the claim (:meth:`heartbeat`) ``lease_s`` seconds ago
        (a worker that was killed). The row is locked ``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
        so two workers handed the same message never both win.
        """
        token, now = uuid.uuid4().hex, _naive_utc(utc_now())
        stale = now - timedelta(seconds=lease_s)  # type: ignore[operator]
        free = or_(_jobs.c.claim_token.is_(None), _jobs.c.claimed_at.is_(None), _jobs.c.claimed_at < stale)
        active = _jobs.c.status.in_([s.value for s in ACTIVE_STATUSES])
        with self.engine.begin() as conn:
            if self._skip_locked:
                found = conn.execute(
                    select(_jobs.c.id).where(_jobs.c.id == job_id, active, free)
                    .with_for_update(skip_locked=True)
                ).scalar()
                if found is None:
                    return None
            res = conn.execute(
                update(_jobs).where(_jobs.c.id == job_id, active, free)
                .values(claim_token=token, claimed_at=now)
            )
        return token if res.rowcount else None

    def touch_stale(self, *, idle_s: float, lease_s: float, limit: int = 100) -> list[str]:
        """Active jobs untouched for ``idle_s`` and leased by nobody alive: their ids, each with
        ``updated_at`` set to now so that concurrent callers (and the next ``idle_s``) skip them.

        A broker worker sends these again: a message lost between the job's insert and the
        broker, or by a broker that keeps nothing (Redis) across a restart.
        """
        now = _naive_utc(utc_now())
        idle = now - timedelta(seconds=idle_s)  # type: ignore[operator]
        stale = now - timedelta(seconds=lease_s)  # type: ignore[operator]
        where = (
            _jobs.c.status.in_([s.value for s in ACTIVE_STATUSES]), _jobs.c.updated_at < idle,
            or_(_jobs.c.claim_token.is_(None), _jobs.c.claimed_at.is_(None), _jobs.c.claimed_at < stale),
        )
        query = select(_jobs.c.id).where(*where).order_by(_jobs.c.created_at).limit(limit)
        if self._skip_locked:
            query = query.with_for_update(skip_locked=True)
        touched = []
        with self.engine.begin() as conn:
            for job_id in conn.execute(query).scalars().all():
                res = conn.execute(update(_jobs).where(_jobs.c.id == job_id, *where).values(updated_at=now))
                if res.rowcount:
                    touched.append(str(job_id))
        return touched

    def heartbeat(self, job_id: str, token: str) -> bool:
        """Renew a claim made by :meth:`claim_job`; ``False`` if the claim is no longer ours."""
        with self.engine.begin() as conn:
            res = conn.execute(
                update(_jobs).where(_jobs.c.id == job_id, _jobs.c.claim_token == token)
                .values(claimed_at=_naive_utc(utc_now()))
            )
        return bool(res.rowcount)

    def release_job(self, job_id: str, token: str) -> None:
        """Drop a claim made by :meth:`claim_job` (only if it is still ours)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(_jobs).where(_jobs.c.id == job_id, _jobs.c.claim_token == token)
                .values(claim_token=None, claimed_at=None)
            )

    def release_claim(self, job_id: str, *, not_before: datetime | None = None) -> None:
        """Drop a job's claim; a queued job becomes claimable again (after ``not_before``)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(_jobs).where(_jobs.c.id == job_id)
                .values(claim_token=None, claimed_at=None, not_before=_naive_utc(not_before))
            )

    def release_stale_claims(self) -> int:
        """Release claims on queued jobs (claims left by a process that died); returns the count."""
        with self.engine.begin() as conn:
            res = conn.execute(
                update(_jobs)
                .where(_jobs.c.status == JobStatus.QUEUED.value, _jobs.c.claim_token.is_not(None))
                .values(claim_token=None, claimed_at=None)
            )
        return int(res.rowcount)

    # -- api keys -----------------------------------------------------------------------------

    def add_key(self, record: ApiKeyRecord) -> ApiKeyRecord:
        """Store a new key record."""
        values = dataclasses.asdict(record)
        values["created_at"] = _naive_utc(record.created_at)
        values["revoked_at"] = _naive_utc(record.revoked_at)
        with self.engine.begin() as conn:
            conn.execute(insert(_keys).values(**values))
        return record

    def key_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        """The key whose SHA-256 hex digest is ``key_hash``, or ``None``."""
        with self.engine.connect() as conn:
            row = conn.execute(select(_keys).where(_keys.c.key_hash == key_hash)).first()
        return _row_to_key(row) if row is not None else None

    def list_keys(self) -> list[ApiKeyRecord]:
        """All keys, oldest first (revoked ones included)."""
        with self.engine.connect() as conn:
            return [_row_to_key(r) for r in conn.execute(select(_keys).order_by(_keys.c.created_at))]

    def revoke_key(self, key_id: str) -> ApiKeyRecord:
        """Mark a key revoked; raises :class:`NotFound`."""
        with self.engine.begin() as conn:
            conn.execute(
                update(_keys).where(_keys.c.id == key_id, _keys.c.revoked_at.is_(None))
                .values(revoked_at=_naive_utc(utc_now()))
            )
            row = conn.execute(select(_keys).where(_keys.c.id == key_id)).first()
        if row is None:
            raise NotFound(f"no API key with id {key_id!r}")
        return _row_to_key(row)


def _stamped(changes: dict[str, Any]) -> dict[str, Any]:
    return {**changes, "updated_at": utc_now()}


def _check_fields(changes: dict[str, Any], *, allow_status: bool) -> None:
    fixed: Sequence[str] = ("id", "created_at") if allow_status else ("id", "created_at", "status")
    bad = [k for k in changes if k not in _JOB_FIELDS or k in fixed]
    if bad:
        raise ValueError(f"cannot update job fields {bad}")
