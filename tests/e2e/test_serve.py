"""`ledgerdesk serve`: a real uvicorn on loopback answers /health and /openapi.json."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

STARTUP = 30.0  # seconds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def test_serve_answers_health_and_openapi_on_loopback(ledgerdesk, tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    server = ledgerdesk.popen("serve", "--port", str(port), log=log)
    try:
        _wait_for_health(base, server, log)
        status, body = _get(f"{base}/health")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, body = _get(f"{base}/openapi.json")
        assert status == 200 and "/health" in json.loads(body)["paths"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_for_health(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP
    while True:
        assert server.poll() is None, f"serve exited early:\n{log.read_text()}"
        try:
            if _get(f"{base}/health")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        assert time.monotonic() < deadline, f"no answer in {STARTUP} s:\n{log.read_text()}"
        time.sleep(0.1)


def test_serve_with_several_api_processes_reads_its_writes(store, ledgerdesk, services, tmp_path):
    """`serve --workers 2` (PostgreSQL): two API processes save, the serve process projects,
    and each answer still comes after the ticket is searchable. SQLite refuses, saying why."""
    if store == "sqlite":
        result = ledgerdesk("serve", "--workers", "2", check=False)
        assert result.code == 78 and "--workers needs PostgreSQL" in result.stderr, result
        return
    services.app.create_user(
        actor="system:test",
        email="admin@serve.test",
        role="admin",
        password_hash=services.passwords.hash("serve-password-1"),
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    server = ledgerdesk.popen("serve", "--port", str(port), "--workers", "2", log=log)
    try:
        _wait_for_health(base, server, log)
        token = _post(
            f"{base}/auth/login", {"email": "admin@serve.test", "password": "serve-password-1"}
        )["access_token"]

        def create_and_find(i: int) -> tuple[str, list[str]]:
            ticket = _post(
                f"{base}/tickets",
                {"subject": f"Worker {i}", "text": f"findme{i}", "requester_email": "c@serve.test"},
                token,
            )
            found = _get_json(f"{base}/tickets?q=findme{i}", token)
            return ticket["number"], [t["number"] for t in found["items"]]

        with ThreadPoolExecutor(8) as pool:  # new connections: both processes answer
            results = list(pool.map(create_and_find, range(40)))
        assert all(found == [number] for number, found in results), results
        numbers = sorted(int(number[2:]) for number, _ in results)
        assert numbers == list(range(1, 41))  # one sequence for both processes: no collisions
        assert log.read_text().count("Started server process") == 2
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _post(url: str, body: dict[str, Any], token: str = "") -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **_auth(token)},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _get_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers=_auth(token))
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
