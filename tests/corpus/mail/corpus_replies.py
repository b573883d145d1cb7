"""Corpus part 2: more reply shapes: HTML-only Outlook.com, old Outlook, inline, reply-all."""

# ruff: noqa: E501, W291  (mail lines as the clients write them: long, non-ASCII, "-- ")
from __future__ import annotations

from corpus_clients import GMAIL_NEW_EN
from corpus_kit import ID, add, b64, ours, qp

OWA_HTML = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style></head><body dir="ltr"><div class="elementToProof" style="font-family: Aptos, Aptos_EmbeddedFont, Calibri, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">The replacement arrived, <b>thank you</b>. One last question: can I keep the damaged lid?</div><div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000"><b>From:</b> ACME Support &lt;support@example.com&gt;<br><b>Sent:</b> Wednesday, March 5, 2025 3:00 PM<br><b>To:</b> Bob Builder &lt;bob@example.net&gt;<br><b>Subject:</b> [T-2] Order 4711 arrived damaged</font><div>&nbsp;</div></div><div class="BodyFragment"><font size="2"><span style="font-size:11pt;"><div class="PlainText">Hello Bob,<br><br>the replacement ships today.<br></div></span></font></div></body></html>"""


def build() -> None:
    add("outlook-com-html-only-reply.eml", f"""
Received: from AM9PR10MB4321.EURPRD10.PROD.OUTLOOK.COM ([fe80::1]) by AM9PR10MB4321.EURPRD10.PROD.OUTLOOK.COM; Thu, 6 Mar 2025 08:00:01 +0000
From: Bob Builder <bob@example.net>
To: ACME Support <support@example.com>
Subject: Re: [T-2] Order 4711 arrived damaged
Thread-Topic: [T-2] Order 4711 arrived damaged
Thread-Index: AduM3a9zQ1X2n5d8SkWvR0Kq9m1bHgAAbC4wAAHx9ZA=
Date: Thu, 6 Mar 2025 08:00:00 +0000
Message-ID: <AM9PR10MB43215B2E1C0D9F8A7B6C5D4E3F21@AM9PR10MB4321.EURPRD10.PROD.OUTLOOK.COM>
References: {ours("T-2")}
In-Reply-To: {ours("T-2")}
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64
MIME-Version: 1.0

{b64(OWA_HTML.encode())}
""", "replied", "T-2", "bob@example.net", "Re: [T-2] Order 4711 arrived damaged",
        "Outlook.com (OWA) HTML-only reply: no text part; quoted history after #appendonsend / #divRplyFwdMsg",
        visible=("can I keep the damaged lid?",), excludes=("the replacement ships today", "Sent: Wednesday"))  # fmt: skip
    add("outlook-original-message-reply.eml", f"""
From: "Bob Builder" <bob@example.net>
To: <support@example.com>
References: {ours("T-2")}
In-Reply-To: {ours("T-2")}
Subject: RE: [T-2] Order 4711 arrived damaged
Date: Thu, 6 Mar 2025 09:15:22 +0100
Message-ID: <000001db8e6f$3a2b1c00$ae7d5400$@example.net>
MIME-Version: 1.0
Content-Type: text/plain;
	charset="us-ascii"
Content-Transfer-Encoding: 7bit
X-Mailer: Microsoft Outlook 16.0
Thread-Index: AQHbjm8wZ2xq3VbYvUuXk8yJ0m1bHgAAAAAA
Content-Language: de

Never mind the lid question, my colleague already threw it away.

-----Original Message-----
From: ACME Support [mailto:support@example.com]
Sent: Wednesday, March 5, 2025 3:00 PM
To: Bob Builder <bob@example.net>
Subject: [T-2] Order 4711 arrived damaged

Hello Bob,

the replacement ships today.
""", "replied", "T-2", "bob@example.net", "RE: [T-2] Order 4711 arrived damaged",
        "Classic Outlook (MAPI) plain text with -----Original Message----- separator",
        visible=("my colleague already threw it away",), excludes=("Original Message", "replacement ships"))  # fmt: skip
    add("gmail-reply-de.eml", f"""
MIME-Version: 1.0
Date: Thu, 6 Mar 2025 10:01:44 +0100
References: {ours("T-3")}
In-Reply-To: {ours("T-3")}
Message-ID: <CAJm3kPq8Tz5w1Xy2Zb4Vc6Nd7Me9Lf0Kg1Jh2@mail.gmail.com>
Subject: Re: [T-3] Zugang zum Kundenportal gesperrt
From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen.mueller@example.de>
To: ACME Support <support@example.com>
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp('''Heute ist der Zugang schon wieder gesperrt, obwohl ich nichts falsch eingegeben habe.

Am Mi., 5. März 2025 um 09:00 Uhr schrieb ACME Support <
support@example.com>:

> Hallo Herr Müller,
>
> wir haben Ihren Zugang entsperrt.
>
''')}""", "replied", "T-3", "juergen.mueller@example.de", "Re: [T-3] Zugang zum Kundenportal gesperrt",
        "Gmail German reply: 'Am … schrieb …:' attribution wrapped inside the address",
        visible=("schon wieder gesperrt",), excludes=("Ihren Zugang entsperrt", "schrieb"))  # fmt: skip
    add("thunderbird-reply-inline-en.eml", f"""
Message-ID: <7e9a1b3c-5d7f-4a2b-9c4d-6e8f0a2b4c6d@example.org>
Date: Thu, 6 Mar 2025 11:30:00 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: [T-1] Invoice for March is missing
To: ACME Support <support@example.com>
References: <CAKx7dVq0gm41LrN8sV1q2p3Wz9aLx=Yt4mB@mail.gmail.com> {ours("T-1")}
From: Alice Example <alice@example.org>
In-Reply-To: {ours("T-1")}
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

On 05/03/2025 16:00, ACME Support wrote:
> Which e-mail address should receive future invoices?

billing@example.org, please.

> And should they go out as PDF or as paper?

PDF only.

Alice
""", "replied", "T-1", "alice@example.org", "Re: [T-1] Invoice for March is missing",
        "Thunderbird interleaved (inline) answers: the quoted questions stay, because the answers need them",
        visible=("billing@example.org, please.", "PDF only.", "> And should they go out as PDF"))  # fmt: skip
    add("signature-dash-new.eml", """
MIME-Version: 1.0
Date: Thu, 6 Mar 2025 12:10:00 +0100
Message-ID: <CAH2g3r4a5c6e7Sig8Dash9Zx0Yw1Vu2@mail.gmail.com>
Subject: Export to CSV fails
From: Grace Hopper <grace@example.org>
To: support@example.com
Content-Type: text/plain; charset="UTF-8"

The CSV export stops at 10,000 rows. Steps:
- open Reports
- choose "All tickets"
- press Export

-- 
Grace Hopper
Head of Operations, Example Org
+1 555 0100
""", "opened", "T-7", "grace@example.org", "Export to CSV fails",
        "New mail with a '-- ' signature after a hyphen list: the list stays, the signature goes",
        visible=("- press Export", "stops at 10,000 rows"), excludes=("Head of Operations",))  # fmt: skip
    reply_all = f"""
Delivered-To: {{delivered}}
MIME-Version: 1.0
Date: Thu, 6 Mar 2025 13:00:00 +0100
References: {ours("T-1")}
In-Reply-To: {ours("T-1")}
Message-ID: <CAKx7dVs3ReplyAll0Two1Addr2Esses3@mail.gmail.com>
Subject: Re: [T-1] Invoice for March is missing
From: Alice Example <alice@example.org>
To: ACME Support <{ID.reply_address("T-1")}>
Cc: support@example.com, Carol Accountant <carol@example.org>
Content-Type: text/plain; charset="UTF-8"

Adding Carol from accounting, she will handle invoices from now on.
"""
    add("reply-all-copy-1.eml", reply_all.replace("{delivered}", ID.reply_address("T-1")),
        "replied", "T-1", "alice@example.org", "Re: [T-1] Invoice for March is missing",
        "Reply-all with two of our addresses (plus address in To, plain in Cc): one message; Carol becomes a participant",
        visible=("Adding Carol from accounting",))  # fmt: skip
    add("reply-all-copy-2.eml", reply_all.replace("{delivered}", "support@example.com"),
        "duplicate", "T-1", "alice@example.org", "Re: [T-1] Invoice for March is missing",
        "The second delivered copy of the same reply-all (same Message-ID, other Delivered-To): duplicate")  # fmt: skip
    add("duplicate-message-id.eml",
        "Received: from mx2.example.com (mx2.example.com [192.0.2.25])\n\tby imap.example.com; Tue, 4 Mar 2025 09:58:20 +0100\n" + GMAIL_NEW_EN.lstrip("\n"),
        "duplicate", "T-1", "alice@example.org", "Invoice for March is missing",
        "gmail-new-en.eml again through another relay (extra Received header, same Message-ID): duplicate of T-1's first message")  # fmt: skip
