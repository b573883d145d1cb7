"""Fixtures: real SMTP servers (aiosmtpd) on loopback, with a self-signed certificate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ledgerdesk.tests.integration.mail_out.smtp_server import (
    Handler,
    SmtpServer,
    authenticate,
    self_signed_certificate,
    server_tls,
)

ServerFactory = Callable[..., SmtpServer]


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server(certificate: tuple[Path, Path]) -> Iterator[ServerFactory]:
    """Starts servers: smtp_server() plain; tls="starttls" or "ssl"; auth=True to require it."""
    started: list[SmtpServer] = []

    def start(tls: str = "", auth: bool = False, **kwargs: Any) -> SmtpServer:
        context = server_tls(*certificate)
        if tls == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        elif tls == "ssl":
            # aiosmtpd counts only STARTTLS as TLS for AUTH; on smtps it is TLS all along.
            kwargs.update(ssl_context=context, auth_require_tls=False)
        if auth:
            kwargs.update(authenticator=authenticate, auth_required=True)
        server = SmtpServer(Handler(), **kwargs)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
