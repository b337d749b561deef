"""Helpers shared by the service, queue and storage tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from songforge.config import Settings


def wait_until(predicate: Callable[[], Any], *, timeout_s: float = 20.0, every_s: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"condition not met within {timeout_s} s")


def free_tier_keys(app: Any, *, max_concurrent_jobs: int, names: tuple[str, ...] = ("a", "b")) -> dict[str, dict[str, str]]:
    """Give ``app``'s free tier 100 requests a minute and ``max_concurrent_jobs``, and make one key
    per name: name -> its ``Authorization`` header."""
    from songforge.service.keys import Tier

    keys = app.state.service.keys
    keys.tiers["free"] = Tier("free", requests_per_minute=100, max_concurrent_jobs=max_concurrent_jobs)
    return {name: {"Authorization": f"Bearer {keys.create(name=name)[1]}"} for name in names}


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        data_dir=tmp_path / "data", workers=1, job_timeout_s=30, dev_mode=True,
        allow_private_callbacks=True, signing_secret="test-secret", host="127.0.0.1", port=8123,
    )
    values.update(overrides)
    return Settings(**values)


class Receiver:
    """A loopback HTTP server that answers 503 to the first ``fail_first`` POSTs, then 200."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[dict] = []
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.attempts += 1
                ok = receiver.attempts > fail_first
                if ok:
                    receiver.bodies.append(body)
                self.send_response(200 if ok else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
