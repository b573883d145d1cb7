"""`python -m ledgerdesk.bench.api`: ticket creation through HTTP, uvicorn on loopback.

16 concurrent clients POST /tickets for a fixed time against a real `ledgerdesk serve`
process, each as soon as its last answer came (the server's most: a closed loop); prints
tickets/s, latency percentiles and the server's CPU time per ticket. Then, on PostgreSQL, the
same clients send at a fixed rate (`--rate`, default 400 tickets/s, the target): an open loop,
each request timed from when it was due, for the latency clients see at that load rather than
at the server's limit, where a closed loop's latency is its clients over its throughput.
`--store sqlite|postgres|both` (default: both, PostgreSQL only when
LEDGERDESK_BENCH_DATABASE_URL or LEDGERDESK_TEST_DATABASE_URL is set; a fresh schema, dropped
afterwards). PostgreSQL is served as docker-compose.yml serves it: `--workers 2`, and, when
LEDGERDESK_BENCH_REDIS_URL (or LEDGERDESK_TEST_REDIS_URL) is set, a Redis queue with
`ledgerdesk worker` beside the server keeping the outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from ledgerdesk.bench.run import emit
from ledgerdesk.bootstrap import bootstrap, migrate
from ledgerdesk.settings import Settings
from ledgerdesk.utils import stop_process

PASSWORD = "bench-password-1"
T = TypeVar("T")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; -1 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (`serve --workers N` runs N API processes)."""
    total = process_cpu_seconds(pid)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            total += tree_cpu_seconds(int(entry.name))
    return total


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (Linux /proc; -1 elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return -1.0


@dataclass(frozen=True)
class Server:
    base: str
    pid: int


@contextmanager
def _process(args: Sequence[str], env: dict[str, str], log: Path | None) -> Iterator[Any]:
    """`python -m ledgerdesk.cli <args>`, its output to `log`; stopped (killed if need be)."""
    with log.open("wb") if log else open(os.devnull, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ledgerdesk.cli", *args], env=env, stdout=out, stderr=out
        )
        try:
            yield process
        finally:
            stop_process(process, 30)


@contextmanager
def served(
    env: dict[str, str], log: Path | None = None, options: Sequence[str] = ()
) -> Iterator[Server]:
    """A `ledgerdesk serve [options]` process on a free loopback port, answering /health."""
    port = _free_port()
    with _process(["serve", "--port", str(port), *options], env, log) as server:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}")
            time.sleep(0.1)
        yield Server(base, server.pid)


