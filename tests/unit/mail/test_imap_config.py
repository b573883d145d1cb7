"""Mailbox URLs, batching and the mailbox cursor: the IMAP channel's parts that need no server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledgerdesk.adapters.mail_in.imap import batches, sequence_set, source_of
from ledgerdesk.adapters.mail_in.imap_config import (
    MailboxConfigError,
    parse_mailbox,
    parse_mailboxes,
)
from ledgerdesk.domain.errors import ValidationError
from ledgerdesk.domain.mailbox import MailboxCursor

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


# URL forms --------------------------------------------------------------------------------


def test_imaps_is_tls_from_the_start_on_port_993_and_reads_the_inbox_by_default():
    box = parse_mailbox("imaps://help%40example.com:s3cr%2Ft@imap.example.com")
    assert (box.host, box.port, box.security, box.folder) == (
        "imap.example.com",
        993,
        "ssl",
        "INBOX",
    )
    assert (box.username, box.password, box.auth) == ("help@example.com", "s3cr/t", "login")
    assert (box.move_to, box.keyword, box.verify_tls) == ("", "$Ledgerdesk", True)


def test_imap_means_starttls_unless_clear_text_is_asked_for():
    assert parse_mailbox("imap://u:p@mail.example.com/Support").security == "starttls"
    assert parse_mailbox("imap://u:p@mail.example.com/?starttls=1").port == 143
    clear = parse_mailbox("imap://u:p@127.0.0.1:1143/INBOX?starttls=0")
    assert (clear.security, clear.port) == ("none", 1143)


def test_options_come_as_query_parameters():
    box = parse_mailbox(
        "imaps://u:p@h/Inbox%2FSupport?move_to=Done&keyword=$Seen_by_desk&batch=50"
        "&batch_bytes=1000000&cafile=/etc/ca.pem&verify=0&timeout=10"
    )
    assert (box.folder, box.move_to, box.keyword) == ("Inbox/Support", "Done", "$Seen_by_desk")
    assert (box.batch_size, box.batch_bytes, box.timeout) == (50, 1_000_000, 10.0)
    assert (str(box.cafile), box.verify_tls) == ("/etc/ca.pem", False)


def test_the_mailbox_identity_keeps_the_user_and_drops_the_password_and_options():
    a = parse_mailbox("imaps://Help%40Example.com:pw-one@IMAP.example.com/INBOX?batch=5")
    b = parse_mailbox("imaps://Help%40Example.com:two@imap.example.com:993/INBOX")
    assert a.url == b.url == "imaps://Help%40Example.com@imap.example.com:993/INBOX"
    assert "pw-one" not in repr(a)  # nor does the password show in logs of the config
    other_user = parse_mailbox("imaps://someone:one@imap.example.com/INBOX")
    assert MailboxCursor.id_for(a.url) != MailboxCursor.id_for(other_user.url)
    assert source_of(a, 7, 42) == a.url + ";UIDVALIDITY=7/;UID=42"


def test_several_mailboxes_separated_by_commas_or_white_space():
    boxes = parse_mailboxes(
        " imaps://a:p@h/INBOX,imaps://b:p@h/INBOX\n  imap://c:p@h2/Billing?starttls=0 "
    )
    assert [b.username for b in boxes] == ["a", "b", "c"]
    assert parse_mailboxes("") == []
    with pytest.raises(MailboxConfigError, match="listed twice"):
        parse_mailboxes("imaps://a:p@h/INBOX imaps://a:q@h:993/INBOX")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("pop3://u:p@h/", "starts with imaps:// or imap://"),
        ("imaps:///INBOX", "names no server"),
        ("imaps://u:p@h:x/", "port is not a number"),
        ("imaps://h/INBOX", "names no user"),
        ("imaps://u@h/INBOX", "has no password"),
        ("imaps://u:p@h/?starttls=1", "starttls is for imap://"),
        ("imap://u:p@h/?starttls=maybe", "starttls must be 1 or 0"),
        ("imaps://u:p@h/?auth=cram-md5", "auth must be login or xoauth2"),
        ("imaps://u:p@h/?colour=blue", "unknown parameter colour"),
        ("imaps://u:p@h/?batch=1&batch=2", "batch is given twice"),
        ("imaps://u:p@h/?batch=0", "batch must be between 1 and 1000"),
        ("imaps://u:p@h/?batch=ten", "batch must be a whole number"),
        ("imaps://u:p@h/?keyword=has%20space", "is not an IMAP keyword"),
        ("imaps://u:p@h/INBOX?move_to=INBOX", "move_to names the polled folder"),
        ("imaps://u:p@h/?token_file=/t", "token_file and token_command need auth=xoauth2"),
        ("imaps://u@h/?auth=xoauth2", "needs exactly one of token_file or token_command"),
        ("imaps://u:p@h/?auth=xoauth2&token_file=/t", "the password comes from token_file"),
        ("imaps://u:p@h/#frag", "has no #fragment"),
    ],
)
def test_a_malformed_url_is_refused_with_what_is_wrong_and_without_the_password(url, message):
    with pytest.raises(MailboxConfigError, match=message) as refused:
        parse_mailbox(url)
    assert ":p@" not in str(refused.value)


# Batching ---------------------------------------------------------------------------------


def test_batches_hold_at_most_a_count_and_a_size_and_a_big_message_goes_alone():
    sizes = {1: 10, 2: 10, 3: 500, 4: 10, 5: 10, 6: 10}
    assert list(batches([1, 2, 3, 4, 5, 6], sizes, count=2, size=100)) == [
        [1, 2],
        [3],
        [4, 5],
        [6],
    ]
    assert list(batches([], {}, count=5, size=5)) == []


def test_sequence_sets_use_ranges():
    assert sequence_set([9, 1, 2, 3, 7, 10]) == "1:3,7,9:10"
    assert sequence_set([5]) == "5"


# The cursor -------------------------------------------------------------------------------


def test_a_cursor_moves_forward_only_within_one_uidvalidity():
    cursor = MailboxCursor.open("imaps://u@h:993/INBOX", actor="system:imap-poll", at=T0)
    assert cursor.next_uid(77) == 1
    assert cursor.advance(77, 10, actor="system:imap-poll", at=T0)
    assert cursor.next_uid(77) == 11
    assert not cursor.advance(77, 4, actor="system:imap-poll", at=T0)  # a slower poller
    assert (cursor.uidvalidity, cursor.last_uid, cursor.version) == (77, 10, 2)


def test_a_new_uidvalidity_starts_the_cursor_again_from_the_first_uid():
    cursor = MailboxCursor.open("imaps://u@h:993/INBOX", actor="system:imap-poll", at=T0)
    cursor.advance(77, 10, actor="system:imap-poll", at=T0)
    assert cursor.next_uid(78) == 1
    assert cursor.advance(78, 3, actor="system:imap-poll", at=T0)
    assert (cursor.uidvalidity, cursor.last_uid) == (78, 3)
    assert [type(e).__name__ for e in cursor.collect_events()] == [
        "Started",
        "Advanced",
        "Advanced",
    ]


def test_a_cursor_refuses_positions_that_are_not_imap_uids():
    cursor = MailboxCursor.open("imaps://u@h:993/INBOX", actor="system:imap-poll", at=T0)
    with pytest.raises(ValidationError, match="uidvalidity"):
        cursor.advance(0, 1, actor="system:imap-poll", at=T0)
    with pytest.raises(ValidationError, match="last_uid"):
        cursor.advance(1, 2**32, actor="system:imap-poll", at=T0)
    with pytest.raises(ValidationError, match="last_uid"):
        cursor.advance(1, -1, actor="system:imap-poll", at=T0)
