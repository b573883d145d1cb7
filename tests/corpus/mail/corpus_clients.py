"""Corpus part 1: people writing from real clients: new tickets, replies, charsets, attachments."""

# ruff: noqa: E501, W291  (mail lines as the clients write them: long, non-ASCII, "-- ")
from __future__ import annotations

from email.header import Header

from corpus_kit import ID, PDF, PNG, add, b64, ours, qp

OUTLOOK_NEW_TEXT = qp(
    "Hello,\n\nthe parcel for order 4711 arrived today with a broken corner and the lid is cracked. Can you send a replacement?\n\nRegards\nBob\n",
    "ascii",
)
OUTLOOK_NEW_HTML = qp(
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=us-ascii"><style><!-- p.MsoNormal {margin:0cm;} --></style></head><body lang="EN-GB"><div class="WordSection1"><p class="MsoNormal">Hello,<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p><p class="MsoNormal">the parcel for order 4711 arrived today with a broken corner and the lid is cracked. Can you send a replacement?<o:p></o:p></p><p class="MsoNormal">Regards<o:p></o:p></p><p class="MsoNormal">Bob<o:p></o:p></p></div></body></html>\n',
    "ascii",
)
APPLE_NEW_DE = qp(
    "Guten Tag,\n\nseit heute Morgen ist mein Zugang zum Kundenportal gesperrt. Ich habe das Passwort dreimal falsch eingegeben. Können Sie ihn bitte wieder freischalten?\n\nMit freundlichen Grüßen\nJürgen Müller\n"
)

GMAIL_NEW_EN = """
MIME-Version: 1.0
Date: Tue, 4 Mar 2025 09:58:11 +0100
Message-ID: <CAKx7dVq0gm41LrN8sV1q2p3Wz9aLx=Yt4mB@mail.gmail.com>
Subject: Invoice for March is missing
From: Alice Example <alice@example.org>
To: support@example.com
Content-Type: multipart/alternative; boundary="000000000000a1b2c3062f9d4e01"

--000000000000a1b2c3062f9d4e01
Content-Type: text/plain; charset="UTF-8"

Hi team,

the invoice for March is still missing from my account. Could you resend it?

Thanks,
Alice

--000000000000a1b2c3062f9d4e01
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">Hi team,<div><br></div><div>the invoice for March is still missing from my account. Could you resend it?</div><div><br></div><div>Thanks,</div><div>Alice</div></div>

--000000000000a1b2c3062f9d4e01--
"""


def build() -> None:
    new_tickets()
    replies()
    charsets()
    attachments()


