"""`ledgerdesk serve`: a real uvicorn on loopback answers /health and /openapi.json."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request

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
        deadline = time.monotonic() + STARTUP
        while True:
            assert server.poll() is None, f"serve exited early:\n{log.read_text()}"
            try:
                status, body = _get(f"{base}/health")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, f"no answer in {STARTUP} s:\n{log.read_text()}"
                time.sleep(0.1)
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
