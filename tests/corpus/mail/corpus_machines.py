"""Corpus part 4: machines: bounces, automatic replies, loops, and mail that cannot be read."""

# ruff: noqa: E501  (mail lines as the servers write them)
from __future__ import annotations

from corpus_kit import ID, add, b64, ours, qp

NDR_TEXT = qp(
    "Your message to bob@example.net couldn't be delivered.\n\nbob wasn't found at example.net.\n\nbob        Office 365        bob\nAction Required                 Recipient\n\nUnknown To address\n\nRemote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'\n",
    "ascii",
)
NDR_HTML = qp(
    "<html><body><p>Your message to <a href=\"mailto:bob@example.net\">bob@example.net</a> couldn't be delivered.</p><p><b>bob</b> wasn't found at <b>example.net</b>.</p></body></html>\n",
    "ascii",
)


def build() -> None:
    bounces()
    auto_replies()
    loops()
    malformed()


def _our_mail(ticket: str, to: str, subject: str) -> str:
    return f"""Return-Path: <support@example.com>
From: ACME Support <{ID.reply_address(ticket)}>
To: {to}
Subject: [{ticket}] {subject}
Date: Tue, 4 Mar 2025 14:10:00 +0000
Message-ID: {ours(ticket)}
Auto-Submitted: auto-generated
X-Ledgerdesk-Loop: ledgerdesk
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello, we have an update on your request.
"""


