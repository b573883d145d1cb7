"""`serve --workers N`: N API processes, each listening on its own socket (Linux).

uvicorn's own `--workers` binds one socket and hands it to every process. Clients that keep
their connections open (a reverse proxy's keep-alive pool, the load generator of `make
bench`) connect at once, and whichever process wakes first accepts nearly all of them (asyncio
accepts up to a backlog's worth per wake-up): under `make bench`, 14 of 16 connections landed
in one process, whose event loop and committer then shared one interpreter lock while the other
idled. Here each process binds the port itself with SO_REUSEPORT, and the kernel spreads new
connections over them by a hash of their addresses. Where SO_REUSEPORT does not balance
(not Linux), uvicorn's shared socket is used as before.

The hash spreads connections evenly only on average: 16 keep-alive connections split 11/5 or
worse one time in five, and the busier process's clients then wait longer (p99 38 ms against
33 for an even split, measured). So the processes also balance what they hold: each publishes
how many connections it has, and one holding more than its share answers its next request
with `Connection: close`; the client reconnects, and the kernel places the new connection
again, until the counts are even (a balanced process closes nothing).

With as many processes as CPUs, each process is pinned to a CPU of its own (`--pin`, the
default; api/cpus.py says when not): its event loop and committer then keep that CPU's
caches, and the scheduler stops moving them between CPUs, which it did thousands of times a
second under load while the projector, the worker and PostgreSQL's backends took turns.
Measured under `make bench` with 2 processes on 2 CPUs, switching the pinning on and off every
3 s within one run: p99 46.2 -> 40.6 ms and 42.6 -> 35.7 ms (lower in 16 of 20 window pairs),
+8 % tickets/s. Everything else the machine runs still goes wherever the scheduler puts it.

The supervisor restarts a process that dies, stops them all (SIGTERM: each finishes its
requests) when it is asked to stop, and gives up if a process cannot start at all (the port
is taken).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import threading
import time
from multiprocessing.connection import wait
from typing import Any

from ledgerdesk.api.cpus import pin_to, pinned_cpus

log = logging.getLogger("ledgerdesk.serve")
STARTUP_FAILURE = 3  # uvicorn's exit status when the app cannot start (import, lifespan, ...)
CANNOT_LISTEN = 98  # ours: the port could not be bound (errno EADDRINUSE's number)
APP = "ledgerdesk.api.app:worker_app"
QUICK = 10.0  # seconds: a process that ends sooner failed to start, and is restarted later
MAX_DELAY = 30.0  # seconds between restarts of a process that keeps failing


def balanced_by_kernel() -> bool:
    """Whether SO_REUSEPORT spreads connections over the sockets that share a port."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int, *, shared: bool = True) -> socket.socket:
    """A socket bound to host:port; `shared`: others with the same options may bind it too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class ConnectionBalance:
    """How many connections this process should close to even out with its siblings.

    `counts` is shared by the processes (one slot each, -1 for a process not listening); a
    thread publishes this process's count every `every` seconds and works out the excess
    over the fair share, which `take()` hands out one connection at a time. A connection
    picked to close counts as gone from then on (`closed()` when its answer is sent)."""

    def __init__(self, counts: Any, slot: int, every: float = 0.1) -> None:
        self.counts, self.slot, self.every = counts, slot, every
        self._excess = 0
        self._closing = 0  # picked by take(), their answers not yet sent
        self._lock = threading.Lock()

    def publish(self, connections: int) -> None:
        with self._lock:
            mine = max(connections - self._closing, 0)
            self.counts[self.slot] = mine
            running = [c for c in self.counts if c >= 0]
            # The share: the total spread evenly, and never closer to the emptiest than one
            # (counts one apart are as even as they get).
            share = max(sum(running) // len(running), min(running) + 1)
            self._excess = max(mine - share, 0)

    def take(self) -> bool:
        """Whether the request now answered should close its connection."""
        if not self._excess:  # the common case, without the lock
            return False
        with self._lock:
            if self._excess <= 0:
                return False
            self._excess -= 1
            self._closing += 1
            return True

    def closed(self) -> None:
        with self._lock:
            self._closing -= 1

    def follow(self, server: Any, stopping: threading.Event) -> None:
        """Publish the count of a uvicorn server while it listens, until `stopping`."""
        try:
            while not stopping.wait(self.every) and not server.should_exit:
                if server.started:
                    self.publish(len(server.server_state.connections))
        finally:
            self.counts[self.slot] = -1  # stopping: its siblings share without it


class ClosingExcess:
    """ASGI middleware: `Connection: close` on the answers `balance` picks (never on a
    stream of events, which would end it; its clients reconnect on their own anyway)."""

    def __init__(self, app: Any, balance: ConnectionBalance) -> None:
        self.app, self.balance = app, balance

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or _streaming(scope) or not self.balance.take():
            await self.app(scope, receive, send)
            return

        async def closing(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, closing)
        finally:
            self.balance.closed()


def _streaming(scope: Any) -> bool:
    return any(
        name == b"accept" and b"text/event-stream" in value for name, value in scope["headers"]
    )


def api_process(
    host: str,
    port: int,
    access_log: bool,
    slot: int = 0,
    counts: Any = None,
    cpu: int | None = None,
) -> None:
    """One API process (the target of a spawned process): its own socket, one uvicorn, which
    stops (finishing its requests) when the `serve` process that started it is gone, and
    evens out its connections with its siblings' through `counts` (see ConnectionBalance).
    `cpu`: the one CPU it runs on (None: any)."""
    import uvicorn

    config = uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
        timeout_graceful_shutdown=5,  # open notification streams would hold it forever
    )
    config.configure_logging()
    if cpu is not None:
        pin_to(cpu)  # before any thread starts, so that all of them inherit it
    try:
        sock = listening_socket(host, port)
    except OSError as error:
        logging.getLogger("uvicorn.error").error("cannot listen on %s:%s: %s", host, port, error)
        sys.exit(CANNOT_LISTEN)
    server = uvicorn.Server(config)
    parent = multiprocessing.parent_process()
    if parent is not None:

        def orphaned() -> None:
            wait([parent.sentinel])  # readable once the parent has ended, however it ended
            server.should_exit = True

        threading.Thread(target=orphaned, name="parent-watch", daemon=True).start()
    stopping = threading.Event()
    if counts is not None and len(counts) > 1:
        balance = ConnectionBalance(counts, slot)
        config.load()  # the app, wrapped as uvicorn wraps it; `run` keeps what is loaded
        config.loaded_app = ClosingExcess(config.loaded_app, balance)
        threading.Thread(
            target=balance.follow, args=(server, stopping), name="balance", daemon=True
        ).start()
    try:
        server.run(sockets=[sock])
    finally:
        stopping.set()


class ApiProcesses:
    """Runs `count` API processes until `stop()` (or SIGINT / SIGTERM to this process; SIGHUP
    replaces them one by one, as after an upgrade)."""

    def __init__(
        self, host: str, port: int, count: int, *, access_log: bool = True, pin: bool = True
    ) -> None:
        self.host, self.port, self.count, self.access_log = host, port, count, access_log
        self.pin = pin
        self._context = multiprocessing.get_context("spawn")
        self._processes: list[Any] = []  # None: ended, to be started again
        # Each process's open connections (-1: not running), for them to even out.
        self._counts: Any = self._context.RawArray("i", [-1] * count)
        self._started: dict[int, float] = {}  # pid -> when it was started
        self._failures = 0  # quick failures in a row, for the delay before the next start
        self._not_before = 0.0
        self.stopping = threading.Event()
        self._replacing = threading.Event()
        self.restarts = 0

    def run(self) -> None:
        """Start them, keep them running, stop them; raises RuntimeError if they cannot
        listen, or if the first of them cannot start at all."""
        self._check_port()
        handlers = {
            signal.SIGINT: lambda *_: self.stopping.set(),
            signal.SIGTERM: lambda *_: self.stopping.set(),
            signal.SIGHUP: lambda *_: self._replacing.set(),
        }
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
        try:
            for slot in range(self.count):
                self._processes.append(self._start(slot))
            while not self.stopping.wait(0.5):
                if self._replacing.is_set():
                    self._replacing.clear()
                    self._replace_all()
                self._replace_dead()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self) -> None:
        self.stopping.set()

    def pids(self) -> list[int]:
        return [p.pid for p in self._processes if p is not None and p.pid is not None]

    def _check_port(self) -> None:
        """Refuse a port someone else holds: one bound with SO_REUSEPORT by the same user
        (another `serve`, or API processes left behind) would otherwise be shared silently."""
        try:
            listening_socket(self.host, self.port, shared=False).close()
        except OSError as error:
            raise RuntimeError(f"cannot listen on {self.host}:{self.port}: {error}") from None

    def cpu_for(self, slot: int) -> int | None:
        """The CPU the process in `slot` runs on (None: any), worked out at each start: the
        CPUs this process may use can change while it runs (`taskset`, a new cpuset)."""
        cpus = pinned_cpus(self.count) if self.pin else None
        return None if cpus is None else cpus[slot]

    def _start(self, slot: int) -> Any:
        self._counts[slot] = -1  # counted once it listens
        process = self._context.Process(
            target=api_process,
            args=(
                self.host,
                self.port,
                self.access_log,
                slot,
                self._counts,
                self.cpu_for(slot),
            ),
            name="ledgerdesk-api",
        )
        process.start()
        assert process.pid is not None
        self._started[process.pid] = time.monotonic()
        return process

    def _replace_dead(self) -> None:
        now = time.monotonic()
        for i, process in enumerate(self._processes):
            if process is not None:
                if process.is_alive():
                    continue
                self._counts[i] = -1  # its siblings no longer share with it
                self._ended(process, now)
                self._processes[i] = None  # to be started again, now or after the delay
            if now >= self._not_before:
                self.restarts += 1
                self._processes[i] = self._start(i)

    def _ended(self, process: Any, now: float) -> None:
        """Note a process that ended: give up if it could not listen, or if the first ones
        could not start; else delay the next start after quick failures."""
        if process.exitcode == CANNOT_LISTEN:
            raise RuntimeError(
                f"an API process could not listen on {self.host}:{self.port} "
                "(see its message above)"
            )
        if process.exitcode == STARTUP_FAILURE and not self.restarts:
            raise RuntimeError("an API process could not start (see its message above)")
        lived = now - self._started.pop(process.pid, now)
        delay = 0.0
        if lived < QUICK:
            self._failures += 1
            delay = min(MAX_DELAY, 0.5 * 2**self._failures)
            self._not_before = max(self._not_before, now + delay)
        else:
            self._failures = 0
        log.warning(
            "API process %s ended (exit status %s); starting another%s",
            process.pid,
            process.exitcode,
            f" in {delay:.0f} s" if delay >= 1 else "",
        )

    def _replace_all(self) -> None:
        for i, process in enumerate(self._processes):
            if process is not None:
                process.terminate()
                self._reap(process)
                self._started.pop(process.pid, None)
            self.restarts += 1
            self._processes[i] = self._start(i)

    def _stop_all(self, timeout: float = 15.0) -> None:
        running = [p for p in self._processes if p is not None]
        for process in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes its requests, then exits
        deadline = time.monotonic() + timeout
        for process in running:
            self._reap(process, max(deadline - time.monotonic(), 0.0))

    @staticmethod
    def _reap(process: Any, timeout: float = 15.0) -> None:
        """Wait for a process asked to stop, killing it if it will not (a second SIGTERM would
        make uvicorn drop the requests it is finishing)."""
        process.join(timeout)
        if process.is_alive():
            log.warning("API process %s did not stop in time; killing it", process.pid)
            process.kill()
            process.join()
