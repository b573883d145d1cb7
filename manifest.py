# The ledgerdesk module described as data, like an Odoo addon's __manifest__.py.
# One dict literal, readable with ast.literal_eval: bootstrap and the job queue register what
# is declared here, and tests/unit/test_manifest.py checks that every entry resolves.
MANIFEST: dict = {
    "name": "ledgerdesk",
    "version": "0.1.0",
    "summary": "An email-first help desk whose every change is a verifiable event.",
    "application": "ledgerdesk.domain.application:LedgerDesk",
    "aggregates": {
        "ledgerdesk.domain.ticket:Ticket": [
            "Opened",
            "MessageAdded",
            "StatusChanged",
            "Reopened",
            "Assigned",
            "Unassigned",
            "PriorityChanged",
            "CategoryChanged",
            "DepartmentChanged",
            "DueDateSet",
            "Tagged",
            "Untagged",
            "ParticipantAdded",
        ],
        "ledgerdesk.domain.user:User": [
            "Created",
            "Updated",
            "PasswordSet",
            "Deactivated",
            "Reactivated",
            "MailBounced",
            "MailDeliverable",
            "PreferencesSet",
        ],
        "ledgerdesk.domain.user:EmailIndex": ["Claimed", "Reclaimed", "Released"],
        "ledgerdesk.domain.department:Department": [
            "Created",
            "Updated",
            "Deactivated",
            "Reactivated",
        ],
        "ledgerdesk.domain.sla:SlaPolicy": ["Created", "Updated", "Deactivated", "Reactivated"],
        "ledgerdesk.domain.sla:BusinessCalendar": [
            "Created",
            "Updated",
            "Deactivated",
            "Reactivated",
        ],
        "ledgerdesk.domain.seal:LogSeal": ["Started", "Sealed"],
        "ledgerdesk.domain.session:Session": ["Started", "Refreshed", "Revoked"],
        "ledgerdesk.domain.access:AccessPolicy": ["Seeded", "RuleAdded", "RuleRemoved"],
        "ledgerdesk.domain.idempotency:IdempotencyRecord": ["Recorded"],
        "ledgerdesk.domain.inbound:InboundMail": ["Received", "Reprocessed"],
        "ledgerdesk.domain.mailbox:MailboxCursor": ["Started", "Advanced"],
        "ledgerdesk.domain.delivery:OutboxOrigin": ["Started"],
        "ledgerdesk.domain.delivery:Delivery": [
            "Opened",
            "Sent",
            "Failed",
            "GaveUp",
            "Requeued",
            "Read",
        ],
    },
    "ticket_number": {
        "prefix": "T-",
        "example": "T-1042",
        "id": "ledgerdesk.domain.ticket:ticket_id",
    },
    "lifecycle": "ledgerdesk.domain.lifecycle:ALLOWED",
    # Read models: each with its abstract view, projection and one view per store.
    "projections": {
        "ticket_index": {
            "view": "ledgerdesk.projections.ticket_index.view:TicketIndexView",
            "projection": "ledgerdesk.projections.ticket_index.projection:TicketIndexProjection",
            "postgres": "ledgerdesk.projections.ticket_index.postgres:PostgresTicketIndexView",
            "sqlite": "ledgerdesk.projections.ticket_index.sqlite:SQLiteTicketIndexView",
        },
        "outbox": {
            "view": "ledgerdesk.projections.outbox.view:OutboxView",
            "projection": "ledgerdesk.projections.outbox.projection:OutboxProjection",
            "postgres": "ledgerdesk.projections.outbox.postgres:PostgresOutboxView",
            "sqlite": "ledgerdesk.projections.outbox.sqlite:SQLiteOutboxView",
        },
    },
    # Reactions: event -> policy -> mail template (with the outgoing-mail issue).
    # Reactions: which ticket event calls for which rule (policies/reactions.py), whose intents
    # name the mail template (templates/mail/<lang>/<kind>.*.j2) they are rendered with.
    "reactions": [
        {
            "event": "ledgerdesk.domain.ticket:Ticket.MessageAdded",
            "policy": "ledgerdesk.policies.reactions:ticket_opened",
            "template": "ticket_opened",
        },
        {
            "event": "ledgerdesk.domain.ticket:Ticket.MessageAdded",
            "policy": "ledgerdesk.policies.reactions:new_unassigned",
            "template": "new_unassigned",
        },
        {
            "event": "ledgerdesk.domain.ticket:Ticket.MessageAdded",
            "policy": "ledgerdesk.policies.reactions:agent_replied",
            "template": "agent_replied",
        },
        {
            "event": "ledgerdesk.domain.ticket:Ticket.MessageAdded",
            "policy": "ledgerdesk.policies.reactions:customer_replied",
            "template": "customer_replied",
        },
        {
            "event": "ledgerdesk.domain.ticket:Ticket.StatusChanged",
            "policy": "ledgerdesk.policies.reactions:status_changed",
            "template": "status_changed",
        },
        {
            "event": "ledgerdesk.domain.ticket:Ticket.Assigned",
            "policy": "ledgerdesk.policies.reactions:ticket_assigned",
            "template": "ticket_assigned",
        },
    ],
    "jobs": [
        {"name": "seal_log", "task": "ledgerdesk.jobs.tasks:seal_log", "cron": "*/10 * * * *"},
        {
            "name": "poll_mailboxes",
            "task": "ledgerdesk.jobs.mail:poll_mailboxes",
            "cron": "* * * * *",
        },
        {
            "name": "dispatch_outbox",
            "task": "ledgerdesk.jobs.outbox:dispatch_outbox",
            "cron": "* * * * *",
        },
    ],
    # Every kind of notification has a subject, a text and an HTML template per language.
    "mail_templates": [
        {"kind": "ticket_opened", "languages": ["en", "de"]},
        {"kind": "agent_replied", "languages": ["en", "de"]},
        {"kind": "status_changed", "languages": ["en", "de"]},
        {"kind": "ticket_assigned", "languages": ["en", "de"]},
        {"kind": "customer_replied", "languages": ["en", "de"]},
        {"kind": "new_unassigned", "languages": ["en", "de"]},
        {"kind": "sla_breached", "languages": ["en", "de"]},
        {"kind": "escalated", "languages": ["en", "de"]},
    ],
    "access": {
        "model": "policies/access_model.conf",
        "policy": "policies/access_policy.csv",
        "enforcer": "ledgerdesk.adapters.casbin_access:AccessControl",
    },
    "reports": [],
    "cli": "ledgerdesk.cli:app",
    "demo": {
        "command": "ledgerdesk.cli.demo:seed_demo",
        "scenario": "ledgerdesk.cli.demo_data:scenario",
        "departments": ["support", "billing", "technical", "sales"],
        "admin": "admin@demo.ledgerdesk.test",
    },
}
