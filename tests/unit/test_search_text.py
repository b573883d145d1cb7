"""Search input becomes safe FTS5 expressions, sorts and cursors; no store needed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledgerdesk.domain.errors import ValidationError
from ledgerdesk.projections.ticket_index.fts5 import fts5_query
from ledgerdesk.projections.ticket_index.query import (
    Sort,
    clean_text,
    decode_cursor,
    encode_cursor,
    parse_limit,
    parse_sort,
)


@pytest.mark.parametrize(
    ("text", "must", "must_not"),
    [
        ("printer", '("printer")', None),
        ("printer fire", '("printer") AND ("fire")', None),
        ('"paper jam"', '("paper jam")', None),
        ("invoice OR refund late", '("invoice" OR "refund") AND ("late")', None),
        ("printer -fire -smoke", '("printer")', '"fire" OR "smoke"'),
        ('-"on fire"', None, '"on fire"'),
        ("e-mail", '("e mail")', None),
        ('"unbalanced quote', '("unbalanced quote")', None),
        ("'; DROP TABLE tickets; --", '("DROP") AND ("TABLE") AND ("tickets")', None),
        ("NEAR(a b)", '("NEAR a") AND ("b")', None),
        ("printer*", '("printer")', None),
        ("OR printer OR", '("printer")', None),
        ('"OR"', '("OR")', None),
        ("AND NOT", '("AND") AND ("NOT")', None),
        ("Müller café", '("Müller") AND ("café")', None),
    ],
)
def test_keywords_become_quoted_fts5_terms(text, must, must_not):
    assert fts5_query(text) == (must, must_not)


@pytest.mark.parametrize("text", ["", "--", "*", '"', '""', "-", "OR", "OR OR", "^", "()", "_"])
def test_input_without_words_searches_for_nothing_in_particular(text):
    assert fts5_query(text) == (None, None)


def test_search_text_loses_control_characters_and_is_capped():
    assert clean_text("a\x00b\tc\n") == "a b c"
    assert len(clean_text("x" * 5000)) == 500


def test_sorts_limits_and_cursors_are_checked():
    assert parse_sort(None) == Sort("updated_at", True)
    assert parse_sort("priority") == Sort("priority", False)
    assert parse_sort("relevance") == parse_sort("-relevance") == Sort("relevance", True)
    with pytest.raises(ValidationError, match="sort"):
        parse_sort("-colour")
    for bad in (0, 201, True, "10"):
        with pytest.raises(ValidationError, match="limit"):
            parse_limit(bad)  # type: ignore[arg-type]
    moment = datetime(2026, 11, 2, 9, 30, 0, 123456, tzinfo=UTC)
    sort = Sort("updated_at", True)
    assert decode_cursor(encode_cursor(sort, moment, 12), sort) == (moment, 12)
    rank = Sort("relevance", True)
    assert decode_cursor(encode_cursor(rank, 0.6079270839691162, 3), rank) == (
        0.6079270839691162,
        3,
    )
    for forged in ("", "x", encode_cursor(Sort("number", False), 5, 5), "eyJzIjoxfQ"):
        with pytest.raises(ValidationError, match="cursor"):
            decode_cursor(forged, sort)
