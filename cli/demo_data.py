"""Deterministic demo scenarios: who asks what, and how each ticket's life unfolds."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

DEPARTMENTS = {
    "support": ("Customer Support", ["account", "login", "how-to", "feedback"]),
    "billing": ("Billing", ["invoice", "refund", "payment", "pricing"]),
    "technical": ("Technical Operations", ["outage", "bug", "integration", "performance"]),
    "sales": ("Sales", ["quote", "upgrade", "trial", "contract"]),
}
SUBJECTS = {
    "account": [
        "Cannot change my email address",
        "Please close my account",
        "Add a colleague to our team",
    ],
    "login": [
        "Password reset link does not arrive",
        "Locked out after 2FA change",
        "SSO login loops",
    ],
    "how-to": [
        "How do I export my data?",
        "Where can I find the API key?",
        "Setting up notifications",
    ],
    "feedback": [
        "Suggestion for the dashboard",
        "The new editor is confusing",
        "Thanks for the quick fix",
    ],
    "invoice": [
        "Invoice {n} shows the wrong VAT number",
        "Need a copy of invoice {n}",
        "Invoice address outdated",
    ],
    "refund": [
        "Refund for duplicate charge",
        "Refund request for order {n}",
        "Cancelled but still charged",
    ],
    "payment": ["Card declined on renewal", "Switch to bank transfer", "Payment failed twice"],
    "pricing": ["Discount for non-profits?", "Price change next year?", "Annual plan pricing"],
    "outage": [
        "Service unreachable since this morning",
        "Timeouts on the EU cluster",
        "Webhook deliveries stopped",
    ],
    "bug": [
        "CSV export misses the last row",
        "Dates shown in the wrong time zone",
        "Upload fails for PDFs over 10 MB",
    ],
    "integration": [
        "Slack integration stopped posting",
        "Zapier trigger fires twice",
        "API returns 429 too early",
    ],
    "performance": [
        "Dashboard takes 30 seconds to load",
        "Search is slow since the update",
        "Reports time out",
    ],
    "quote": [
        "Quote for 50 seats",
        "Need a formal quote for procurement",
        "Pricing for an on-premise licence",
    ],
    "upgrade": [
        "Upgrade to the business plan",
        "Add the audit module",
        "Move from monthly to annual",
    ],
    "trial": [
        "Extend our trial by two weeks",
        "Trial expired before we finished",
        "Trial data migration",
    ],
    "contract": [
        "Contract renewal terms",
        "DPA for our legal team",
        "Change the billing entity on the contract",
    ],
}
OPENERS = ["Hello,", "Hi team,", "Good morning,", "Dear support,", "Hi there,"]
BODIES = [
    "Since {when} we see this problem and it blocks {who}. Could you please have a look?",
    "We noticed this {when}. It affects about {count} people on our side.",
    "Could you help us with this? Our reference is {ref}.",
    "This is the second time this happens; the first time was {when}.",
]
AGENT_REPLIES = [
    "Thanks for reaching out. I am looking into this now and will get back to you shortly.",
    "I could reproduce the issue and have passed it to our engineers.",
    "Could you send us a screenshot and the exact time it happened?",
    "We have applied a fix on our side. Could you check whether it works for you now?",
]
CUSTOMER_REPLIES = [
    "Thanks, here is the information you asked for.",
    "It works now, thank you!",
    "Unfortunately the problem is back.",
    "Attached is the screenshot.",
]
NOTES = [
    "Customer is on the enterprise plan; handle with priority.",
    "Linked to the incident from last week.",
    "Asked engineering in #ops for an ETA.",
]
FIRST = [
    "Anna",
    "Ben",
    "Chloé",
    "David",
    "Elif",
    "Femi",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kasia",
    "Luis",
    "Mona",
    "Nils",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
]
LAST = ["Müller", "Smith", "García", "Rossi", "Nowak", "Dubois", "Jensen", "Silva", "Kaya", "Ito"]
COMPANIES = ["acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne"]
PRIORITIES = [("low", 20), ("normal", 55), ("high", 20), ("urgent", 5)]
ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "Asia/Tokyo", "UTC"]


@dataclass(order=True)
class Action:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    ticket: int = field(compare=False)  # index of the ticket in the scenario
    args: dict[str, Any] = field(compare=False, default_factory=dict)


def people(rng: random.Random, count: int, domain_pool: list[str]) -> list[tuple[str, str]]:
    """(name, email) pairs, unique emails."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(out) < count:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        domain = rng.choice(domain_pool)
        local = f"{first.lower().replace('é', 'e')}.{last.lower().replace('ü', 'ue')}"
        email = f"{local}{len(out)}@{domain}"
        if email not in seen:
            seen.add(email)
            out.append((f"{first} {last}", email))
    return out