def bounces() -> None:
    add("bounce-postfix-dsn.eml", f"""
Return-Path: <>
Delivered-To: support@example.com
Date: Tue, 4 Mar 2025 14:10:05 +0000 (UTC)
From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: support@example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="3F2A41C0B2.1741097405/mx.example.com"
Content-Transfer-Encoding: 8bit
Message-Id: <20250304141005.8D1E341C0B3@mx.example.com>

This is a MIME-encapsulated message.

--3F2A41C0B2.1741097405/mx.example.com
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<alice@example.org>: host mx.example.org[198.51.100.7] said: 550 5.1.1
    <alice@example.org>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

--3F2A41C0B2.1741097405/mx.example.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
X-Postfix-Queue-ID: 3F2A41C0B2
X-Postfix-Sender: rfc822; support@example.com
Arrival-Date: Tue,  4 Mar 2025 14:10:04 +0000 (UTC)

Final-Recipient: rfc822; alice@example.org
Original-Recipient: rfc822;alice@example.org
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 5.1.1 <alice@example.org>: Recipient address
    rejected: User unknown in virtual mailbox table

--3F2A41C0B2.1741097405/mx.example.com
Content-Description: Undelivered Message
Content-Type: message/rfc822
Content-Transfer-Encoding: 8bit

{_our_mail("T-1", "alice@example.org", "Invoice for March is missing")}
--3F2A41C0B2.1741097405/mx.example.com--
""", "bounce", "T-1", "mailer-daemon@mx.example.com", "Undelivered Mail Returned to Sender",
        "Postfix RFC 3464 multipart/report; the returned message/rfc822 carries our Message-ID of T-1 (5.1.1 alice@example.org)",
        crlf=False)  # fmt: skip
    add("bounce-exchange-ndr.eml", f"""
From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.net>
To: <support@example.com>
Date: Tue, 4 Mar 2025 14:10:09 +0000
Content-Type: multipart/report; report-type=delivery-status;
	boundary="24d1f2a0-3b4c-4d5e-8f6a-7b8c9d0e1f2a"
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
Message-ID: <d6a1b2c3-4d5e-4f6a-8b7c-9d0e1f2a3b4c@DB9PR05MB8171.eurprd05.prod.outlook.com>
In-Reply-To: {ours("T-2")}
References: {ours("T-2")}
Subject: Undeliverable: [T-2] Order 4711 arrived damaged
Auto-Submitted: auto-replied
MIME-Version: 1.0

--24d1f2a0-3b4c-4d5e-8f6a-7b8c9d0e1f2a
Content-Type: multipart/alternative; differences=Content-Type;
	boundary="9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b"

--9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

{NDR_TEXT}
--9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

{NDR_HTML}
--9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b--

--24d1f2a0-3b4c-4d5e-8f6a-7b8c9d0e1f2a
Content-Type: message/delivery-status

Reporting-MTA: dns;DB9PR05MB8171.eurprd05.prod.outlook.com
Received-From-MTA: dns;mail.example.com
Arrival-Date: Tue, 4 Mar 2025 14:10:08 +0000

Final-Recipient: rfc822;bob@example.net
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

--24d1f2a0-3b4c-4d5e-8f6a-7b8c9d0e1f2a
Content-Type: message/rfc822

{_our_mail("T-2", "Bob Builder <bob@example.net>", "Order 4711 arrived damaged")}
--24d1f2a0-3b4c-4d5e-8f6a-7b8c9d0e1f2a--
""", "bounce", "T-2", "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e@example.net",
        "Undeliverable: [T-2] Order 4711 arrived damaged",
        "Exchange Online / Office 365 NDR (multipart/report, 5.1.10, sender is not mailer-daemon); original carries our T-2 Message-ID")  # fmt: skip
    add("bounce-gmail-dsn.eml", f"""
Delivered-To: support@example.com
Return-Path: <>
Received: by 2002:a05:6402:1234::; Tue, 4 Mar 2025 06:10:12 -0800 (PST)
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: support@example.com
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
References: {ours("T-4")}
In-Reply-To: {ours("T-4")}
X-Failed-Recipients: claire.typo@gmail.com
Message-ID: <67c709d4.050a0220.3b4c5d.abcdGMR@mx.google.com>
Date: Tue, 04 Mar 2025 06:10:12 -0800 (PST)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000deadbe062fb3c4d5"; report-type=delivery-status

--000000000000deadbe062fb3c4d5
Content-Type: multipart/related; boundary="000000000000deadbf062fb3c4d6"

--000000000000deadbf062fb3c4d6
Content-Type: multipart/alternative; boundary="000000000000deadc0062fb3c4d7"

--000000000000deadc0062fb3c4d7
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to claire.typo@gmail.com because the address couldn't be found, or is unable to receive mail.

The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist.

--000000000000deadc0062fb3c4d7
Content-Type: text/html; charset="UTF-8"

<html><body><h1>Address not found</h1><p>Your message wasn't delivered to <b>claire.typo@gmail.com</b> because the address couldn't be found.</p></body></html>

--000000000000deadc0062fb3c4d7--
--000000000000deadbf062fb3c4d6--
--000000000000deadbe062fb3c4d5
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; support@example.com
Arrival-Date: Tue, 04 Mar 2025 06:10:11 -0800 (PST)
X-Original-Message-ID: {ours("T-4")}

Final-Recipient: rfc822; claire.typo@gmail.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2a00:1450:400c:c0b::1a, the server for the domain gmail.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.
Last-Attempt-Date: Tue, 04 Mar 2025 06:10:12 -0800 (PST)

--000000000000deadbe062fb3c4d5
Content-Type: text/rfc822-headers

{_our_mail("T-4", "claire.typo@gmail.com", "Problème de facturation").split(chr(10) + chr(10))[0]}

--000000000000deadbe062fb3c4d5--
""", "bounce", "T-4", "mailer-daemon@googlemail.com", "Delivery Status Notification (Failure)",
        "Gmail DSN: multipart/report with only text/rfc822-headers of our T-4 mail (to a mistyped Cc address)")  # fmt: skip
    add("bounce-plain-mail-delivery-subsystem.eml", f"""
Return-Path: <MAILER-DAEMON@mail.example.es>
Date: Tue, 4 Mar 2025 16:20:09 +0100
From: Mail Delivery Subsystem <MAILER-DAEMON@mail.example.es>
Message-Id: <202503041520.524FK9sQ012345@mail.example.es>
To: <support@example.com>
Subject: Returned mail: see transcript for details
Auto-Submitted: auto-generated (failure)

The original message was received at Tue, 4 Mar 2025 16:20:05 +0100
from mail.example.com [192.0.2.10]

   ----- The following addresses had permanent fatal errors -----
<diego@example.es>
    (reason: 552 5.2.2 Mailbox full)

   ----- Transcript of session follows -----
... while talking to mailstore.example.es.:
>>> DATA
<<< 552 5.2.2 <diego@example.es>... Mailbox full
554 5.0.0 Service unavailable

   ----- Original message follows -----

{_our_mail("T-5", "Diego Ruiz <diego@example.es>", "No puedo descargar la app")}""", "bounce", "T-5", "mailer-daemon@mail.example.es",
        "Returned mail: see transcript for details",
        "Non-standard Sendmail plain-text bounce (no multipart/report); our T-5 Message-ID is only in the pasted original in the body",
        crlf=False)  # fmt: skip


