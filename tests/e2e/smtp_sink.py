"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts, with its time."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    message_id: str
    to: list[str]
    subject: str
    at: float  # time.monotonic() when accepted
    raw: bytes


@dataclass
class SmtpSink:
    """`delay` slows each acceptance down, so a burst takes long enough to be interrupted."""

    delay: float = 0.0
    port: int = field(default_factory=free_port)
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            time.sleep(self.delay)
        raw = envelope.original_content or envelope.content
        parsed = message_from_bytes(raw, policy=default)
        with self.lock:
            self.messages.append(
                Received(
                    str(parsed["Message-ID"]),
                    list(envelope.rcpt_tos),
                    str(parsed["Subject"]),
                    time.monotonic(),
                    raw,
                )
            )
        return "250 OK"

    def __enter__(self) -> SmtpSink:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def ids(self) -> list[str]:
        with self.lock:
            return [m.message_id for m in self.messages]
