"""Read-model figures: search latency over a large index, rebuild speed, read-your-writes.

`python -m ledgerdesk.bench.search [--tickets 20000] [--store sqlite|postgres|both]` seeds the
demo scenario (about eight events per ticket) into a fresh store, then prints `name=value`
lines. `--large` is the issue's data set: 100,000 tickets with 500,000 messages (the demo
scenario, then more replies and notes up to the message count, all through `app.batch`), and
also measures the API process's memory after serving searches over it. PostgreSQL is measured
when LEDGERDESK_BENCH_DATABASE_URL (or LEDGERDESK_TEST_DATABASE_URL) is set.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from eventsourcing.utils import get_topic

from ledgerdesk.adapters.clock import ManualClock
from ledgerdesk.bench.api import rss_mb, served
from ledgerdesk.bench.run import emit, fresh_store
from ledgerdesk.bootstrap import Services, bootstrap, migrate
from ledgerdesk.cli.demo import seed_demo
from ledgerdesk.cli.demo_data import AGENT_REPLIES, BODIES, CUSTOMER_REPLIES, NOTES
from ledgerdesk.domain.errors import DomainError
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.projections.ticket_index.view import Scope, TicketQuery
from ledgerdesk.settings import Settings


def seed(settings: Settings, tickets: int, messages: int = 0) -> None:
    """The demo scenario for `tickets`; then, if `messages` is more than it wrote, agent
    replies and internal notes on random tickets until there are that many messages."""
    end = datetime(2026, 11, 1, tzinfo=UTC)
    rng = random.Random(7)
    clock = ManualClock(end - timedelta(days=366))
    svc = bootstrap(settings, clock=clock, new_id=lambda: UUID(int=rng.getrandbits(128), version=4))
    try:
        summary = seed_demo(
            svc,
            clock,
            rng,
            tickets=tickets,
            start=end - timedelta(days=365),
            end=end,
            customers=max(20, tickets // 8),
            agents=12,
        )
        if messages:
            _more_messages(svc, rng, summary["tickets"], messages)
    finally:
        svc.close()


def _more_messages(svc: Services, rng: random.Random, tickets: int, target: int) -> None:
    """Agent replies (two thirds) and notes, spread evenly over the tickets in random order,
    about 500 per transaction, until the log holds `target` messages. Staff messages never
    reopen a ticket; each ticket is loaded once for all of its new messages."""
    app = svc.app
    written = _message_count(svc)
    agents = [app.user_by_email(f"agent{i}@demo.ledgerdesk.test") for i in (1, 2, 3)]
    actors = [f"user:{a.id}" for a in agents if a is not None]
    texts = [*AGENT_REPLIES, *CUSTOMER_REPLIES, *NOTES, *BODIES]
    missing = max(target - written, 0)
    print(f"# {written} messages from the scenario; adding {missing}", flush=True)
    order = list(range(1, tickets + 1))
    rng.shuffle(order)
    per_ticket, extra = divmod(missing, tickets)
    commands: list[Callable[[], Any]] = []
    for position, n in enumerate(order):
        for _ in range(per_ticket + (1 if position < extra else 0)):
            text = f"{rng.choice(texts)} (ref REF-{rng.randint(1000, 9999)})".format(
                when="today", who="the team", count=rng.randint(2, 40), ref="REF-1"
            )
            add = app.add_reply if rng.random() < 2 / 3 else app.add_note
            commands.append(partial(add, f"T-{n}", actor=rng.choice(actors), text=text))
        if len(commands) >= 500 or position == len(order) - 1:
            for result in app.batch(commands):
                if isinstance(result, Exception):
                    raise RuntimeError(f"adding a message failed: {result}")
            commands = []


def _message_count(svc: Services) -> int:
    app = svc.app
    topics = [get_topic(Ticket.MessageAdded)]
    count, after = 0, 0
    while True:
        rows = app.recorder.select_notifications(
            start=after, limit=10_000, topics=topics, inclusive_of_start=False
        )
        if not rows:
            return count
        count, after = count + len(rows), rows[-1].id


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
    billing = app.department("billing").id if _has_department(svc, "billing") else None
    # The figure: a keyword and two filters.
    filtered = {
        "kw2_status_priority": TicketQuery(
            text="invoice", status=["new", "in_progress"], priority=["high", "urgent"]
        ),
        "kw2_department_status": TicketQuery(
            text="refund", department_id=billing, status=["resolved", "closed"]
        ),
        "kw2_category_priority": TicketQuery(
            text="password reset", category="login", priority=["normal", "high"]
        ),
        "kw2_status_created_relevance": TicketQuery(
            text="timeouts",
            status=["closed"],
            created_from=datetime(2026, 6, 1, tzinfo=UTC),
            sort="relevance",
        ),
    }
    keyword_filters: list[float] = []
    for scope_name, scope in scopes.items():
        for name, query in filtered.items():
            samples = _timed(partial(index.search, query, scope), n)
            keyword_filters += samples
            emit(f"search_{name}_{scope_name}_p50_ms.{store}", statistics.median(samples) * 1000)
    keyword_filters.sort()
    emit(f"search_keyword_two_filters_p50_ms.{store}", statistics.median(keyword_filters) * 1000)
    emit(
        f"search_keyword_two_filters_p95_ms.{store}",
        keyword_filters[int(len(keyword_filters) * 0.95)] * 1000,
    )
    everything: list[float] = list(keyword_filters)
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


def _has_department(svc: Services, slug: str) -> bool:
    try:
        svc.app.department(slug)
    except DomainError:
        return False
    return True


def bench_api_memory(settings: Settings, store: str, requests: int = 300) -> None:
    """RSS of a `ledgerdesk serve` process after it served searches and lists over the store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERDESK_")}
    env.update(
        LEDGERDESK_DATA_DIR=str(settings.data_dir),
        LEDGERDESK_SECRET_KEY=settings.secret_key,
        LEDGERDESK_DATABASE_URL=settings.database_url,
    )
    with served(env) as server:
        base = server.base
        headers = {}
        for email in ("admin@demo.ledgerdesk.test", "agent1@demo.ledgerdesk.test"):
            login = httpx.post(f"{base}/auth/login", json={"email": email, "password": "demo1234"})
            login.raise_for_status()
            headers[email] = {"Authorization": f"Bearer {login.json()['access_token']}"}
        params: list[dict[str, Any]] = [
            {},
            {"q": "invoice", "status": ["new", "in_progress"], "priority": ["high", "urgent"]},
            {"q": "printer error"},
            {"person": "agent 3"},
            {"sort": "due_at", "status": "in_progress", "limit": 200},
            {"q": "password reset", "sort": "relevance", "limit": 200},
        ]
        with httpx.Client(base_url=base, timeout=60) as client:
            for i in range(requests):
                who = list(headers.values())[i % len(headers)]
                client.get("/tickets", params=params[i % len(params)], headers=who)
                if i % 10 == 0:
                    client.get("/dashboard/counters", headers=who)
                    client.get(f"/tickets/T-{1 + i * 97 % 1000}", headers=who)
        emit(f"api_rss_mb.{store}", rss_mb(server.pid))


