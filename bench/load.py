"""Load benchmark of the native API on loopback, while songs generate.

Starts ``songforge serve`` (dev mode, tiny preset) on a free port with a fresh data dir, then sends
``--submits`` song submissions and ``--polls`` status polls from ``--clients`` concurrent clients,
paced at ``--rate`` requests per second in total (submissions and polls interleaved). Reports
p50/p90/p99/max latency of each, then waits for every job to finish and reports how they ended.

    .venv/bin/python bench/load.py                       # 200 submits, 500 polls, tiny 10 s songs
    .venv/bin/python bench/load.py --submits 20 --polls 50 --json

Exit status 1 when a job did not succeed or the submit/poll p99 is over ``--target-p99-ms``.

``--distributed 1,3`` measures the production layout instead, once per worker count: two API
processes (clients alternate between them) and that many ``songforge worker`` processes over
PostgreSQL, RabbitMQ, Redis and an S3 server (moto's, started here on loopback); the addresses
come from ``SONGFORGE_BENCH_POSTGRES`` / ``_AMQP`` / ``_REDIS`` or default to the loopback
services. It ends with a table of throughput per worker count.

    .venv/bin/python bench/load.py --distributed 1,3 --submits 30 --polls 150 --rate 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
PROMPTS = ("upbeat pop with piano", "lofi beat for studying", "calm jazz waltz", "driving rock anthem",
           "dreamy synthwave", "acoustic folk tune", "reggae groove", "cinematic strings")
TERMINAL = {"succeeded", "failed", "cancelled"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    data_dir: Path, *, workers: int, preset: str, env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """``songforge serve`` in its own process group; returns it and its base URL once ready."""
    port = _free_port()
    cmd = [sys.executable, "-m", "songforge", "serve", "--dev", "--port", str(port), "--data-dir", str(data_dir),
           "--workers", str(workers), "--preset", preset, "--log-level", "warning"]
    env = {**(env or os.environ), "PYTHONPATH": str(REPO), "SONGFORGE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited during startup")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become ready in 120 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


class Load:
    """The measured phase: paced submissions and polls from concurrent clients."""

    def __init__(
        self, url: str | list[str], *, submits: int, polls: int, clients: int, rate: float, duration_s: float,
    ) -> None:
        self.urls = [url] if isinstance(url, str) else list(url)
        self.clients, self.rate, self.duration_s = clients, rate, duration_s
        ops = ["submit"] * submits + ["poll"] * polls
        rng = random.Random(7)
        rng.shuffle(ops)
        first_submit = ops.index("submit") if "submit" in ops else 0
        ops.insert(0, ops.pop(first_submit))  # polls need a job to ask about
        self.ops = ops
        self.rng = rng
        self.job_ids: list[str] = []
        self.latency_ms: dict[str, list[float]] = {"submit": [], "poll": []}
        self.errors: dict[str, int] = {"submit": 0, "poll": 0}

    async def run(self) -> float:
        queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        for item in enumerate(self.ops):
            queue.put_nowait(item)
        limits = httpx.Limits(max_connections=self.clients, max_keepalive_connections=self.clients)
        start = time.perf_counter()
        https = [httpx.AsyncClient(base_url=url, limits=limits, timeout=30) for url in self.urls]
        try:
            await asyncio.gather(*(self._client(https[i % len(https)], queue, start) for i in range(self.clients)))
        finally:
            for http in https:
                await http.aclose()
        return time.perf_counter() - start

    async def _client(self, http: httpx.AsyncClient, queue: asyncio.Queue[tuple[int, str]], start: float) -> None:
        while not queue.empty():
            index, op = queue.get_nowait()
            delay = start + index / self.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            while op == "poll" and not self.job_ids:  # the first submission is still on its way
                await asyncio.sleep(0.005)
            t0 = time.perf_counter()
            try:
                ok = await (self._submit(http, index) if op == "submit" else self._poll(http))
            except httpx.TransportError as exc:
                print(f"{op}: {type(exc).__name__} {exc}", file=sys.stderr)
                ok = False
            self.latency_ms[op].append(1000 * (time.perf_counter() - t0))
            self.errors[op] += 0 if ok else 1

    async def _submit(self, http: httpx.AsyncClient, index: int) -> bool:
        body = {"prompt": PROMPTS[index % len(PROMPTS)], "instrumental": True, "duration_s": self.duration_s,
                "seed": index, "format": "mp3"}
        response = await http.post("/v1/songs", json=body)
        if response.status_code != 202:
            print(f"submit: HTTP {response.status_code} {response.text[:200]}", file=sys.stderr)
            return False
        self.job_ids.append(response.json()["jobs"][0]["id"])
        return True

    async def _poll(self, http: httpx.AsyncClient) -> bool:
        response = await http.get(f"/v1/songs/{self.rng.choice(self.job_ids)}")
        return response.status_code == 200


def warm_up(url: str, *, workers: int, duration_s: float) -> None:
    """One song per worker, waited for: worker processes start and import the engine lazily, and
    that start-up is not what this benchmark measures."""
    with httpx.Client(base_url=url, timeout=30) as http:
        ids = [http.post("/v1/songs", json={"prompt": "warm up", "instrumental": True, "duration_s": duration_s,
                                            "format": "mp3"}).json()["jobs"][0]["id"] for _ in range(workers)]
    wait_all(url, ids, timeout_s=300)


def wait_all(url: str, job_ids: list[str], *, timeout_s: float) -> tuple[dict[str, int], float]:
    """Poll (unmeasured) until every job has ended; returns counts by final status and the wait."""
    start, pending, final = time.monotonic(), set(job_ids), {}
    with httpx.Client(base_url=url, timeout=30) as http:
        while pending and time.monotonic() - start < timeout_s:
            for job_id in list(pending):
                status = http.get(f"/v1/songs/{job_id}").json()["status"]
                if status in TERMINAL:
                    final[job_id] = status
                    pending.discard(job_id)
            time.sleep(1.0)
    counts = {s: list(final.values()).count(s) for s in sorted(TERMINAL)}
    counts["unfinished"] = len(pending)
    return counts, time.monotonic() - start


_ROUTES = {"submit": ('method="POST"', 'route="/v1/songs"'), "poll": ('method="GET"', 'route="/v1/songs/{job_id}"')}


def _buckets(metrics_text: str, labels: tuple[str, ...]) -> dict[float, float]:
    buckets: dict[float, float] = {}
    for line in metrics_text.splitlines():
        if line.startswith("songforge_http_request_duration_seconds_bucket") and all(x in line for x in labels):
            le = line.split('le="')[1].split('"')[0]
            bound = float("inf") if le == "+Inf" else float(le)
            buckets[bound] = buckets.get(bound, 0.0) + float(line.rsplit(" ", 1)[1])
    return buckets


def server_quantiles(before: str, after: str) -> dict[str, dict[str, float]]:
    """p50/p99 (ms, bucket upper bounds) of the server's own latency histogram per request kind,
    over the requests between two scrapes."""
    out = {}
    for op, labels in _ROUTES.items():
        start = _buckets(before, labels)
        buckets = {b: n - start.get(b, 0.0) for b, n in _buckets(after, labels).items()}
        total = buckets.get(float("inf"), 0.0)
        if total:
            out[op] = {f"p{q}": 1000 * min(b for b, n in sorted(buckets.items()) if n >= total * q / 100)
                       for q in (50, 99)}
    return out


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"n": len(values), "p50": statistics.median(values), "p90": cuts[89], "p99": cuts[98], "max": max(values)}


def report(load: Load, *, load_s: float, counts: dict[str, int], finish_s: float, args: argparse.Namespace) -> dict:
    rows = {op: {**percentiles(v), "errors": load.errors[op]} for op, v in load.latency_ms.items()}
    table = Table(title=f"songforge load: {args.submits} submits + {args.polls} polls, {args.clients} clients, "
                        f"{args.rate:g} req/s, preset {args.preset}, {args.duration_s:g} s songs, {args.workers} workers")
    for column in ("request", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"):
        table.add_column(column, justify="right")
    for op, r in rows.items():
        table.add_row(op, str(r["n"]), *(f"{r.get(k, float('nan')):.1f}" for k in ("p50", "p90", "p99", "max")),
                      str(r["errors"]))
    console = Console()
    console.print(table)
    done = counts.get("succeeded", 0)
    console.print(f"load phase {load_s:.1f} s; all jobs ended {finish_s:.1f} s later: {counts} "
                  f"({done / max(load_s + finish_s, 1e-9) * 60:.1f} songs/min)")
    return {"latency_ms": rows, "jobs": counts, "load_s": load_s, "finish_s": finish_s}


class Cluster:
    """The distributed layout on loopback: a fresh PostgreSQL schema, a broker queue and Redis
    channel of its own, an S3 server (moto's) and the API and worker processes started in it."""

    def __init__(self, tmp: Path, *, preset: str) -> None:
        import uuid

        self.tmp, self.preset, self.procs = tmp, preset, []
        self.name = f"sf-bench-{uuid.uuid4().hex[:8]}"
        s3_port = _free_port()
        self.procs.append(subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           start_new_session=True))
        postgres = os.environ.get("SONGFORGE_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        self._schema(postgres, "CREATE")
        self.postgres = postgres
        self.env = {
            **os.environ, "SONGFORGE_DATABASE_URL": f"{postgres}?options=-csearch_path%3D{self.name.replace('-', '_')}",
            "SONGFORGE_BROKER_URL": os.environ.get("SONGFORGE_BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672/%2F"),
            "SONGFORGE_REDIS_URL": os.environ.get("SONGFORGE_BENCH_REDIS", "redis://127.0.0.1:6379/0"),
            "SONGFORGE_BROKER_QUEUE": self.name, "SONGFORGE_S3_ENDPOINT": f"http://127.0.0.1:{s3_port}",
            "SONGFORGE_S3_BUCKET": self.name, "SONGFORGE_S3_ACCESS_KEY": "bench", "SONGFORGE_S3_SECRET_KEY": "bench",
            "SONGFORGE_SIGNING_SECRET": "bench-secret", "SONGFORGE_WORKERS": "1", "SONGFORGE_PRESET": preset,
            "PYTHONPATH": str(REPO),
        }

    def _schema(self, url: str, verb: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f'{verb} SCHEMA "{self.name.replace("-", "_")}"' + (" CASCADE" if verb == "DROP" else "")))
        engine.dispose()

    def start_api(self, name: str) -> str:
        proc, url = start_server(self.tmp / name, workers=1, preset=self.preset, env=self.env)
        self.procs.append(proc)
        return url

    def start_worker(self, name: str) -> None:
        cmd = [sys.executable, "-m", "songforge", "worker", "--data-dir", str(self.tmp / name), "--log-level", "warning"]
        self.procs.append(subprocess.Popen(cmd, cwd=REPO, env=self.env, start_new_session=True))

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        import pika

        for proc in reversed(self.procs):
            stop_server(proc)
        self._schema(self.postgres, "DROP")
        connection = pika.BlockingConnection(pika.URLParameters(self.env["SONGFORGE_BROKER_URL"]))
        for queue in (self.name, f"{self.name}.DQ", f"{self.name}.XQ"):  # Dramatiq's queues of this run
            connection.channel().queue_delete(queue=queue)
        connection.close()