@contextmanager
def working(env: dict[str, str], log: Path | None = None) -> Iterator[Any]:
    """A `ledgerdesk worker` process (the outbox, mail out and the scheduler, with a queue),
    its output beside the server's log."""
    worker_log = log.with_name(log.name + ".worker") if log else None
    with _process(["worker"], env, worker_log) as worker:
        yield worker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection that sends a request and waits for its whole answer.

    The load generator runs on the same cores as the server, so it has to be cheap: httpx
    spends 2-4 ms of CPU per request here (more than the server's work for a ticket), this
    about a tenth of a millisecond, as `wrk` and `hey` do in C."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.closing = False  # the server said `Connection: close` (or closed it)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end]).lower()
        start = head.find(b"content-length:")
        line_end = head.find(b"\r\n", start)  # -1: the head's last line
        length = int(head[start + 15 : line_end if line_end >= 0 else None]) if start >= 0 else 0
        if len(self.buffer) >= end + 4 + length:
            status = int(self.buffer[9:12])
            self.closing = b"\r\nconnection: close" in head
            del self.buffer[: end + 4 + length]
            waiter, self.waiter = self.waiter, None
            waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("the server closed the connection"))

    async def request(self, data: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


def _post(host: str, path: str, token: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@dataclass
class Pace:
    """An open loop: requests due at `rate` per second from `origin`, over all clients, and
    each client's share of them (client `index` of `clients` sends every clients-th one). A
    request is timed from when it was due, not from when it was sent, so a server that falls
    behind is charged for the wait it causes (no coordinated omission, as in wrk2): a client
    still has one request in flight, and the late ones wait their turn in it. The loop's
    timers wake within about a millisecond of the due time; the figures include that."""

    rate: float
    origin: float
    clients: int
    index: int

    def due(self, n: int) -> float:
        return self.origin + ((n - 1) * self.clients + self.index) / self.rate


async def _client(
    base: str,
    token: str,
    stop_at: float,
    latencies: list[float],
    errors: list[int],
    moments: list[float],
    pace: Pace | None = None,
) -> None:
    host, port = base.removeprefix("http://").split(":")
    loop = asyncio.get_running_loop()
    transport, connection = await loop.create_connection(_Connection, host, int(port))
    try:
        n = 0
        while True:
            n += 1
            due = None
            if pace is None:
                if time.perf_counter() >= stop_at:
                    break
            else:  # every request due before the end is sent, however late the client runs
                due = pace.due(n)
                if due >= stop_at:
                    break
                if due > time.perf_counter():
                    await asyncio.sleep(due - time.perf_counter())
            body = json.dumps(
                {
                    "subject": f"Bench ticket {n}",
                    "text": "The printer is on fire again.",
                    "requester_email": "customer@bench.test",
                    "priority": "normal",
                }
            ).encode()
            started = time.perf_counter()
            if connection.closing:  # as a browser or a proxy would: connect again (timed)
                transport.close()
                transport, connection = await loop.create_connection(_Connection, host, int(port))
            status = await connection.request(_post(f"{host}:{port}", "/tickets", token, body))
            if due is not None:
                started = due
            latencies.append(time.perf_counter() - started)
            moments.append(started)
            if status != 201:
                errors.append(status)
    finally:
        transport.close()


async def _load(
    base: str,
    token: str,
    clients: int,
    seconds: float,
    record: Path | None = None,
    rate: float | None = None,
) -> tuple[list[float], list[int], float]:
    """`clients` connections sending POST /tickets for `seconds`: each as soon as its last
    answer came (a closed loop: the server's most), or, with `rate`, at that many per second
    over all of them (an open loop: the latency a client sees at that load)."""
    latencies: list[float] = []
    errors: list[int] = []
    moments: list[float] = []  # when each request was sent, beside its latency
    started = time.perf_counter()
    stop_at = started + seconds
    paces = [Pace(rate, started, clients, i) if rate else None for i in range(clients)]
    await asyncio.gather(
        *(_client(base, token, stop_at, latencies, errors, moments, pace) for pace in paces)
    )
    if record is not None:
        record.write_text(
            "sent_s,latency_ms\n"
            + "".join(
                f"{at - started:.6f},{latency * 1000:.3f}\n"
                for at, latency in sorted(zip(moments, latencies, strict=True))
            )
        )
    return latencies, errors, time.perf_counter() - started


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is installed (it comes with uvicorn[standard]): less CPU taken
    from the server under test."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def _positive(text: str) -> float:
    rate = float(text)
    if not rate > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a rate above 0 (tickets/s)")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--server-log", type=Path, help="write the server's output here")
    parser.add_argument(
        "--latencies",
        type=Path,
        help="write each request's send time and latency (CSV, one file per store: "
        "PATH.sqlite.csv, PATH.postgres.csv, and per --rate: PATH.postgres.at_400.csv, whose "
        "times are when each was due), to see when the slow ones came",
    )
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--rate",
        type=_positive,
        nargs="*",
        default=[400.0],
        help="after the run at full speed, one run at each of these rates (tickets/s over all "
        "clients, timed from when each request was due) on PostgreSQL; default: 400, the "
        "target. --rate alone: none",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="API processes on PostgreSQL (serve --workers)"
    )
    args = parser.parse_args()
    extra = Settings.from_env().extra
    pg_url = extra.get("BENCH_DATABASE_URL") or extra.get("TEST_DATABASE_URL", "")
    # PostgreSQL runs with a Redis queue and a worker, as deployed, when Redis is given.
    args.queue_url = extra.get("BENCH_REDIS_URL") or extra.get("TEST_REDIS_URL", "")
    for store in ["sqlite", "postgres"] if args.store == "both" else [args.store]:
        if store == "postgres" and not pg_url:
            print("# postgres: skipped (set LEDGERDESK_BENCH_DATABASE_URL)", flush=True)
            continue
        run_store(store, pg_url if store == "postgres" else "", args)


