"""The SendGrid transport: one v3 `mail/send` request per mail, through the sendgrid package.

    sendgrid:?key_file=/run/secrets/sendgrid_api_key
    sendgrid:?api_key=SG.xxxx                             (the key in the URL itself)
    sendgrid:?key_file=…&host=https://api.eu.sendgrid.com&timeout=20

Our threading headers (Message-ID, In-Reply-To, References), Auto-Submitted and the loop
header travel in the payload's `headers`. Answers: 2xx ok; 429 and 5xx temporary; 401/403
(a wrong key) temporary for the whole batch, as every mail would fail alike until an operator
fixes the key; other 4xx permanent. A network error fails the rest of the batch as temporary.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit

from python_http_client.exceptions import HTTPError as SendGridHTTPError
from sendgrid import SendGridAPIClient

from ledgerdesk.adapters.mail_out.message import (
    RESERVED,
    UnsendableMail,
    address,
    message_id,
    one_line,
    send_each,
)
from ledgerdesk.adapters.mail_out.url import Query, read_secret_file, split_url
from ledgerdesk.domain.outgoing import OutgoingMail, SendResult

SETTING = "LEDGERDESK_MAIL_OUT"
PARAMETERS = frozenset({"key_file", "api_key", "host", "timeout"})
DEFAULT_HOST = "https://api.sendgrid.com"


@dataclass(frozen=True)
class SendGridConfig:
    api_key: str = field(repr=False)
    host: str = DEFAULT_HOST
    timeout: float = 30.0


def parse_sendgrid_url(url: str) -> SendGridConfig:
    parts, _, shown = split_url(url, SETTING)
    query = Query(parts.query, PARAMETERS, SETTING, shown)
    if parts.scheme.lower() != "sendgrid" or parts.netloc or parts.path.strip("/"):
        query.fail("a SendGrid URL reads sendgrid:?key_file=PATH (or ?api_key=KEY)")
    key_file, api_key = query.path("key_file"), query.get("api_key")
    if (key_file is None) == (not api_key):
        query.fail("give exactly one of key_file or api_key")
    if key_file is not None:
        api_key = read_secret_file(key_file, "SendGrid API key", SETTING, shown)
    host = query.get("host", DEFAULT_HOST).rstrip("/")
    if urlsplit(host).scheme not in ("http", "https") or not urlsplit(host).hostname:
        query.fail(f"host must be an http(s):// URL, not {host!r}")
    return SendGridConfig(
        api_key=api_key, host=host, timeout=query.number("timeout", 30.0, low=0.1, high=600)
    )


def _person(value: str) -> dict[str, str]:
    parsed = address(value)
    person = {"email": parsed.addr_spec}
    if parsed.display_name:
        person["name"] = parsed.display_name
    return person


def payload(mail: OutgoingMail) -> dict[str, Any]:
    """The v3 mail/send request body; UnsendableMail when an address or header is invalid."""
    if not mail.to:
        raise UnsendableMail("the mail has no recipient")
    headers = {"Message-ID": message_id(mail.message_id)}
    if mail.in_reply_to:
        headers["In-Reply-To"] = message_id(mail.in_reply_to, "In-Reply-To")
    if mail.references:
        headers["References"] = " ".join(message_id(r, "References") for r in mail.references)
    if mail.automatic:
        headers["Auto-Submitted"] = "auto-generated"
        headers["X-Auto-Response-Suppress"] = "All"
    for name, value in mail.headers:
        if name.lower() in RESERVED or not name.isascii() or not name.isprintable():
            raise UnsendableMail(f"the header {name!r} cannot be set")
        headers[name] = one_line(value)
    body: dict[str, Any] = {
        "personalizations": [{"to": [_person(to) for to in mail.to]}],
        "from": _person(mail.sender),
        "subject": one_line(mail.subject) or "(no subject)",
        "content": [{"type": "text/plain", "value": mail.text or " "}],
        "headers": headers,
        "custom_args": {"ledgerdesk_key": mail.key[:200]},
    }
    if mail.html is not None:
        body["content"].append({"type": "text/html", "value": mail.html})
    if mail.reply_to:
        body["reply_to"] = _person(mail.reply_to)
    if mail.attachments:
        body["attachments"] = [
            {
                "content": base64.b64encode(data).decode("ascii"),
                "type": one_line(content_type) or "application/octet-stream",
                "filename": one_line(name) or "attachment",
                "disposition": "attachment",
            }
            for name, content_type, data in mail.attachments
        ]
    return body


def _answer(error: Any) -> str:
    body = getattr(error, "body", b"") or b""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        messages = [item.get("message", "") for item in json.loads(body).get("errors", [])]
        body = "; ".join(m for m in messages if m) or body
    except (ValueError, AttributeError):
        pass
    return " ".join(str(body).split())[:300]


class SendGridTransport:
    """Sends each mail as one SendGrid v3 API request."""

    def __init__(self, config: SendGridConfig) -> None:
        self.config = config
        self._client = SendGridAPIClient(api_key=config.api_key, host=config.host)

    def send_many(self, mails: Sequence[OutgoingMail]) -> list[SendResult]:
        return send_each(mails, payload, self._post)

    def _post(self, key: str, body: dict[str, Any]) -> tuple[SendResult, str | None]:
        try:
            response = self._client.client.mail.send.post(
                request_body=body, timeout=self.config.timeout
            )
        except (URLError, OSError, HTTPException) as error:
            text = f"cannot reach SendGrid at {self.config.host}: {error}"
            return SendResult(key, ok=False, error=text), text
        except SendGridHTTPError as error:
            status = int(getattr(error, "status_code", 0))
            text = f"SendGrid answered {status}: {_answer(error)}"
            if status in (401, 403):
                return SendResult(key, ok=False, error=text), text
            temporary = status == 429 or status >= 500
            return SendResult(key, ok=False, permanent=not temporary, error=text), None
        status = int(response.status_code)
        if 200 <= status < 300:
            return SendResult(key, ok=True), None
        return SendResult(key, ok=False, error=f"SendGrid answered {status}"), None

    def close(self) -> None:
        pass
