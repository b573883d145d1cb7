"""`ledgerdesk demo`: seed departments, agents, customers and tickets with realistic lifecycles."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import typer

from ledgerdesk.adapters.clock import ManualClock
from ledgerdesk.bootstrap import Services, bootstrap
from ledgerdesk.cli.common import console, parse_moment, progress_bar
from ledgerdesk.cli.demo_data import COMPANIES, DEPARTMENTS, ZONES, Action, people, scenario
from ledgerdesk.domain.errors import DomainError
from ledgerdesk.settings import Settings

ADMIN_EMAIL = "admin@demo.ledgerdesk.test"
DEMO_PASSWORD = "demo1234"
BATCH = 250


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)


def demo_command(
    tickets: int = typer.Option(2000, min=1, max=1_000_000, help="How many tickets."),
    seed: int = typer.Option(7, help="Same seed, same data."),
    days: int = typer.Option(90, min=1, max=3650, help="Simulated days of history, ending today."),
    customers: int = typer.Option(0, help="Customers (default: tickets / 8, at least 20)."),
    agents: int = typer.Option(8, min=1, max=500, help="Agents."),
    until: str | None = typer.Option(
        None, help="Last simulated day, e.g. 2026-11-27 (default: today); fixes the dates too."
    ),
) -> None:
    """Seed a demo: departments, agents, customers and tickets over simulated time."""
    settings = Settings.from_env()
    end = (
        parse_moment(until, "until")
        if until
        else datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    )
    start = end - timedelta(days=days)
    rng = random.Random(seed)
    clock = ManualClock(start - timedelta(days=1))
    svc = bootstrap(settings, clock=clock, new_id=lambda: UUID(int=rng.getrandbits(128), version=4))
    try:
        summary = seed_demo(
            svc,
            clock,
            rng,
            tickets=tickets,
            start=start,
            end=end,
            customers=customers or max(20, tickets // 8),
            agents=agents,
        )
    finally:
        svc.close()
    console.print(
        f"demo ready: {summary['tickets']} tickets, {summary['events']} events "
        f"({summary['open']} still open) over {days} days.\n"
        f"Sign in as {ADMIN_EMAIL} / {DEMO_PASSWORD} (agents: agent1@demo.ledgerdesk.test … "
        f"agent{agents}@demo.ledgerdesk.test, same password)."
    )


def seed_demo(
    svc: Services,
    clock: ManualClock,
    rng: random.Random,
    *,
    tickets: int,
    start: datetime,
    end: datetime,
    customers: int,
    agents: int,
) -> dict[str, int]:
    app = svc.app
    before = app.read(app.recorder.max_notification_id) or 0
    password = svc.passwords.hash(DEMO_PASSWORD)
    admin = app.user_by_email(ADMIN_EMAIL) or app.create_user(
        actor="system:demo",
        email=ADMIN_EMAIL,
        name="Demo Admin",
        role="admin",
        password_hash=password,
    )
    dept_ids: dict[str, UUID] = {}
    for slug, (name, _) in DEPARTMENTS.items():
        try:
            dept_ids[slug] = app.department(slug).id
        except DomainError:
            dept_ids[slug] = app.create_department(
                actor=admin.actor, slug=slug, name=name, aliases=[f"{slug}@demo.ledgerdesk.test"]
            ).id
    agent_ids = [
        _user(
            svc,
            f"agent{i + 1}@demo.ledgerdesk.test",
            admin.actor,
            name=f"Agent {i + 1}",
            role="agent",
            department_ids=[dept_ids[list(DEPARTMENTS)[i % len(DEPARTMENTS)]]],
            password_hash=password,
            time_zone=ZONES[i % len(ZONES)],
        )
        for i in range(agents)
    ]
    crowd = people(rng, customers, [f"{c}.example" for c in COMPANIES])
    customer_ids = [
        _user(
            svc,
            email,
            "system:demo",
            name=name,
            role="customer",
            time_zone=rng.choice(ZONES),
            locale=rng.choice(["en", "en", "de"]),
        )
        for name, email in crowd
    ]
    actions = scenario(rng, tickets, start, end, customers, agents)
    numbers: dict[int, str] = {}
    with progress_bar("seeding") as bar:
        task = bar.add_task("seeding tickets", total=len(actions))
        for offset in range(0, len(actions), BATCH):
            chunk = actions[offset : offset + BATCH]
            results = app.batch(
                [
                    _command(svc, clock, a, numbers, admin.actor, agent_ids, customer_ids, dept_ids)
                    for a in chunk
                ]
            )
            for action, result in zip(chunk, results, strict=True):
                if isinstance(result, DomainError):
                    raise RuntimeError(f"demo action {action.kind} failed: {result}")
            bar.advance(task, len(chunk))
    app.seal(actor="system:demo")
    after = app.read(app.recorder.max_notification_id) or 0
    still_open = sum(
        1 for n in numbers.values() if app.ticket(n).status not in ("resolved", "closed")
    )
    return {"tickets": len(numbers), "events": after - before, "open": still_open}


def _user(svc: Services, email: str, actor: str, **fields: Any) -> UUID:
    existing = svc.app.user_by_email(email)
    return existing.id if existing else svc.app.create_user(actor=actor, email=email, **fields).id


def _command(
    svc: Services,
    clock: ManualClock,
    a: Action,
    numbers: dict[int, str],
    admin: str,
    agents: list[UUID],
    customers: list[UUID],
    departments: dict[str, UUID],
) -> Callable[[], Any]:
    app, args = svc.app, a.args

    def run() -> Any:
        clock.set(a.at)
        number = numbers.get(a.ticket, "")
        agent = f"user:{agents[args['agent']]}" if "agent" in args else admin
        if a.kind == "open":
            requester = customers[args["customer"]]
            ticket = app.open_ticket(
                actor=f"user:{requester}",
                subject=args["subject"],
                requester_id=requester,
                text=args["text"],
                department_id=departments[args["department"]],
                category=args["category"],
                priority=args["priority"],
                due_at=args["due"],
                tags=args["tags"],
                channel=args["channel"],
            )
            numbers[a.ticket] = ticket.number  # later actions of this batch need it
            return ticket
        if a.kind == "assign":
            return app.assign(number, agents[args["agent"]], actor=agent)
        if a.kind == "agent_reply":
            return app.add_reply(number, actor=agent, text=args["text"], channel="portal")
        if a.kind == "note":
            return app.add_note(number, actor=agent, text=args["text"], channel="portal")
        if a.kind == "priority":
            return app.set_priority(number, args["priority"], actor=agent)
        if a.kind == "customer_reply":
            requester = app.ticket(number).requester_id
            return app.add_reply(
                number, actor=f"user:{requester}", text=args["text"], channel="email"
            )
        if a.kind == "status":
            return app.change_status(number, args["status"], actor=agent)
        if a.kind == "close":
            return app.change_status(
                number, "closed", actor="system:autoclose", reason="resolved for 2+ days"
            )
        raise ValueError(a.kind)

    return run
