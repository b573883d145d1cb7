"""build_message: headers, structure, and safety against CR/LF injection."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default

import pytest

from ledgerdesk.adapters.mail_out.message import UnsendableMail, build_message, envelope
from ledgerdesk.tests.integration.mail_out.samples import sample_mail


def parsed(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=default)  # type: ignore[return-value]


def test_a_subject_with_a_newline_stays_one_header() -> None:
    data = build_message(sample_mail(1, subject="hi\r\nBcc: x@evil"))
    message = parsed(data)
    assert message["Bcc"] is None and message["Subject"] == "hi Bcc: x@evil"
    assert b"\r\nBcc:" not in data


def test_a_display_name_with_a_newline_cannot_add_a_header() -> None:
    message = parsed(build_message(sample_mail(1, to=("Eve\r\nCc <e@x.org>",))))
    assert message["Cc"] is None and message["To"].addresses[0].display_name == "Eve Cc"
    assert [a.addr_spec for a in message["To"].addresses] == ["e@x.org"]
    with pytest.raises(UnsendableMail):  # a second address hidden in the name
        build_message(sample_mail(1, to=("Eve\nCc: all@corp.example <e@x.org>",)))


def test_an_extra_header_value_with_a_newline_stays_one_header() -> None:
    message = parsed(build_message(sample_mail(1, headers=(("X-Ticket", "T-1\r\nBcc: x@y"),))))
    assert message["X-Ticket"] == "T-1 Bcc: x@y" and message["Bcc"] is None


@pytest.mark.parametrize("name", ["Bcc", "Message-ID", "X-Bad\r\nBcc", "Bad Name"])
def test_extra_headers_cannot_replace_ours_or_be_malformed(name: str) -> None:
    with pytest.raises(UnsendableMail):
        build_message(sample_mail(1, headers=((name, "x"),)))


def test_the_message_id_is_exactly_the_given_one_on_one_line() -> None:
    mail = sample_mail(2)
    data = build_message(mail)
    assert f"\r\nMessage-ID: {mail.message_id}\r\n".encode() in data
    assert f"\r\nIn-Reply-To: {mail.in_reply_to}\r\n".encode() in data


def test_automatic_mail_says_so_and_a_relayed_human_reply_does_not() -> None:
    automatic = parsed(build_message(sample_mail(1)))
    human = parsed(build_message(sample_mail(1, automatic=False)))
    assert automatic["Auto-Submitted"] == "auto-generated"
    assert automatic["X-Auto-Response-Suppress"] == "All"
    assert human["Auto-Submitted"] is None and human["X-Auto-Response-Suppress"] is None


def test_text_only_html_alternative_and_attachments_have_the_expected_structure() -> None:
    text_only = parsed(build_message(sample_mail(1, html=None)))
    assert text_only.get_content_type() == "text/plain"
    assert text_only["MIME-Version"] == "1.0"
    with_files = parsed(
        build_message(sample_mail(1, attachments=(("a.txt", "text/plain", b"hello"),)))
    )
    assert with_files.get_content_type() == "multipart/mixed"
    [attachment] = list(with_files.iter_attachments())
    assert attachment.get_filename() == "a.txt" and attachment.get_content() == "hello"
    body = with_files.get_body(("html", "plain"))
    assert body is not None and body.get_content_type() == "text/html"


def test_the_message_is_7bit_ascii_even_for_non_ascii_text() -> None:
    data = build_message(sample_mail(0, subject="Ärger", text="Grüße\n"))
    assert data.isascii()
    assert parsed(data)["Subject"] == "Ärger"


def test_the_envelope_holds_bare_addresses() -> None:
    assert envelope(sample_mail(3)) == ("support@example.com", ["customer3@example.org"])


@pytest.mark.parametrize("to", [(), ("no-at-sign",), ("a@b.c, d@e.f",), ("Zoë <zoë@example.org>",)])
def test_a_mail_without_one_valid_address_per_recipient_is_unsendable(
    to: tuple[str, ...],
) -> None:
    with pytest.raises(UnsendableMail):
        build_message(sample_mail(1, to=to))