def new_tickets() -> None:
    add("gmail-new-en.eml", GMAIL_NEW_EN, "opened", "T-1", "alice@example.org",
        "Invoice for March is missing", "Gmail, new mail, multipart/alternative: opens the first ticket",
        visible=("the invoice for March is still missing",))  # fmt: skip
    add("outlook-new-en.eml", f"""
From: Bob Builder <bob@example.net>
To: "support@example.com" <support@example.com>
Subject: Order 4711 arrived damaged
Thread-Topic: Order 4711 arrived damaged
Thread-Index: AduM3a9zQ1X2n5d8SkWvR0Kq9m1bHg==
Date: Tue, 4 Mar 2025 09:01:44 +0000
Message-ID: <DB9PR05MB8171C3E3F2A0D1B7A4E8C2D5A7E12@DB9PR05MB8171.eurprd05.prod.outlook.com>
Accept-Language: en-GB, en-US
Content-Language: en-US
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: multipart/alternative;
	boundary="_000_DB9PR05MB8171C3E3F2A0D1B7A4E8C2D5A7E12DB9PR05MB8171eurp_"
MIME-Version: 1.0

--_000_DB9PR05MB8171C3E3F2A0D1B7A4E8C2D5A7E12DB9PR05MB8171eurp_
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

{OUTLOOK_NEW_TEXT}
--_000_DB9PR05MB8171C3E3F2A0D1B7A4E8C2D5A7E12DB9PR05MB8171eurp_
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

{OUTLOOK_NEW_HTML}
--_000_DB9PR05MB8171C3E3F2A0D1B7A4E8C2D5A7E12DB9PR05MB8171eurp_--
""", "opened", "T-2", "bob@example.net", "Order 4711 arrived damaged",
        "Outlook desktop (Exchange Online), new mail with Thread-Index: opens a ticket",
        visible=("arrived today with a broken corner",))  # fmt: skip
    add("apple-mail-new-de.eml", f"""
From: =?utf-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen.mueller@example.de>
Content-Type: text/plain;
	charset=utf-8
Content-Transfer-Encoding: quoted-printable
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.400.131.1.6\\))
Subject: =?utf-8?Q?Zugang_zum_Kundenportal_gesperrt?=
Message-Id: <5E7A1C2B-94D3-4F0E-8A61-3B2C9D8E7F10@example.de>
Date: Tue, 4 Mar 2025 10:05:37 +0100
To: support@example.com
X-Mailer: Apple Mail (2.3826.400.131.1.6)

{APPLE_NEW_DE}""", "opened", "T-3", "juergen.mueller@example.de",
        "Zugang zum Kundenportal gesperrt",
        "Apple Mail, German, quoted-printable UTF-8, RFC 2047 sender name; LF line ends as Apple Mail stores them",
        visible=("mein Zugang zum Kundenportal gesperrt", "Grüßen"), crlf=False)  # fmt: skip
    add("thunderbird-new-fr.eml", """
Message-ID: <8c2d0a4e-6b1f-4d7e-9a3c-2f5b7e1d9c40@example.fr>
Date: Tue, 4 Mar 2025 10:20:03 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: fr
To: support@example.com
From: Claire Dubois <claire@example.fr>
Subject: =?UTF-8?Q?Probl=C3=A8me_de_facturation?=
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Bonjour,

j'ai été facturée deux fois pour l'abonnement de février. Pourriez-vous 
rembourser le second prélèvement ?

Cordialement,
Claire Dubois
""", "opened", "T-4", "claire@example.fr", "Problème de facturation",
        "Thunderbird, French, 8bit UTF-8 with format=flowed soft breaks",
        visible=("facturée deux fois",))  # fmt: skip
    add("iphone-new-es.eml", """
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable
From: Diego Ruiz <diego@example.es>
Mime-Version: 1.0 (1.0)
Date: Tue, 4 Mar 2025 10:31:12 +0100
Subject: No puedo descargar la app
Message-Id: <B2C4E6F8-1A3B-4C5D-8E9F-0A1B2C3D4E5F@example.es>
To: support@example.com
X-Mailer: iPhone Mail (22D63)

Hola,

la aplicaci=C3=B3n se cierra al abrirla en mi iPhone 15 desde la =C3=BAltima=
 actualizaci=C3=B3n.

Enviado desde mi iPhone
""", "opened", "T-5", "diego@example.es", "No puedo descargar la app",
        "iPhone Mail, Spanish, soft line breaks in quoted-printable and the mobile signature",
        visible=("se cierra al abrirla",), excludes=("Enviado desde mi iPhone",), crlf=False)  # fmt: skip


