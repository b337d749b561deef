"""A songforge deployment on loopback for the scale-out tests: API and worker processes over
PostgreSQL, RabbitMQ, Redis and an S3 server (see :mod:`tests.services`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.service._helpers import wait_until
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[1]
ENGINE = "tests.queue._scale_engine:paced_song"


def cluster_env(tmp_path: Path, *, postgres_url: str, amqp_url: str, redis_url: str, s3_endpoint: str,
                song_s: float, lease_s: float = 3.0) -> dict[str, str]:
    """``SONGFORGE_*`` settings shared by every process of one deployment (its own queue,
    channel, bucket and database schema)."""
    runs = tmp_path / "runs"
    runs.mkdir(exist_ok=True)
    name = f"sf-{uuid.uuid4().hex[:10]}"
    return {
        **os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "SONGFORGE_DATABASE_URL": postgres_url, "SONGFORGE_BROKER_URL": amqp_url,
        "SONGFORGE_BROKER_QUEUE": name, "SONGFORGE_REDIS_URL": redis_url,
        "SONGFORGE_S3_ENDPOINT": s3_endpoint, "SONGFORGE_S3_BUCKET": name,
        "SONGFORGE_S3_ACCESS_KEY": "test", "SONGFORGE_S3_SECRET_KEY": "test",
        "SONGFORGE_SIGNING_SECRET": "cluster-secret", "SONGFORGE_ALLOW_PRIVATE_CALLBACKS": "true",
        "SONGFORGE_WORKER_LEASE_S": str(lease_s), "SONGFORGE_WORKERS": "1", "SONGFORGE_PRESET": "tiny",
        "SONGFORGE_JOB_TIMEOUT_S": "120", "SONGFORGE_CALLBACK_ATTEMPTS": "8",
        "SONGFORGE_TEST_SONG_S": str(song_s), "SONGFORGE_TEST_RUNS_DIR": str(runs),
    }


def settings_of(env: dict[str, str], data_dir: Path, **overrides: Any) -> Any:
    """In-process :class:`Settings` equal to what the processes read from ``env``."""
    from songforge.config import Settings

    values = {k.removeprefix("SONGFORGE_").lower(): v for k, v in env.items()
              if k.startswith("SONGFORGE_") and not k.startswith("SONGFORGE_TEST_")}
    return Settings(**values, data_dir=data_dir, dev_mode=True, **overrides)


class Proc:
    """A ``python -m songforge ...`` child process with its log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.popen: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen([sys.executable, "-m", "songforge", *self.args], env=self.env,
                                          stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

    def kill(self) -> None:
        """SIGKILL: no goodbye to the broker, the database or the worker's children."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, timeout_s: float = 30.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)


def start_worker(env: dict[str, str], tmp_path: Path, name: str, *, engine: str | None = None) -> Proc:
    data = tmp_path / name
    data.mkdir(exist_ok=True)
    return Proc(["worker", "--engine", engine or ENGINE, "--data-dir", str(data), "--log-level", "warning"],
                env, tmp_path / f"{name}.log")


class Api(Proc):
    """An API process (``songforge serve --dev``) on a free loopback port."""

    def __init__(self, env: dict[str, str], tmp_path: Path, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data = tmp_path / name
        data.mkdir(exist_ok=True)
        env = {**env, "SONGFORGE_PUBLIC_BASE_URL": self.url}
        super().__init__(["serve", "--dev", "--port", str(self.port), "--data-dir", str(data),
                          "--log-level", "warning"], env, tmp_path / f"{name}.log")

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        def ready() -> bool:
            try:
                return httpx.get(f"{self.url}/readyz", timeout=2.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout_s=timeout_s, every_s=0.2)
