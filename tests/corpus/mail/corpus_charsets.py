"""Corpus part 3: charsets and encodings, and attachments of every common kind."""

# ruff: noqa: E501, RUF001  (mail lines as the clients write them: long, non-ASCII, "-- ")
from __future__ import annotations

import base64
from email.header import Header

from corpus_kit import add, b64, qp

LATIN1_BODY = qp(
    "Bonjour,\n\nje souhaite résilier mon abonnement à la fin du mois. Merci de me confirmer la résiliation.\n\nFrançois\n",
    "iso-8859-1",
)


def build() -> None:
    add("charset-iso-8859-1.eml", f"""
Return-Path: <francois@example.fr>
Message-ID: <20250306141500.GA4242@example.fr>
Date: Thu, 6 Mar 2025 14:15:00 +0100
From: =?iso-8859-1?Q?Fran=E7ois_Lef=E8vre?= <francois@example.fr>
To: support@example.com
Subject: =?iso-8859-1?Q?R=E9siliation_de_l'abonnement?=
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Disposition: inline
Content-Transfer-Encoding: quoted-printable
User-Agent: Mutt/2.2.12 (2023-09-09)

{LATIN1_BODY}""", "opened", "T-8", "francois@example.fr", "Résiliation de l'abonnement",
        "Mutt, ISO-8859-1 body (quoted-printable) and ISO-8859-1 encoded-word subject and name",
        visible=("je souhaite résilier mon abonnement",), crlf=False)  # fmt: skip
    add("charset-windows-1252.eml", """
From: "Hannah O'Neil" <hannah@example.com>
To: <support@example.com>
Subject: Price quote =?windows-1252?Q?=96_=8020_discount?=
Date: Thu, 6 Mar 2025 14:30:00 +0000
Message-ID: <000a01db8e8e$11223344$55667788$@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset="windows-1252"
Content-Transfer-Encoding: 8bit
X-Mailer: Microsoft Outlook 15.0

You promised a \u201cloyalty discount\u201d of \u20ac20 \u2013 it isn\u2019t on the quote.

Hannah
""", "opened", "T-9", "hannah@example.com", "Price quote – €20 discount",
        "Windows-1252 8bit body with curly quotes, euro sign and en dash (bytes 0x80-0x9F)",
        visible=("“loyalty discount” of €20 – it isn’t on the quote",), charset="cp1252")  # fmt: skip
    add("charset-iso-2022-jp.eml", """
Date: Thu, 6 Mar 2025 23:40:00 +0900
From: """ + Header("山田 太郎", "iso-2022-jp").encode() + """ <taro@example.jp>
To: support@example.com
Subject: """ + Header("請求書の件", "iso-2022-jp").encode() + """
Message-Id: <20250306234000.7A1B.8C2D3E4F@example.jp>
MIME-Version: 1.0
Content-Type: text/plain; charset="ISO-2022-JP"
Content-Transfer-Encoding: 7bit
X-Mailer: Becky! ver. 2.81.04

""" + "お世話になっております。\n三月分の請求書がまだ届いておりません。\n\n山田太郎\n".encode("iso-2022-jp").decode("ascii"),
        "opened", "T-10", "taro@example.jp", "請求書の件",
        "Becky!, Japanese in ISO-2022-JP (7bit escape sequences) in body, subject and name",
        visible=("三月分の請求書がまだ届いておりません",))  # fmt: skip
    add("charset-koi8-r.eml", """
Return-Path: <ivan@example.ru>
From: """ + Header("Иван Петров", "koi8-r").encode() + """ <ivan@example.ru>
To: support@example.com
Subject: """ + Header("Не работает вход", "koi8-r").encode() + """
Date: Fri, 7 Mar 2025 08:00:00 +0300
Message-ID: <1741323600.123456@example.ru>
MIME-Version: 1.0
Content-Type: text/plain; charset=koi8-r
Content-Transfer-Encoding: 8bit

Здравствуйте!

Не работает вход в личный кабинет.

Иван
""", "opened", "T-11", "ivan@example.ru", "Не работает вход",
        "KOI8-R 8bit body and KOI8-R encoded-word subject and name",
        visible=("Не работает вход в личный кабинет",), charset="koi8-r", crlf=False)  # fmt: skip
    add("charset-utf8-encoded-words.eml", """
MIME-Version: 1.0
Date: Fri, 7 Mar 2025 09:00:00 +0100
Message-ID: <CAE1w2o3r4d5s6UtF8Ew9Qx0Zy@mail.gmail.com>
Subject: =?UTF-8?Q?Z=C3=BCrich_office_=E2=80=94_Wi=2DFi_?=
 =?UTF-8?B?""" + base64.b64encode("down 🔬".encode()).decode() + """?=
From: =?UTF-8?B?Wm/DqyBTY2h3YXJ6?= <zoe@example.org>
To: =?UTF-8?Q?ACME_S=C3=BCpport?= <support@example.com>
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

""" + b64("The guest Wi-Fi in the Zürich office has been down since 8:00 🙁\n".encode()),
        "opened", "T-12", "zoe@example.org", "Zürich office — Wi-Fi down 🔬",
        "UTF-8 encoded words: Q and B mixed, folded over two lines (joined without the space), emoji, base64 body",
        visible=("Zürich office has been down",))  # fmt: skip
    add("charset-broken-label.eml", """
From: Kim Park <kim@example.org>
To: support@example.com
Subject: Password reset link expired
Date: Fri, 7 Mar 2025 09:30:00 +0100
Message-ID: <20250307093000.5F3A@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8lol"
Content-Transfer-Encoding: 8bit

The password reset link expired before I could use it – please send a new one.
""", "opened", "T-13", "kim@example.org", "Password reset link expired",
        "Unknown charset label 'utf-8lol' on UTF-8 bytes: decoded by fallback, not quarantined",
        visible=("password reset link expired before I could use it",))  # fmt: skip
    add("charset-raw-utf8-headers.eml", """
From: Lars Åström <lars@example.se>
To: support@example.com
Subject: Fel på fakturan för mars
Date: Fri, 7 Mar 2025 10:00:00 +0100
Message-ID: <20250307100000.1A2B@example.se>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hej, beloppet på fakturan är fel.
""", "opened", "T-14", "lars@example.se", "Fel på fakturan för mars",
        "Raw 8-bit UTF-8 in Subject and From (no encoded words, as some webmailers send, RFC 6532 style)",
        visible=("beloppet på fakturan är fel",))  # fmt: skip


