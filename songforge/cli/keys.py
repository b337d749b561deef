"""``songforge keys create|list|revoke``: API keys of a service's data dir.

The plaintext of a new key is printed once and never stored (only its SHA-256 is).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from songforge.cli.common import fail_cleanly

__all__ = ["app"]

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="The service's data dir [env SONGFORGE_DATA_DIR].")]


def _keys(data_dir: Path | None) -> Any:
    from songforge.config import Settings
    from songforge.service.keys import KeyService
    from songforge.storage.jobs import SqlJobStore

    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    return KeyService(settings, SqlJobStore(settings.database_url_or_default()))


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who or what the key is for.")] = "default",
    tier: Annotated[str, typer.Option("--tier", help="free or paid (limits per minute and concurrent jobs).")] = "free",
    data_dir: DataDir = None,
) -> None:
    """Make a key and print it (shown this once)."""
    with fail_cleanly():
        record, plaintext = _keys(data_dir).create(name=name, tier=tier)
    Console(stderr=True).print(f"created key [bold]{record.id}[/] ({record.tier}, {record.name!r}); "
                               "store it now, it is not shown again:")
    typer.echo(plaintext)


@app.command("list")
def list_keys(data_dir: DataDir = None) -> None:
    """Every key: id, name, tier, created, revoked."""
    with fail_cleanly():
        records = _keys(data_dir).list_keys()
    table = Table(title="API keys")
    for column in ("id", "name", "tier", "created", "revoked"):
        table.add_column(column)
    for r in records:
        revoked = r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else ""
        table.add_row(r.id, r.name, r.tier, r.created_at.isoformat(timespec="seconds"), revoked)
    Console().print(table)


@app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key id (from list).")], data_dir: DataDir = None) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    with fail_cleanly():
        record = _keys(data_dir).revoke(key_id)
    typer.echo(f"revoked {record.id} ({record.name})")
