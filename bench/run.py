"""`make bench`: the figures named by the issues, on SQLite and (when configured) PostgreSQL.

PostgreSQL is measured when LEDGERDESK_BENCH_DATABASE_URL (or LEDGERDESK_TEST_DATABASE_URL) is
set: each run works in a fresh schema that is dropped afterwards.

Issue 3 (read models and API): ticket creation through HTTP runs by default (`--no-http` skips
it); `--search` adds the read-model figures over 20,000 tickets, `--large` over 100,000 tickets
with 500,000 messages plus the API's memory (see docs/benchmarks.md for how long each takes).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ledgerdesk.bootstrap import Services, bootstrap, migrate
from ledgerdesk.settings import Settings


def emit(name: str, value: float, unit: str = "") -> None:
    print(f"{name}={value:.4g}{unit}", flush=True)


@contextmanager
def fresh_store(store: str, pg_url: str, tmp: Path) -> Iterator[Settings]:
    settings = Settings(data_dir=tmp / store, secret_key="bench", snapshot_interval=50)
    if store == "sqlite":
        yield settings
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in pg_url else "?"
    yield settings.with_changes(database_url=f"{pg_url}{sep}schema={schema}")
    with psycopg.connect(pg_url.split("?")[0], autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def chosen_stores(choice: str) -> Iterator[tuple[str, str]]:
    """(store, PostgreSQL URL) for `--store sqlite|postgres|both`; says why PostgreSQL is
    skipped when no database is configured."""
    extra = Settings.from_env().extra
    pg_url = extra.get("BENCH_DATABASE_URL") or extra.get("TEST_DATABASE_URL", "")
    for store in ["sqlite", "postgres"] if choice == "both" else [choice]:
        if store == "postgres" and not pg_url:
            print("# postgres: skipped (set LEDGERDESK_BENCH_DATABASE_URL)", flush=True)
            continue
        yield store, pg_url


def _requester(svc: Services) -> uuid.UUID:
    return svc.app.create_user(
        actor="system:bench", email=f"bench-{uuid.uuid4().hex[:8]}@example.com"
    ).id


def bench_open_ticket(svc: Services, store: str, n: int) -> None:
    requester = _requester(svc)
    app = svc.app
    for _ in range(50):  # warm up connections and caches
        app.open_ticket(actor="system:bench", subject="warm", text="up", requester_id=requester)
    samples = []
    for i in range(n):
        started = time.perf_counter()
        app.open_ticket(
            actor="system:bench",
            subject=f"Printer {i} on fire",
            text="Hello,\nthe printer is on fire again.\nRegards",
            requester_id=requester,
        )
        samples.append(time.perf_counter() - started)
    samples.sort()
    emit(f"open_ticket_p50_ms.{store}", statistics.median(samples) * 1000)
    emit(f"open_ticket_p99_ms.{store}", samples[int(len(samples) * 0.99) - 1] * 1000)


def bench_group_commit(svc: Services, store: str, batches: int, per_batch: int = 50) -> None:
    requester = _requester(svc)
    app = svc.app
    start_pos = app.read(app.recorder.max_notification_id) or 0

    def command(i: int) -> Callable[[], object]:
        return lambda: app.open_ticket(
            actor="system:bench", subject=f"Batch {i}", text="batched", requester_id=requester
        )

    started = time.perf_counter()
    for b in range(batches):
        app.batch([command(b * per_batch + i) for i in range(per_batch)])
    elapsed = time.perf_counter() - started
    events = (app.read(app.recorder.max_notification_id) or 0) - start_pos
    emit(f"group_commit_events_per_s.{store}", events / elapsed)
    emit(f"group_commit_commands_per_s.{store}", batches * per_batch / elapsed)


def bench_replay(svc: Services, store: str, events: int = 1000) -> None:
    app = svc.app
    requester = _requester(svc)
    number = app.open_ticket(
        actor="system:bench", subject="long", text="start", requester_id=requester
    ).number
    while app.ticket(number).version < events:
        app.batch(
            [
                lambda: app.add_note(number, actor="system:bench", text="a note " * 10)
                for _ in range(min(100, events - app.ticket(number).version))
            ]
        )
    ticket_id = app.ticket(number).id
    timings = []
    ticket: Any = None
    for _ in range(20):
        started = time.perf_counter()
        ticket = app.repository.get(ticket_id)
        timings.append(time.perf_counter() - started)
    assert ticket.version == events
    emit(f"replay_1000_events_with_snapshots_ms.{store}", statistics.median(timings) * 1000)
    started = time.perf_counter()
    for _ in range(3):
        app.repository.get(ticket_id, projector_func=None) if False else _replay_without_snapshot(
            app, ticket_id
        )
    emit(
        f"replay_1000_events_without_snapshots_ms.{store}",
        (time.perf_counter() - started) / 3 * 1000,
    )


def _replay_without_snapshot(app: object, ticket_id: uuid.UUID) -> object:
    events = app.events.get(ticket_id)  # type: ignore[attr-defined]
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def bench_verify(svc: Services, store: str) -> None:
    app = svc.app
    app.seal()
    started = time.perf_counter()
    report = app.verify()
    elapsed = time.perf_counter() - started
    assert report.ok, report.findings[:3]
    emit(f"audit_verify_events_per_s.{store}", report.events / elapsed)
    emit(f"audit_verify_events.{store}", report.events)


def run_store(store: str, pg_url: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, fresh_store(store, pg_url, Path(tmp)) as settings:
        migrate(settings)
        svc = bootstrap(settings)
        try:
            bench_open_ticket(svc, store, args.open_n)
            bench_group_commit(svc, store, args.batches)
            bench_replay(svc, store)
            bench_verify(svc, store)
        finally:
            svc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--open-n", type=int, default=2000, help="open_ticket samples")
    parser.add_argument("--batches", type=int, default=200, help="group-commit batches of 50")
    parser.add_argument("--no-http", action="store_true", help="skip HTTP ticket creation")
    parser.add_argument("--search", action="store_true", help="read models, 20,000 tickets")
    parser.add_argument("--large", action="store_true", help="read models, 100,000 tickets")
    parser.add_argument("--no-mail", action="store_true", help="skip the mail figures")
    args = parser.parse_args()
    extra = Settings.from_env().extra
    pg_url = extra.get("BENCH_DATABASE_URL") or extra.get("TEST_DATABASE_URL", "")
    print(
        f"# machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"python {platform.python_version()}, {_cores()} cores",
        flush=True,
    )
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    for store in stores:
        if store == "postgres" and not pg_url:
            print("# postgres: skipped (set LEDGERDESK_BENCH_DATABASE_URL)", flush=True)
            continue
        run_store(store, pg_url, args)
    # Issue 3: each in its own process (the HTTP bench starts a server; the search bench seeds).
    store_args = ["--store", args.store]
    if not args.no_http:
        subprocess.run([sys.executable, "-m", "ledgerdesk.bench.api", *store_args], check=True)
    if args.search or args.large:
        size = ["--large"] if args.large else []
        subprocess.run(
            [sys.executable, "-m", "ledgerdesk.bench.search", *store_args, *size], check=True
        )
    if not args.no_mail:  # issues 4 and 5: intake, IMAP, dispatch, notifications end to end
        for module in ("intake", "imap", "dispatch", "notify"):
            extra_args = store_args if module != "dispatch" else []
            subprocess.run(
                [sys.executable, "-m", f"ledgerdesk.bench.{module}", *extra_args], check=True
            )


def _cores() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    main()