def bench_read_your_writes(svc: Services, store: str, n: int = 200) -> None:
    """As deployed: the embedded default keeps every read model in the API process; on
    PostgreSQL the outbox is the worker's (docker-compose.yml sets a queue), so the API
    process projects the ticket index alone."""
    app, runtime, index = svc.app, svc.projections, svc.ticket_index
    requester = index.search(TicketQuery(limit=1), Scope.everything()).items[0].requester_id
    runtime.start(background=store == "sqlite")
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
        samples, after_save = [], []
        for i in range(n):
            started = time.perf_counter()
            app.add_reply(f"T-{i + 1}", actor="system:bench", text=f"searchable{i}")
            saved = time.perf_counter()
            assert runtime.wait(app.last_position, timeout=5)
            assert index.search(TicketQuery(text=f"searchable{i}"), Scope.everything()).items
            samples.append(time.perf_counter() - started)
            after_save.append(time.perf_counter() - saved)
        # The reply itself (load the ticket, save two events), then until a search finds it.
        emit(f"command_to_search_p50_ms.{store}", statistics.median(samples) * 1000)
        emit(f"saved_to_search_p50_ms.{store}", statistics.median(after_save) * 1000)
    finally:
        runtime.stop()


@contextmanager
def kept_store(store: str, pg_url: str, name: str) -> Iterator[Settings]:
    """A store that outlives the run (`--keep NAME`): SQLite under var/bench/NAME, PostgreSQL in
    schema NAME. Seeding an hour's worth of data once lets later runs measure it again."""
    settings = Settings(
        data_dir=Path("var/bench") / name / store, secret_key="bench", snapshot_interval=50
    )
    if store == "postgres":
        sep = "&" if "?" in pg_url else "?"
        settings = settings.with_changes(database_url=f"{pg_url}{sep}schema={name}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    yield settings


def _wipe(settings: Settings) -> None:
    """Empty a kept store whose seeding never finished."""
    if settings.is_embedded:
        shutil.rmtree(settings.data_dir)
        settings.data_dir.mkdir(parents=True)
        return
    import psycopg

    url, _, query = settings.database_url.partition("?")
    schema = query.split("schema=")[1].split("&")[0]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def run_store(store: str, pg_url: str, args: argparse.Namespace) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        (
            kept_store(store, pg_url, args.keep)
            if args.keep
            else fresh_store(store, pg_url, Path(tmp))
        ) as settings,
    ):
        marker = settings.data_dir / "seeded"
        if args.keep and marker.exists():
            print(f"# {store}: measuring the store kept as {args.keep!r}", flush=True)
            migrate(settings)
        else:
            if args.keep:
                _wipe(settings)
            migrate(settings)
            started = time.perf_counter()
            seed(settings, args.tickets, args.messages)
            seconds = time.perf_counter() - started
            print(f"# {store}: seeded {args.tickets} tickets in {seconds:.0f} s", flush=True)
            if args.keep:
                marker.write_text(f"{args.tickets} tickets, {args.messages} messages\n")
        svc = bootstrap(settings)
        try:
            emit(f"messages.{store}", _message_count(svc))
            bench_rebuild(svc, store, runs=1 if args.large else 3)  # builds the index
            bench_search(svc, store)
            if args.api_memory:
                bench_api_memory(settings, store)
            bench_read_your_writes(svc, store)
        finally:
            svc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=0, help="top up to this many messages")
    parser.add_argument(
        "--large", action="store_true", help="100,000 tickets, 500,000 messages, API memory"
    )
    parser.add_argument("--api-memory", action="store_true", help="the API process's RSS")
    parser.add_argument(
        "--keep",
        metavar="NAME",
        help="seed into a store kept as NAME (var/bench/NAME, PostgreSQL schema NAME), "
        "or measure it again if it is already seeded",
    )
    args = parser.parse_args()
    if args.large:
        args.tickets, args.messages, args.api_memory = 100_000, 500_000, True
    extra = Settings.from_env().extra
    pg_url = extra.get("BENCH_DATABASE_URL") or extra.get("TEST_DATABASE_URL", "")
    for store in ["sqlite", "postgres"] if args.store == "both" else [args.store]:
        if store == "postgres" and not pg_url:
            print("# postgres: skipped (set LEDGERDESK_BENCH_DATABASE_URL)", flush=True)
            continue
        run_store(store, pg_url, args)


if __name__ == "__main__":
    main()
