"""The embedded default transport: one .eml file per mail, named from the outbox key.

`LEDGERDESK_MAIL_OUT=file:` writes under `<data dir>/mail/out`, `file:/some/dir` there.
Sending the same key again overwrites the same file (a resend is the same mail); each file is
written to a temporary name and renamed, so a reader never sees half a message.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ledgerdesk.adapters.mail_out.message import UnsendableMail, build_message
from ledgerdesk.domain.outgoing import OutgoingMail, SendResult

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(key: str) -> str:
    """A file name for an outbox key: readable, and distinct for distinct keys."""
    readable = _SAFE.sub("_", key).strip("._")[:80] or "mail"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return f"{readable}.{digest}.eml"


class FileTransport:
    """Writes each mail as an .eml file; a full disk is a temporary failure."""

    def __init__(self, directory: Path, *, fsync: bool = False) -> None:
        self.directory = directory
        self.fsync = fsync

    def path_of(self, key: str) -> Path:
        return self.directory / file_name(key)

    def send_many(self, mails: Sequence[OutgoingMail]) -> list[SendResult]:
        results = []
        for mail in mails:
            try:
                self._write(mail.key, build_message(mail))
            except UnsendableMail as error:
                results.append(SendResult(mail.key, ok=False, permanent=True, error=str(error)))
            except OSError as error:
                results.append(
                    SendResult(mail.key, ok=False, error=f"cannot write the mail file: {error}")
                )
            else:
                results.append(SendResult(mail.key, ok=True))
        return results

    def _write(self, key: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if self.fsync:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.chmod(temporary, 0o640)
            os.replace(temporary, self.path_of(key))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def close(self) -> None:
        pass
