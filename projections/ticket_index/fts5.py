"""Keyword and websearch syntax as FTS5 expressions in which nothing the user typed is syntax."""

from __future__ import annotations

import re

_TOKENS = re.compile(r'-?"[^"]*"?|\S+')
_WORDS = re.compile(r"[^\W_]+")


def fts5_query(text: str) -> tuple[str | None, str | None]:
    """(what must match, what must not) as FTS5 expressions, from keyword/websearch syntax.

    Every word is quoted, so nothing the user types is an FTS5 operator; `"a phrase"`, `OR`
    between terms and `-word` are honoured; anything without a letter or digit is dropped.
    """
    groups: list[list[str]] = []
    negatives: list[str] = []
    pending_or = False
    for token in _TOKENS.findall(text):
        if token == "OR":
            pending_or = bool(groups)
            continue
        negative = token.startswith("-")
        words = _WORDS.findall(token[1:] if negative else token)
        if not words:
            continue
        phrase = '"' + " ".join(words) + '"'
        if negative:
            negatives.append(phrase)
        elif pending_or:
            groups[-1].append(phrase)
        else:
            groups.append([phrase])
        pending_or = False
    must = " AND ".join("(" + " OR ".join(g) + ")" for g in groups) or None
    must_not = " OR ".join(negatives) or None
    return must, must_not
