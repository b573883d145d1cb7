"""Reactions, the outbox and the dispatcher on the real stores, with the file transport."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from ledgerdesk.jobs.outbox import dispatcher_for
from ledgerdesk.tests.integration.mail.mails import SECRET, SUPPORT, mail
from ledgerdesk.tests.support import open_ticket


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.with_changes(secret_key=SECRET, support_address=SUPPORT)


def outbox(services, **filters):  # type: ignore[no-untyped-def]
    services.projections.catch_up()
    return services.outbox.items(limit=1000, **filters)


def sent_mails(services) -> list:  # type: ignore[no-untyped-def]
    folder = Path(services.settings.data_dir) / "mail" / "out"
    return [
        message_from_bytes(p.read_bytes(), policy=default_policy)
        for p in sorted(folder.glob("*.eml"))
    ]


def test_a_mailed_ticket_is_acknowledged_once_with_its_number_threaded_to_the_customer_mail(
    services, people
):
    services.intake.ingest(mail(message_id="<first@customer.test>", to="help@example.com"), "pipe")
    items = outbox(services)
    kinds = sorted((i.kind, i.channel) for i in items)
    assert ("ticket_opened", "email") in kinds
    # The department's agents hear of the new unassigned ticket, by mail and in the app.
    assert ("new_unassigned", "in_app") in kinds
    dispatcher = dispatcher_for(services)
    assert dispatcher.drain() >= 1
    assert dispatcher.drain() == 0  # nothing is sent twice
    ack = [m for m in sent_mails(services) if m["To"] == "carol@customer.test"]
    assert len(ack) == 1
    message = ack[0]
    assert "[T-1]" in message["Subject"]
    assert message["In-Reply-To"] == "<first@customer.test>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Reply-To"].startswith("support+T-1.")
    assert services.identity.ticket_of_message_id(message["Message-ID"]) == "T-1"
    [item] = outbox(services, kind="ticket_opened", channel="email")
    assert item.status == "sent" and item.message_id == message["Message-ID"]


def test_our_acknowledgement_coming_back_is_a_loop_not_a_ticket(services, people):
    services.intake.ingest(mail(message_id="<first@customer.test>"), "pipe")
    dispatcher_for(services).drain()
    [ack] = [m for m in sent_mails(services) if m["To"] == "carol@customer.test"]
    receipt = services.intake.ingest(ack.as_bytes(), "pipe")
    assert receipt.outcome.value == "loop"


def test_an_internal_note_tells_no_customer_and_a_public_reply_does(services, people):
    number = open_ticket(services, people.alice).number
    services.app.add_note(number, actor=people.agent.actor, text="customer seems upset")
    assert not [
        i
        for i in outbox(services)
        if i.user_id == people.alice.id.hex and i.kind != "ticket_opened"
    ]
    services.app.add_reply(number, actor=people.agent.actor, text="We are on it.")
    replies = outbox(services, kind="agent_replied", user_id=people.alice.id.hex)
    assert [i.channel for i in replies] == ["email"]


def test_a_bounced_address_gets_no_more_mail(services, people):
    services.app.execute(lambda unit: None)
    user = services.app.user(people.alice.id)
    services.app.execute(lambda unit: _bounce(unit, user.id, services))
    number = open_ticket(services, people.alice).number
    services.app.add_reply(number, actor=people.agent.actor, text="Hello")
    [item] = outbox(services, kind="agent_replied", user_id=people.alice.id.hex)
    assert item.status == "suppressed" and "bounced" in item.last_error


def _bounce(unit, user_id, services):  # type: ignore[no-untyped-def]
    from ledgerdesk.domain.user import User

    user = unit.get(User, user_id, "user")
    user.mark_bounced("550 user unknown", actor="system:test", at=services.app.now())
    unit.add(user)


def test_preferences_choose_channels_and_digest_only(services, people):
    services.app.set_preferences(
        people.agent.id,
        {"ticket_assigned": {"channels": ["in_app"], "digest": False}},
        actor=people.agent.actor,
    )
    number = open_ticket(services, people.alice).number
    services.app.assign(number, people.agent.id, actor=people.admin.actor)
    items = outbox(services, kind="ticket_assigned", user_id=people.agent.id.hex)
    assert [(i.channel, i.status) for i in items] == [("in_app", "unread")]
    keys = [i.key for i in items]
    assert services.app.mark_read(people.agent.id, keys, actor=people.agent.actor) == 1
    assert outbox(services, kind="ticket_assigned")[0].status == "read"
    assert services.outbox.unread_count(people.agent.id.hex) == 0


def test_the_daily_limit_of_automatic_mail_per_recipient(services, people):
    for n in range(45):
        open_ticket(services, people.alice, subject=f"ticket {n}")
    acks = outbox(services, kind="ticket_opened", user_id=people.alice.id.hex)
    statuses = [i.status for i in sorted(acks, key=lambda i: i.created_at)]
    assert statuses.count("pending") == 40
    assert statuses.count("suppressed") == 5


def test_a_failing_transport_retries_with_backoff_then_dead_letters_and_an_admin_requeues(
    services, people, clock
):
    from datetime import timedelta

    from ledgerdesk.domain.outgoing import SendResult

    class Down:
        def send_many(self, mails):  # type: ignore[no-untyped-def]
            return [SendResult(m.key, False, error="421 try later") for m in mails]

        def close(self) -> None:
            pass

    open_ticket(services, people.alice)
    dispatcher = dispatcher_for(services)
    dispatcher.transport = Down()
    for _ in range(6):
        dispatcher.drain()
        clock.advance(timedelta(hours=7))
    [item] = outbox(services, kind="ticket_opened")
    assert item.status == "dead" and item.attempts == 6 and "421" in item.last_error
    services.app.requeue_delivery(item.key, actor=people.admin.actor)
    dispatcher.transport = services.mail_transport
    dispatcher.drain()
    [item] = outbox(services, kind="ticket_opened")
    assert item.status == "sent"


def test_a_rebuilt_outbox_decides_the_same_items_with_the_same_states(services, people):
    services.intake.ingest(mail(message_id="<first@customer.test>", to="help@example.com"), "pipe")
    number = "T-1"
    services.app.assign(number, people.agent.id, actor=people.admin.actor)
    dispatcher_for(services).drain()
    before = sorted((i.key, i.status, i.attempts) for i in outbox(services))
    services.projections.rebuild("outbox")
    after = sorted((i.key, i.status, i.attempts) for i in outbox(services))
    assert before == after and before


def test_a_restarted_outbox_loads_the_ticket_it_has_not_seen_yet(services, people, settings):
    from ledgerdesk.bootstrap import bootstrap

    number = open_ticket(services, people.alice).number
    outbox(services)
    restarted = bootstrap(settings)  # a new process: its outbox remembers no ticket
    try:
        restarted.app.add_reply(number, actor=people.agent.actor, text="On it.")
        restarted.projections.catch_up()
        [item] = restarted.outbox.items(kind="agent_replied", limit=10)
        assert item.context["text"] == "On it." and item.ticket == number
    finally:
        restarted.close()


def test_an_sms_goes_to_a_user_who_asked_for_it_and_has_a_phone(services, people):
    from ledgerdesk.domain.outgoing import SendResult

    class Recorder:  # the port; the HTTP transports themselves are tested against a server
        sent: list[tuple[str, str, str]] = []

        def send_many(self, messages):  # type: ignore[no-untyped-def]
            self.sent.extend(messages)
            return [SendResult(key, True) for key, _, _ in messages]

        def close(self) -> None:
            pass

    services.app.update_user(people.agent.id, actor=people.admin.actor, phone="+4915112345678")
    services.app.set_preferences(
        people.agent.id,
        {"customer_replied": {"channels": ["sms"], "digest": False}},
        actor=people.agent.actor,
    )
    number = open_ticket(services, people.alice).number
    services.app.assign(number, people.agent.id, actor=people.admin.actor)
    services.app.add_reply(number, actor=people.alice.actor, text="Any news?")
    dispatcher = dispatcher_for(services)
    dispatcher.sms = recorder = Recorder()
    dispatcher.drain()
    [(key, phone, text)] = recorder.sent
    assert phone == "+4915112345678" and number in text
    [item] = outbox(services, kind="customer_replied", channel="sms")
    assert item.status == "sent" and item.key == key


def test_a_broken_template_override_makes_a_dead_letter_with_the_reason_not_a_crash(
    services, people
):
    override = Path(services.settings.data_dir) / "templates" / "mail" / "en"
    override.mkdir(parents=True)
    (override / "ticket_opened.subject.j2").write_text("[{{ number }}] {{ no_such_variable }}")
    from ledgerdesk.adapters.mail_out.templates import MailTemplates

    open_ticket(services, people.alice)
    dispatcher = dispatcher_for(services)
    dispatcher.templates = MailTemplates.in_data_dir(Path(services.settings.data_dir))
    dispatcher.drain()
    [item] = outbox(services, kind="ticket_opened")
    assert item.status == "dead"
    assert "no_such_variable" in item.last_error
    assert sent_mails(services) == []


def test_upgrading_an_installation_with_history_notifies_nobody_about_its_past(settings):
    from ledgerdesk.bootstrap import bootstrap, migrate

    if settings.database_url:  # `migrate` makes the schema; the old version's tables need it
        import psycopg

        base, _, query = settings.database_url.partition("?")
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{query.split("schema=")[1]}"')
    before = bootstrap(settings, create_tables=True)  # as a version without the outbox left it
    try:
        old = before.app.create_user(actor="system:test", email="old@customer.test")
        for n in range(3):
            before.app.open_ticket(
                actor="system:test", subject=f"old {n}", text="x", requester_id=old.id
            )
    finally:
        before.close()
    migrate(settings)  # the upgrade: notifications begin here
    services = bootstrap(settings)
    try:
        services.app.add_reply("T-1", actor="system:test", text="news after the upgrade")
        items = outbox(services)
        assert [(i.kind, i.ticket) for i in items] == [("agent_replied", "T-1")]
        services.projections.rebuild("outbox")
        assert [(i.kind, i.ticket) for i in outbox(services)] == [("agent_replied", "T-1")]
    finally:
        services.close()


def test_an_odd_customer_message_id_does_not_stop_our_mail(services, people):
    raw = mail(message_id="<odd@example.test>").replace(
        b"<odd@example.test>", "<odd@exämple.test>".encode()
    )
    services.intake.ingest(raw, "pipe")
    assert services.app.ticket("T-1").messages[0]["email_message_id"] == "<odd@exämple.test>"
    dispatcher_for(services).drain()
    [ack] = [m for m in sent_mails(services) if m["To"] == "carol@customer.test"]
    assert "[T-1]" in ack["Subject"]
    [item] = outbox(services, kind="ticket_opened")
    assert item.status == "sent"


def test_the_daily_limit_reads_only_the_mails_it_counts(services, people, store, clock):
    """A mail loop's suppressed mails stay out of the count's way (its own partial index)."""
    for n in range(45):
        open_ticket(services, people.alice, subject=f"ticket {n}")
    outbox(services)
    view = services.outbox
    query = view.automatic_query(2)
    since = clock.now().timestamp() - 86_400
    with view.reading() as cur:
        if store == "postgres":
            cur.execute("SET LOCAL enable_seqscan = off")
            cur.execute("EXPLAIN " + query, [people.alice.id.hex, "x", since])
        else:
            cur.execute("EXPLAIN QUERY PLAN " + query, [people.alice.id.hex, "x", since])
        plan = " ".join(str(v) for row in cur.fetchall() for v in dict(row).values())
    assert "_automatic" in plan, plan


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_file_not_migrated_since_the_daily_limit_s_index_came_still_counts(
    services, people, clock
):
    """SQLite is told which index to use, but only once the file has it: a query naming a
    missing index would be refused."""
    from ledgerdesk.projections.outbox.sqlite import SQLiteOutboxView

    with services.outbox.writing() as cur:
        cur.execute("DROP INDEX outbox_automatic")
    view = SQLiteOutboxView(services.outbox.datastore, events_table=services.outbox.events_table)
    assert "INDEXED BY" not in view.automatic_query(1)
    for n in range(3):
        open_ticket(services, people.alice, subject=f"ticket {n}")
    outbox(services)
    since = clock.now() - timedelta(days=1)
    assert len(view.automatic_mails([people.alice.id.hex], since)[people.alice.id.hex]) == 3
    with services.outbox.writing() as cur:  # `migrate` makes it again
        for statement in view.table_statements():
            cur.execute(statement)
    assert "INDEXED BY outbox_automatic" in view.automatic_query(1)
