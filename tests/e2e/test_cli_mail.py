"""`ledgerdesk mail …` in a subprocess: the MTA pipe contract, JSON results, the quarantine."""

from __future__ import annotations

import json
import subprocess

from ledgerdesk.tests.e2e.shell import LEDGERDESK, one_line_error
from ledgerdesk.tests.integration.mail.mails import mail


def lines(result):  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_ingest_prints_one_json_object_per_message_and_tickets_show_has_the_text(
    ledgerdesk, tmp_path
):
    first = tmp_path / "first.eml"
    first.write_bytes(mail(message_id="<cli1@customer.test>", cc="dan@customer.test"))
    reply = tmp_path / "reply.eml"
    reply.write_bytes(
        mail(
            message_id="<cli2@customer.test>",
            in_reply_to="<cli1@customer.test>",
            text="Still broken.\n\nOn Mon, Nov 2, 2026 at 9:00 AM Carol wrote:\n> the printer",
        )
    )
    result = ledgerdesk("mail", "ingest", "--json", str(first), str(reply), str(first))
    assert [r["outcome"] for r in lines(result)] == ["opened", "replied", "duplicate"]
    assert set(lines(result)[0]) == {"source", "outcome", "ticket", "message_id", "reason"}
    shown = ledgerdesk.json("tickets", "show", "T-1")
    last = shown["messages"][-1]
    assert last["visible_text"] == "Still broken."
    assert "> the printer" in last["full_text"]
    assert last["sender"] == "carol@customer.test"
    assert "dan@customer.test" in shown["participants"]


def test_ingest_from_stdin_as_an_mta_pipe_exits_0_even_for_quarantined_mail(ledgerdesk):
    done = subprocess.run(
        [str(LEDGERDESK), "mail", "ingest", "--json"],
        input=b"this is not a mail",
        env=ledgerdesk.env,
        cwd=ledgerdesk.cwd,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [receipt] = [json.loads(x) for x in done.stdout.decode().splitlines()]
    assert receipt["outcome"] == "quarantined"
    listed = ledgerdesk.json("mail", "quarantine", "list")
    assert len(listed) == 1 and "not an email" in listed[0]["reason"]
    raw = ledgerdesk("mail", "quarantine", "show", listed[0]["key"])
    assert raw.stdout == "this is not a mail"


def test_ingest_exits_75_when_the_store_is_down_so_the_mta_retries(ledgerdesk, tmp_path):
    path = tmp_path / "m.eml"
    path.write_bytes(mail())
    down = ledgerdesk.with_env(
        LEDGERDESK_DATABASE_URL="postgresql://postgres@127.0.0.1:1/nothing",
        LEDGERDESK_SECRET_KEY="k",
    )
    result = down("mail", "ingest", str(path), check=False, timeout=60)
    assert "cannot be reached" in one_line_error(result, 75)


def test_a_missing_file_is_a_clear_error(ledgerdesk, tmp_path):
    result = ledgerdesk("mail", "ingest", str(tmp_path / "nope.eml"), check=False)
    assert "not a readable file" in one_line_error(result, 1)


def test_inspect_explains_a_message_with_a_second_parsers_defects(ledgerdesk, tmp_path):
    path = tmp_path / "broken.eml"
    path.write_bytes(
        b"From: Rita <rita@example.org>\r\nTo: support@example.com\r\nSubject: Broken\r\n"
        b"Message-ID: <broken@example.org>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="declared"\r\n\r\n--other\r\n'
        b"Content-Type: text/plain\r\n\r\nThe link gives a 404.\r\n"
    )
    view = ledgerdesk.json("mail", "inspect", str(path))
    assert view["kind"] == "normal" and view["sender"] == "rita@example.org"
    assert "StartBoundaryNotFoundDefect" in view["mail_parser"]["defects"]
    assert view["visible_text"].startswith("The link gives a 404.")
