"""Alembic migrations of the job store (``jobs``, ``api_keys``, ``vendor_tasks``); run by :func:`upgrade`.

The job store calls :func:`upgrade` when it opens a database, so every process (API or worker,
SQLite or PostgreSQL) brings the schema to the newest revision before using it. Concurrent
upgrades are serialised: a PostgreSQL advisory lock, or a lock file next to a SQLite database.
A new column needs a new file in ``versions/`` (``alembic revision`` with ``script_location``
pointing here, or by hand after ``0001_initial.py``).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text

__all__ = ["upgrade", "HEAD", "current_revision"]

HEAD = "0002"
_HERE = Path(__file__).parent
_PG_LOCK_ID = 0x50F6F0  # an arbitrary constant shared by every songforge process


def _config(connection: object) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database of ``engine`` to ``revision`` (default: the newest)."""
    from alembic import command

    with _migration_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        command.upgrade(_config(conn), revision)  # type: ignore[arg-type]


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None``: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """A lock file beside a SQLite database file (PostgreSQL locks inside the transaction)."""
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
