"""`serve --workers N`: N API processes, each listening on its own socket (Linux).

uvicorn's own `--workers` binds one socket and hands it to every process. Clients that keep
their connections open (a reverse proxy's keep-alive pool, the load generator of `make
bench`) connect at once, and whichever process wakes first accepts nearly all of them (asyncio
accepts up to a backlog's worth per wake-up): under `make bench`, 14 of 16 connections landed
in one process, whose event loop and committer then shared one interpreter lock while the other
idled. Here each process binds the port itself with SO_REUSEPORT, and the kernel spreads new
connections over them by a hash of their addresses. Where SO_REUSEPORT does not balance
(not Linux), uvicorn's shared socket is used as before.

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
from typing import Any

log = logging.getLogger("ledgerdesk.serve")
STARTUP_FAILURE = 3  # uvicorn's exit status when it cannot start (the port is taken, ...)
APP = "ledgerdesk.api.app:worker_app"


def balanced_by_kernel() -> bool:
    """Whether SO_REUSEPORT spreads connections over the sockets that share a port."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port that others with the same options may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def api_process(host: str, port: int, access_log: bool) -> None:
    """One API process (the target of a spawned process): its own socket, one uvicorn."""
    import uvicorn

    config = uvicorn.Config(
        APP, factory=True, host=host, port=port, log_level="info", access_log=access_log
    )
    config.configure_logging()
    try:
        sock = listening_socket(host, port)
    except OSError as error:
        logging.getLogger("uvicorn.error").error("cannot listen on %s:%s: %s", host, port, error)
        sys.exit(STARTUP_FAILURE)
    uvicorn.Server(config).run(sockets=[sock])


class ApiProcesses:
    """Runs `count` API processes until `stop()` (or SIGINT / SIGTERM to this process)."""

    def __init__(self, host: str, port: int, count: int, *, access_log: bool = True) -> None:
        self.host, self.port, self.count, self.access_log = host, port, count, access_log
        self._context = multiprocessing.get_context("spawn")
        self._processes: list[Any] = []
        self.stopping = threading.Event()
        self.restarts = 0

    def run(self) -> None:
        """Start them, keep them running, stop them; raises RuntimeError if one cannot start."""
        previous = {
            sig: signal.signal(sig, lambda *_: self.stopping.set())
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self._processes = [self._start() for _ in range(self.count)]
            while not self.stopping.wait(0.5):
                self._replace_dead()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self) -> None:
        self.stopping.set()

    def pids(self) -> list[int]:
        return [p.pid for p in self._processes if p.pid is not None]

    def _start(self) -> Any:
        process = self._context.Process(
            target=api_process,
            args=(self.host, self.port, self.access_log),
            name="ledgerdesk-api",
        )
        process.start()
        return process

    def _replace_dead(self) -> None:
        for i, process in enumerate(self._processes):
            if process.is_alive():
                continue
            if process.exitcode == STARTUP_FAILURE:
                raise RuntimeError(
                    f"an API process could not listen on {self.host}:{self.port} "
                    "(see its message above)"
                )
            log.warning(
                "API process %s ended (exit status %s); starting another",
                process.pid,
                process.exitcode,
            )
            self.restarts += 1
            self._processes[i] = self._start()

    def _stop_all(self, timeout: float = 15.0) -> None:
        for process in self._processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes its requests, then exits
        deadline = time.monotonic() + timeout
        for process in self._processes:
            process.join(max(deadline - time.monotonic(), 0))
            if process.is_alive():
                log.warning("API process %s did not stop in %s s; killing it", process.pid, timeout)
                process.kill()
                process.join()