def measure(urls: list[str], args: argparse.Namespace, *, workers: int) -> dict:
    """Warm up, run the load phase against ``urls`` and wait for the jobs; returns the numbers."""
    warm_up(urls[0], workers=workers, duration_s=args.duration_s)
    load = Load(urls, submits=args.submits, polls=args.polls, clients=args.clients, rate=args.rate,
                duration_s=args.duration_s)
    befores = [httpx.get(f"{url}/metrics").text for url in urls]
    load_s = asyncio.run(load.run())
    server_side = [server_quantiles(b, httpx.get(f"{url}/metrics").text) for b, url in zip(befores, urls, strict=True)]
    counts, finish_s = wait_all(urls[0], load.job_ids, timeout_s=args.timeout_s)
    numbers = report(load, load_s=load_s, counts=counts, finish_s=finish_s, args=args)
    numbers["server_ms"] = server_side
    numbers["songs_per_min"] = counts.get("succeeded", 0) / max(load_s + finish_s, 1e-9) * 60
    Console().print("server-side (histogram bucket bounds, ms): " + "; ".join(
        ", ".join(f"{op} p50 <= {q['p50']:g}, p99 <= {q['p99']:g}" for op, q in side.items()) for side in server_side))
    return numbers


def run_distributed(args: argparse.Namespace, worker_counts: list[int]) -> list[dict]:
    """The load phase on 2 API processes and each count of worker processes (see the module notes)."""
    results = []
    for count in worker_counts:
        args.workers = count
        with tempfile.TemporaryDirectory(prefix="songforge-load-") as tmp, Cluster(Path(tmp), preset=args.preset) as cluster:
            urls = [cluster.start_api(f"api-{i}") for i in range(2)]
            for i in range(count):
                cluster.start_worker(f"worker-{i}")
            results.append({"workers": count, **measure(urls, args, workers=count)})
    table = Table(title="throughput by worker processes (2 API processes, PostgreSQL, RabbitMQ, Redis, S3)")
    for column in ("workers", "songs", "songs/min", "speed-up", "submit p99 ms", "poll p99 ms"):
        table.add_column(column, justify="right")
    base = results[0]["songs_per_min"] or 1e-9
    for r in results:
        lat = r["latency_ms"]
        table.add_row(str(r["workers"]), str(r["jobs"].get("succeeded", 0)), f"{r['songs_per_min']:.1f}",
                      f"{r['songs_per_min'] / base:.2f}x", f"{lat['submit'].get('p99', float('nan')):.1f}",
                      f"{lat['poll'].get('p99', float('nan')):.1f}")
    Console().print(table)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submits", type=int, default=200)
    parser.add_argument("--polls", type=int, default=500)
    parser.add_argument("--clients", type=int, default=16, help="concurrent connections")
    parser.add_argument("--rate", type=float, default=25.0, help="requests per second, all clients together")
    parser.add_argument("--duration-s", type=float, default=10.0, help="song length")
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout-s", type=float, default=900.0, help="most to wait for the jobs to end")
    parser.add_argument("--target-p99-ms", type=float, default=50.0)
    parser.add_argument("--distributed", default=None, metavar="N,M", help="worker process counts to compare")
    parser.add_argument("--json", action="store_true", help="also print the numbers as JSON")
    args = parser.parse_args()
    if args.distributed:
        results = run_distributed(args, [int(n) for n in args.distributed.split(",")])
        if args.json:
            print(json.dumps(results, indent=2))
        ok = all(r["jobs"].get("succeeded") == args.submits for r in results)
        return 0 if ok and all(v.get("p99", 0) < args.target_p99_ms for r in results
                               for v in r["latency_ms"].values()) else 1
    with tempfile.TemporaryDirectory(prefix="songforge-load-") as tmp:
        proc, url = start_server(Path(tmp) / "data", workers=args.workers, preset=args.preset)
        try:
            numbers = measure([url], args, workers=args.workers)
        finally:
            stop_server(proc)
    if args.json:
        print(json.dumps(numbers, indent=2))
    p99_ok = all(r.get("p99", 0) < args.target_p99_ms for r in numbers["latency_ms"].values())
    return 0 if p99_ok and numbers["jobs"].get("succeeded") == args.submits else 1


if __name__ == "__main__":
    sys.exit(main())