def run_store(store: str, pg_url: str, args: argparse.Namespace) -> None:
    # SQLite as `make run` serves it; PostgreSQL as docker-compose.yml does: several API
    # processes (nginx in front logging the requests), a Redis queue, and `ledgerdesk worker`
    # keeping the outbox and sending mail (its CPU counts with the server's).
    options = ["--workers", str(args.workers), "--no-access-log"] if store == "postgres" else []
    queue_url = args.queue_url if store == "postgres" else ""
    beside = " + ledgerdesk worker (Redis queue)" if queue_url else ""
    print(f"# {store}: ledgerdesk serve {' '.join(options)}{beside}", flush=True)
    record = (
        args.latencies.with_name(f"{args.latencies.name}.{store}.csv") if args.latencies else None
    )
    with tempfile.TemporaryDirectory() as tmp:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        settings = Settings(data_dir=Path(tmp), secret_key="bench-secret")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERDESK_")}
        env.update(LEDGERDESK_DATA_DIR=tmp, LEDGERDESK_SECRET_KEY="bench-secret")
        if pg_url:
            url = f"{pg_url}{'&' if '?' in pg_url else '?'}schema={schema}"
            settings = settings.with_changes(database_url=url)
            env["LEDGERDESK_DATABASE_URL"] = url
        if queue_url:
            env["LEDGERDESK_QUEUE_URL"] = queue_url
            settings = settings.with_changes(queue_url=queue_url)
        migrate(settings)
        svc = bootstrap(settings)
        agent = svc.app.create_user(
            actor="system:bench",
            email="agent@bench.test",
            role="admin",
            password_hash=svc.passwords.hash(PASSWORD),
        )
        svc.close()
        try:
            with (
                working(env, args.server_log) if queue_url else nullcontext() as worker,
                served(env, args.server_log, options) as server,
            ):
                token = httpx.post(
                    f"{server.base}/auth/login", json={"email": agent.email, "password": PASSWORD}
                ).json()["access_token"]
                _run(_load(server.base, token, args.clients, 2))  # warm up

                def cpu_now() -> float:
                    if worker is not None and worker.poll() is not None:
                        raise RuntimeError(f"ledgerdesk worker exited with {worker.returncode}")
                    worker_cpu = process_cpu_seconds(worker.pid) if worker is not None else 0.0
                    return tree_cpu_seconds(server.pid) + worker_cpu

                cpu_before = cpu_now()
                latencies, errors, elapsed = _run(
                    _load(server.base, token, args.clients, args.seconds, record)
                )
                cpu = cpu_now() - cpu_before
                paced = {}
                for rate in dict.fromkeys(args.rate) if store == "postgres" else []:
                    path = record and record.with_suffix(f".at_{rate:g}.csv")
                    paced[rate] = _run(
                        _load(server.base, token, args.clients, args.seconds, path, rate)
                    )
        finally:
            if pg_url:
                import psycopg

                with psycopg.connect(pg_url.split("?")[0], autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    _emit_run("http_create", store, latencies, errors, elapsed)
    if cpu >= 0:  # the server's own CPU time per ticket (the load generator runs beside it)
        emit(f"http_create_server_cpu_ms_per_ticket.{store}", cpu / len(latencies) * 1000)
    for rate, run in paced.items():
        _emit_run(f"http_create_at_{rate:g}_per_s", store, *run)


def _emit_run(
    name: str, store: str, latencies: list[float], errors: list[int], elapsed: float
) -> None:
    latencies.sort()
    emit(f"{name}_tickets_per_s.{store}", len(latencies) / elapsed)
    emit(f"{name}_p50_ms.{store}", latencies[len(latencies) // 2] * 1000)
    emit(f"{name}_p99_ms.{store}", latencies[int(len(latencies) * 0.99)] * 1000)
    emit(f"{name}_errors.{store}", len(errors))


if __name__ == "__main__":
    main()
