"""The SMTP transport (smtplib): SSL or STARTTLS, password or XOAUTH2, one connection reused.

The connection stays open across mails and across calls. When the server has dropped it
(SMTPServerDisconnected, or 421 "closing"), the mail is tried once more on a new connection;
a mail is sent twice only if the server dropped the connection after accepting it, and then
with the same Message-ID. Replies map to results: 2xx ok, 4xx temporary, 5xx permanent.
A server that cannot be reached, or refuses TLS or our login, fails the rest of the batch as
temporary (an operator fixes it; the mails wait), never with an exception.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
from collections.abc import Sequence

from ledgerdesk.adapters.mail_out.message import build_message, envelope, send_each
from ledgerdesk.adapters.mail_out.smtp_config import SmtpConfig
from ledgerdesk.domain.outgoing import OutgoingMail, SendResult
from ledgerdesk.settings import SettingsError


class ConnectionFailed(Exception):
    """Connecting, TLS or login failed: nothing can be sent until an operator or the server
    fixes it."""


def _prepared(mail: OutgoingMail) -> tuple[bytes, str, list[str]]:
    data = build_message(mail)
    sender, recipients = envelope(mail)
    return data, sender, recipients


def _text(response: bytes | str) -> str:
    text = response.decode("utf-8", "replace") if isinstance(response, bytes) else response
    return " ".join(text.split())[:300]


def _result(key: str, code: int, response: bytes | str, what: str) -> SendResult:
    permanent = 500 <= code < 600
    return SendResult(key, ok=False, permanent=permanent, error=f"{what}: {code} {_text(response)}")


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in refused.items())


def tls_context(config: SmtpConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(config.cafile) if config.cafile else None)
    if not config.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SmtpTransport:
    """Sends mail through one SMTP server, keeping the connection open between batches."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._connection: smtplib.SMTP | None = None
        self._lock = threading.Lock()
        self.connections_opened = 0  # for tests and benchmarks

    # Connection ------------------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        where = f"{config.host}:{config.port}"
        connection: smtplib.SMTP | None = None
        try:
            if config.security == "ssl":
                connection = smtplib.SMTP_SSL(
                    config.host,
                    config.port,
                    local_hostname=config.helo,
                    timeout=config.timeout,
                    context=tls_context(config),
                )
            else:
                connection = smtplib.SMTP(
                    config.host, config.port, local_hostname=config.helo, timeout=config.timeout
                )
            connection.ehlo()
            if config.security == "starttls":
                connection.starttls(context=tls_context(config))
                connection.ehlo()
            if config.auth == "password":
                connection.login(config.username, config.password)
            elif config.auth == "xoauth2":
                self._xoauth2(connection)
        except smtplib.SMTPAuthenticationError as error:
            self._drop(connection)
            raise ConnectionFailed(
                f"{where} refused the login of {config.username!r}: "
                f"{error.smtp_code} {_text(error.smtp_error)}"
            ) from None
        except smtplib.SMTPNotSupportedError as error:
            self._drop(connection)
            raise ConnectionFailed(f"{where}: {error} (see {config.shown})") from None
        except ssl.SSLError as error:
            self._drop(connection)
            raise ConnectionFailed(f"{where}: TLS failed: {error.reason or error}") from None
        except (OSError, smtplib.SMTPException, SettingsError) as error:
            self._drop(connection)
            raise ConnectionFailed(f"cannot talk to {where}: {error}") from None
        self.connections_opened += 1
        return connection

    def _xoauth2(self, connection: smtplib.SMTP) -> None:
        initial = f"user={self.config.username}\x01auth=Bearer {self.config.access_token()}\x01\x01"

        # On failure the server sends a 334 challenge (a JSON error); an empty answer ends it.
        def answer(challenge: bytes | None = None) -> str:
            return "" if challenge is not None else initial

        connection.auth("XOAUTH2", answer, initial_response_ok=True)

    @staticmethod
    def _drop(connection: smtplib.SMTP | None) -> None:
        if connection is None:
            return
        with contextlib.suppress(OSError):
            connection.close()

    def close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
            if connection is None:
                return
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                self._drop(connection)

    # Sending -------------------------------------------------------------------------------

    def send_many(self, mails: Sequence[OutgoingMail]) -> list[SendResult]:
        with self._lock:
            return send_each(mails, _prepared, self._send_or_down)

    def _send_or_down(
        self, key: str, prepared: tuple[bytes, str, list[str]]
    ) -> tuple[SendResult, str | None]:
        data, sender, recipients = prepared
        try:
            return self._send(key, sender, recipients, data), None
        except ConnectionFailed as error:
            return SendResult(key, ok=False, error=str(error)), str(error)

    def _send(self, key: str, sender: str, recipients: list[str], data: bytes) -> SendResult:
        reused = self._connection is not None
        if self._connection is None:
            self._connection = self._connect()
        try:
            refused = self._connection.sendmail(sender, recipients, data)
        except smtplib.SMTPServerDisconnected as error:
            self._drop(self._connection)
            self._connection = None
            if reused:  # an idle connection the server closed: once more on a new one
                return self._send(key, sender, recipients, data)
            return SendResult(key, ok=False, error=f"the server closed the connection: {error}")
        except smtplib.SMTPRecipientsRefused as error:
            permanent = all(500 <= code < 600 for code, _ in error.recipients.values())
            detail = _refusals(error.recipients)
            return SendResult(key, ok=False, permanent=permanent, error=f"refused {detail}")
        except smtplib.SMTPSenderRefused as error:
            if error.smtp_code == 421:  # the server is closing this connection
                self._drop(self._connection)
                self._connection = None
                if reused:
                    return self._send(key, sender, recipients, data)
            return _result(key, error.smtp_code, error.smtp_error, f"sender {sender} refused")
        except smtplib.SMTPDataError as error:
            if error.smtp_code == 421:
                self._drop(self._connection)
                self._connection = None
            return _result(key, error.smtp_code, error.smtp_error, "message refused")
        except smtplib.SMTPResponseException as error:
            return _result(key, error.smtp_code, error.smtp_error, "the server answered")
        except (OSError, smtplib.SMTPException) as error:
            self._drop(self._connection)
            self._connection = None
            return SendResult(key, ok=False, error=f"sending failed: {error}")
        if refused:
            # Some recipients took it: resending would repeat it to them, so it counts as sent.
            detail = _refusals(refused)
            return SendResult(key, ok=True, error=f"sent, but refused for {detail}")
        return SendResult(key, ok=True)
