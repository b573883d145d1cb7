"""Inbound mail webhook: SendGrid Inbound Parse in raw mode ("POST the raw, full MIME message").

Authenticated by HTTP Basic (any user name, the password is LEDGERDESK_INBOUND_SECRET; SendGrid
sends it from `https://user:secret@host/…`). Not a query parameter: access logs keep those.
It answers 2xx only
after the message is stored; any other answer makes SendGrid deliver it again later, and
deduplication makes that harmless.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import hmac
from email.message import Message
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool

from ledgerdesk.api.deps import ServicesDep
from ledgerdesk.api.errors import Problem

router = APIRouter(prefix="/inbound", tags=["inbound mail"])
MAX_MAIL = 40 * 1024 * 1024  # SendGrid's limit is 30 MB of message; form encoding adds some


@router.post("/sendgrid", status_code=200)
async def sendgrid_inbound(
    request: Request,
    services: ServicesDep,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Receive one message from SendGrid Inbound Parse (raw mode); 200 once it is stored."""
    _check_secret(services.settings.inbound_secret, authorization)
    body = await request.body()
    raw = _raw_message(request.headers.get("content-type", ""), body)
    receipt = await run_in_threadpool(services.intake.ingest, raw, "webhook", "sendgrid")
    return receipt.as_json()


def _check_secret(secret: str, authorization: str | None) -> None:
    if not secret:
        raise Problem(
            404, "the inbound webhook is off: set LEDGERDESK_INBOUND_SECRET to turn it on"
        )
    given = _basic_password(authorization)
    if given is None or not hmac.compare_digest(given.encode(), secret.encode()):
        raise Problem(
            401,
            "wrong or missing credentials for the inbound webhook",
            headers={"WWW-Authenticate": 'Basic realm="ledgerdesk inbound"'},
        )


def _basic_password(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2]


def _raw_message(content_type: str, body: bytes) -> bytes:
    """The `email` field of a multipart/form-data body; the whole body when there is none, so a
    misconfigured (non-raw) hook still loses nothing: it lands in quarantine, kept whole."""
    if not body:
        raise Problem(400, "the request has no body; SendGrid sends the message as form data")
    if not content_type.lower().startswith("multipart/form-data"):
        return body
    form = email.message_from_bytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body,
        policy=email.policy.compat32,
    )
    if form.is_multipart():
        for part in form.get_payload():
            if (
                isinstance(part, Message)
                and part.get_param("name", header="content-disposition") == "email"
            ):
                data = part.get_payload(decode=True)
                if isinstance(data, bytes) and data:
                    return data
    return body
