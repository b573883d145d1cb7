"""SMTP URLs of LEDGERDESK_MAIL_OUT, parsed once into an SmtpConfig.

    smtp://mail.example.com:25                       clear text (a relay on a trusted network)
    smtp://mail.example.com:25?starttls=1            STARTTLS, required
    smtp+starttls://user:password@smtp.example.com   STARTTLS, required (port 587)
    smtps://user:password@smtp.example.com           TLS from the start (port 465)
    smtp+starttls://me%40gmail.com@smtp.gmail.com?auth=xoauth2&token_file=/run/secrets/gmail

Query parameters: starttls, auth (password | xoauth2), token_file, timeout, cafile, verify,
helo. docs/mail-out.md explains each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from ledgerdesk.adapters.mail_out.url import Query, read_secret_file, split_url

Security = Literal["ssl", "starttls", "none"]
SETTING = "LEDGERDESK_MAIL_OUT"
DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
PARAMETERS = frozenset({"starttls", "auth", "token_file", "timeout", "cafile", "verify", "helo"})


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Security = "none"
    username: str = ""
    password: str = field(default="", repr=False)
    auth: Literal["password", "xoauth2", "none"] = "none"
    token_file: Path | None = None
    timeout: float = 30.0
    cafile: Path | None = None
    verify_tls: bool = True
    helo: str | None = None
    shown: str = ""  # the URL with its password masked, for messages

    def access_token(self) -> str:
        """The current OAuth2 access token, read afresh for each connection (tokens expire)."""
        assert self.token_file is not None
        return read_secret_file(self.token_file, "access token", SETTING, self.shown)


def parse_smtp_url(url: str) -> SmtpConfig:
    parts, port, shown = split_url(url, SETTING)
    scheme = parts.scheme.lower()
    query = Query(parts.query, PARAMETERS, SETTING, shown)
    if scheme not in DEFAULT_PORTS:
        query.fail("an SMTP URL starts with smtp://, smtp+starttls:// or smtps://")
    if not parts.hostname:
        query.fail("the URL names no server (smtp://host:port)")
    if parts.path not in ("", "/") or parts.fragment:
        query.fail("an SMTP URL has no path or #fragment")

    security: Security = {"smtps": "ssl", "smtp+starttls": "starttls"}.get(scheme, "none")  # type: ignore[assignment]
    if scheme == "smtp":
        security = "starttls" if query.flag("starttls", False) else "none"
    elif "starttls" in query:
        query.fail(f"{scheme}:// already says how TLS starts; starttls is for smtp://")

    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    auth = query.get("auth", "password" if username else "none").lower()
    token_file = query.path("token_file")
    if auth == "xoauth2":
        if not username:
            query.fail("auth=xoauth2 needs the account as the user (smtps://me%40example.com@…)")
        if password:
            query.fail("with auth=xoauth2 the secret comes from token_file, not a password")
        if token_file is None:
            query.fail("auth=xoauth2 needs token_file (a file holding the current access token)")
    elif auth == "password":
        if not (username and password):
            query.fail("auth=password needs smtp://USER:PASSWORD@host")
    elif auth == "none":
        if username:
            query.fail("a user is given but auth=none")
    else:
        query.fail(f"auth must be password or xoauth2, not {auth!r}")
    if token_file is not None and auth != "xoauth2":
        query.fail("token_file needs auth=xoauth2")
    return SmtpConfig(
        host=parts.hostname or "",
        port=port or DEFAULT_PORTS[scheme],
        security=security,
        username=username,
        password=password,
        auth=auth,  # type: ignore[arg-type]
        token_file=token_file,
        timeout=query.number("timeout", 30.0, low=0.1, high=600),
        cafile=query.path("cafile"),
        verify_tls=query.flag("verify", True),
        helo=query.get("helo") or None,
        shown=shown,
    )