def replies() -> None:
    gmail_quote = '<br><div class=3D"gmail_quote gmail_quote_container">'
    add("gmail-reply-en-wrapped.eml", f"""
MIME-Version: 1.0
Date: Wed, 5 Mar 2025 08:14:02 +0100
References: <CAKx7dVq0gm41LrN8sV1q2p3Wz9aLx=Yt4mB@mail.gmail.com> {ours("T-1")}
In-Reply-To: {ours("T-1")}
Message-ID: <CAKx7dVr9hT2q5pLmN3b8c1d0eF7gH6iJ5kL4m@mail.gmail.com>
Subject: Re: [T-1] Invoice for March is missing
From: Alice Example <alice@example.org>
To: ACME Support <{ID.reply_address("T-1")}>
Content-Type: multipart/alternative; boundary="000000000000f4e5d6062fa1b203"

--000000000000f4e5d6062fa1b203
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Got it, the PDF opens fine now. Thank you!

On Tue, Mar 4, 2025 at 11:02=E2=80=AFAM ACME Support <{ID.reply_address("T-1")}>
wrote:

> Hello Alice,
>
> we have sent the March invoice again.
>
> Kind regards,
> ACME Support
>

--000000000000f4e5d6062fa1b203
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">Got it, the PDF opens fine now. Thank you!</div>{gmail_quote}<div dir=3D"ltr" class=3D"gmail_attr">On Tue, Mar 4, 2025 at 11:02=E2=80=AFAM ACME Support &lt;<a href=3D"mailto:{ID.reply_address("T-1")}">{ID.reply_address("T-1")}</a>&gt; wrote:<br></div><blockquote class=3D"gmail_quote" style=3D"margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">Hello Alice,<br><br>we have sent the March invoice again.<br><br>Kind regards,<br>ACME Support</blockquote></div>

--000000000000f4e5d6062fa1b203--
""", "replied", "T-1", "alice@example.org", "Re: [T-1] Invoice for March is missing",
        "Gmail reply with In-Reply-To our Message-ID; the attribution line is wrapped onto two lines",
        visible=("the PDF opens fine now",), excludes=("we have sent the March invoice again", "wrote:"))  # fmt: skip
    add("outlook-reply-en.eml", f"""
From: Bob Builder <bob@example.net>
To: ACME Support <support@example.com>
Subject: RE: [T-2] Order 4711 arrived damaged
Thread-Topic: [T-2] Order 4711 arrived damaged
Thread-Index: AduM3a9zQ1X2n5d8SkWvR0Kq9m1bHgAAbC4w
Date: Wed, 5 Mar 2025 07:40:19 +0000
Message-ID: <DB9PR05MB81716D0E1F2A3B4C5D6E7F80A9B12@DB9PR05MB8171.eurprd05.prod.outlook.com>
In-Reply-To: {ours("T-2")}
Accept-Language: en-GB, en-US
Content-Language: en-US
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

{qp('''Photos are attached to my first mail; the box number is 88-1204.

Regards
Bob

________________________________
From: ACME Support <support@example.com>
Sent: Tuesday, March 4, 2025 2:10 PM
To: Bob Builder <bob@example.net>
Subject: [T-2] Order 4711 arrived damaged

Hello Bob,

sorry to hear that. Could you send us the number printed on the box?

ACME Support
''', "ascii")}""", "replied", "T-2", "bob@example.net", "RE: [T-2] Order 4711 arrived damaged",
        "Outlook desktop reply: In-Reply-To our Message-ID and Thread-Index, no References; From/Sent/To/Subject block",
        visible=("the box number is 88-1204",), excludes=("Could you send us the number", "Sent: Tuesday"))  # fmt: skip
    add("apple-mail-followup-de.eml", f"""
From: =?utf-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen.mueller@example.de>
Content-Type: text/plain;
	charset=utf-8
Content-Transfer-Encoding: quoted-printable
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.400.131.1.6\\))
Subject: =?utf-8?Q?Re=3A_Zugang_zum_Kundenportal_gesperrt?=
Date: Tue, 4 Mar 2025 10:40:02 +0100
References: <5E7A1C2B-94D3-4F0E-8A61-3B2C9D8E7F10@example.de>
To: support@example.com
In-Reply-To: <5E7A1C2B-94D3-4F0E-8A61-3B2C9D8E7F10@example.de>
Message-Id: <0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0@example.de>
X-Mailer: Apple Mail (2.3826.400.131.1.6)

{qp('''Nachtrag: mein Benutzername ist jmueller.

> Am 04.03.2025 um 10:05 schrieb J=C3=BCrgen M=C3=BCller <juergen.mueller@example.de>:
>=20
> Guten Tag,
>=20
> seit heute Morgen ist mein Zugang zum Kundenportal gesperrt.
'''.replace("=C3=BC", "ü").replace("=20", " "))}""", "replied", "T-3", "juergen.mueller@example.de",
        "Re: Zugang zum Kundenportal gesperrt",
        "Apple Mail follow-up that threads by In-Reply-To/References to the customer's own earlier inbound Message-ID (not ours)",
        visible=("mein Benutzername ist jmueller",), excludes=("seit heute Morgen", "schrieb"), crlf=False)  # fmt: skip
    add("thunderbird-reply-fr-plus-address.eml", f"""
Message-ID: <1d3f5a7c-9e0b-4c2d-8f6a-7b9c1d3e5f70@example.fr>
Date: Wed, 5 Mar 2025 09:02:41 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: =?UTF-8?Q?Re=3A_Probl=C3=A8me_de_facturation?=
Content-Language: fr
To: ACME Support <{ID.reply_address("T-4")}>
From: Claire Dubois <claire@example.fr>
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Merci, le remboursement apparaît bien sur mon relevé.

Le 04/03/2025 à 15:12, ACME Support a écrit :
> Bonjour Claire,
>
> nous avons annulé le second prélèvement.
>
-- 
Claire Dubois
Comptabilité, Dubois SARL
""", "replied", "T-4", "claire@example.fr", "Re: Problème de facturation",
        "Thunderbird reply with no In-Reply-To/References, threaded only by the signed plus address in To",
        visible=("le remboursement apparaît bien",), excludes=("nous avons annulé", "Comptabilité"))  # fmt: skip
    add("iphone-reply-es-subject-token.eml", """
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable
From: Diego Ruiz <diego@example.es>
Mime-Version: 1.0 (1.0)
Date: Wed, 5 Mar 2025 11:45:30 +0100
Subject: Re: [T-5] No puedo descargar la app
Message-Id: <C3D5E7F9-2B4C-5D6E-9F0A-1B2C3D4E5F60@example.es>
To: support@example.com
X-Mailer: iPhone Mail (22D63)

Ya funciona con la versi=C3=B3n 2.4, gracias.

Enviado desde mi iPhone

> El 4 mar 2025, a las 16:20, ACME Support <support@example.com> escribi=C3=
=B3:
>=20
> =EF=BB=BFHola Diego, por favor actualice a la versi=C3=B3n 2.4.
""", "replied", "T-5", "diego@example.es", "Re: [T-5] No puedo descargar la app",
        "iPhone reply with no references and the plain support address: threads by the [T-5] subject token from the requester",
        visible=("Ya funciona con la versión 2.4",), excludes=("Enviado desde mi iPhone", "por favor actualice"), crlf=False)  # fmt: skip
    add("subject-token-stranger.eml", """
MIME-Version: 1.0
Date: Wed, 5 Mar 2025 12:00:00 +0100
Message-ID: <CAF9s8d7f6g5h4j3k2l1QwErTyUiOp@mail.gmail.com>
Subject: Re: [T-1] Invoice for March is missing
From: Mallory Stranger <mallory@example.com>
To: support@example.com
Content-Type: text/plain; charset="UTF-8"

Please send the invoice to my address instead.
""", "opened", "T-6", "mallory@example.com", "Re: [T-1] Invoice for March is missing",
        "A [T-1] subject token from someone who is not a participant of T-1: opens a new ticket",
        visible=("send the invoice to my address",))  # fmt: skip
    outlook_reply("outlook-reply-de.eml", "T-3", "juergen.mueller@example.de", "=?utf-8?B?SsO8cmdlbiBNw7xsbGVy?=",
                  "AW: [T-3] Zugang zum Kundenportal gesperrt", "Danke, die Anmeldung klappt wieder.",
                  "Von: ACME Support <support@example.com>\nGesendet: Dienstag, 4. März 2025 14:10\nAn: Jürgen Müller <juergen.mueller@example.de>\nBetreff: [T-3] Zugang zum Kundenportal gesperrt\n\nHallo Herr Müller,\n\nwir haben Ihren Zugang entsperrt.\n",
                  "German Outlook reply: Von:/Gesendet:/An:/Betreff: block", "Zugang entsperrt")  # fmt: skip
    outlook_reply("outlook-reply-fr.eml", "T-4", "claire@example.fr", "Claire Dubois",
                  "RE: [T-4] Problème de facturation", "Pouvez-vous aussi m'envoyer l'avoir en PDF ?",
                  "De : ACME Support <support@example.com>\nEnvoyé : mardi 4 mars 2025 15:12\nÀ : Claire Dubois <claire@example.fr>\nObjet : [T-4] Problème de facturation\n\nBonjour Claire,\n\nnous avons annulé le second prélèvement.\n",
                  "French Outlook reply: De :/Envoyé :/À :/Objet : block (non-breaking spaces before the colons)", "nous avons annulé")  # fmt: skip
    outlook_reply("outlook-reply-es.eml", "T-5", "diego@example.es", "Diego Ruiz",
                  "RE: [T-5] No puedo descargar la app", "Perfecto, ya pueden cerrar la incidencia.",
                  "De: ACME Support <support@example.com>\nEnviado: martes, 4 de marzo de 2025 16:20\nPara: Diego Ruiz <diego@example.es>\nAsunto: [T-5] No puedo descargar la app\n\nHola Diego, por favor actualice a la versión 2.4.\n",
                  "Spanish Outlook reply: De:/Enviado:/Para:/Asunto: block", "por favor actualice")  # fmt: skip
    more_replies()


