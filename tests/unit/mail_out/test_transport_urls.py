"""LEDGERDESK_MAIL_OUT and LEDGERDESK_SMS_URL: the forms accepted, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledgerdesk.adapters.mail_out.file_transport import FileTransport
from ledgerdesk.adapters.mail_out.sendgrid_transport import SendGridTransport
from ledgerdesk.adapters.mail_out.smtp import SmtpTransport
from ledgerdesk.adapters.mail_out.smtp_config import parse_smtp_url
from ledgerdesk.adapters.mail_out.transports import mail_transport_for
from ledgerdesk.adapters.mail_out.url import masked
from ledgerdesk.adapters.sms import InvalidPhoneNumber, e164, parse_sms_url
from ledgerdesk.settings import Settings, SettingsError


def transport(url: str, data_dir: Path = Path("var")) -> object:
    return mail_transport_for(Settings(mail_out=url, data_dir=data_dir))


def test_file_urls_name_the_directory() -> None:
    default = transport("file:", Path("/srv/ld"))
    assert isinstance(default, FileTransport)
    assert default.directory == Path("/srv/ld/mail/out")
    spool = transport("file:/var/spool/ld?fsync=1")
    assert isinstance(spool, FileTransport)
    assert spool.directory == Path("/var/spool/ld") and spool.fsync


def test_smtp_urls_choose_security_port_and_login() -> None:
    plain = parse_smtp_url("smtp://relay.internal")
    assert (plain.security, plain.port, plain.auth) == ("none", 25, "none")
    starttls = parse_smtp_url("smtp+starttls://me%40x.org:p%40ss@smtp.x.org")
    assert (starttls.security, starttls.port, starttls.username, starttls.password) == (
        "starttls",
        587,
        "me@x.org",
        "p@ss",
    )
    assert parse_smtp_url("smtp://h:2525?starttls=1").security == "starttls"
    ssl = parse_smtp_url("smtps://u:p@h?timeout=5&verify=0")
    assert (ssl.security, ssl.port, ssl.timeout, ssl.verify_tls) == ("ssl", 465, 5.0, False)
    oauth = parse_smtp_url("smtps://me%40gmail.com@smtp.gmail.com?auth=xoauth2&token_file=/t")
    assert (oauth.auth, oauth.token_file) == ("xoauth2", Path("/t"))
    assert "p@ss" not in repr(starttls)
    assert isinstance(transport("smtp://relay.internal:25"), SmtpTransport)


def test_a_sendgrid_url_reads_its_key_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("SG.abc\n")
    sendgrid = transport(f"sendgrid:?key_file={tmp_path / 'key'}")
    assert isinstance(sendgrid, SendGridTransport) and sendgrid.config.api_key == "SG.abc"
    assert "SG.abc" not in repr(sendgrid.config)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("smtp.example.com", "is not a URL"),
        ("mailgun://key@x", "unknown transport"),
        ("smtp://", "names no server"),
        ("smtp://h:port", "not a number"),
        ("smtp://h?tls=1", "unknown parameter tls"),
        ("smtps://h?starttls=1", "starttls is for smtp://"),
        ("smtp://user@h", "auth=password needs"),
        ("smtp://u@h?auth=xoauth2", "needs token_file"),
        ("smtp://u:p@h?auth=xoauth2&token_file=/t", "not a password"),
        ("smtp://h?timeout=soon", "timeout must be"),
        ("smtp://h?verify=maybe", "verify must be 1 or 0"),
        ("sendgrid:", "exactly one of key_file or api_key"),
        ("sendgrid:?key_file=/nonexistent/key", "cannot read"),
        ("sendgrid:?api_key=SG.x&host=ftp://x", "host must be"),
        ("file://otherhost/dir", "on this machine"),
        ("file://[::1", "the URL is malformed"),
        ("sendgrid://[bad", "the URL is malformed"),
    ],
)
def test_a_malformed_url_is_a_settings_error_naming_the_problem(url: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        transport(url)


def test_errors_never_show_passwords_or_keys() -> None:
    for url in ("smtp://u:hunter2@h?tls=1", "sendgrid:?api_key=hunter2&x=1"):
        with pytest.raises(SettingsError) as caught:
            transport(url)
        assert "hunter2" not in str(caught.value) and "***" in str(caught.value)
    assert masked("twilio://AC1:hunter2@api.twilio.com?from=1") == (
        "twilio://AC1:***@api.twilio.com?from=1"
    )


def test_sms_urls() -> None:
    sid = "AC" + "f" * 32
    twilio = parse_sms_url(f"twilio://{sid}:tok@api.twilio.com?from=%2B15550100")
    assert twilio.url == f"https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"
    assert twilio.fields == (("From", "+15550100"),) and (twilio.to_field, twilio.text_field) == (
        "To",
        "Body",
    )
    generic = parse_sms_url("form+https://sms.example.com/send?key=abc")
    assert generic.url == "https://sms.example.com/send"
    assert generic.fields == (("key", "abc"),) and (generic.to_field, generic.text_field) == (
        "to",
        "text",
    )
    for bad in ("sms://x", "twilio://AC1:t@api.twilio.com?from=%2B15550100", "twilio://" + sid):
        with pytest.raises(SettingsError):
            parse_sms_url(bad)


@pytest.mark.parametrize(
    ("number", "normal"),
    [("+4915123456789", "+4915123456789"), ("+1 (555) 010-0123", "+15550100123")],
)
def test_phone_numbers_are_normalised_to_e164(number: str, normal: str) -> None:
    assert e164(number) == normal


@pytest.mark.parametrize("number", ["", "4915123456789", "+0123456789", "+123456", "+1" + "2" * 15])
def test_numbers_that_are_not_e164_are_refused(number: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        e164(number)
