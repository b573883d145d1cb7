"""Outbox jobs: the dispatcher thread beside `serve` / `worker`, and its per-minute safety net."""

from __future__ import annotations

from ledgerdesk.bootstrap import Services
from ledgerdesk.jobs.dispatcher import Dispatcher


def dispatcher_for(services: Services) -> Dispatcher:
    return Dispatcher(
        services,
        transport=services.mail_transport,
        templates=services.templates,
        identity=services.identity,
        sms=services.sms_transport,
        support_name=services.settings.extra.get("SUPPORT_NAME", "Support"),
    )


def dispatch_outbox(services: Services) -> int:
    """Send every notification that is due (the dispatcher thread normally has already)."""
    return dispatcher_for(services).drain()