def scenario(
    rng: random.Random, tickets: int, start: datetime, end: datetime, customers: int, agents: int
) -> list[Action]:
    """All actions of all tickets in time order; those after `end` are left out (the backlog)."""
    actions: list[Action] = []
    seq = 0
    span = (end - start).total_seconds()

    def add(at: datetime, kind: str, index: int, **args: Any) -> None:
        nonlocal seq
        if at < end:
            seq += 1
            actions.append(Action(at, seq, kind, index, args))

    for i in range(tickets):
        opened = start + timedelta(seconds=span * (rng.random() ** 0.8))
        dept = rng.choice(list(DEPARTMENTS))
        category = rng.choice(DEPARTMENTS[dept][1])
        priority = rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]
        subject = rng.choice(SUBJECTS[category]).format(n=rng.randint(10000, 99999))
        body = (
            f"{rng.choice(OPENERS)}\n\n"
            + rng.choice(BODIES).format(
                when=rng.choice(["yesterday", "Monday", "last week", "this morning"]),
                who=rng.choice(["our whole team", "our finance department", "two customers"]),
                count=rng.randint(2, 40),
                ref=f"REF-{rng.randint(1000, 9999)}",
            )
            + "\n\nBest regards"
        )
        speed = {"urgent": 0.2, "high": 0.5, "normal": 1.0, "low": 2.0}[priority]
        add(
            opened,
            "open",
            i,
            customer=rng.randrange(customers),
            department=dept,
            category=category,
            priority=priority,
            subject=subject,
            text=body,
            channel=rng.choice(["email", "email", "email", "portal"]),
            tags=rng.sample(["vip", "renewal", "eu", "us", "mobile", "api"], rng.randint(0, 2)),
            due=(opened + timedelta(hours=8 if priority == "urgent" else 48))
            if priority in ("high", "urgent")
            else None,
        )
        agent = rng.randrange(agents)
        t = opened + timedelta(minutes=rng.uniform(5, 480) * speed)
        if rng.random() < 0.85:
            add(t, "assign", i, agent=agent)
        t += timedelta(minutes=rng.uniform(10, 1440) * speed)
        add(t, "agent_reply", i, agent=agent, text=rng.choice(AGENT_REPLIES))
        if rng.random() < 0.25:
            add(
                t + timedelta(minutes=rng.uniform(1, 60)),
                "note",
                i,
                agent=agent,
                text=rng.choice(NOTES),
            )
        if rng.random() < 0.1:
            add(
                t + timedelta(minutes=rng.uniform(1, 120)),
                "priority",
                i,
                priority=rng.choice(["high", "urgent"]),
            )
        if rng.random() < 0.3:
            t += timedelta(minutes=rng.uniform(1, 30))
            add(t, "status", i, agent=agent, status="waiting")
            t += timedelta(hours=rng.uniform(1, 72))
            add(t, "customer_reply", i, text=rng.choice(CUSTOMER_REPLIES))
        t += timedelta(hours=rng.uniform(1, 240) * speed)
        if rng.random() < 0.9:
            add(t, "status", i, agent=agent, status="resolved")
            if rng.random() < 0.08:
                t += timedelta(hours=rng.uniform(2, 96))
                add(t, "customer_reply", i, text="Unfortunately the problem is back.")
                t += timedelta(hours=rng.uniform(1, 48))
                add(t, "status", i, agent=agent, status="resolved")
            add(t + timedelta(days=rng.uniform(2, 7)), "close", i)
    actions.sort()
    return actions
