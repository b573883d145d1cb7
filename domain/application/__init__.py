"""The ledgerdesk application: commands and audit queries over the event store."""

from __future__ import annotations

from ledgerdesk.domain.application.audit import AuditQueries
from ledgerdesk.domain.application.directory import DirectoryCommands
from ledgerdesk.domain.application.tickets import TicketCommands


class LedgerDesk(TicketCommands, DirectoryCommands, AuditQueries):
    """Tickets, users, departments, SLA data and the audit trail, on one event store."""


__all__ = ["LedgerDesk"]
