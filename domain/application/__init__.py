"""The ledgerdesk application: commands and audit queries over the event store."""

from __future__ import annotations

from ledgerdesk.domain.application.access import AccessCommands
from ledgerdesk.domain.application.audit import AuditQueries
from ledgerdesk.domain.application.directory import DirectoryCommands
from ledgerdesk.domain.application.tickets import TicketCommands


class LedgerDesk(TicketCommands, DirectoryCommands, AccessCommands, AuditQueries):
    """Tickets, users, departments, SLA data, access rules and the audit trail."""


__all__ = ["LedgerDesk"]
