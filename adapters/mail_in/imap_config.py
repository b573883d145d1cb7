"""Mailbox URLs for the IMAP channel, parsed once into MailboxConfig values.

`LEDGERDESK_MAIL_IN` holds one URL per mailbox, separated by commas or white space:

    imaps://user:password@imap.example.com/INBOX               SSL on connect (port 993)
    imap://user:password@imap.example.com/Support               STARTTLS, required (port 143)
    imap://user:password@127.0.0.1:1143/INBOX?starttls=0        clear text (loopback, tests)
    imaps://me%40gmail.com@imap.gmail.com/INBOX?auth=xoauth2&token_file=/run/secrets/gmail

Query parameters: starttls, auth (login | xoauth2), token_file, token_command, move_to,
keyword, batch, batch_bytes, cafile, verify, timeout. docs/mail-imap.md explains each.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

from ledgerdesk.adapters.mail_out.url import Query

Security = Literal["ssl", "starttls", "none"]
Auth = Literal["login", "xoauth2"]

DEFAULT_PORTS = {"imaps": 993, "imap": 143}
DEFAULT_KEYWORD = "$Ledgerdesk"
PARAMETERS = frozenset(
    {
        "starttls",
        "auth",
        "token_file",
        "token_command",
        "move_to",
        "keyword",
        "batch",
        "batch_bytes",
        "cafile",
        "verify",
        "timeout",
    }
)
# RFC 3501 atom characters for a flag keyword (no specials, no wildcards, no backslash).
KEYWORD_PATTERN = re.compile(r"[!#$&'+\-.0-9:;<=>?@A-Z^_`a-z|~]{1,64}")


class MailboxConfigError(ValueError):
    """A mailbox URL in LEDGERDESK_MAIL_IN is malformed; the message names the part."""


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    port: int
    security: Security
    username: str
    password: str = field(default="", repr=False)
    auth: Auth = "login"
    token_file: Path | None = None
    token_command: tuple[str, ...] = ()
    folder: str = "INBOX"
    move_to: str = ""  # empty: flag the messages in place
    keyword: str = DEFAULT_KEYWORD
    batch_size: int = 200
    batch_bytes: int = 20 * 1024 * 1024
    cafile: Path | None = None
    verify_tls: bool = True
    timeout: float = 60.0

    @property
    def url(self) -> str:
        """The mailbox without its credentials: its identity (the cursor id derives from it).

        The user name stays: two accounts on one server are two mailboxes.
        """
        scheme = "imaps" if self.security == "ssl" else "imap"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{quote(self.username, safe='')}@{host}:{self.port}/{quote(self.folder)}"

    def access_token(self) -> str:
        """The current OAuth2 access token, read afresh each poll (tokens expire hourly)."""
        if self.token_file is not None:
            try:
                token = self.token_file.read_text().strip()
            except OSError as error:
                raise MailboxConfigError(
                    f"{self.url}: cannot read the access token file {self.token_file}: "
                    f"{error.strerror or error}"
                ) from None
            source = f"the file {self.token_file}"
        else:
            try:
                done = subprocess.run(
                    self.token_command, capture_output=True, text=True, timeout=60, check=False
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                raise MailboxConfigError(
                    f"{self.url}: the access token command {self.token_command[0]!r} "
                    f"could not run: {error}"
                ) from None
            if done.returncode != 0:
                raise MailboxConfigError(
                    f"{self.url}: the access token command exited with {done.returncode}: "
                    f"{done.stderr.strip()[:300]}"
                )
            token = done.stdout.strip()
            source = "the access token command"
        if not token or any(c.isspace() or ord(c) < 32 for c in token):
            raise MailboxConfigError(f"{self.url}: {source} gave no usable access token")
        return token


def split_urls(value: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", value.strip()) if part]


def parse_mailboxes(value: str) -> list[MailboxConfig]:
    """Every mailbox of LEDGERDESK_MAIL_IN; the same mailbox twice is refused."""
    mailboxes = [parse_mailbox(url) for url in split_urls(value)]
    seen: set[str] = set()
    for mailbox in mailboxes:
        if mailbox.url in seen:
            raise MailboxConfigError(f"{mailbox.url} is listed twice in LEDGERDESK_MAIL_IN")
        seen.add(mailbox.url)
    return mailboxes


def parse_mailbox(url: str) -> MailboxConfig:
    parts = urlsplit(url)
    shown = _without_password(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise MailboxConfigError(f"{shown}: a mailbox URL starts with imaps:// or imap://")
    if not parts.hostname:
        raise MailboxConfigError(f"{shown}: the URL names no server")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise MailboxConfigError(f"{shown}: the port is not a number") from None
    if parts.fragment:
        raise MailboxConfigError(f"{shown}: a mailbox URL has no #fragment")
    query = Query(parts.query, PARAMETERS, "", shown, error=MailboxConfigError)
    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    if not username:
        raise MailboxConfigError(f"{shown}: the URL names no user (imaps://USER:PASSWORD@host/)")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"

    security: Security = "ssl"
    if scheme == "imap":
        security = "starttls" if query.flag("starttls", True) else "none"
    elif "starttls" in query:
        raise MailboxConfigError(
            f"{shown}: imaps:// is TLS from the start; starttls is for imap://"
        )

    auth = query.get("auth", "login").lower()
    if auth not in ("login", "xoauth2"):
        raise MailboxConfigError(f"{shown}: auth must be login or xoauth2, not {auth!r}")
    token_file = query.path("token_file")
    token_command = tuple(shlex.split(query.get("token_command", "")))
    if auth == "xoauth2":
        if password:
            raise MailboxConfigError(
                f"{shown}: with auth=xoauth2 the password comes from token_file or token_command"
            )
        if (token_file is None) == (not token_command):
            raise MailboxConfigError(
                f"{shown}: auth=xoauth2 needs exactly one of token_file or token_command"
            )
    elif token_file or token_command:
        raise MailboxConfigError(f"{shown}: token_file and token_command need auth=xoauth2")
    elif not password:
        raise MailboxConfigError(f"{shown}: the URL has no password (imaps://user:PASSWORD@…)")

    keyword = query.get("keyword", DEFAULT_KEYWORD)
    if not KEYWORD_PATTERN.fullmatch(keyword):
        raise MailboxConfigError(f"{shown}: {keyword!r} is not an IMAP keyword (letters, $, _)")
    move_to = query.get("move_to", "")
    if move_to == folder:
        raise MailboxConfigError(f"{shown}: move_to names the polled folder itself")
    cafile = query.path("cafile")
    return MailboxConfig(
        host=parts.hostname,
        port=port,
        security=security,
        username=username,
        password=password,
        auth=auth,  # type: ignore[arg-type]
        token_file=token_file,
        token_command=token_command,
        folder=folder,
        move_to=move_to,
        keyword=keyword,
        batch_size=query.whole("batch", 200, low=1, high=1000),
        batch_bytes=query.whole("batch_bytes", 20 * 1024 * 1024, low=1, high=2**31),
        cafile=cafile,
        verify_tls=query.flag("verify", True),
        timeout=float(query.whole("timeout", 60, low=1, high=3600)),
    )


def _without_password(url: str) -> str:
    """The URL as it may appear in an error message: password masked."""
    parts = urlsplit(url)
    userinfo, at, hostinfo = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{hostinfo}").geturl()
