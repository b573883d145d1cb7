"""The IMAP poll job: every configured mailbox into the intake, once a minute."""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict
from typing import Any

from ledgerdesk.adapters.mail_in.imap import ImapPoller, MailboxError
from ledgerdesk.adapters.mail_in.imap_config import parse_mailboxes
from ledgerdesk.bootstrap import Services

log = logging.getLogger("ledgerdesk.jobs")

# Two polls of the same mailboxes in one process would only fetch the same mail twice (the
# intake and the cursor make that harmless); a poll still running when the next minute fires
# is left to finish instead.
_polling = threading.Lock()


def poll_mailboxes(services: Services) -> list[dict[str, Any]] | None:
    """Fetch new mail from every mailbox in LEDGERDESK_MAIL_IN into the intake."""
    mailboxes = parse_mailboxes(services.settings.mail_in)
    if not mailboxes:
        return []
    if not _polling.acquire(blocking=False):
        log.info("an IMAP poll is still running; this one is skipped")
        return None
    try:
        reports = ImapPoller(
            mailboxes, app=services.app, ingest=services.intake.ingest_many
        ).poll_all()
    finally:
        _polling.release()
    failed = [report for report in reports if report.error]
    if failed:  # the job fails (and says why) while the mailboxes that worked keep their work
        raise MailboxError(
            "IMAP poll",
            f"{len(failed)} of {len(reports)} mailboxes failed: "
            + "; ".join(report.error for report in failed),
        )
    return [asdict(report) for report in reports]
