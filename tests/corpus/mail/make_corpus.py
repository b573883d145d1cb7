"""Writes the mail corpus (*.eml) and cases.json; the files are committed, this is how they came.

Run: .venv/bin/python tests/corpus/mail/make_corpus.py (rewrites every file in this folder).
The mails copy what the named clients send (header order, MIME shape, transfer encodings,
CRLF where the client or its export uses it). cases.json lists them in ingest order.
"""

from __future__ import annotations

import json

import corpus_clients
import corpus_kit
import corpus_machines


def main() -> None:
    for old in corpus_kit.HERE.glob("*.eml"):
        old.unlink()
    corpus_clients.build()
    corpus_machines.build()
    text = json.dumps(corpus_kit.CASES, indent=2, ensure_ascii=False) + "\n"
    (corpus_kit.HERE / "cases.json").write_text(text, encoding="utf-8")
    print(f"{len(corpus_kit.CASES)} cases")


if __name__ == "__main__":
    main()