def _auto(file: str, headers: str, sender: str, subject: str, body: str, ticket: str | None,
          why: str, ref: str | None = None) -> None:  # fmt: skip
    refs = f"In-Reply-To: {ours(ref)}\nReferences: {ours(ref)}\n" if ref else ""
    encoded = (
        subject
        if subject.isascii()
        else f"=?UTF-8?B?{b64(subject.encode()).replace(chr(10), '')}?="
    )
    add(file, f"""
From: {sender}
To: support@example.com
Subject: {encoded}
Date: Fri, 7 Mar 2025 13:00:00 +0100
Message-ID: <auto.{file.removesuffix(".eml")}@{sender.rpartition("@")[2].rstrip(">")}>
{refs}{headers}MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

{body}
""", "auto_reply", ticket, sender.rpartition("<")[2].rstrip(">").lower(), subject, why)  # fmt: skip


def auto_replies() -> None:
    _auto("auto-reply-auto-submitted-en.eml", "Auto-Submitted: auto-replied\nX-MS-Exchange-Inbox-Rules-Loop: bob@example.net\n",
          "Bob Builder <bob@example.net>", "Automatic reply: [T-2] Order 4711 arrived damaged",
          "I am out of the office until 17 March with limited access to e-mail.", "T-2",
          "RFC 3834 Auto-Submitted: auto-replied, threaded to T-2 by In-Reply-To: recorded on T-2, never answered", "T-2")  # fmt: skip
    _auto("auto-reply-exchange-oof-de.eml", "X-Auto-Response-Suppress: All\nThread-Topic: [T-3] Zugang zum Kundenportal gesperrt\n",
          "=?utf-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen.mueller@example.de>", "Automatische Antwort: [T-3] Zugang zum Kundenportal gesperrt",
          "Ich bin bis zum 14. März nicht im Büro.", "T-3",
          "Exchange out-of-office (X-Auto-Response-Suppress: All, German subject), threaded to T-3 by In-Reply-To", "T-3")  # fmt: skip
    _auto("auto-reply-x-autoreply.eml", "X-Autoreply: yes\n", "Yusuf Demir <yusuf@example.com.tr>",
          "Re: Your message", "Thank you for your message. We will answer within two working days.", None,
          "X-Autoreply: yes (cPanel/Horde vacation): no ticket")  # fmt: skip
    _auto("auto-reply-precedence-bulk.eml", "Precedence: bulk\nList-Unsubscribe: <https://news.example.com/u/123>\n",
          "Example News <news@news.example.com>", "Our spring sale starts today", "Up to 50% off everything.", None,
          "Newsletter with Precedence: bulk: never a ticket")  # fmt: skip
    _auto("auto-reply-precedence-junk.eml", "Precedence: junk\n", "Vacation Bot <vacation@example.net>",
          "Away", "I'm away.", None, "Precedence: junk (old vacation(1) program): no ticket")  # fmt: skip
    _auto("auto-reply-precedence-list.eml", "Precedence: list\nList-Id: <users.lists.example.org>\n",
          "Users List <users@lists.example.org>", "[users] Weekly digest", "Digest of this week's posts.", None,
          "Mailing list traffic with Precedence: list: no ticket")  # fmt: skip
    for file, subject, body, why in [
        ("auto-reply-subject-out-of-office.eml", "Out of Office: Invoice question", "I am out of the office until Monday.",
         "Only the subject says it: 'Out of Office:' with no automatic headers"),
        ("auto-reply-subject-abwesenheitsnotiz.eml", "Abwesenheitsnotiz: Ihre Anfrage", "Ich bin bis Montag abwesend.",
         "Only the subject says it: German 'Abwesenheitsnotiz' (Lotus Notes / HCL)"),
        ("auto-reply-subject-reponse-automatique.eml", "Réponse automatique : Votre demande", "Je suis absente jusqu'à lundi.",
         "Only the subject says it: French 'Réponse automatique' in a UTF-8 encoded word"),
        ("auto-reply-subject-respuesta-automatica.eml", "Respuesta automática: Su consulta", "Estoy fuera de la oficina.",
         "Only the subject says it: Spanish 'Respuesta automática' in a UTF-8 encoded word"),
    ]:  # fmt: skip
        _auto(file, "", f"Away Person <away.{file[18:24]}@example.org>", subject, body, None, why)


