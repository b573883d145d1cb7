"""A real `ledgerdesk serve` on loopback, seen from a plain HTTP client (the standard library)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

STARTUP = 30.0  # seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def wait_for_health(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP
    while True:
        assert server.poll() is None, f"serve exited early:\n{log.read_text()}"
        try:
            if get(f"{base}/health")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        assert time.monotonic() < deadline, f"no answer in {STARTUP} s:\n{log.read_text()}"
        time.sleep(0.1)


def post(url: str, body: dict[str, Any], token: str = "") -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **auth(token)},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def get_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers=auth(token))
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}
