"""The real-world corpus (tests/corpus/mail): every shape gets its expected outcome and text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledgerdesk.tests.integration.mail.mails import SECRET, SUPPORT

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "mail"
CASES: list[dict[str, Any]] = json.loads((CORPUS / "cases.json").read_text())


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.with_changes(secret_key=SECRET, support_address=SUPPORT)


def message_of(services: Any, receipt: Any) -> dict[str, Any] | None:
    if not receipt.ticket or not receipt.message_id:
        return None
    ticket = services.app.ticket(receipt.ticket)
    found = [m for m in ticket.messages if m["email_message_id"] == receipt.message_id]
    return found[-1] if found else None


def test_every_corpus_mail_gets_its_expected_outcome_ticket_and_visible_text(services):
    items = [((CORPUS / case["file"]).read_bytes(), case["file"]) for case in CASES]
    receipts = services.intake.ingest_many(items, "pipe")
    problems = []
    for case, receipt in zip(CASES, receipts, strict=True):
        got = (receipt.outcome.value, receipt.ticket)
        want = (case["outcome"], case["ticket"])
        if got != want:
            problems.append(f"{case['file']}: got {got}, want {want} ({receipt.reason})")
            continue
        message = message_of(services, receipt)
        if message is None or case["outcome"] not in ("opened", "replied"):
            continue
        text = message["visible_text"]
        for needle in case.get("visible_contains", []):
            if needle not in text:
                problems.append(f"{case['file']}: visible text lacks {needle!r}: {text[:300]!r}")
        for needle in case.get("visible_excludes", []):
            if needle in text:
                problems.append(f"{case['file']}: visible text keeps {needle!r}: {text[:300]!r}")
        if case.get("sender"):
            author = services.app.user(message["author_id"])
            if author.email != case["sender"]:
                problems.append(f"{case['file']}: sender {author.email}, want {case['sender']}")
        want_files = [(a["name"], a["content_type"]) for a in case.get("attachments", [])]
        got_files = [(a["name"], a["content_type"]) for a in message["attachments"]]
        if want_files != got_files:
            problems.append(f"{case['file']}: attachments {got_files}, want {want_files}")
        if case["outcome"] == "opened" and case.get("subject"):
            subject = services.app.ticket(receipt.ticket).subject
            if subject != case["subject"]:
                problems.append(f"{case['file']}: subject {subject!r}, want {case['subject']!r}")
    assert not problems, "\n".join(problems)


def test_the_corpus_ingested_twice_changes_nothing_the_second_time(services):
    items = [((CORPUS / case["file"]).read_bytes(), case["file"]) for case in CASES]
    services.intake.ingest_many(items, "pipe")
    before = services.app.read(services.app.recorder.max_notification_id)
    again = services.intake.ingest_many(items, "imap")
    assert {r.outcome.value for r in again} == {"duplicate"}
    assert services.app.read(services.app.recorder.max_notification_id) == before