def build_attachments(pdf: bytes, png: bytes) -> None:
    add("attachment-pdf.eml", f"""
MIME-Version: 1.0
Date: Fri, 7 Mar 2025 11:00:00 +0100
Message-ID: <CAM4r1a5Pdf6Att7ach8Ment9@mail.gmail.com>
Subject: Wrong VAT on invoice 2025-03
From: Maria Garcia <maria@example.com>
To: support@example.com
Content-Type: multipart/mixed; boundary="000000000000c0ffee062fb1a2b3"

--000000000000c0ffee062fb1a2b3
Content-Type: multipart/alternative; boundary="000000000000beef00062fb1a2b1"

--000000000000beef00062fb1a2b1
Content-Type: text/plain; charset="UTF-8"

The attached invoice shows 19% VAT, but we are exempt.

--000000000000beef00062fb1a2b1
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">The attached invoice shows 19% VAT, but we are exempt.</div>

--000000000000beef00062fb1a2b1--
--000000000000c0ffee062fb1a2b3
Content-Type: application/pdf; name="invoice-2025-03.pdf"
Content-Disposition: attachment; filename="invoice-2025-03.pdf"
Content-Transfer-Encoding: base64
Content-ID: <f_m7x1a2b30>
X-Attachment-Id: f_m7x1a2b30

{b64(pdf)}
--000000000000c0ffee062fb1a2b3--
""", "opened", "T-15", "maria@example.com", "Wrong VAT on invoice 2025-03",
        "Gmail with a PDF attachment (multipart/mixed around multipart/alternative)",
        visible=("shows 19% VAT",), attachments=(("invoice-2025-03.pdf", "application/pdf"),))  # fmt: skip
    add("attachment-inline-cid.eml", f"""
From: Nora Lind <nora@example.org>
Content-Type: multipart/alternative;
	boundary="Apple-Mail=_4F2A9C1E-7B3D-4E5F-A6B7-C8D9E0F1A2B3"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.400.131.1.6\\))
Subject: Error message on checkout
Message-Id: <9A8B7C6D-5E4F-4A3B-2C1D-0E9F8A7B6C5D@example.org>
Date: Fri, 7 Mar 2025 11:30:00 +0100
To: support@example.com
X-Mailer: Apple Mail (2.3826.400.131.1.6)

--Apple-Mail=_4F2A9C1E-7B3D-4E5F-A6B7-C8D9E0F1A2B3
Content-Transfer-Encoding: 7bit
Content-Type: text/plain;
	charset=us-ascii

This is what I see when I press Pay:

[image: screenshot.png]

--Apple-Mail=_4F2A9C1E-7B3D-4E5F-A6B7-C8D9E0F1A2B3
Content-Type: multipart/related;
	type="text/html";
	boundary="Apple-Mail=_7C8D9E0F-1A2B-4C3D-8E4F-5A6B7C8D9E0F"

--Apple-Mail=_7C8D9E0F-1A2B-4C3D-8E4F-5A6B7C8D9E0F
Content-Transfer-Encoding: 7bit
Content-Type: text/html;
	charset=us-ascii

<html><head><meta http-equiv="content-type" content="text/html; charset=us-ascii"></head><body style="overflow-wrap: break-word;">This is what I see when I press Pay:<div><br></div><div><img apple-inline="yes" id="A1B2C3D4" src="cid:E6A1B2C3-D4E5-4F60-8172-93A4B5C6D7E8" alt="screenshot.png"></div></body></html>
--Apple-Mail=_7C8D9E0F-1A2B-4C3D-8E4F-5A6B7C8D9E0F
Content-Transfer-Encoding: base64
Content-Disposition: inline;
	filename=screenshot.png
Content-Type: image/png;
	x-unix-mode=0644;
	name="screenshot.png"
Content-Id: <E6A1B2C3-D4E5-4F60-8172-93A4B5C6D7E8>

{b64(png)}
--Apple-Mail=_7C8D9E0F-1A2B-4C3D-8E4F-5A6B7C8D9E0F--

--Apple-Mail=_4F2A9C1E-7B3D-4E5F-A6B7-C8D9E0F1A2B3--
""", "opened", "T-16", "nora@example.org", "Error message on checkout",
        "Apple Mail HTML with an inline image referenced by cid: inside multipart/related",
        visible=("when I press Pay",), attachments=(("screenshot.png", "image/png"),), crlf=False)  # fmt: skip
    inner = """From: "PayPaI Security" <security@paypa1.example>
To: oscar@example.org
Subject: Your account is limited
Date: Thu, 6 Mar 2025 22:00:00 +0000
Message-ID: <phish-20250306@paypa1.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Click here to restore access: http://paypa1.example/login
"""
    add("attachment-forwarded-eml.eml", f"""
Message-ID: <4b6d8f0a-2c4e-4a6b-8d0f-1a3c5e7b9d11@example.org>
Date: Fri, 7 Mar 2025 12:00:00 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: en-US
To: support@example.com
From: Oscar Wilde <oscar@example.org>
Subject: Fwd: Your account is limited
Content-Type: multipart/mixed; boundary="------------0aB1cD2eF3gH4iJ5kL6mN7oP"

This is a multi-part message in MIME format.
--------------0aB1cD2eF3gH4iJ5kL6mN7oP
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

Is this mail really from you? I attached it as I received it.

--------------0aB1cD2eF3gH4iJ5kL6mN7oP
Content-Type: message/rfc822; name="Your account is limited.eml"
Content-Disposition: attachment; filename="Your account is limited.eml"

{inner}
--------------0aB1cD2eF3gH4iJ5kL6mN7oP--
""", "opened", "T-17", "oscar@example.org", "Fwd: Your account is limited",
        "Thunderbird 'forward as attachment': a message/rfc822 part kept as a .eml attachment, its text not mixed into ours",
        visible=("Is this mail really from you?",), excludes=("Click here to restore access",),
        attachments=(("Your account is limited.eml", "message/rfc822"),))  # fmt: skip
    name = "Rechnung März 2025.pdf"
    add("attachment-rfc2231-filename.eml", f"""
From: =?utf-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen.mueller@example.de>
To: support@example.com
Subject: {Header("Rechnung für März", "utf-8").encode()}
Date: Fri, 7 Mar 2025 12:30:00 +0100
Message-ID: <20250307123000.9C8B7A@example.de>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=-=-=_rfc2231_boundary_=-=-="

--=-=-=_rfc2231_boundary_=-=-=
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Anbei die Rechnung, bitte prüfen Sie den Betrag.

--=-=-=_rfc2231_boundary_=-=-=
Content-Type: application/pdf;
 name*=utf-8''Rechnung%20M%C3%A4rz%202025.pdf
Content-Disposition: attachment;
 filename*0*=utf-8''Rechnung%20M%C3%A4;
 filename*1*=rz%202025.pdf
Content-Transfer-Encoding: base64

{b64(pdf)}
--=-=-=_rfc2231_boundary_=-=-=--
""", "opened", "T-18", "juergen.mueller@example.de", "Rechnung für März",
        "Attachment name in RFC 2231 encoding, split into continuations (filename*0*, filename*1*)",
        visible=("bitte prüfen Sie den Betrag",), attachments=((name, "application/pdf"),))  # fmt: skip
