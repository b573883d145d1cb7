"""`ledgerdesk serve`: a real uvicorn on loopback answers /health and /openapi.json."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ledgerdesk.api.cpus import cpu_quota
from ledgerdesk.tests.e2e.served import (
    STARTUP,
    free_port,
    get,
    get_json,
    post,
    wait_for_health,
)
from ledgerdesk.utils import stop_process


def test_serve_answers_health_and_openapi_on_loopback(ledgerdesk, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    server = ledgerdesk.popen("serve", "--port", str(port), log=log)
    try:
        wait_for_health(base, server, log)
        status, body = get(f"{base}/health")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, body = get(f"{base}/openapi.json")
        assert status == 200 and "/health" in json.loads(body)["paths"]
    finally:
        stop_process(server, 15)


def test_serve_with_several_api_processes_reads_its_writes(store, ledgerdesk, services, tmp_path):
    """`serve --workers 2` (PostgreSQL): two API processes save, the serve process projects,
    and each answer still comes after the ticket is searchable. SQLite refuses, saying why."""
    if store == "sqlite":
        result = ledgerdesk("serve", "--workers", "2", check=False)
        assert result.code == 78 and "--workers needs PostgreSQL" in result.stderr, result
        return
    for shared in (False, True):  # a port someone else listens on: a clear refusal, even
        with socket.socket() as taken:  # when they would share it (SO_REUSEPORT, same user)
            if shared and hasattr(socket, "SO_REUSEPORT"):
                taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            busy = str(taken.getsockname()[1])
            result = ledgerdesk("serve", "--port", busy, "--workers", "2", check=False)
        assert result.code == 1, result
        assert f"cannot listen on 127.0.0.1:{busy}" in result.stderr, result
    services.app.create_user(
        actor="system:test",
        email="admin@serve.test",
        role="admin",
        password_hash=services.passwords.hash("serve-password-1"),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    server = ledgerdesk.popen("serve", "--port", str(port), "--workers", "2", log=log)
    try:
        wait_for_health(base, server, log)
        token = post(
            f"{base}/auth/login", {"email": "admin@serve.test", "password": "serve-password-1"}
        )["access_token"]

        def create_and_find(i: int) -> tuple[str, list[str]]:
            ticket = post(
                f"{base}/tickets",
                {"subject": f"Worker {i}", "text": f"findme{i}", "requester_email": "c@serve.test"},
                token,
            )
            found = get_json(f"{base}/tickets?q=findme{i}", token)
            return ticket["number"], [t["number"] for t in found["items"]]

        with ThreadPoolExecutor(8) as pool:  # new connections: both processes answer
            results = list(pool.map(create_and_find, range(40)))
        assert all(found == [number] for number, found in results), results
        numbers = sorted(int(number[2:]) for number, _ in results)
        assert numbers == list(range(1, 41))  # one sequence for both processes: no collisions
        assert log.read_text().count("Started server process") == 2
        if sys.platform.startswith("linux"):
            # Each API process listens on a socket of its own (SO_REUSEPORT), so the kernel
            # spreads connections over them; one shared socket went mostly to one of them.
            listeners = _listening_sockets(port)
            owners = [pid for pid in _children(server.pid) if _socket_inodes(pid) & listeners]
            assert len(listeners) == 2 and len(owners) == 2, (listeners, owners)
            # Kept-alive connections end up even between them, however the kernel placed
            # them: the busier one closes its excess, and clients connect again.
            _assert_connections_even(base, port, owners)
            # With as many processes as CPUs (two here) and no quota below them, each runs,
            # all its threads, on a CPU of its own; otherwise on any of them.
            allowed = os.sched_getaffinity(0)
            quota = cpu_quota()
            if len(allowed) == 2 and (quota is None or quota >= 2):
                expected = [{cpu} for cpu in sorted(allowed)]
            else:
                expected = [allowed, allowed]
            assert sorted(map(_cpus_of, owners), key=min) == expected
            # One that dies is replaced, and the new one listens and answers too.
            os.kill(owners[0], signal.SIGKILL)
            now = _listeners_replacing(server.pid, port, owners[:1], log)
            assert "starting another" in log.read_text()
            assert sorted(map(_cpus_of, now), key=min) == expected  # the slot's CPU again
            assert all(found == [n] for n, found in map(create_and_find, range(40, 48)))
            # SIGHUP replaces them all, one by one.
            os.kill(server.pid, signal.SIGHUP)
            now = _listeners_replacing(server.pid, port, now, log)
            assert all(found == [n] for n, found in map(create_and_find, range(48, 52)))
            # If the serve process itself is killed, its API processes stop too.
            os.kill(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
            deadline = time.monotonic() + STARTUP
            while any(_running(pid) for pid in now):
                assert time.monotonic() < deadline, "API processes outlived the serve process"
                time.sleep(0.1)
    finally:
        stop_process(server, 15)


def _cpus_of(pid: int) -> set[int]:
    """The CPUs a process's threads may run on (all of them the same, or this fails)."""
    found = set()
    for thread in os.listdir(f"/proc/{pid}/task"):
        try:
            found.add(frozenset(os.sched_getaffinity(int(thread))))
        except ProcessLookupError:  # the thread ended since it was listed
            continue
    assert len(found) == 1, found
    return set(next(iter(found)))


def _assert_connections_even(base: str, port: int, owners: list[int]) -> None:
    """16 keep-alive clients (http.client connects again after `Connection: close`) send
    requests in rounds until the API processes hold 8 each; then nothing more is closed."""
    clients: list[http.client.HTTPConnection] = []

    def round_of_requests() -> None:
        for client in clients:
            client.request("GET", "/health")
            response = client.getresponse()
            assert response.status == 200
            response.read()

    try:
        for _ in range(20):  # start uneven (the kernel places 16 connections 8/8 one time in 5)
            for client in clients:
                client.close()
            clients[:] = [http.client.HTTPConnection("127.0.0.1", port) for _ in range(16)]
            round_of_requests()
            if sorted(len(inodes) for inodes in _established(port, owners).values()) != [8, 8]:
                break
        held: dict[int, set[str]] = {}
        deadline = time.monotonic() + STARTUP
        while True:
            round_of_requests()
            held = _established(port, owners)
            if sorted(len(inodes) for inodes in held.values()) == [8, 8]:
                break
            assert time.monotonic() < deadline, {pid: len(i) for pid, i in held.items()}
            time.sleep(0.15)  # each process publishes its count every 0.1 s
        for _ in range(5):
            time.sleep(0.15)
            round_of_requests()
        assert _established(port, owners) == held  # even: the same connections stay open
    finally:
        for client in clients:
            client.close()


def _established(port: int, owners: list[int]) -> dict[int, set[str]]:
    """The connections to `port` each process holds (inodes of its ESTABLISHED sockets)."""
    sockets: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                sockets.add(fields[9])
    return {pid: _socket_inodes(pid) & sockets for pid in owners}


def _listeners_replacing(parent: int, port: int, old: list[int], log: Path) -> list[int]:
    """Wait until two children of `parent`, none of them in `old`, listen on `port`."""
    deadline = time.monotonic() + STARTUP
    while True:
        listeners = _listening_sockets(port)
        now = [pid for pid in _children(parent) if _socket_inodes(pid) & listeners]
        if len(now) == 2 and not set(old) & set(now):
            return now
        assert time.monotonic() < deadline, f"not replaced:\n{log.read_text()}"
        time.sleep(0.1)


def _listening_sockets(port: int) -> set[str]:
    """Inodes of the sockets listening on a TCP port (Linux /proc)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                found.add(fields[9])
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid`."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for whoever adopted it to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
