"""SMS transports (off unless LEDGERDESK_SMS_URL is set): a generic HTTP form POST, or Twilio.

    form+https://user:password@sms.example.com/send?from=ACME&to_field=msisdn&text_field=body
        POSTs application/x-www-form-urlencoded to https://sms.example.com/send with the
        number in `to` and the text in `text` (renamed by to_field / text_field); every other
        query parameter is sent as a fixed form field; user:password become Basic auth.
    twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15550100
        POSTs To, From, Body to /2010-04-01/Accounts/{sid}/Messages.json with Basic auth
        (`messaging_service_sid=MG…` instead of `from`; `base_url=http://127.0.0.1:PORT` in tests).

Numbers must be E.164: "+" and 7 to 15 digits (spaces, dots, dashes and brackets are dropped).
Answers: 2xx ok; 429 and 5xx temporary; 401/403 temporary for the whole batch (a wrong
credential); other 4xx permanent. A network error fails the rest of the batch as temporary.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.client import HTTPException
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit
from urllib.request import Request, urlopen

from ledgerdesk.adapters.mail_out.url import Query, masked, split_url
from ledgerdesk.domain.outgoing import SendResult, SmsTransport
from ledgerdesk.settings import Settings

SETTING = "LEDGERDESK_SMS_URL"
MAX_TEXT = 1600  # Twilio's limit for one message (it splits it into segments itself)
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_SEPARATORS = re.compile(r"[\s.\-()]")


class InvalidPhoneNumber(ValueError):
    pass


def e164(number: str) -> str:
    """The number in E.164 form (+ and 7 to 15 digits); InvalidPhoneNumber when it is not one."""
    compact = _SEPARATORS.sub("", number or "")
    if not _E164.fullmatch(compact):
        raise InvalidPhoneNumber(
            f"{number!r} is not a phone number in international form (+ and 7 to 15 digits, "
            "e.g. +4915123456789)"
        )
    return compact


@dataclass(frozen=True)
class HttpSmsConfig:
    url: str  # where to POST
    fields: tuple[tuple[str, str], ...]  # (form field, value) sent with every message
    to_field: str = "to"
    text_field: str = "text"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 15.0
    shown: str = ""


def parse_sms_url(url: str) -> HttpSmsConfig:
    """Either URL form as the request to make for each message."""
    parts, port, shown = split_url(url, SETTING)
    scheme = parts.scheme.lower()
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    own = {"to_field", "text_field", "timeout", "base_url", "from", "messaging_service_sid"}
    query = Query(urlencode([(k, v) for k, v in pairs if k in own]), frozenset(own), SETTING, shown)
    if not parts.hostname:
        query.fail("the URL names no server")
    host = f"{parts.hostname}:{port}" if port else parts.hostname
    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    timeout = query.number("timeout", 15.0, low=0.1, high=300)
    if scheme in ("form+https", "form+http"):
        if "base_url" in query or "messaging_service_sid" in query:
            query.fail("base_url and messaging_service_sid belong to twilio:// URLs")
        fixed = [(k, v) for k, v in pairs if k not in own]
        if "from" in query:
            fixed.append(("from", query.get("from")))
        target = urlunsplit((scheme.partition("+")[2], host, parts.path or "/", "", ""))
        return HttpSmsConfig(
            url=target,
            fields=tuple(fixed),
            to_field=query.get("to_field", "to") or "to",
            text_field=query.get("text_field", "text") or "text",
            username=username,
            password=password,
            timeout=timeout,
            shown=shown,
        )
    if scheme != "twilio":
        query.fail("an SMS URL starts with form+https://, form+http:// or twilio://")
    extra = [k for k, _ in pairs if k not in own]
    if extra or "to_field" in query or "text_field" in query:
        query.fail(
            f"unknown parameter for twilio:// (known: from, messaging_service_sid, "
            f"base_url, timeout): {', '.join(extra) or 'to_field/text_field'}"
        )
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", username) or not password:
        query.fail("twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com (the SID starts with AC)")
    sender, service = query.get("from"), query.get("messaging_service_sid")
    if bool(sender) == bool(service):
        query.fail("give exactly one of from=+1555… or messaging_service_sid=MG…")
    if sender:
        try:
            sender = e164(sender)
        except InvalidPhoneNumber as error:
            query.fail(f"from: {error}")
    base = query.get("base_url", f"https://{host}").rstrip("/")
    if urlsplit(base).scheme not in ("http", "https"):
        query.fail("base_url must be an http(s):// URL")
    return HttpSmsConfig(
        url=f"{base}/2010-04-01/Accounts/{quote(username)}/Messages.json",
        fields=(("From", sender),) if sender else (("MessagingServiceSid", service),),
        to_field="To",
        text_field="Body",
        username=username,
        password=password,
        timeout=timeout,
        shown=shown,
    )


def _error_text(error: HTTPError) -> str:
    try:
        body = error.read().decode("utf-8", "replace")
    except (OSError, HTTPException):
        body = ""
    try:
        data = json.loads(body)
        body = str(data.get("message") or data.get("error") or body)
    except (ValueError, AttributeError):
        pass
    return " ".join(body.split())[:300]


class HttpSmsTransport:
    """One form POST per message: a generic gateway or Twilio's Messages API."""

    def __init__(self, config: HttpSmsConfig) -> None:
        self.config = config

    def send_many(self, messages: Sequence[tuple[str, str, str]]) -> list[SendResult]:
        results: list[SendResult] = []
        down: str | None = None
        for key, number, text in messages:
            if down is not None:
                results.append(SendResult(key, ok=False, error=down))
                continue
            try:
                to = e164(number)
            except InvalidPhoneNumber as error:
                results.append(SendResult(key, ok=False, permanent=True, error=str(error)))
                continue
            result, down = self._post(key, to, text)
            results.append(result)
        return results

    def _post(self, key: str, to: str, text: str) -> tuple[SendResult, str | None]:
        config = self.config
        form = [*config.fields, (config.to_field, to), (config.text_field, text[:MAX_TEXT])]
        request = Request(config.url, data=urlencode(form).encode(), method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        request.add_header("Accept", "application/json")
        if config.username or config.password:
            token = base64.b64encode(f"{config.username}:{config.password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urlopen(request, timeout=config.timeout) as response:
                response.read()
        except HTTPError as error:
            text = f"the SMS gateway answered {error.code}: {_error_text(error)}"
            if error.code in (401, 403):
                return SendResult(key, ok=False, error=text), text
            temporary = error.code == 429 or error.code >= 500
            return SendResult(key, ok=False, permanent=not temporary, error=text), None
        except (URLError, OSError, HTTPException) as error:
            reason = getattr(error, "reason", error)
            text = f"cannot reach the SMS gateway {masked(config.url)}: {reason}"
            return SendResult(key, ok=False, error=text), text
        return SendResult(key, ok=True), None

    def close(self) -> None:
        pass


def sms_transport_for(settings: Settings) -> SmsTransport | None:
    """The SMS transport LEDGERDESK_SMS_URL names, or None when SMS is off (the default)."""
    url = settings.extra.get("SMS_URL", "").strip()
    return HttpSmsTransport(parse_sms_url(url)) if url else None
