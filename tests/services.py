"""The external services of the scale-out tests: PostgreSQL, Redis, RabbitMQ and an S3 server.

Each fixture skips its test with a clear reason only when the service cannot be reached (the
development machines and CI run them all). Addresses come from ``SONGFORGE_TEST_POSTGRES``,
``SONGFORGE_TEST_REDIS`` and ``SONGFORGE_TEST_AMQP`` or default to the loopback services.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

POSTGRES_URL = os.environ.get("SONGFORGE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SONGFORGE_TEST_REDIS", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("SONGFORGE_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/%2F")


def reachable(url: str, default_port: int) -> bool:
    """Whether a TCP connection to the host and port of ``url`` opens within a second."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1.0):
            return True
    except OSError:
        return False


def require(url: str, default_port: int, name: str) -> None:
    """Skip the calling test when ``name`` at ``url`` is not reachable."""
    if not reachable(url, default_port):
        pytest.skip(f"{name} is not reachable at {url} (start it to run this test)")


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose ``search_path`` is a fresh schema, dropped after the test."""
    require(POSTGRES_URL, 5432, "PostgreSQL")
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    """The Redis URL (a fresh key prefix is the test's own business)."""
    require(REDIS_URL, 6379, "Redis")
    return REDIS_URL


@pytest.fixture
def amqp_url() -> str:
    """The RabbitMQ URL."""
    require(AMQP_URL, 5672, "RabbitMQ")
    return AMQP_URL


class S3Server:
    """moto's S3-compatible HTTP server in its own process on a free loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30.0
        while not reachable(self.endpoint, self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the S3 server (moto.server) did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3-compatible server (moto's, a separate process speaking HTTP on loopback)."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        pytest.skip("moto[server] is not installed (make test installs it)")
    server = S3Server()
    try:
        yield server
    finally:
        server.stop()


def delete_broker_queues(amqp_url: str, name: str) -> None:
    """Remove a test's queue and Dramatiq's delay and dead-letter queues beside it."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        for queue in (name, f"{name}.DQ", f"{name}.XQ"):
            channel.queue_delete(queue=queue)
    finally:
        connection.close()
