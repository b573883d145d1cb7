"""The SMS transports (generic HTTP form, Twilio-compatible) against a local HTTP server."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest

from ledgerdesk.adapters.sms import HttpSmsTransport, parse_sms_url, sms_transport_for
from ledgerdesk.settings import Settings
from ledgerdesk.tests.integration.mail_out.http_server import RecordingServer
from ledgerdesk.tests.integration.mail_out.smtp_server import free_port

SID, TOKEN = "AC" + "0123456789abcdef" * 2, "twilio-auth-token"


@pytest.fixture
def gateway() -> Iterator[RecordingServer]:
    with RecordingServer(201, b'{"sid": "SM123"}') as server:
        yield server


def form(body: bytes) -> dict[str, list[str]]:
    return parse_qs(body.decode())


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_twilio_mode_posts_to_from_and_body_with_basic_auth(gateway: RecordingServer) -> None:
    url = f"twilio://{SID}:{TOKEN}@api.twilio.com?from=%2B15550100&base_url={gateway.url}"
    sms = HttpSmsTransport(parse_sms_url(url))
    [result] = sms.send_many([("k1", "+49 151 2345-6789", "[T-12] SLA breached")])
    assert result.ok, result.error
    [request] = gateway.requests
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.headers["authorization"] == basic(SID, TOKEN)
    assert form(request.body) == {
        "From": ["+15550100"],
        "To": ["+4915123456789"],
        "Body": ["[T-12] SLA breached"],
    }


def test_generic_form_mode_renames_fields_and_sends_fixed_ones(gateway: RecordingServer) -> None:
    host = gateway.url.removeprefix("http://")
    url = f"form+http://gw:secret@{host}/api/send?to_field=msisdn&text_field=body&sender=ACME"
    settings = Settings(extra={"SMS_URL": url})
    sms = sms_transport_for(settings)
    assert sms is not None
    [result] = sms.send_many([("k1", "+15550123456", "Ticket T-9 escalated")])
    assert result.ok, result.error
    [request] = gateway.requests
    assert request.path == "/api/send"
    assert request.headers["authorization"] == basic("gw", "secret")
    assert form(request.body) == {
        "sender": ["ACME"],
        "msisdn": ["+15550123456"],
        "body": ["Ticket T-9 escalated"],
    }


def test_sms_is_off_without_a_url() -> None:
    assert sms_transport_for(Settings()) is None


def test_an_invalid_number_is_a_clear_permanent_failure_and_sends_nothing(
    gateway: RecordingServer,
) -> None:
    sms = HttpSmsTransport(parse_sms_url(f"form+{gateway.url}/send"))
    results = sms.send_many([("a", "015123456789", "x"), ("b", "+12", "x"), ("c", "+1abc", "x")])
    assert all(not r.ok and r.permanent for r in results)
    assert "international form" in results[0].error
    assert gateway.requests == []


def test_answers_map_to_ok_temporary_and_permanent(gateway: RecordingServer) -> None:
    gateway.answer(429, {"message": "Too Many Requests"})
    gateway.answer(400, {"code": 21211, "message": "The 'To' number is not a valid phone number"})
    gateway.answer(500)
    gateway.answer(200)
    sms = HttpSmsTransport(parse_sms_url(f"form+{gateway.url}/send"))
    limited, invalid, failing, fine = sms.send_many(
        [(str(n), "+15550123456", "hello") for n in range(4)]
    )
    assert not limited.ok and not limited.permanent
    assert not invalid.ok and invalid.permanent and "not a valid phone number" in invalid.error
    assert not failing.ok and not failing.permanent
    assert fine.ok


def test_wrong_credentials_stop_the_batch_without_showing_the_token(
    gateway: RecordingServer,
) -> None:
    gateway.answer(401, {"message": "Authenticate"})
    url = f"twilio://{SID}:{TOKEN}@api.twilio.com?from=%2B15550100&base_url={gateway.url}"
    results = HttpSmsTransport(parse_sms_url(url)).send_many(
        [(str(n), "+15550123456", "hi") for n in range(3)]
    )
    assert [r.ok or r.permanent for r in results] == [False] * 3
    assert len(gateway.requests) == 1
    assert TOKEN not in results[0].error


def test_an_unreachable_gateway_fails_the_batch_as_temporary() -> None:
    sms = HttpSmsTransport(parse_sms_url(f"form+http://127.0.0.1:{free_port()}/send?timeout=2"))
    results = sms.send_many([(str(n), "+15550123456", "hi") for n in range(3)])
    assert [r.ok or r.permanent for r in results] == [False] * 3
    assert "cannot reach the SMS gateway" in results[0].error
