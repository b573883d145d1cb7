"""`ledgerdesk tickets …`: open, show, list and work tickets from the shell."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import typer
from rich.table import Table

from ledgerdesk.bootstrap import Services
from ledgerdesk.cli.common import (
    actor_for,
    console,
    parse_moment,
    print_json,
    services,
    user_id_for,
)
from ledgerdesk.domain import values as v
from ledgerdesk.domain.ticket import Ticket

app = typer.Typer(help="Open, show, list and work tickets.", no_args_is_help=True)
AS = typer.Option(None, "--as", help="Act as this user's email (default: system:cli).")


@app.command("open")
def open_(
    requester: str = typer.Option(..., help="Requester's email (must be a user)."),
    subject: str = typer.Option(..., help="Subject line."),
    text: str = typer.Option(..., help="The first message."),
    department: str | None = typer.Option(None, help="Department slug."),
    priority: str = typer.Option("normal", help="low, normal, high or urgent."),
    category: str = typer.Option("", help="Category."),
    tag: list[str] = typer.Option([], "--tag", help="Tag (repeatable)."),
    due: str | None = typer.Option(None, help="Due date, e.g. 2026-12-01T17:00Z."),
    as_email: str | None = AS,
    json_out: bool = typer.Option(False, "--json", help="Print the ticket as JSON."),
) -> None:
    """Open a ticket for a requester."""
    with services() as svc:
        ticket = svc.app.open_ticket(
            actor=actor_for(svc, as_email),
            subject=subject,
            text=text,
            channel="cli",
            requester_id=user_id_for(svc, requester, "requester"),
            department_id=svc.app.department(department).id if department else None,
            priority=priority,
            category=category,
            tags=tag,
            due_at=parse_moment(due, "due") if due else None,
        )
        if json_out:
            print_json(ticket_json(svc, ticket))
        else:
            console.print(f"opened {ticket.number}: {ticket.subject}")


@app.command("show")
def show(
    number: str = typer.Argument(..., help="Ticket number, e.g. T-12."),
    json_out: bool = typer.Option(
        False, "--json", help="Print the ticket with its messages as JSON."
    ),
) -> None:
    """Show a ticket and its conversation."""
    with services() as svc:
        data = ticket_json(svc, svc.app.ticket(number))
        if json_out:
            print_json(data)
            return
        render(data)


@app.command("list")
def list_(
    limit: int = typer.Option(50, min=1, max=10000, help="How many (newest first)."),
    status: str | None = typer.Option(None, help="Only this status."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """List the newest tickets (the search read model comes with the API)."""
    wanted = v.status(status).value if status is not None else None
    with services() as svc:
        newest = _newest_ids(svc, limit if wanted is None else None)
        found: list[Ticket] = []
        for tid in newest:
            ticket = svc.app.get_aggregate(tid)
            if wanted is None or ticket.status == wanted:
                found.append(ticket)
            if len(found) >= limit:
                break
        if json_out:
            print_json([summary(t) for t in found])
            return
        table = Table("number", "status", "priority", "subject", "updated")
        for t in found:
            table.add_row(
                t.number,
                t.status,
                t.priority,
                t.subject[:60],
                t.modified_on.strftime("%Y-%m-%d %H:%M"),
            )
        console.print(table)


@app.command("reply")
def reply(number: str, text: str = typer.Option(...), as_email: str | None = AS) -> None:
    """Add a public reply."""
    with services() as svc:
        t = svc.app.add_reply(number, actor=actor_for(svc, as_email), text=text, channel="cli")
        console.print(f"{t.number}: reply added; status {t.status}")


@app.command("note")
def note(number: str, text: str = typer.Option(...), as_email: str | None = AS) -> None:
    """Add an internal note (never shown to customers)."""
    with services() as svc:
        t = svc.app.add_note(number, actor=actor_for(svc, as_email), text=text, channel="cli")
        console.print(f"{t.number}: note added")


@app.command("status")
def status(
    number: str,
    to: str = typer.Argument(..., help="new, in_progress, waiting, resolved, closed"),
    reason: str = typer.Option("", help="Why."),
    as_email: str | None = AS,
) -> None:
    """Move a ticket through its lifecycle (in_progress on a resolved ticket reopens it)."""
    with services() as svc:
        t = svc.app.change_status(number, to, actor=actor_for(svc, as_email), reason=reason)
        console.print(f"{t.number}: now {t.status}")


@app.command("assign")
def assign(
    number: str, agent: str = typer.Argument(..., help="Agent's email."), as_email: str | None = AS
) -> None:
    """Assign or reassign a ticket to an agent."""
    with services() as svc:
        t = svc.app.assign(number, user_id_for(svc, agent, "agent"), actor=actor_for(svc, as_email))
        console.print(f"{t.number}: assigned to {agent}")


@app.command("unassign")
def unassign(number: str, as_email: str | None = AS) -> None:
    """Take the assignee off a ticket."""
    with services() as svc:
        t = svc.app.unassign(number, actor=actor_for(svc, as_email))
        console.print(f"{t.number}: unassigned")


@app.command("set")
def set_(
    number: str,
    priority: str | None = typer.Option(None),
    category: str | None = typer.Option(None),
    department: str | None = typer.Option(None, help="Department slug, or '-' for none."),
    due: str | None = typer.Option(None, help="Due date, or '-' to clear."),
    as_email: str | None = AS,
) -> None:
    """Change priority, category, department or due date."""
    with services() as svc:
        app, actor = svc.app, actor_for(svc, as_email)
        changes: list[Callable[[], object]] = []
        if priority is not None:
            changes.append(partial(app.set_priority, number, priority, actor=actor))
        if category is not None:
            changes.append(partial(app.set_category, number, category, actor=actor))
        if department is not None:
            dept = None if department == "-" else app.department(department).id
            changes.append(partial(app.set_department, number, dept, actor=actor))
        if due is not None:
            moment = None if due == "-" else parse_moment(due, "due")
            changes.append(partial(app.set_due_date, number, moment, actor=actor))
        app.batch(changes, atomic=True)  # every field or none
        console.print(f"{app.ticket(number).number}: updated")


@app.command("tag")
def tag(
    number: str,
    tags: list[str],
    remove: bool = typer.Option(False, "--remove"),
    as_email: str | None = AS,
) -> None:
    """Add (or with --remove, take off) tags."""
    with services() as svc:
        actor = actor_for(svc, as_email)
        change = svc.app.untag if remove else svc.app.tag
        svc.app.batch([partial(change, number, n, actor=actor) for n in tags], atomic=True)
        console.print(
            f"{number.upper()}: tags {', '.join(svc.app.ticket(number).tags) or '(none)'}"
        )


def _newest_ids(svc: Services, limit: int | None) -> list[Any]:
    ids: list[Any] = []
    start = 1
    while True:
        page = svc.app.ticket_ids(start=start, limit=5000)
        ids.extend(tid for _, tid in page)
        if len(page) < 5000:
            break
        start = page[-1][0] + 1
    ids.reverse()
    return ids if limit is None else ids[:limit]


def summary(t: Ticket) -> dict[str, Any]:
    return {
        "number": t.number,
        "id": t.id,
        "subject": t.subject,
        "status": t.status,
        "priority": t.priority,
        "category": t.category,
        "department_id": t.department_id,
        "requester_id": t.requester_id,
        "assignee_id": t.assignee_id,
        "due_at": t.due_at,
        "tags": t.tags,
        "created_at": t.created_on,
        "updated_at": t.modified_on,
        "version": t.version,
        "reopen_count": t.reopen_count,
        "first_response_at": t.first_response_at,
        "resolved_at": t.resolved_at,
        "closed_at": t.closed_at,
    }


def ticket_json(svc: Services, t: Ticket) -> dict[str, Any]:
    emails: dict[Any, str] = {}

    def email_of(user_id: Any) -> str | None:
        if user_id is None:
            return None
        if user_id not in emails:
            emails[user_id] = svc.app.user(user_id).email
        return emails[user_id]

    data = summary(t)
    data["requester"] = email_of(t.requester_id)
    data["assignee"] = email_of(t.assignee_id)
    data["participants"] = [email_of(p) for p in t.participants]
    data["messages"] = [
        {**m, "sender": email_of(m["author_id"]) or m["actor"].split(":", 1)[-1]}
        for m in t.messages
    ]
    return data


def render(data: dict[str, Any]) -> None:
    console.print(f"[bold]{data['number']}[/bold]  {data['subject']}")
    console.print(
        f"status {data['status']} · priority {data['priority']} · requester {data['requester']}"
        f" · assignee {data['assignee'] or '-'} · tags {', '.join(data['tags']) or '-'}"
    )
    for m in data["messages"]:
        label = "note" if m["kind"] == "note" else "reply"
        console.rule(f"{label} by {m['sender']} via {m['channel']} at {m['at']:%Y-%m-%d %H:%M}")
        console.print(m["visible_text"], markup=False)
