"""The mail corpus and its cases.json describe each other, and the expectations add up."""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "mail"
OUTCOMES = {"opened", "replied", "duplicate", "bounce", "auto_reply", "loop", "quarantined"}
KEYS = {
    "file", "outcome", "ticket", "sender", "subject",
    "visible_contains", "visible_excludes", "attachments", "why",
}  # fmt: skip


def cases() -> list[dict]:
    return json.loads((CORPUS / "cases.json").read_text(encoding="utf-8"))


def test_every_eml_is_listed_in_cases_json_and_every_case_has_its_file() -> None:
    listed = [case["file"] for case in cases()]
    on_disk = sorted(path.name for path in CORPUS.glob("*.eml"))
    assert sorted(listed) == on_disk
    assert len(listed) == len(set(listed))


def test_every_case_has_all_keys_a_known_outcome_and_a_reason() -> None:
    for case in cases():
        assert set(case) == KEYS, case["file"]
        assert case["outcome"] in OUTCOMES, case["file"]
        assert case["why"].strip(), case["file"]


def test_opened_tickets_are_numbered_in_ingest_order() -> None:
    opened = [case["ticket"] for case in cases() if case["outcome"] == "opened"]
    assert opened == [f"T-{n}" for n in range(1, len(opened) + 1)]


def test_replies_bounces_and_duplicates_name_a_ticket_opened_before_them() -> None:
    seen: set[str] = set()
    for case in cases():
        if case["outcome"] == "opened":
            seen.add(case["ticket"])
        elif case["outcome"] in ("replied", "bounce", "duplicate"):
            assert case["ticket"] in seen, case["file"]
        elif case["outcome"] in ("loop", "quarantined"):
            assert case["ticket"] is None, case["file"]


def test_the_corpus_covers_every_outcome_and_stays_small() -> None:
    assert {case["outcome"] for case in cases()} == OUTCOMES
    assert 45 <= len(cases()) <= 70
    assert all(path.stat().st_size < 64 * 1024 for path in CORPUS.glob("*.eml"))
