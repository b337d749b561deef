"""``songforge serve``: the HTTP service (API, file downloads, workers) on one host and port.

Settings come from ``SONGFORGE_*`` environment variables; the options given here override them.
The defaults are embedded: SQLite and files under ``--data-dir``, a worker process per core.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from songforge.cli.common import fail_cleanly
from songforge.errors import InvalidRequest

__all__ = ["serve", "load_engine"]

_GRACEFUL_SHUTDOWN_S = 5


def load_engine(spec: str) -> Any:
    """The callable named by ``module:function`` (an engine with ``make_song``'s signature)."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise InvalidRequest(f"engine {spec!r} must look like 'package.module:function'", field="engine")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise InvalidRequest(f"engine {spec!r} cannot be loaded: {exc}", field="engine") from None


def serve(
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on [default: 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on [default: 8000].")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Database, files and signing secret.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Generation processes [default: cores].")] = None,
    preset: Annotated[str | None, typer.Option("--preset", help="Engine preset: default or tiny.")] = None,
    dev: Annotated[bool, typer.Option("--dev", help="Accept any API key (local development only).")] = False,
    engine: Annotated[str | None, typer.Option("--engine", hidden=True, help="module:function (tests).")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the HTTP service until interrupted."""
    import uvicorn

    from songforge.api.app import create_app
    from songforge.config import Settings

    overrides: dict[str, Any] = {"host": host, "port": port, "data_dir": data_dir, "workers": workers,
                                 "preset": preset, "dev_mode": True if dev else None}
    with fail_cleanly():
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
        app = create_app(settings, generate=load_engine(engine) if engine else None)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level=log_level.lower(), access_log=False,
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
    )
