"""Validators for every value a command takes: each cleans what it can, names what it refuses."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from ledgerdesk.domain import values as v
from ledgerdesk.domain.errors import ValidationError
from ledgerdesk.domain.values import Priority, Status


def refused(field: str, call: Any, *args: Any, **kwargs: Any) -> ValidationError:
    """Call a validator that must refuse; check the error names `field` and return it."""
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    return caught.value


# text ---------------------------------------------------------------------------------------


def test_text_strips_and_collapses_whitespace() -> None:
    assert v.text("subject", "  Printer \t on\n\n fire  ", max_length=50) == "Printer on fire"


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f", "\x9b"])
def test_text_refuses_control_characters(control: str) -> None:
    refused("subject", v.text, "subject", f"bad{control}text", max_length=50)


@pytest.mark.parametrize("empty", ["", "   ", "\n\t", None])
def test_text_refuses_an_empty_value_when_required(empty: str | None) -> None:
    error = refused("subject", v.text, "subject", empty, max_length=50)
    assert "empty" in str(error)


def test_text_allows_an_empty_value_when_optional() -> None:
    assert v.text("category", None, max_length=10, required=False) == ""
    assert v.text("category", "  ", max_length=10, required=False) == ""


def test_text_refuses_an_over_long_value_and_names_the_limit() -> None:
    assert v.text("name", "x" * 120, max_length=v.MAX_NAME) == "x" * 120
    error = refused("name", v.text, "name", "x" * 121, max_length=v.MAX_NAME)
    assert "121" in str(error) and "limit is 120" in str(error)


def test_text_measures_the_length_after_collapsing_whitespace() -> None:
    assert v.text("name", "ab" + " " * 50 + "cd", max_length=5) == "ab cd"


def test_text_refuses_a_value_that_is_not_text() -> None:
    refused("subject", v.text, "subject", 42, max_length=50)


# body ---------------------------------------------------------------------------------------


def test_body_keeps_line_breaks_and_normalises_crlf() -> None:
    assert v.body("text", "Hello,\r\n\r\n  indented\nend") == "Hello,\n\n  indented\nend"


def test_body_refuses_nul_characters() -> None:
    error = refused("text", v.body, "text", "before\x00after")
    assert "NUL" in str(error)


def test_body_refuses_an_empty_text_unless_optional() -> None:
    refused("text", v.body, "text", " \n\t ")
    assert v.body("text", None, required=False) == ""


def test_body_refuses_an_over_long_text_and_names_the_limit() -> None:
    assert len(v.body("text", "x" * v.MAX_TEXT)) == v.MAX_TEXT
    error = refused("text", v.body, "text", "x" * (v.MAX_TEXT + 1))
    assert f"limit is {v.MAX_TEXT}" in str(error)


def test_body_refuses_a_value_that_is_not_text() -> None:
    refused("text", v.body, "text", b"bytes")


@pytest.mark.parametrize("validator", ["text", "body"])
def test_text_that_cannot_be_encoded_as_utf8_is_refused(validator: str) -> None:
    if validator == "text":
        refused("subject", v.text, "subject", "broken \udcff surrogate", max_length=50)
    else:
        refused("text", v.body, "text", "broken \udcff surrogate")


# email --------------------------------------------------------------------------------------


def test_an_email_address_is_trimmed_and_lowercased() -> None:
    assert v.email("  Alice.Smith@Example.COM ") == "alice.smith@example.com"


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "alice",
        "alice@",
        "@example.com",
        "alice@example",
        "a b@example.com",
        "alice@@example.com",
        "<alice@example.com>",
        "alice@exa,mple.com",
        "x" * 250 + "@e.com",
    ],
)
def test_an_email_address_that_is_not_one_is_refused(garbage: str) -> None:
    refused("email", v.email, garbage)


def test_an_email_error_names_the_field_it_was_given() -> None:
    refused("requester", v.email, "nobody", "requester")


# priority and status ------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["high", "HIGH", "High", Priority.HIGH])
def test_a_priority_is_parsed_case_insensitively(given: str) -> None:
    assert v.priority(given) is Priority.HIGH


@pytest.mark.parametrize("given", ["", "critical", None, 3])
def test_an_unknown_priority_is_refused_with_the_choices(given: object) -> None:
    error = refused("priority", v.priority, given)
    assert "low, normal, high, urgent" in str(error)


@pytest.mark.parametrize(
    "given", ["in_progress", "in progress", "in-progress", "In Progress", "IN-PROGRESS"]
)
def test_in_progress_may_be_written_several_ways(given: str) -> None:
    assert v.status(given) is Status.IN_PROGRESS


@pytest.mark.parametrize("status", list(Status), ids=str)
def test_every_status_parses_from_its_label(status: Status) -> None:
    assert v.status(status.label) is status


@pytest.mark.parametrize("given", ["", "open", "done", "in__progress"])
def test_an_unknown_status_is_refused_with_the_choices(given: str) -> None:
    error = refused("status", v.status, given)
    assert "new, in_progress, waiting, resolved, closed" in str(error)


# tag, slug, role ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("billing", "billing"),
        ("Needs Review", "needs-review"),
        (" VIP ", "vip"),
        ("sla:breached", "sla:breached"),
        ("v1.2_x-y", "v1.2_x-y"),
    ],
)
def test_a_tag_is_lowercased_with_spaces_as_dashes(given: str, expected: str) -> None:
    assert v.tag(given) == expected


@pytest.mark.parametrize("given", ["", "-leading", "_x", "ünïcode", "a/b", "a#b", "x" * 41])
def test_a_tag_outside_the_allowed_alphabet_or_length_is_refused(given: str) -> None:
    refused("tag", v.tag, given)


@pytest.mark.parametrize(("given", "expected"), [("Sales", "sales"), (" eu-1 ", "eu-1")])
def test_a_slug_is_trimmed_and_lowercased(given: str, expected: str) -> None:
    assert v.slug(given) == expected


@pytest.mark.parametrize("given", ["", "-sales", "sa les", "sales_eu", "x" * 64, "ü"])
def test_a_slug_that_is_not_one_is_refused(given: str) -> None:
    refused("slug", v.slug, given)


def test_a_slug_may_be_63_characters_long() -> None:
    assert v.slug("x" * 63) == "x" * 63


def test_a_slug_error_names_the_field_it_was_given() -> None:
    refused("department", v.slug, "Not a slug!", "department")


def test_a_role_name_is_trimmed_and_lowercased() -> None:
    assert v.role(" Agent ") == "agent"
    refused("role", v.role, "a")
    refused("role", v.role, "super user")


# time zone and locale -----------------------------------------------------------------------


@pytest.mark.parametrize("given", ["UTC", "Europe/Vienna", "America/Argentina/Buenos_Aires"])
def test_a_known_time_zone_is_accepted(given: str) -> None:
    assert v.time_zone(f" {given} ") == given


@pytest.mark.parametrize("given", ["", "Mars/Base", "Europe", "../../etc/passwd", "/etc/localtime"])
def test_an_unknown_time_zone_is_refused(given: str) -> None:
    refused("time_zone", v.time_zone, given)


@pytest.mark.parametrize(
    ("given", "expected"), [("en", "en"), ("de-AT", "de-AT"), ("de_AT", "de-AT"), ("gsw", "gsw")]
)
def test_a_locale_is_accepted_with_dash_or_underscore(given: str, expected: str) -> None:
    assert v.locale(given) == expected


@pytest.mark.parametrize("given", ["", "e", "english", "de-AUT", "de-AT-x"])
def test_a_locale_that_is_not_one_is_refused(given: str) -> None:
    refused("locale", v.locale, given)


# actor --------------------------------------------------------------------------------------

SOME_USER = uuid.UUID("3f2b8c1e-5a4d-4e7f-9b6a-1c2d3e4f5a6b")


@pytest.mark.parametrize(
    "given",
    [
        f"user:{SOME_USER}",
        f"user:{SOME_USER.hex}",
        "system:sealer",
        "system:imap.poll-2",
        "email:alice@customer.test",
    ],
)
def test_an_actor_is_a_user_a_system_job_or_an_email_address(given: str) -> None:
    assert v.actor(given) == given


@pytest.mark.parametrize(
    "given",
    [
        "",
        "admin",
        "user:",
        "user:42",
        f"user:{SOME_USER}x",
        f"User:{SOME_USER}",
        f"user:{str(SOME_USER).upper()}",
        "system:",
        "system:Sealer",
        "system:a b",
        "system:" + "x" * 65,
        "email:",
        "email:nobody",
        "email:a b@c.d",
        "robot:x",
        f" user:{SOME_USER}",
        None,
    ],
)
def test_any_other_actor_is_refused(given: str | None) -> None:
    error = refused("actor", v.actor, given)
    assert "user:<id>, system:<job> or email:<address>" in str(error)


def test_an_actor_with_a_trailing_newline_is_refused() -> None:
    refused("actor", v.actor, "system:sealer\n")


# sha256 -------------------------------------------------------------------------------------


def test_a_sha256_digest_is_lowercased_and_anything_else_refused() -> None:
    assert v.sha256_hex("attachments.sha256", "AB" * 32) == "ab" * 32
    refused("attachments.sha256", v.sha256_hex, "attachments.sha256", "ab" * 31)
    refused("attachments.sha256", v.sha256_hex, "attachments.sha256", "zz" * 32)


def test_a_sha256_digest_with_a_trailing_newline_is_refused() -> None:
    refused("attachments.sha256", v.sha256_hex, "attachments.sha256", "ab" * 32 + "\n")


# aware datetimes ----------------------------------------------------------------------------


def test_an_aware_datetime_is_accepted_and_none_passes_through() -> None:
    moment = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert v.aware("due_at", moment) is moment
    assert v.aware("due_at", None) is None


def test_a_naive_datetime_is_refused() -> None:
    error = refused("due_at", v.aware, "due_at", datetime(2026, 12, 1, 17, 0))
    assert "time zone" in str(error)


@pytest.mark.parametrize("given", [date(2026, 12, 1), "2026-12-01T17:00Z", 1764608400])
def test_something_that_is_not_a_datetime_is_refused(given: object) -> None:
    refused("due_at", v.aware, "due_at", given)
