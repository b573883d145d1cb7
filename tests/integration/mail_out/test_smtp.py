"""The SMTP transport against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

import pytest

from ledgerdesk.adapters.mail_out.smtp import SmtpTransport
from ledgerdesk.adapters.mail_out.smtp_config import parse_smtp_url
from ledgerdesk.policies.mail.identity import LOOP_HEADER
from ledgerdesk.tests.integration.mail_out.conftest import ServerFactory
from ledgerdesk.tests.integration.mail_out.samples import sample_mail
from ledgerdesk.tests.integration.mail_out.smtp_server import (
    PASSWORD,
    TOKEN,
    USER,
    SmtpServer,
    free_port,
)

# aiosmtpd counts only STARTTLS as TLS; its smtps servers here allow AUTH "without" TLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

CREDENTIALS = f"{quote(USER, safe='')}:{quote(PASSWORD, safe='')}"


def transport(url: str) -> SmtpTransport:
    return SmtpTransport(parse_smtp_url(url))


def at(server: SmtpServer, scheme: str = "smtp", userinfo: str = "", query: str = "") -> str:
    login = f"{userinfo}@" if userinfo else ""
    return f"{scheme}://{login}127.0.0.1:{server.port}{'?' + query if query else ''}"


def test_a_mail_reaches_a_plain_server_with_its_envelope_and_headers(
    smtp_server: ServerFactory,
) -> None:
    server = smtp_server()
    mail = sample_mail(3)
    sender = transport(at(server))
    try:
        [result] = sender.send_many([mail])
    finally:
        sender.close()
    assert result.ok and result.key == mail.key and not result.error
    [received] = server.received
    assert received.mail_from == "support@example.com"
    assert received.rcpt_tos == ["customer3@example.org"]
    message = received.message()
    assert message["Message-ID"] == mail.message_id
    assert message["In-Reply-To"] == mail.in_reply_to
    assert message["References"].split() == list(mail.references)
    assert message["Reply-To"] == mail.reply_to
    assert message["Auto-Submitted"] == "auto-generated"
    assert message[LOOP_HEADER] == "ledgerdesk"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n") == mail.text
    assert "<b>T-1003</b>" in message.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_a_subject_with_a_newline_stays_one_header_on_the_server(
    smtp_server: ServerFactory,
) -> None:
    server = smtp_server()
    sender = transport(at(server))
    mail = sample_mail(1, subject="hi\r\nBcc: x@evil.example\r\n\r\nbody?")
    [result] = sender.send_many([mail])
    sender.close()
    assert result.ok
    [received] = server.received
    assert received.rcpt_tos == ["customer1@example.org"]
    message = received.message()
    assert message["Bcc"] is None
    assert message.get_all("Subject") == ["hi Bcc: x@evil.example body?"]
    head = received.data.split(b"\r\n\r\n", 1)[0]
    assert not any(line.startswith(b"Bcc:") for line in head.split(b"\r\n"))


def test_non_ascii_names_and_subjects_arrive_rfc2047_encoded(smtp_server: ServerFactory) -> None:
    server = smtp_server()
    sender = transport(at(server))
    mail = sample_mail(0, subject="[T-1000] Ärger mit dem Drucker — 打印机")
    assert sender.send_many([mail])[0].ok
    sender.close()
    [received] = server.received
    assert received.data.isascii()
    head = received.data.split(b"\r\n\r\n", 1)[0].decode()
    assert "=?utf-8?" in head and "Zoë" not in head
    message = received.message()
    assert message["Subject"] == "[T-1000] Ärger mit dem Drucker — 打印机"
    assert message["To"].addresses[0].display_name == "Zoë Müller"


def test_one_connection_carries_a_batch_and_the_next_call(smtp_server: ServerFactory) -> None:
    server = smtp_server()
    sender = transport(at(server))
    first = sender.send_many([sample_mail(n) for n in range(20)])
    second = sender.send_many([sample_mail(n) for n in range(20, 30)])
    sender.close()
    assert all(result.ok for result in first + second)
    assert len(server.received) == 30
    assert server.connections == 1


def test_a_connection_the_server_closed_while_idle_is_opened_again(
    smtp_server: ServerFactory,
) -> None:
    server = smtp_server(timeout=0.3)  # the server drops idle clients after 0.3 s
    sender = transport(at(server))
    assert sender.send_many([sample_mail(1)])[0].ok
    time.sleep(0.8)
    [result] = sender.send_many([sample_mail(2)])
    sender.close()
    assert result.ok, result.error
    assert [r.rcpt_tos for r in server.received] == [
        ["customer1@example.org"],
        ["customer2@example.org"],
    ]
    assert server.connections == 2


def test_refused_recipients_are_temporary_on_4xx_and_permanent_on_5xx(
    smtp_server: ServerFactory,
) -> None:
    server = smtp_server()
    sender = transport(at(server))
    results = sender.send_many(
        [
            sample_mail(1, to=("soft@example.org",)),
            sample_mail(2, to=("gone@example.org",)),
            sample_mail(3),
            sample_mail(4, sender="blocked@example.com"),
            sample_mail(5, to=("customer5@example.org", "gone5@example.org")),
        ]
    )
    sender.close()
    soft, gone, fine, blocked, partly = results
    assert not soft.ok and not soft.permanent and "451" in soft.error
    assert not gone.ok and gone.permanent and "550" in gone.error
    assert fine.ok
    assert not blocked.ok and blocked.permanent and "553" in blocked.error
    # One recipient took it: resending would repeat it to them, so it counts as sent.
    assert partly.ok and "gone5@example.org" in partly.error
    assert [r.rcpt_tos for r in server.received] == [
        ["customer3@example.org"],
        ["customer5@example.org"],
    ]
    assert server.connections == 1  # refusals do not cost the connection


def test_an_invalid_address_is_a_permanent_failure_without_a_connection(
    smtp_server: ServerFactory,
) -> None:
    server = smtp_server()
    sender = transport(at(server))
    [result] = sender.send_many([sample_mail(1, to=("not an address",))])
    sender.close()
    assert not result.ok and result.permanent and "not an address" in result.error
    assert server.connections == 0


def test_a_server_that_is_down_fails_the_batch_as_temporary() -> None:
    sender = transport(f"smtp://127.0.0.1:{free_port()}?timeout=2")
    started = time.monotonic()
    results = sender.send_many([sample_mail(n) for n in range(5)])
    sender.close()
    assert [r.ok or r.permanent for r in results] == [False] * 5
    assert all("cannot talk to 127.0.0.1" in r.error for r in results)
    assert time.monotonic() - started < 2  # one attempt for the batch, not one per mail


def test_starttls_with_a_password_login(
    smtp_server: ServerFactory, certificate: tuple[Path, Path]
) -> None:
    server = smtp_server(tls="starttls", auth=True)
    url = at(server, "smtp+starttls", CREDENTIALS, f"cafile={certificate[0]}")
    sender = transport(url)
    results = sender.send_many([sample_mail(1), sample_mail(2)])
    sender.close()
    assert all(r.ok for r in results), results
    assert [r.login for r in server.received] == [USER, USER]


def test_starttls_on_an_smtp_url_and_login_with_the_login_mechanism(
    smtp_server: ServerFactory, certificate: tuple[Path, Path]
) -> None:
    server = smtp_server(tls="starttls", auth=True, auth_exclude_mechanism=["PLAIN"])
    url = at(server, "smtp", CREDENTIALS, f"starttls=1&cafile={certificate[0]}")
    sender = transport(url)
    [result] = sender.send_many([sample_mail(1)])
    sender.close()
    assert result.ok, result.error
    assert server.received[0].login == USER


def test_a_wrong_password_is_a_temporary_failure_that_names_the_user_not_the_password(
    smtp_server: ServerFactory, certificate: tuple[Path, Path]
) -> None:
    server = smtp_server(tls="starttls", auth=True)
    url = at(server, "smtp+starttls", f"{quote(USER)}:wrong-secret", f"cafile={certificate[0]}")
    sender = transport(url)
    results = sender.send_many([sample_mail(1), sample_mail(2)])
    sender.close()
    assert [r.ok or r.permanent for r in results] == [False, False]
    assert "refused the login" in results[0].error and "535" in results[0].error
    assert "wrong-secret" not in results[0].error
    assert server.received == []


def test_xoauth2_over_smtps(
    smtp_server: ServerFactory, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    server = smtp_server(tls="ssl", auth=True)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    query = f"auth=xoauth2&token_file={token_file}&cafile={certificate[0]}"
    sender = transport(at(server, "smtps", quote(USER, safe=""), query))
    [result] = sender.send_many([sample_mail(1)])
    sender.close()
    assert result.ok, result.error
    assert server.received[0].login == USER


def test_an_expired_xoauth2_token_fails_cleanly(
    smtp_server: ServerFactory, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    server = smtp_server(tls="starttls", auth=True)
    token_file = tmp_path / "token"
    token_file.write_text("expired-token")
    query = f"auth=xoauth2&token_file={token_file}&cafile={certificate[0]}"
    sender = transport(at(server, "smtp+starttls", quote(USER, safe=""), query))
    [result] = sender.send_many([sample_mail(1)])
    assert not result.ok and not result.permanent and "535" in result.error
    token_file.write_text(TOKEN)  # refreshed: the next call logs in with the new token
    [again] = sender.send_many([sample_mail(2)])
    sender.close()
    assert again.ok, again.error


def test_smtps_with_a_password(smtp_server: ServerFactory, certificate: tuple[Path, Path]) -> None:
    server = smtp_server(tls="ssl", auth=True)
    sender = transport(at(server, "smtps", CREDENTIALS, f"cafile={certificate[0]}"))
    results = sender.send_many([sample_mail(n) for n in range(5)])
    sender.close()
    assert all(r.ok for r in results)
    assert server.connections == 1 and len(server.received) == 5


def test_an_untrusted_certificate_is_refused_unless_verification_is_off(
    smtp_server: ServerFactory,
) -> None:
    server = smtp_server(tls="ssl")
    strict = transport(at(server, "smtps"))
    [refused] = strict.send_many([sample_mail(1)])
    strict.close()
    assert not refused.ok and not refused.permanent and "TLS" in refused.error
    lenient = transport(at(server, "smtps", query="verify=0"))
    [accepted] = lenient.send_many([sample_mail(1)])
    lenient.close()
    assert accepted.ok, accepted.error


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtp"])
def test_a_server_without_starttls_is_refused_when_tls_is_required(
    smtp_server: ServerFactory, scheme: str
) -> None:
    server = smtp_server()
    sender = transport(at(server, scheme, query="starttls=1" if scheme == "smtp" else ""))
    [result] = sender.send_many([sample_mail(1)])
    sender.close()
    assert not result.ok and not result.permanent and "STARTTLS" in result.error
    assert server.received == []
