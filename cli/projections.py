"""`ledgerdesk projections …`: where each read model is in the log, and rebuilding them."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from ledgerdesk.bootstrap import Services
from ledgerdesk.cli.common import console, err_console, print_json, progress_bar, services
from ledgerdesk.domain.errors import ValidationError

app = typer.Typer(
    help="Read models: their position in the log, and rebuilds.", no_args_is_help=True
)


@app.command("status")
def status(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Each read model's tracking position, the head of the log, and how far behind it is."""
    with services() as svc:
        rows = svc.app.read(svc.projections.status)
    if json_out:
        print_json(
            [{"name": r.name, "position": r.position, "head": r.head, "lag": r.lag} for r in rows]
        )
        return
    table = Table("projection", "position", "log head", "lag")
    for r in rows:
        lag = f"[green]{r.lag}[/green]" if r.lag == 0 else f"[yellow]{r.lag}[/yellow]"
        table.add_row(r.name, str(r.position), str(r.head), lag)
    console.print(table)


@app.command("rebuild")
def rebuild(
    name: str | None = typer.Argument(None, help="One read model (default: all of them)."),
) -> None:
    """Replay the whole log into fresh tables, then swap them in; the app keeps serving."""
    with services() as svc:
        known = list(svc.projections.projections)
        if name is not None and name not in known:
            raise ValidationError("name", f"{name!r} is not one of {', '.join(known)}")
        for each in [name] if name else known:
            _rebuild(svc, each)


def _rebuild(svc: Services, name: str) -> None:
    started = time.perf_counter()
    with progress_bar(f"rebuilding {name}") as bar:
        task = bar.add_task(f"rebuilding {name}", total=None)

        def progress(done: int, head: int) -> None:
            bar.update(task, completed=done, total=head)

        read = svc.app.read(lambda: svc.projections.rebuild(name, progress))
    seconds = time.perf_counter() - started
    err_console.print(
        f"{name}: rebuilt from {read:,} events in {seconds:.2f} s "
        f"({read / max(seconds, 1e-9):,.0f} events/s) and swapped in"
    )
