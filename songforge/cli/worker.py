"""``songforge worker``: run jobs from the broker (``SONGFORGE_BROKER_URL``) until stopped.

Start any number of them, on any machine that reaches the database, the broker and the file
store (the same ``SONGFORGE_*`` settings as the API processes). Each runs ``--threads`` jobs at
once, each in its own generation process; SIGTERM or Ctrl-C sends the jobs in flight back to
the queue (their attempt is not counted) and exits.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from songforge.cli.common import console, fail_cleanly
from songforge.cli.serve import load_engine

__all__ = ["worker"]


def worker(
    threads: Annotated[int | None, typer.Option("--threads", help="Jobs at once [default: SONGFORGE_WORKERS].")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Signing secret and local scratch files.")] = None,
    preset: Annotated[str | None, typer.Option("--preset", help="Engine preset: default or tiny.")] = None,
    engine: Annotated[str | None, typer.Option("--engine", hidden=True, help="module:function (tests).")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")] = "info",
) -> None:
    """Run generation jobs from the broker until interrupted."""
    from songforge.config import Settings

    overrides: dict[str, Any] = {"workers": threads, "data_dir": data_dir, "preset": preset}
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with fail_cleanly():
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
        if not settings.broker_url:
            console.print("[bold red]error:[/] set SONGFORGE_BROKER_URL (amqp://... or redis://...)")
            raise typer.Exit(2)
        run_worker(settings, generate=load_engine(engine) if engine else None)


def run_worker(settings: Any, *, generate: Any = None, stop: threading.Event | None = None) -> None:
    """Consume jobs until SIGTERM/SIGINT (or ``stop`` is set), then hand back the jobs in flight."""
    from songforge.api.app import callback_renderers, load_dialects
    from songforge.queue.broker import BrokerWorker
    from songforge.service.songs import build_service

    stop = stop or threading.Event()
    service = build_service(settings)
    service.start(run_workers=False, callback_renderers=callback_renderers(service, load_dialects()))
    consumer = BrokerWorker(
        service.queue.messages, service.worker_pool(generate),  # type: ignore[attr-defined]
        threads=settings.workers, lease_s=settings.worker_lease_s, resend_after_s=settings.worker_resend_after_s,
    )
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    consumer.start()
    logging.getLogger(__name__).info("worker running %d jobs at once", settings.workers)
    try:
        stop.wait()
    finally:
        consumer.stop()
        service.stop()
