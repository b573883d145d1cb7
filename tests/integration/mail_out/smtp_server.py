"""A real SMTP server on loopback (aiosmtpd) that records what it accepts.

Recipients whose local part starts with "soft" get 451, "gone" get 550; a sender starting
with "blocked" gets 553. AUTH PLAIN / LOGIN accept USER / PASSWORD; XOAUTH2 accepts TOKEN.
"""

from __future__ import annotations

import base64
import datetime
import email
import ipaddress
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USER, PASSWORD, TOKEN = "agent@example.com", "pa:ss w@rd", "ya29.test-access-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost / 127.0.0.1 and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: Any = None

    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=default)  # type: ignore[return-value]


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address.lower().startswith("blocked"):
            return "553 5.7.1 Sender not allowed"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        local = address.partition("@")[0].lower()
        if local.startswith("soft"):
            return "451 4.2.1 Mailbox busy, try again later"
        if local.startswith("gone"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        with self.lock:
            self.received.append(
                Received(
                    str(envelope.mail_from),
                    list(envelope.rcpt_tos),
                    bytes(content),
                    session.auth_data,
                )
            )
        return "250 2.0.0 Accepted"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        if len(args) == 2:
            raw = base64.b64decode(args[1])
        else:
            answer = await server.challenge_auth("")
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=False)
            raw = answer
        fields = dict(part.split("=", 1) for part in raw.decode().split("\x01") if "=" in part)
        if fields.get("user") == USER and fields.get("auth") == f"Bearer {TOKEN}":
            return AuthResult(success=True, auth_data=fields["user"])
        # As Gmail does: a JSON error as a 334 challenge, then 535 after the client's answer.
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"}))
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
        )


def authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False, auth_data=data.login.decode() if ok else None)


class SmtpServer(Controller):
    """aiosmtpd in a thread, counting the connections it is asked for."""

    def __init__(self, handler: Handler, **kwargs: Any) -> None:
        self.connections = 0
        super().__init__(handler, hostname="127.0.0.1", port=free_port(), **kwargs)

    @property
    def handler_(self) -> Handler:
        return self.handler  # type: ignore[no-any-return]

    @property
    def received(self) -> list[Received]:
        return self.handler_.received

    def factory(self) -> SMTP:
        self.connections += 1
        return super().factory()

    def start(self) -> None:
        super().start()
        self.connections = 0  # the controller's own start-up probe is not a client
