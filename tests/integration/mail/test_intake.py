"""The intake path against the real stores: dedupe, threading, classification, quarantine."""

from __future__ import annotations

import pytest

from ledgerdesk.domain.inbound import Outcome
from ledgerdesk.policies.mail.identity import MailIdentity
from ledgerdesk.tests.integration.mail.mails import SECRET, SUPPORT, mail

IDENTITY = MailIdentity(SECRET, SUPPORT)
OUR_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.with_changes(secret_key=SECRET, support_address=SUPPORT)


def ingest(services, *raws, channel="pipe"):  # type: ignore[no-untyped-def]
    return services.intake.ingest_many([(raw, f"m{i}") for i, raw in enumerate(raws)], channel)


def test_a_new_mail_opens_a_ticket_for_a_new_customer_with_cc_participants(services, people):
    raw = mail(cc="Dan <dan@customer.test>", to="help@example.com")
    [receipt] = ingest(services, raw)
    assert (receipt.outcome, receipt.ticket) == (Outcome.OPENED, "T-1")
    ticket = services.app.ticket("T-1")
    carol = services.app.user_by_email("carol@customer.test")
    dan = services.app.user_by_email("dan@customer.test")
    assert carol is not None and carol.role == "customer" and carol.name == "Carol Customer"
    assert dan is not None and dan.id in ticket.participants
    assert ticket.requester_id == carol.id
    assert ticket.department_id == people.support.id  # chosen by the alias it was sent to
    assert ticket.subject == "The printer is broken"
    assert ticket.messages[0]["channel"] == "email"
    assert "E-42" in ticket.messages[0]["visible_text"]


def test_the_same_message_from_two_channels_is_one_message(services, people):
    raw = mail()
    [first] = ingest(services, raw, channel="imap")
    [second] = ingest(services, raw, channel="webhook")
    assert first.outcome == Outcome.OPENED
    assert (second.outcome, second.ticket) == (Outcome.DUPLICATE, first.ticket)
    assert "imap" in second.reason
    assert len(services.app.ticket(first.ticket).messages) == 1
    assert services.app.ticket_ids() and len(services.app.ticket_ids()) == 1


def test_a_message_without_message_id_is_deduplicated_by_its_bytes(services, people):
    raw = mail(message_id=None)
    receipts = ingest(services, raw, raw)
    assert [r.outcome for r in receipts] == [Outcome.OPENED, Outcome.DUPLICATE]


def test_a_reply_all_copy_sent_to_two_of_our_addresses_is_one_message(services, people):
    raw = mail(to=f"{SUPPORT}, help@example.com")
    receipts = ingest(services, raw, raw)
    assert [r.outcome for r in receipts] == [Outcome.OPENED, Outcome.DUPLICATE]
    ticket = services.app.ticket("T-1")
    emails = {services.app.user(p).email for p in ticket.participants}
    assert emails == {"carol@customer.test"}  # our own addresses are never participants


def test_replies_thread_by_our_message_id_by_their_own_ids_and_by_signed_address(services, people):
    original = mail(message_id="<first@customer.test>")
    ingest(services, original)
    ours = IDENTITY.message_id("T-1", OUR_ID)
    by_our_id = mail(subject="Re: x", message_id="<r1@customer.test>", in_reply_to=ours)
    by_their_id = mail(
        subject="more", message_id="<r2@customer.test>", references="<first@customer.test>"
    )
    by_address = mail(
        subject="Re", message_id="<r3@customer.test>", to=IDENTITY.reply_address("T-1")
    )
    receipts = ingest(services, by_our_id, by_their_id, by_address)
    assert [(r.outcome, r.ticket) for r in receipts] == [(Outcome.REPLIED, "T-1")] * 3
    assert len(services.app.ticket("T-1").messages) == 4


def test_forged_references_and_addresses_open_a_new_ticket(services, people):
    ingest(services, mail())
    forged_id = f"<ld.T-1.{OUR_ID}.0000000000@example.com>"
    forged_address = "support+T-1.0000000000@example.com"
    receipts = ingest(
        services,
        mail(sender="mallory@evil.test", in_reply_to=forged_id, message_id="<f1@evil.test>"),
        mail(sender="mallory@evil.test", to=forged_address, message_id="<f2@evil.test>"),
    )
    assert [(r.outcome, r.ticket) for r in receipts] == [
        (Outcome.OPENED, "T-2"),
        (Outcome.OPENED, "T-3"),
    ]


def test_a_subject_token_threads_only_from_a_participant(services, people):
    ingest(services, mail(cc="dan@customer.test"))
    receipts = ingest(
        services,
        mail(sender="dan@customer.test", subject="Re: [T-1] printer", message_id="<d@c.test>"),
        mail(sender="eve@stranger.test", subject="[T-1] hello", message_id="<e@s.test>"),
    )
    assert [(r.outcome, r.ticket) for r in receipts] == [
        (Outcome.REPLIED, "T-1"),
        (Outcome.OPENED, "T-2"),
    ]


