"""`ledgerdesk audit …`: history, as-of views, exports, seals and verification for auditors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from ledgerdesk.cli.common import (
    console,
    err_console,
    parse_moment,
    print_json,
    progress_bar,
    services,
)
from ledgerdesk.cli.tickets import render, ticket_json
from ledgerdesk.domain.errors import ValidationError
from ledgerdesk.domain.integrity import Report

app = typer.Typer(help="History, as-of views, exports and tamper checks.", no_args_is_help=True)


@app.command("history")
def history(
    number: str = typer.Argument(..., help="Ticket number, e.g. T-12."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every event of a ticket: version, time, actor, what changed, hash."""
    with services() as svc:
        entries = svc.app.history(number)
    if json_out:
        print_json([e.__dict__ for e in entries])
        return
    table = Table("v", "time (UTC)", "actor", "event", "what changed", "hash")
    for e in entries:
        table.add_row(
            str(e.version),
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.actor,
            e.event,
            describe(e.event, e.changes),
            e.hash[:12],
        )
    console.print(table)


@app.command("show")
def show(
    number: str = typer.Argument(..., help="Ticket number, e.g. T-12."),
    as_of: str | None = typer.Option(None, "--as-of", help="A moment, e.g. 2026-11-01T10:00Z."),
    version: int | None = typer.Option(None, "--version", help="A version number."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """The ticket exactly as it was at a moment (--as-of) or a version (--version)."""
    with services() as svc:
        moment = parse_moment(as_of, "as_of") if as_of else None
        ticket = svc.app.as_of(number, at=moment, version=version)
        data = ticket_json(svc, ticket)
    if json_out:
        print_json(data)
    else:
        console.print(
            f"[dim]as of version {ticket.version}, {ticket.modified_on:%Y-%m-%d %H:%M:%S} UTC[/dim]"
        )
        render(data)


@app.command("export")
def export(
    number: str = typer.Argument(..., help="Ticket number, e.g. T-12."),
    output: Path | None = typer.Option(None, "-o", "--output", help="File (default: stdout)."),
) -> None:
    """Export a ticket's events with their hash chain (check it with `audit verify --file`)."""
    with services() as svc:
        document = svc.app.export(number)
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        err_console.print(
            f"wrote {len(document['events'])} events of {document['ticket']} to {output}"
        )


@app.command("seal")
def seal() -> None:
    """Record the head of the whole log now (the worker also does it periodically)."""
    with services() as svc:
        result = svc.app.seal(actor="system:cli")
    if result is None:
        console.print("nothing new since the last seal")
    else:
        console.print(
            f"seal #{result['number']}: {result['count']} events up to position "
            f"{result['upto']}, log hash {result['log_hash'][:16]}…"
        )


@app.command("verify")
def verify(
    file: Path | None = typer.Option(
        None, "--file", help="Verify an exported file instead of the store."
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Recompute every hash, link and seal; name the first altered, missing or reordered event."""
    with services() as svc:
        if file is not None:
            try:
                document = json.loads(file.read_text())
            except (OSError, ValueError) as error:
                raise ValidationError("file", f"cannot read {file}: {error}") from None
            report = svc.app.verify_export(document)
        elif json_out:
            report = svc.app.verify()
        else:
            with progress_bar("verifying", transient=True) as bar:
                task = bar.add_task("verifying", total=None)
                report = svc.app.verify(
                    lambda done, total: bar.update(task, completed=done, total=total)
                )
    _report(report, json_out)
    if not report.ok:
        raise typer.Exit(1)


def _report(report: Report, json_out: bool) -> None:
    if json_out:
        first = report.first
        print_json(
            {
                "ok": report.ok,
                "events": report.events,
                "aggregates": report.aggregates,
                "seals_checked": report.seals_checked,
                "unsealed": report.unsealed,
                "first": first.__dict__ if first else None,
                "findings": [f.__dict__ for f in report.findings],
            }
        )
        return
    if report.ok:
        console.print(
            f"[green]ok[/green]: {report.events} events of {report.aggregates} aggregates "
            f"verified; {report.seals_checked} seals match; {report.unsealed} events since "
            "the last seal are linked but not yet sealed"
        )
        return
    first = report.first
    assert first is not None
    err_console.print(
        f"[red]TAMPERED[/red]: {first.message}"
        + (f" (log position {first.position})" if first.position else "")
    )
    for finding in report.findings[1:20]:
        err_console.print(f"  also: {finding.message}")
    if len(report.findings) > 20:
        err_console.print(f"  … and {len(report.findings) - 20} more findings")


def describe(event: str, changes: dict[str, object]) -> str:
    """What an event changed, in a few words."""
    if event == "MessageAdded":
        text = " ".join(str(changes.get("visible_text", "")).split())
        return f"{changes.get('kind')} via {changes.get('channel')}: \u201c{_short(text, 50)}\u201d"
    if event == "Opened":
        keys = ("subject", "priority", "category", "channel")
        return ", ".join(f"{k}={_short(changes[k])}" for k in keys if changes.get(k))
    if event == "StatusChanged":
        reason = f" ({changes['reason']})" if changes.get("reason") else ""
        return f"{changes.get('from_status')} \u2192 {changes.get('to_status')}{reason}"
    if event == "Reopened":
        why = changes.get("reason") or "reopened"
        return f"{changes.get('from_status')} \u2192 in_progress ({why})"
    return ", ".join(f"{k}={_short(v)}" for k, v in changes.items()) or "-"


def _short(value: object, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
