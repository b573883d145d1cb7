"""The inbound mail webhook (SendGrid Inbound Parse, raw mode) through the real app."""

from __future__ import annotations

import pytest

from ledgerdesk.tests.integration.mail.mails import SUPPORT, mail

SECRET = "hook-secret"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.with_changes(inbound_secret=SECRET, support_address=SUPPORT)


def form(raw: bytes, boundary: str = "xYzZY") -> tuple[bytes, str]:
    """The body SendGrid posts in raw mode: multipart/form-data with the message in `email`."""
    parts = [
        ("to", b"support@example.com"),
        ("from", b"Carol <carol@customer.test>"),
        ("envelope", b'{"to":["support@example.com"],"from":"carol@customer.test"}'),
        ("email", raw),
    ]
    body = b""
    for name, value in parts:
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def post(api, raw: bytes, **kwargs):  # type: ignore[no-untyped-def]
    body, content_type = form(raw)
    headers = {"Content-Type": content_type, **kwargs.pop("headers", {})}
    return api.client.post("/inbound/sendgrid", content=body, headers=headers, **kwargs)


def test_a_posted_message_becomes_a_ticket_and_the_answer_comes_after_it_is_stored(api):
    raw = mail(message_id="<hook1@customer.test>")
    response = post(api, raw, auth=("sendgrid", SECRET))
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "opened"
    ticket = api.services.app.ticket(response.json()["ticket"])
    assert ticket.messages[0]["email_message_id"] == "<hook1@customer.test>"
    record = api.services.app.inbound_mail("mid:hook1@customer.test")
    assert api.services.blobs.get(record.raw_sha256) == raw  # the exact bytes, kept
    again = post(api, raw, auth=("sendgrid", SECRET))
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"


@pytest.mark.parametrize("auth", [None, ("sendgrid", "wrong"), ("", "")])
def test_wrong_or_missing_credentials_get_401_and_store_nothing(api, auth):
    response = post(api, mail(), auth=auth)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert api.services.app.ticket_ids() == []


def test_a_form_without_the_raw_message_is_kept_in_quarantine_not_dropped(api):
    body = b'--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nhello\r\n--b--\r\n'
    response = api.client.post(
        "/inbound/sendgrid",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
        auth=("x", SECRET),
    )
    assert response.status_code == 200
    assert response.json()["outcome"] == "quarantined"
    assert len(api.services.app.quarantined()) == 1


def test_mail_bigger_than_json_bodies_is_accepted_up_to_the_mail_limit(api):
    raw = mail(attachments=[("scan.pdf", "application/pdf", b"%PDF" + b"0" * 5_000_000)])
    response = post(api, raw, auth=("sendgrid", SECRET))
    assert response.status_code == 200, response.text
    [attachment] = api.services.app.ticket(response.json()["ticket"]).messages[0]["attachments"]
    assert attachment["size"] == 5_000_004


def test_the_store_being_down_answers_503_so_sendgrid_retries(api, monkeypatch):
    from ledgerdesk.domain.errors import StoreUnavailableError

    def down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise StoreUnavailableError("the database cannot be reached (test)")

    monkeypatch.setattr(api.services.app, "receive_mail", down)
    response = post(api, mail(), auth=("sendgrid", SECRET))
    assert response.status_code == 503
    assert response.headers.get("retry-after")


def test_the_secret_in_a_query_parameter_is_not_accepted(api):
    response = post(api, mail(), params={"key": SECRET})
    assert response.status_code == 401
