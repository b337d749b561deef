"""Durable vendor tasks that are not one song job: lyrics sheets, WAV conversions, vocal removal,
MIDI, cover images, personas, and the pairs of song jobs a vendor calls one task.

A task row lives in the same database as the jobs (it is given the job store's SQLAlchemy engine
and creates its own table idempotently). ``data`` and ``sent`` are JSON columns stored as text;
``sent`` lists the callback stages already delivered, marked by :meth:`TaskStore.mark_sent`, an
atomic compare-and-set, so each stage is sent once even when two threads race to send it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)

from songforge.errors import NotFound
from songforge.storage.jobs import utc_now

__all__ = ["TaskRecord", "TaskStore", "PENDING", "SUCCESS"]

PENDING = "PENDING"
SUCCESS = "SUCCESS"

_metadata = MetaData()

_tasks = Table(
    "vendor_tasks",
    _metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False, index=True),
    Column("ref", String(128), index=True),
    Column("status", String(32), nullable=False),
    Column("param", Text, nullable=False, default=""),
    Column("data", Text, nullable=False, default="{}"),
    Column("owner_key_id", String(32), index=True),
    Column("callback_url", Text),
    Column("error_code", Integer),
    Column("error_message", Text),
    Column("sent", Text, nullable=False, default="[]"),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("completed_at", DateTime),
)

_JSON_FIELDS = ("data", "sent")
_DATE_FIELDS = ("created_at", "updated_at", "completed_at")


@dataclass(frozen=True)
class TaskRecord:
    """One vendor task.

    ``kind`` names what it is (``music``, ``lyrics``, ``wav``, ...); ``ref`` a lookup key (e.g. the
    source task of a cover image, for duplicate detection); ``param`` the original request as a
    JSON string; ``data`` kind-specific JSON (job ids, results); ``sent`` the callback stages
    already delivered; times are timezone-aware UTC.
    """

    id: str
    kind: str
    status: str = PENDING
    ref: str | None = None
    param: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    owner_key_id: str | None = None
    callback_url: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    sent: tuple[str, ...] = ()
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
    completed_at: datetime | None = None


def _naive(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return value.astimezone(UTC).replace(tzinfo=None) if value is not None and value.tzinfo else value


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _to_row(values: dict[str, Any]) -> dict[str, Any]:
    row = dict(values)
    for name in _JSON_FIELDS:
        if name in row:
            row[name] = json.dumps(list(row[name]) if name == "sent" else row[name], sort_keys=True)
    for name in _DATE_FIELDS:
        if name in row:
            row[name] = _naive(row[name])
    return row


def _from_row(row: Any) -> TaskRecord:
    data = {f.name: getattr(row, f.name) for f in dataclasses.fields(TaskRecord)}
    data["data"] = json.loads(data["data"] or "{}")
    data["sent"] = tuple(json.loads(data["sent"] or "[]"))
    for name in _DATE_FIELDS:
        data[name] = _aware(data[name])
    return TaskRecord(**data)


class TaskStore:
    """:class:`TaskRecord` rows on a SQLAlchemy engine (the job store's); thread-safe.

    Parameters
    ----------
    engine : the database engine; the table is created if missing.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        _metadata.create_all(engine)

    def create(self, record: TaskRecord) -> TaskRecord:
        """Insert a new task (its id must be new)."""
        with self.engine.begin() as conn:
            conn.execute(insert(_tasks).values(**_to_row(dataclasses.asdict(record))))
        return self.get(record.id)

    def get(self, task_id: str, *, kind: str | None = None) -> TaskRecord:
        """The task (of ``kind`` when given); raises :class:`NotFound`."""
        query = select(_tasks).where(_tasks.c.id == task_id)
        if kind is not None:
            query = query.where(_tasks.c.kind == kind)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no {kind or ''} task with taskId {task_id!r}".replace("  ", " "))
        return _from_row(row)

    def find(self, kind: str, ref: str) -> TaskRecord | None:
        """The oldest task of ``kind`` whose ``ref`` is ``ref``, or ``None``."""
        query = select(_tasks).where(_tasks.c.kind == kind, _tasks.c.ref == ref).order_by(_tasks.c.created_at)
        with self.engine.connect() as conn:
            row = conn.execute(query.limit(1)).first()
        return _from_row(row) if row is not None else None

    def update(self, task_id: str, **changes: Any) -> TaskRecord:
        """Set fields of a task (``updated_at`` too); raises :class:`NotFound`."""
        bad = [k for k in changes if k in ("id", "created_at", "sent") or k not in _tasks.c]
        if bad:
            raise ValueError(f"cannot update task fields {bad}")
        values = _to_row({**changes, "updated_at": utc_now()})
        with self.engine.begin() as conn:
            res = conn.execute(update(_tasks).where(_tasks.c.id == task_id).values(**values))
        if res.rowcount == 0:
            raise NotFound(f"no task with taskId {task_id!r}")
        return self.get(task_id)

    def mark_sent(self, task_id: str, stage: str) -> bool:
        """Record that callback ``stage`` was sent; ``True`` only for the first caller (atomic)."""
        while True:
            current = self.get(task_id)
            if stage in current.sent:
                return False
            old = json.dumps(list(current.sent), sort_keys=True)
            new = json.dumps([*current.sent, stage], sort_keys=True)
            with self.engine.begin() as conn:
                res = conn.execute(
                    update(_tasks).where(_tasks.c.id == task_id, _tasks.c.sent == old).values(sent=new)
                )
            if res.rowcount:
                return True

    def count(self, kind: str, *, owner_key_id: str | None = None) -> int:
        """Number of tasks of ``kind`` (of one owner when given)."""
        query = select(func.count()).select_from(_tasks).where(_tasks.c.kind == kind)
        if owner_key_id is not None:
            query = query.where(_tasks.c.owner_key_id == owner_key_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def delete_older_than(self, cutoff: datetime) -> int:
        """Delete the tasks created before ``cutoff`` (timezone-aware); returns how many went."""
        with self.engine.begin() as conn:
            res = conn.execute(delete(_tasks).where(_tasks.c.created_at < _naive(cutoff)))
        return int(res.rowcount or 0)
