"""The drop folder: a message file put into `<data dir>/mail/drop/` becomes a ticket in seconds.

Writers should write elsewhere and rename into the folder (as maildir delivery does); a file
still growing is left for the next scan. A file is moved to `processed/` only after its
events committed, so a crash in between re-reads it and deduplication gives the same ticket.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from ledgerdesk.adapters.mail_in.intake import MailIntake
from ledgerdesk.domain.application.intake import Receipt
from ledgerdesk.domain.errors import StoreUnavailableError

log = logging.getLogger("ledgerdesk.intake.drop")
SETTLE_SECONDS = 0.5  # a file modified this recently may still be being written
MAX_FILES_PER_SCAN = 2_000


class DropFolder:
    def __init__(self, intake: MailIntake, root: Path) -> None:
        self.intake = intake
        self.inbox = root / "drop"
        self.processed = root / "processed"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def scan_once(self) -> list[Receipt]:
        """Ingest every settled file now in the folder; move each away once stored."""
        self.inbox.mkdir(parents=True, exist_ok=True)
        files = self._settled_files()
        if not files:
            return []
        items = [(path.read_bytes(), str(path)) for path in files]
        receipts = self.intake.ingest_many(items, "drop")
        target = self.processed / datetime.now(UTC).strftime("%Y-%m-%d")
        target.mkdir(parents=True, exist_ok=True)
        for path, receipt in zip(files, receipts, strict=True):
            path.replace(target / f"{path.name}.{receipt.outcome.value}")
        return receipts

    def start(self, interval: float = 1.0) -> None:
        """Scan every `interval` seconds in a background thread until `stop()`."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="ledgerdesk-drop-folder", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            try:
                for receipt in self.scan_once():
                    log.info("%s: %s %s", receipt.source, receipt.outcome.value, receipt.ticket)
            except StoreUnavailableError as error:
                log.warning("drop folder: the store is unavailable, will retry: %s", error)
            except Exception:
                log.exception("drop folder scan failed; will retry")
            self._stop.wait(interval)

    def _settled_files(self) -> list[Path]:
        now = time.time()
        found = []
        for path in sorted(self.inbox.iterdir()):
            if path.name.startswith(".") or not path.is_file():
                continue
            try:
                if now - path.stat().st_mtime < SETTLE_SECONDS:
                    continue
            except FileNotFoundError:
                continue
            found.append(path)
            if len(found) >= MAX_FILES_PER_SCAN:
                break
        return found