def outlook_reply(file: str, ticket: str, address: str, name: str, subject: str, new: str,
                  quoted: str, why: str, gone: str) -> None:  # fmt: skip
    quoted = quoted.replace("De : ", "De\u00a0: ").replace("Envoyé : ", "Envoyé\u00a0: ")
    quoted = quoted.replace("À : ", "À\u00a0: ").replace("Objet : ", "Objet\u00a0: ")
    n = int(ticket[2:])
    body = b64((new + "\n\n" + "_" * 32 + "\n" + quoted).replace("\n", "\r\n").encode())
    add(file, f"""
From: {name} <{address}>
To: ACME Support <support@example.com>
Subject: {Header(subject, "utf-8").encode() if not subject.isascii() else subject}
Thread-Topic: {Header(subject.split(": ", 1)[1], "utf-8").encode()}
Thread-Index: AduN{n}b0pQ2rS3tU4vW5xY6zA7bC8dA==
Date: Wed, 5 Mar 2025 0{n}:12:00 +0000
Message-ID: <AM0PR10MB{n}9F8E7D6C5B4A3928170@AM0PR10MB{n}.EURPRD10.PROD.OUTLOOK.COM>
In-Reply-To: {ours(ticket)}
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64
MIME-Version: 1.0

{body}
""", "replied", ticket, address, subject, why + "; threads by In-Reply-To our Message-ID",
        visible=(new,), excludes=(gone,))  # fmt: skip


def more_replies() -> None:
    from corpus_replies import build as build_more

    build_more()


def charsets() -> None:
    from corpus_charsets import build as build_charsets

    build_charsets()


def attachments() -> None:
    from corpus_charsets import build_attachments

    build_attachments(PDF, PNG)
