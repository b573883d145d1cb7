"""Helpers for make_corpus.py: our Message-IDs, transfer encodings, and the case list."""

from __future__ import annotations

import base64
import quopri
from pathlib import Path
from typing import Any

from ledgerdesk.policies.mail.identity import MailIdentity

HERE = Path(__file__).parent
ID = MailIdentity("corpus-secret", "support@example.com")
CASES: list[dict[str, Any]] = []


def ours(number: str) -> str:
    """The Message-ID of the mail we sent for `number` (one fixed event per ticket)."""
    event = f"{int(number[2:]):032x}".replace("0", "a", 1)
    return ID.message_id(number, "0123456789abcdef0123456789abcdef" if number == "T-1" else event)


def qp(text: str, charset: str = "utf-8") -> str:
    return quopri.encodestring(text.encode(charset)).decode("ascii")


def b64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def add(
    file: str,
    raw: str | bytes,
    outcome: str,
    ticket: str | None,
    sender: str | None,
    subject: str,
    why: str,
    *,
    visible: tuple[str, ...] = (),
    excludes: tuple[str, ...] = (),
    attachments: tuple[tuple[str, str], ...] = (),
    crlf: bool = True,
    charset: str = "utf-8",
) -> None:
    if isinstance(raw, str):
        text = raw.lstrip("\n")
        data = text.replace("\n", "\r\n" if crlf else "\n").encode(charset)
    else:
        data = raw
    (HERE / file).write_bytes(data)
    CASES.append(
        {
            "file": file,
            "outcome": outcome,
            "ticket": ticket,
            "sender": sender,
            "subject": subject,
            "visible_contains": list(visible),
            "visible_excludes": list(excludes),
            "attachments": [{"name": n, "content_type": t} for n, t in attachments],
            "why": why,
        }
    )


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
