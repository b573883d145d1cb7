"""`ledgerdesk mail …`: take mail from an MTA pipe or files, and look after the quarantine."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.table import Table

from ledgerdesk.cli.common import console, print_json, progress_bar, services
from ledgerdesk.domain.application.intake import Receipt
from ledgerdesk.domain.errors import StoreUnavailableError, ValidationError

app = typer.Typer(help="Receive mail (MTA pipe, files) and manage the quarantine.")
quarantine = typer.Typer(help="Messages the intake could not process, kept with their reason.")
app.add_typer(quarantine, name="quarantine")


@app.command("ingest")
def ingest(
    files: list[str] = typer.Argument(None, help="Message files (.eml); '-' or none: stdin."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per message."),
) -> None:
    """Store messages and turn them into tickets and replies (exit 75: store down, retry)."""
    items = _read(files or ["-"])
    with services() as svc, _disk_errors():
        if len(items) > 50 and not json_out:
            with progress_bar("ingesting", transient=True) as bar:
                task = bar.add_task("ingesting", total=len(items))
                receipts = svc.intake.ingest_many(
                    items, "pipe", progress=lambda n: bar.advance(task, n)
                )
        else:
            receipts = svc.intake.ingest_many(items, "pipe")
    for receipt in receipts:
        if json_out:
            sys.stdout.write(json.dumps(receipt.as_json(), ensure_ascii=False) + "\n")
        else:
            console.print(_line(receipt), markup=False)


@quarantine.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Messages in quarantine, oldest first, with why."""
    with services() as svc:
        entries = svc.app.quarantined()
    if json_out:
        print_json([e.__dict__ for e in entries])
        return
    if not entries:
        console.print("the quarantine is empty")
        return
    table = Table("key", "received", "via", "sender", "subject", "reason")
    for e in entries:
        table.add_row(
            e.key,
            f"{e.received_at:%Y-%m-%d %H:%M}",
            e.channel,
            e.sender or "-",
            e.subject[:40],
            e.reason,
        )
    console.print(table)


@quarantine.command("retry")
def retry(
    keys: list[str] = typer.Argument(None, help="Keys from `mail quarantine list`."),
    all_: bool = typer.Option(False, "--all", help="Retry every quarantined message."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per message."),
) -> None:
    """Run quarantined messages through the intake again, from their stored raw bytes."""
    with services() as svc:
        chosen = [e.key for e in svc.app.quarantined(limit=1_000_000)] if all_ else keys or []
        if not chosen:
            raise ValidationError("keys", "give the keys to retry, or --all")
        receipts = [svc.intake.reprocess(key, actor="system:cli") for key in chosen]
    for key, receipt in zip(chosen, receipts, strict=True):
        if json_out:
            sys.stdout.write(json.dumps({"key": key, **receipt.as_json()}) + "\n")
        else:
            console.print(f"{key}: {_line(receipt)}", markup=False)


@quarantine.command("show")
def show(key: str = typer.Argument(..., help="A key from `mail quarantine list`.")) -> None:
    """Print a quarantined message's raw bytes (as received) to stdout."""
    with services() as svc:
        record = svc.app.inbound_mail(key)
        if record is None:
            raise ValidationError("key", f"no received message with key {key}")
        sys.stdout.buffer.write(svc.blobs.get(record.raw_sha256))


@contextmanager
def _disk_errors() -> Iterator[None]:
    # A full or read-only disk is temporary for an MTA: exit 75 so it keeps the message.
    try:
        yield
    except OSError as error:
        raise StoreUnavailableError(f"the blob store cannot be written: {error}") from error


@app.command("inspect")
def inspect(
    source: str = typer.Argument(..., help="A message file, or a key from `mail quarantine list`."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Explain a message: mail-parser's second opinion (defects) and what the intake sees."""
    import logging

    import mailparser  # a second, independent parser: its defect report helps fixing mail

    logging.getLogger("mailparser").setLevel(logging.CRITICAL)
    with services() as svc:
        record = svc.app.inbound_mail(source) if not Path(source).is_file() else None
        if record is None and not Path(source).is_file():
            raise ValidationError("source", f"{source} is neither a file nor a received message")
        raw = svc.blobs.get(record.raw_sha256) if record else Path(source).read_bytes()
        view = svc.intake.explain(raw)
    other = mailparser.parse_from_bytes(raw)
    view["mail_parser"] = {
        "defects": sorted(other.defects_categories),
        "attachments": [
            {"name": a.get("filename"), "content_type": a.get("mail_content_type")}
            for a in other.attachments
        ],
    }
    if record is not None:
        view["received"] = {
            "outcome": record.outcome,
            "ticket": record.ticket,
            "reason": record.reason,
        }
    if json_out:
        print_json(view)
        return
    for key, value in view.items():
        console.print(f"[bold]{key}[/bold]: {value}", soft_wrap=True)


def _read(names: list[str]) -> list[tuple[bytes, str]]:
    items = []
    for name in names:
        if name == "-":
            items.append((sys.stdin.buffer.read(), "stdin"))
            continue
        path = Path(name)
        if not path.is_file():
            raise ValidationError("files", f"{name} is not a readable file")
        items.append((path.read_bytes(), str(path)))
    return items


def _line(r: Receipt) -> str:
    ticket = r.ticket or "-"
    reason = f" ({r.reason})" if r.reason else ""
    return f"{r.outcome.value:<11} {ticket:<8} {r.source}{reason}"
