"""Choosing the mail transport from LEDGERDESK_MAIL_OUT (docs/mail-out.md lists the forms).

file:                      one .eml per mail under <data dir>/mail/out (the default)
file:/var/spool/ledgerdesk one .eml per mail in that directory (?fsync=1 to sync each)
smtp://… smtp+starttls://… smtps://…   an SMTP server (adapters/mail_out/smtp_config.py)
sendgrid:?key_file=…       SendGrid's v3 API
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from ledgerdesk.adapters.mail_out.file_transport import FileTransport
from ledgerdesk.adapters.mail_out.sendgrid_transport import SendGridTransport, parse_sendgrid_url
from ledgerdesk.adapters.mail_out.smtp import SmtpTransport
from ledgerdesk.adapters.mail_out.smtp_config import DEFAULT_PORTS, parse_smtp_url
from ledgerdesk.adapters.mail_out.url import Query, masked, split_url
from ledgerdesk.domain.outgoing import MailTransport
from ledgerdesk.settings import Settings, SettingsError

SETTING = "LEDGERDESK_MAIL_OUT"


def file_transport_for(url: str, data_dir: Path) -> FileTransport:
    parts, _, shown = split_url(url, SETTING)
    query = Query(parts.query, frozenset({"fsync"}), SETTING, shown)
    if parts.netloc not in ("", "localhost"):
        query.fail("a file URL names a directory on this machine: file:/path/to/dir")
    path = unquote(parts.path)
    directory = Path(path).expanduser() if path else data_dir / "mail" / "out"
    return FileTransport(directory, fsync=query.flag("fsync", False))


def mail_transport_for(settings: Settings) -> MailTransport:
    """The transport LEDGERDESK_MAIL_OUT names; SettingsError (secrets masked) when it is wrong."""
    url = settings.mail_out.strip() or "file:"
    scheme, colon, _ = url.partition(":")
    scheme = scheme.lower()
    if not colon:
        raise SettingsError(
            f"{SETTING}={masked(url)!s} is not a URL: use file:, smtp://host:port, "
            "smtps://…, smtp+starttls://… or sendgrid:?key_file=…"
        )
    if scheme == "file":
        return file_transport_for(url, settings.data_dir)
    if scheme in DEFAULT_PORTS:
        return SmtpTransport(parse_smtp_url(url))
    if scheme == "sendgrid":
        return SendGridTransport(parse_sendgrid_url(url))
    raise SettingsError(
        f"{SETTING}={masked(url)}: unknown transport {scheme!r} "
        "(known: file, smtp, smtp+starttls, smtps, sendgrid)"
    )