def test_a_customer_reply_reopens_a_resolved_ticket_and_mail_from_an_agent_is_only_a_note(
    services, people
):
    ingest(services, mail(message_id="<first@customer.test>"))
    services.app.change_status("T-1", "resolved", actor=people.agent.actor)
    [reply] = ingest(
        services, mail(message_id="<again@customer.test>", references="<first@customer.test>")
    )
    ticket = services.app.ticket("T-1")
    assert reply.outcome == Outcome.REPLIED
    assert (ticket.status, ticket.reopen_count) == ("in_progress", 1)
    agent_mail = mail(
        sender="agent@example.com", in_reply_to="<again@customer.test>", message_id="<ag@x.test>"
    )
    [receipt] = ingest(services, agent_mail)
    last = services.app.ticket("T-1").messages[-1]
    # A From header proves nothing: it is kept for the agents, never sent as a public reply.
    assert last["kind"] == "note" and "agent's address" in receipt.reason


def test_a_reply_to_a_closed_ticket_opens_a_follow_up_when_reopening_is_off(services, people):
    services.app.reopen_closed = False
    ingest(services, mail(message_id="<first@customer.test>"))
    services.app.change_status("T-1", "resolved", actor=people.agent.actor)
    services.app.change_status("T-1", "closed", actor=people.agent.actor)
    [receipt] = ingest(
        services, mail(message_id="<late@c.test>", in_reply_to="<first@customer.test>")
    )
    assert (receipt.outcome, receipt.ticket) == (Outcome.OPENED, "T-2")
    assert (
        "Follow-up to the closed ticket T-1"
        in services.app.ticket("T-2").messages[0]["visible_text"]
    )
    assert services.app.ticket("T-1").status == "closed"


def test_a_bounce_attaches_to_the_ticket_and_marks_the_address_failing(services, people):
    ingest(services, mail())
    ours = IDENTITY.message_id("T-1", OUR_ID)
    dsn = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        "To: support@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce1@mx.example.com>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        "Final-Recipient: rfc822; carol@customer.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@example.com\r\nTo: carol@customer.test\r\nMessage-ID: {ours}\r\n"
        "Subject: [T-1] The printer is broken\r\n\r\n--B--\r\n"
    ).encode()
    [receipt] = ingest(services, dsn)
    assert (receipt.outcome, receipt.ticket) == (Outcome.BOUNCE, "T-1")
    assert "5.1.1" in receipt.reason
    note = services.app.ticket("T-1").messages[-1]
    assert note["kind"] == "note" and "carol@customer.test" in note["visible_text"]
    carol = services.app.user_by_email("carol@customer.test")
    assert carol is not None and "5.1.1" in carol.mail_failing
    assert len(services.app.ticket_ids()) == 1


@pytest.mark.parametrize(
    "headers,subject",
    [
        ({"Auto-Submitted": "auto-replied"}, "Re: The printer"),
        ({"Precedence": "bulk"}, "Newsletter"),
        ({"X-Autoreply": "yes"}, "Re: x"),
        ({}, "Automatische Antwort: The printer is broken"),
        ({}, "Out of Office: The printer is broken"),
    ],
)
def test_automatic_replies_never_open_tickets(services, people, headers, subject):
    [receipt] = ingest(services, mail(headers=headers, subject=subject))
    assert receipt.outcome == Outcome.AUTO_REPLY
    assert services.app.ticket_ids() == []


def test_an_automatic_reply_in_a_thread_is_kept_as_an_internal_note(services, people):
    ingest(services, mail(message_id="<first@customer.test>"))
    ooo = mail(
        subject="Out of Office",
        headers={"Auto-Submitted": "auto-replied"},
        in_reply_to=IDENTITY.message_id("T-1", OUR_ID),
        text="I am away until Monday.",
    )
    [receipt] = ingest(services, ooo)
    assert (receipt.outcome, receipt.ticket) == (Outcome.AUTO_REPLY, "T-1")
    ticket = services.app.ticket("T-1")
    assert ticket.messages[-1]["kind"] == "note"
    assert ticket.status == "new"


def test_our_own_mail_coming_back_is_a_loop(services, people):
    receipts = ingest(
        services,
        mail(headers={"X-Ledgerdesk-Loop": "ledgerdesk"}),
        mail(sender=SUPPORT, message_id="<own@example.com>"),
        mail(message_id=IDENTITY.message_id("T-9", OUR_ID)),
    )
    assert [r.outcome for r in receipts] == [Outcome.LOOP] * 3
    assert services.app.ticket_ids() == []


