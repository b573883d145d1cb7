"""The visible part of a reply: quoted history and signatures cut, new text kept."""

from __future__ import annotations

import time

from ledgerdesk.policies.mail.reply_text import split_reply, strip_signature, visible_text

NEW = "The invoice is still missing."


def test_gmail_english_attribution_and_quote_are_cut() -> None:
    text = f"{NEW}\n\nOn Tue, 4 Mar 2025 at 10:12, Support <support@example.com> wrote:\n> Hello\n"
    assert visible_text(text) == NEW


def test_attribution_wrapped_onto_two_lines_is_cut() -> None:
    text = (
        f"{NEW}\n\nOn Tue, Mar 4, 2025 at 10:12 AM Example Support Team <support@example.com>\n"
        "wrote:\n\n> Hello Alice,\n> please try again.\n"
    )
    assert visible_text(text) == NEW


def test_german_attribution_wrapped_inside_the_address_is_cut() -> None:
    text = (
        "Schon wieder gesperrt.\n\nAm Mi., 5. März 2025 um 09:00 Uhr schrieb ACME Support <\n"
        "support@example.com>:\n\n> Hallo\n"
    )
    assert visible_text(text) == "Schon wieder gesperrt."


def test_french_attribution_with_space_before_colon_is_cut() -> None:
    text = "Merci.\n\nLe mar. 4 mars 2025 à 10:12, Support <s@example.com> a écrit :\n> Bonjour\n"
    assert visible_text(text) == "Merci."


def test_spanish_attribution_is_cut() -> None:
    text = "Gracias.\n\nEl mar, 4 mar 2025 a las 10:12, Support (<s@example.com>) escribió:\n"
    text += "> Hola\n"
    assert visible_text(text) == "Gracias."


def test_other_languages_attributions_are_cut() -> None:
    for line in [
        "Il giorno mar 4 mar 2025 alle ore 10:12 Support <s@example.com> ha scritto:",
        "Op di 4 mrt 2025 om 10:12 schreef Support <s@example.com>:",
        "Em ter., 4 de mar. de 2025 às 10:12, Support <s@example.com> escreveu:",
        "Den tis 4 mars 2025 kl 10:12 skrev Support <s@example.com>:",
        "W dniu 4.03.2025 o 10:12, Support <s@example.com> napisał:",
        "2025年3月4日(火) 10:12 Support <s@example.com>:",
    ]:
        assert visible_text(f"{NEW}\n\n{line}\n> old\n") == NEW, line


def test_attribution_above_unquoted_history_is_cut() -> None:
    text = f"{NEW}\n\nOn 4 Mar 2025, at 10:12, Support <s@example.com> wrote:\n\nHello, old text.\n"
    assert visible_text(text) == NEW


def test_english_outlook_block_is_cut_with_its_rule() -> None:
    text = (
        f"{NEW}\n\nRegards\nBob\n\n________________________________\n"
        "From: Support <support@example.com>\nSent: Tuesday, March 4, 2025 10:12 AM\n"
        "To: Bob <bob@example.net>\nSubject: RE: Order\n\nHello Bob,\n"
    )
    assert visible_text(text) == f"{NEW}\n\nRegards\nBob"


def test_german_outlook_block_is_cut() -> None:
    text = (
        "Bitte stornieren.\n\nVon: Support <support@example.com>\nGesendet: Dienstag, 4. März 2025"
        "\nAn: Bob <bob@example.net>\nBetreff: AW: Bestellung\n\nHallo Bob,\n"
    )
    assert visible_text(text) == "Bitte stornieren."


def test_french_outlook_block_with_non_breaking_spaces_is_cut() -> None:
    text = (
        "Merci de l'annuler.\n\nDe\u00a0: Support <support@example.com>\n"
        "Envoyé\u00a0: mardi 4 mars 2025 10:12\nÀ\u00a0: Bob\n"
        "Objet\u00a0: RE: Commande\n\nBonjour\n"
    )
    assert visible_text(text) == "Merci de l'annuler."


def test_spanish_outlook_block_is_cut() -> None:
    text = (
        "Cancelen el pedido.\n\nDe: Support <support@example.com>\nEnviado: martes, 4 de marzo"
        "\nPara: Bob\nAsunto: RE: Pedido\n\nHola,\n"
    )
    assert visible_text(text) == "Cancelen el pedido."


