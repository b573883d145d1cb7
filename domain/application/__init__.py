"""The ledgerdesk application: commands and audit queries over the event store."""

from __future__ import annotations

from ledgerdesk.domain.application.access import AccessCommands
from ledgerdesk.domain.application.audit import AuditQueries
from ledgerdesk.domain.application.auth import AuthCommands
from ledgerdesk.domain.application.directory import DirectoryCommands
from ledgerdesk.domain.application.intake import IntakeCommands
from ledgerdesk.domain.application.notifications import NotificationCommands
from ledgerdesk.domain.application.quarantine import QuarantineQueries
from ledgerdesk.domain.application.tickets import TicketCommands


class LedgerDesk(
    TicketCommands,
    DirectoryCommands,
    IntakeCommands,
    QuarantineQueries,
    NotificationCommands,
    AccessCommands,
    AuthCommands,
    AuditQueries,
):
    """Tickets, mail intake, users, departments, SLA data, access, sign-ins, the audit trail."""

    name = "LedgerDesk"  # eventsourcing names PostgreSQL tables after the application


__all__ = ["LedgerDesk"]