def test_what_cannot_be_processed_is_quarantined_with_its_reason_and_can_be_retried(
    services, people
):
    services.app.deactivate_user(people.alice.id, actor=people.admin.actor)
    big = mail(attachments=[("huge.bin", "application/octet-stream", b"x" * (26 * 1024 * 1024))])
    receipts = ingest(
        services,
        b"",
        b"\x00\xff garbage \x13" * 50,
        mail(sender="no address here"),
        big,
        mail(sender="alice@customer.test", message_id="<alice@c.test>"),
    )
    assert [r.outcome for r in receipts] == [Outcome.QUARANTINED] * 5
    reasons = [r.reason for r in receipts]
    assert "empty" in reasons[0]
    assert "not an email" in reasons[1]
    assert "sender" in reasons[2]
    assert "limit is 25 MB" in reasons[3]
    assert "deactivated" in reasons[4]
    listed = services.app.quarantined()
    assert len(listed) == 5
    services.app.reactivate_user(people.alice.id, actor=people.admin.actor)
    key = next(e.key for e in listed if e.sender == "alice@customer.test")
    retried = services.intake.reprocess(key, actor="system:test")
    assert (retried.outcome, retried.ticket) == (Outcome.OPENED, "T-1")
    assert len(services.app.quarantined()) == 4
    # Every message's raw bytes are kept, whatever became of it.
    for entry in services.app.quarantined():
        assert services.blobs.exists(entry.raw_sha256)


def test_attachments_and_html_are_kept_as_blobs_and_the_html_is_sanitized(services, people):
    raw = mail(
        text="See the attached log.",
        html='<p>See the <b>attached</b> log.</p><script>alert(1)</script><img src="http://t.test/p.gif">',
        attachments=[
            ("log.txt", "text/plain", b"E-42 at 10:00\n"),
            ("shot.png", "image/png", b"\x89PNG...."),
        ],
    )
    [receipt] = ingest(services, raw)
    message = services.app.ticket(receipt.ticket).messages[0]
    names = [(a["name"], a["content_type"], a["size"]) for a in message["attachments"]]
    assert names == [("log.txt", "text/plain", 14), ("shot.png", "image/png", 8)]
    assert services.blobs.get(message["attachments"][0]["sha256"]) == b"E-42 at 10:00\n"
    record = services.app.inbound_mail(f"mid:{message['email_message_id'].strip('<>')}")
    html = services.blobs.get(record.html_sha256).decode()
    assert "<b>attached</b>" in html and "script" not in html and "t.test" not in html


def test_a_batch_threads_replies_to_mails_earlier_in_the_same_batch(services, people):
    raws = []
    for n in range(150):
        raws.append(mail(sender=f"c{n}@customer.test", message_id=f"<o{n}@customer.test>"))
        raws.append(
            mail(
                sender=f"c{n}@customer.test",
                message_id=f"<r{n}@customer.test>",
                in_reply_to=f"<o{n}@customer.test>",
                subject="Re: x",
            )
        )
    receipts = ingest(services, *raws)
    opened = [r for r in receipts if r.outcome == Outcome.OPENED]
    replied = [r for r in receipts if r.outcome == Outcome.REPLIED]
    assert len(opened) == len(replied) == 150
    assert [r.ticket for r in opened] == [r.ticket for r in replied]
    assert len({r.ticket for r in opened}) == 150


def test_a_stranger_with_a_conversations_message_id_gains_nothing(services, people):
    ingest(services, mail(message_id="<first@customer.test>"))
    stranger = mail(
        sender="eve@elsewhere.test",
        cc="mallory@elsewhere.test",
        message_id="<eve@elsewhere.test>",
        in_reply_to="<first@customer.test>",
        text="Let me in",
    )
    [receipt] = ingest(services, stranger)
    ticket = services.app.ticket("T-1")
    assert receipt.ticket == "T-1" and "not on the ticket" in receipt.reason
    assert ticket.messages[-1]["kind"] == "note"  # kept for the agents, shown to no customer
    emails = {services.app.user(p).email for p in ticket.participants}
    assert emails == {"carol@customer.test"}
    assert services.app.user_by_email("eve@elsewhere.test") is None


def test_a_forged_failure_report_marks_nobody_failing(services, people):
    ingest(services, mail())
    forged = mail(
        sender="eve@elsewhere.test",
        subject="Mail delivery failed",
        headers={"X-Failed-Recipients": "alice@customer.test, carol@customer.test"},
        message_id="<forged@elsewhere.test>",
    )
    [receipt] = ingest(services, forged)
    assert receipt.outcome == Outcome.BOUNCE
    for address in ("alice@customer.test", "carol@customer.test"):
        assert services.app.user_by_email(address).mail_failing == ""


def test_another_message_reusing_a_message_id_is_received_on_its_own(services, people):
    first = mail(message_id="<same@broken-mailer.test>", subject="Printer")
    other = mail(sender="dan@customer.test", message_id="<same@broken-mailer.test>", subject="VPN")
    receipts = ingest(services, first, other)
    assert [(r.outcome, r.ticket) for r in receipts] == [
        (Outcome.OPENED, "T-1"),
        (Outcome.OPENED, "T-2"),
    ]