def test_bold_outlook_headers_from_html_are_cut() -> None:
    text = f"{NEW}\n\n*From:* Support <s@example.com>\n*Sent:* Tuesday\n*To:* Bob\n\nOld\n"
    assert visible_text(text) == NEW


def test_one_header_like_line_in_the_text_is_kept() -> None:
    text = "From: the warehouse in Leeds\nthe parcel never arrived."
    assert visible_text(text) == text


def test_original_message_separator_is_cut() -> None:
    text = f"{NEW}\n\n-----Original Message-----\nFrom: Support [mailto:s@example.com]\nOld\n"
    assert visible_text(text) == NEW


def test_localized_original_message_separators_are_cut() -> None:
    for separator in ["----- Ursprüngliche Nachricht -----", "-----Mensaje original-----"]:
        assert visible_text(f"{NEW}\n\n{separator}\nOld text\n") == NEW


def test_trailing_quote_without_attribution_is_cut() -> None:
    assert visible_text(f"{NEW}\n\n> old line\n>> older line\n") == NEW


def test_interleaved_answers_keep_their_questions() -> None:
    text = "> Which version?\n3.2.1\n\n> Which OS?\nDebian 12"
    assert visible_text(text) == text


def test_bottom_posted_answer_is_kept_without_the_quote_above() -> None:
    text = "On Tue, 4 Mar 2025, Support <s@example.com> wrote:\n> Which version?\n\n3.2.1\n"
    assert visible_text(text) == "3.2.1"


def test_dash_signature_is_cut_but_hyphen_lists_stay() -> None:
    text = f"{NEW}\n- first\n- second\n\n-- \nCarol Example\nACME Corp\n"
    assert visible_text(text) == f"{NEW}\n- first\n- second"


def test_signature_below_the_quote_is_cut_with_it() -> None:
    text = f"{NEW}\n\nLe 04/03/2025, Support a écrit :\n> Bonjour\n>\n-- \nClaire\n"
    assert visible_text(text) == NEW


def test_mobile_signatures_are_cut() -> None:
    for signature in [
        "Sent from my iPhone",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Get Outlook for iOS",
        "Sent from my Galaxy",
        "Gesendet von meinem Fairphone",
    ]:
        text = f"{NEW}\n\n{signature}\n\n> On 4 Mar 2025, S <s@example.com> wrote:\n> Hi\n"
        assert visible_text(text) == NEW, signature


def test_forwarded_mail_is_kept_whole() -> None:
    text = "Please look at this.\n\n---------- Forwarded message ---------\nFrom: A <a@x.org>\n"
    text += "Date: Tue, 4 Mar 2025\nSubject: Broken\nTo: b@x.org\n\nThe original problem.\n"
    assert "The original problem." in visible_text(text)


def test_everything_quoted_keeps_the_whole_text() -> None:
    text = "> just a quote\n> nothing else\n"
    assert visible_text(text) == text.strip()


def test_only_a_signature_keeps_the_whole_text() -> None:
    assert visible_text("-- \nCarol").endswith("Carol")


def test_a_non_empty_mail_never_gives_an_empty_text() -> None:
    for text in [" ", "\n\n", ">", "-- ", "Sent from my iPhone", "From: a\nSent: b\nTo: c"]:
        assert visible_text(text) != ""


def test_crlf_line_ends_are_read() -> None:
    text = f"{NEW}\r\n\r\nOn Tue, 4 Mar 2025, S <s@example.com> wrote:\r\n> Hello\r\n"
    assert visible_text(text) == NEW


def test_split_reply_returns_the_cut_history() -> None:
    visible, rest = split_reply(f"{NEW}\n\n-----Original Message-----\nOld\n")
    assert visible == NEW
    assert rest.startswith("-----Original Message-----")


def test_strip_signature_keeps_quotes() -> None:
    assert strip_signature("Hi\n> quoted\n-- \nBob") == "Hi\n> quoted"


def test_extraction_costs_well_under_a_fifth_of_a_millisecond() -> None:
    quoted = "".join(f"> line {i} of an older message with some words\n" for i in range(80))
    text = f"{NEW}\n\nThanks,\nAlice\n\nOn Tue, 4 Mar 2025, S <s@example.com> wrote:\n{quoted}"
    visible_text(text)
    start, rounds = time.perf_counter(), 200
    for _ in range(rounds):
        visible_text(text)
    assert (time.perf_counter() - start) / rounds < 0.0005  # generous for slow CI machines
