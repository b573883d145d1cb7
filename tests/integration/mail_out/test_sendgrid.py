"""The SendGrid transport against a local HTTP server that checks the v3 mail/send payload."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledgerdesk.adapters.mail_out.sendgrid_transport import SendGridTransport, parse_sendgrid_url
from ledgerdesk.policies.mail.identity import LOOP_HEADER
from ledgerdesk.tests.integration.mail_out.http_server import RecordingServer
from ledgerdesk.tests.integration.mail_out.samples import sample_mail
from ledgerdesk.tests.integration.mail_out.smtp_server import free_port

KEY = "SG.test-key.0123456789"


@pytest.fixture
def api() -> Iterator[RecordingServer]:
    with RecordingServer(202) as server:
        yield server


def transport(host: str, tmp_path: Path) -> SendGridTransport:
    key_file = tmp_path / "sendgrid.key"
    key_file.write_text(KEY + "\n")
    return SendGridTransport(parse_sendgrid_url(f"sendgrid:?key_file={key_file}&host={host}"))


def test_a_mail_becomes_one_v3_request_with_both_bodies_headers_and_attachments(
    api: RecordingServer, tmp_path: Path
) -> None:
    mail = sample_mail(7, attachments=(("report.pdf", "application/pdf", b"%PDF-1.7 \x00\xff"),))
    [result] = transport(api.url, tmp_path).send_many([mail])
    assert result.ok, result.error
    [request] = api.requests
    assert request.path == "/v3/mail/send"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = request.json()
    assert body["personalizations"] == [
        {"to": [{"email": "customer7@example.org", "name": "Zoë Müller"}]}
    ]
    assert body["from"] == {"email": "support@example.com", "name": "Example Support"}
    assert body["reply_to"] == {"email": mail.reply_to}
    assert body["subject"] == mail.subject
    assert body["content"] == [
        {"type": "text/plain", "value": mail.text},
        {"type": "text/html", "value": mail.html},
    ]
    assert body["headers"] == {
        "Message-ID": mail.message_id,
        "In-Reply-To": mail.in_reply_to,
        "References": " ".join(mail.references),
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
        LOOP_HEADER: "ledgerdesk",
    }
    [attachment] = body["attachments"]
    assert attachment["filename"] == "report.pdf" and attachment["type"] == "application/pdf"
    assert base64.b64decode(attachment["content"]) == b"%PDF-1.7 \x00\xff"


def test_a_subject_with_a_newline_stays_one_line_in_the_payload(
    api: RecordingServer, tmp_path: Path
) -> None:
    mail = sample_mail(1, subject="hi\r\nBcc: x@evil.example", automatic=False)
    assert transport(api.url, tmp_path).send_many([mail])[0].ok
    body = api.requests[0].json()
    assert body["subject"] == "hi Bcc: x@evil.example"
    assert "Auto-Submitted" not in body["headers"]


def test_answers_map_to_ok_temporary_and_permanent(api: RecordingServer, tmp_path: Path) -> None:
    api.answer(202)
    api.answer(429, {"errors": [{"message": "too many requests"}]})
    api.answer(400, {"errors": [{"message": "The to array is invalid", "field": "to"}]})
    api.answer(503, b"busy")
    ok, limited, invalid, busy = transport(api.url, tmp_path).send_many(
        [sample_mail(n) for n in range(4)]
    )
    assert ok.ok
    assert not limited.ok and not limited.permanent and "429" in limited.error
    assert not invalid.ok and invalid.permanent and "The to array is invalid" in invalid.error
    assert not busy.ok and not busy.permanent and "503" in busy.error


def test_a_rejected_key_stops_the_batch_as_temporary(api: RecordingServer, tmp_path: Path) -> None:
    api.answer(401, {"errors": [{"message": "The provided authorization grant is invalid"}]})
    results = transport(api.url, tmp_path).send_many([sample_mail(n) for n in range(3)])
    assert [r.ok or r.permanent for r in results] == [False] * 3
    assert len(api.requests) == 1
    assert KEY not in results[0].error


def test_an_unreachable_api_fails_the_batch_as_temporary(tmp_path: Path) -> None:
    sender = transport(f"http://127.0.0.1:{free_port()}", tmp_path)
    results = sender.send_many([sample_mail(n) for n in range(3)])
    assert [r.ok or r.permanent for r in results] == [False] * 3
    assert "cannot reach SendGrid" in results[0].error


def test_an_invalid_address_is_permanent_and_sends_nothing(
    api: RecordingServer, tmp_path: Path
) -> None:
    [result] = transport(api.url, tmp_path).send_many([sample_mail(1, to=("nobody",))])
    assert not result.ok and result.permanent
    assert api.requests == []
