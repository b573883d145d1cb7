"""Read-model figures: search latency over a large index, rebuild speed, read-your-writes.

`python -m ledgerdesk.bench.search [--tickets 20000] [--store sqlite|postgres|both]` seeds the
demo scenario (about eight events per ticket) into a fresh store, then prints `name=value`
lines. PostgreSQL is measured when LEDGERDESK_BENCH_DATABASE_URL (or
LEDGERDESK_TEST_DATABASE_URL) is set.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

from ledgerdesk.adapters.clock import ManualClock
from ledgerdesk.bench.run import emit, fresh_store
from ledgerdesk.bootstrap import Services, bootstrap, migrate
from ledgerdesk.cli.demo import seed_demo
from ledgerdesk.projections.ticket_index.view import Scope, TicketQuery
from ledgerdesk.settings import Settings


def seed(settings: Settings, tickets: int) -> None:
    end = datetime(2026, 11, 1, tzinfo=UTC)
    rng = random.Random(7)
    clock = ManualClock(end - timedelta(days=366))
    svc = bootstrap(settings, clock=clock, new_id=lambda: UUID(int=rng.getrandbits(128), version=4))
    try:
        seed_demo(
            svc,
            clock,
            rng,
            tickets=tickets,
            start=end - timedelta(days=365),
            end=end,
            customers=max(20, tickets // 8),
            agents=12,
        )
    finally:
        svc.close()


def bench_rebuild(svc: Services, store: str, runs: int = 3) -> None:
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        read = svc.projections.rebuild("ticket_index")
        rates.append(read / (time.perf_counter() - started))
    emit(f"rebuild_events_per_s.{store}", statistics.median(rates))
    emit(f"rebuild_events.{store}", read)


def _timed(call: Callable[[], Any], n: int) -> list[float]:
    call()  # warm
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return sorted(samples)


def bench_search(svc: Services, store: str, n: int = 50) -> None:
    index, app = svc.ticket_index, svc.app
    agent = app.user_by_email("agent1@demo.ledgerdesk.test")
    assert agent is not None
    some_customer = index.search(TicketQuery(limit=1), Scope.everything()).items[0].requester_id
    scopes = {
        "admin": Scope.everything(),
        "agent": Scope.departments(agent.department_ids, agent.id),
        "customer": Scope.requester(some_customer),
    }
    queries = {
        "list": TicketQuery(),
        "keyword": TicketQuery(text="invoice"),
        "two_keywords": TicketQuery(text="printer error"),
        "phrase_or_not": TicketQuery(text='"credit card" OR refund -duplicate'),
        "relevance": TicketQuery(text="password reset", sort="relevance"),
        "person": TicketQuery(person="agent 3"),
        "filters": TicketQuery(status=["new", "in_progress"], priority=["high", "urgent"]),
        "number": TicketQuery(number=1234),
        "due_sorted": TicketQuery(sort="due_at", status=["in_progress"]),
    }
    everything: list[float] = []
    for scope_name, scope in scopes.items():
        for name, query in queries.items():
            samples = _timed(partial(index.search, query, scope), n)
            everything += samples
            emit(f"search_{name}_{scope_name}_p50_ms.{store}", statistics.median(samples) * 1000)
    everything.sort()
    emit(f"search_all_p50_ms.{store}", statistics.median(everything) * 1000)
    emit(f"search_all_p95_ms.{store}", everything[int(len(everything) * 0.95)] * 1000)
    cursor, depth = None, 0
    while depth < 20:  # twenty pages deep (or as deep as there are pages)
        page = index.search(TicketQuery(limit=50, cursor=cursor), Scope.everything())
        if page.next_cursor is None:
            break
        cursor, depth = page.next_cursor, depth + 1
    deep = TicketQuery(limit=50, cursor=cursor)
    samples = _timed(lambda: index.search(deep, Scope.everything()), n)
    emit(f"search_page_{depth + 1}_p50_ms.{store}", statistics.median(samples) * 1000)
    for scope_name, scope in scopes.items():
        samples = _timed(partial(index.counters, scope), n)
        emit(f"counters_{scope_name}_p50_ms.{store}", statistics.median(samples) * 1000)
    emit(f"index_tickets.{store}", index.counters(Scope.everything()).total)


def bench_read_your_writes(svc: Services, store: str, n: int = 200) -> None:
    app, runtime, index = svc.app, svc.projections, svc.ticket_index
    requester = index.search(TicketQuery(limit=1), Scope.everything()).items[0].requester_id
    runtime.start()
    try:
        samples = []
        for i in range(n):
            ticket = app.open_ticket(
                actor="system:bench", subject=f"Fresh {i}", text="hello", requester_id=requester
            )
            started = time.perf_counter()
            assert runtime.wait(app.last_position, timeout=5)
            samples.append(time.perf_counter() - started)
            assert index.get_ticket_row(ticket.id, Scope.everything()) is not None
        samples.sort()
        emit(f"read_your_writes_p50_ms.{store}", statistics.median(samples) * 1000)
        emit(f"read_your_writes_p99_ms.{store}", samples[int(n * 0.99) - 1] * 1000)
        samples = []
        for i in range(n):
            started = time.perf_counter()
            app.add_reply(f"T-{i + 1}", actor="system:bench", text=f"searchable{i}")
            assert runtime.wait(app.last_position, timeout=5)
            assert index.search(TicketQuery(text=f"searchable{i}"), Scope.everything()).items
            samples.append(time.perf_counter() - started)
        emit(f"command_to_search_p50_ms.{store}", statistics.median(samples) * 1000)
    finally:
        runtime.stop()


def run_store(store: str, pg_url: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, fresh_store(store, pg_url, Path(tmp)) as settings:
        migrate(settings)
        started = time.perf_counter()
        seed(settings, args.tickets)
        print(f"# {store}: seeded {args.tickets} tickets in {time.perf_counter() - started:.0f} s")
        svc = bootstrap(settings)
        try:
            bench_rebuild(svc, store)
            bench_search(svc, store)
            bench_read_your_writes(svc, store)
        finally:
            svc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--tickets", type=int, default=20_000)
    args = parser.parse_args()
    extra = Settings.from_env().extra
    pg_url = extra.get("BENCH_DATABASE_URL") or extra.get("TEST_DATABASE_URL", "")
    for store in ["sqlite", "postgres"] if args.store == "both" else [args.store]:
        if store == "postgres" and not pg_url:
            print("# postgres: skipped (set LEDGERDESK_BENCH_DATABASE_URL)", flush=True)
            continue
        run_store(store, pg_url, args)


if __name__ == "__main__":
    main()