def loops() -> None:
    add("loop-header.eml", """
From: Helpdesk Forwarder <forwarder@example.org>
To: support@example.com
Subject: [T-1] Invoice for March is missing
Date: Fri, 7 Mar 2025 14:00:00 +0100
Message-ID: <fwd-loop-1@example.org>
X-Ledgerdesk-Loop: ledgerdesk
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello, we have an update on your request.
""", "loop", None, "forwarder@example.org", "[T-1] Invoice for March is missing",
        "A forwarding alias resent our own mail under a new Message-ID; our X-Ledgerdesk-Loop header gives it away")  # fmt: skip
    raw = _our_mail("T-1", "alice@example.org", "Invoice for March is missing")
    add("loop-own-message-id.eml", "Delivered-To: support@example.com\n" + raw.replace("X-Ledgerdesk-Loop: ledgerdesk\n", ""),
        "loop", None, "support+t-1.5747e06b56@example.com", "[T-1] Invoice for March is missing",
        "Our own outgoing mail delivered back to us unchanged (its Message-ID is one we signed), loop header stripped by a relay")  # fmt: skip
    add("forged-from-our-address.eml", """
From: ACME Support <support@example.com>
To: support@example.com
Subject: Your account will be closed
Date: Fri, 7 Mar 2025 14:30:00 +0100
Message-ID: <spoof-4242@spoofer.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Click http://spoofer.example/ to keep your account.
""", "loop", None, "support@example.com", "Your account will be closed",
        "Forged From with our own support address: treated as our mail coming back, never a ticket")  # fmt: skip


def malformed() -> None:
    add("malformed-empty.eml", b"", "quarantined", None, None, "",
        "Empty file (0 bytes): nothing to parse, kept in quarantine")  # fmt: skip
    garbage = bytes((i * 97 + 13) % 256 for i in range(600)) + b"\x00\xff\xfe PK\x03\x04"
    add("malformed-garbage.eml", garbage, "quarantined", None, None, "",
        "Binary garbage with no header lines at all: not an email message")  # fmt: skip
    add("malformed-from-no-address.eml", """
From: Customer Service
To: support@example.com
Subject: Please call me back
Date: Fri, 7 Mar 2025 15:00:00 +0100
Message-ID: <noaddr-1@unknown.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Please call me back on 0123 456789.
""", "quarantined", None, None, "Please call me back",
        "Forged From with a display name and no address, no Sender or Reply-To: no usable sender address")  # fmt: skip
    no_id = """
From: Peter Pan <peter@example.org>
To: support@example.com
Subject: Sent from a script without Message-ID
Date: Fri, 7 Mar 2025 15:30:00 +0100
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Our monitoring script reports that the API returns 502 since 15:00.
"""
    add("malformed-no-message-id.eml", no_id, "opened", "T-19", "peter@example.org",
        "Sent from a script without Message-ID", "No Message-ID header: accepted, deduplicated by content hash",
        visible=("API returns 502",))  # fmt: skip
    add("malformed-invalid-date.eml", """
From: Quinn Bell <quinn@example.org>
To: support@example.com
Subject: Date header is nonsense
Date: Freitag, irgendwann gestern
Message-ID: <baddate-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

This client writes an unparseable Date header; the ticket still opens.
""", "opened", "T-20", "quinn@example.org", "Date header is nonsense",
        "Invalid Date header: the receipt time is used instead",
        visible=("the ticket still opens",))  # fmt: skip
    add("malformed-broken-boundary.eml", """
From: Rita Moreno <rita@example.org>
To: support@example.com
Subject: Broken MIME from an old mailer
Date: Fri, 7 Mar 2025 16:00:00 +0100
Message-ID: <badmime-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="declared-boundary-123"

--other-boundary-456
Content-Type: text/plain; charset=us-ascii

The printer driver download link gives a 404.
--other-boundary-456
Content-Type: application/octet-stream; name="log.txt"

not really base64 ===
""", "opened", "T-21", "rita@example.org", "Broken MIME from an old mailer",
        "Multipart whose parts use another boundary than declared (and no closing line): the body is kept as text; the parser recovers the parts from the boundary actually used",
        visible=("printer driver download link gives a 404",),
        attachments=(("log.txt", "application/octet-stream"),))  # fmt: skip
    add("malformed-no-message-id-again.eml", no_id, "duplicate", "T-19", "peter@example.org",
        "Sent from a script without Message-ID",
        "Byte-identical copy of malformed-no-message-id.eml: same content hash, duplicate")  # fmt: skip
