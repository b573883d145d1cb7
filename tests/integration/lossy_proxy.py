"""A TCP proxy on loopback that can lose one answer: the connection drops after the server
received a request and before the client hears back (the COMMIT done, its answer lost)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class LossyProxy:
    """Forwards 127.0.0.1:`port` to `target`. Once armed with markers, the first connection
    whose client sends the first marker's bytes is doomed: its server's next answer is
    swallowed and both sides are closed (`losses` counts them); then the next marker."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.losses = 0
        self._markers: list[bytes] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, *markers: bytes) -> None:
        with self._lock:
            self._markers, self.losses = list(markers), 0

    def close(self) -> None:
        self._listener.close()
        for sock in list(self._open):
            _close(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._open += [client, server]
            doomed = threading.Event()
            threading.Thread(target=self._up, args=(client, server, doomed), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, doomed), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, doomed: threading.Event) -> None:
        for chunk in _chunks(client):
            with self._lock:
                if self._markers and self._markers[0] in chunk:
                    self._markers.pop(0)
                    doomed.set()
            try:
                server.sendall(chunk)
            except OSError:
                break
        _close(server)

    def _down(self, server: socket.socket, client: socket.socket, doomed: threading.Event) -> None:
        for chunk in _chunks(server):
            if doomed.is_set():  # the request went through; its answer is lost
                _close(client)
                _close(server)
                with self._lock:
                    self.losses += 1
                return
            try:
                client.sendall(chunk)
            except OSError:
                break
        _close(client)


def _chunks(sock: socket.socket) -> Iterator[bytes]:
    while True:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return
        if not chunk:
            return
        yield chunk


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@contextmanager
def lossy_proxy(target: tuple[str, int]) -> Iterator[LossyProxy]:
    proxy = LossyProxy(target)
    try:
        yield proxy
    finally:
        proxy.close()
