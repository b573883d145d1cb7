"""Fills the outbox: reactions decide from ticket events; deliveries move items along.

For each ticket event the projection applies the reaction rules (pure functions, given by
bootstrap from the manifest) to the ticket as it stood after that event, fans department
recipients out to their active agents, applies each user's preferences, and suppresses what
must not go out (a failing address, the daily limit of automatic mail). Item keys are made
from the event and the recipient, so a replay decides the same items.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic

from ledgerdesk.domain.chain import ChainedAggregate, mutate_unchained
from ledgerdesk.domain.delivery import Delivery
from ledgerdesk.domain.outgoing import Intent
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.user import User
from ledgerdesk.projections.outbox.view import (
    ATTEMPTED,
    OutboxChanges,
    OutboxItem,
    OutboxView,
    Person,
)

React = Callable[[Ticket, Any], list[Intent]]
Channels = Callable[[str, str, dict[str, Any], bool], tuple[list[str], bool]]
LoadTicket = Callable[[UUID, int], Ticket]

DAILY_LIMIT = 40  # automatic mails per recipient in 24 hours
TICKET_CACHE = 5_000
THREAD_REFERENCES = 5

USER_EVENTS: tuple[type[Any], ...] = (
    User.Created, User.Updated, User.Deactivated, User.Reactivated, User.MailBounced,
    User.MailDeliverable, User.PreferencesSet,
)  # fmt: skip
DELIVERY_EVENTS: tuple[type[Any], ...] = (
    Delivery.Opened, Delivery.Sent, Delivery.Failed, Delivery.GaveUp, Delivery.Requeued,
    Delivery.Read,
)  # fmt: skip


TICKET_EVENTS: tuple[type[Any], ...] = tuple(
    value
    for value in vars(Ticket).values()
    if isinstance(value, type) and issubclass(value, ChainedAggregate.Event)
)


class OutboxProjection:
    name = "outbox"
    read_back = False  # worked in the background: commands do not wait for it
    topics = tuple(get_topic(c) for c in (*TICKET_EVENTS, *USER_EVENTS, *DELIVERY_EVENTS))

    def __init__(
        self,
        view: OutboxView,
        application_name: str = "LedgerDesk",
        *,
        react: React,
        channels: Channels,
        load_ticket: LoadTicket,
        origin: Callable[[], int] = lambda: 0,
        daily_limit: int = DAILY_LIMIT,
    ) -> None:
        self._view = view
        self.application_name = application_name
        self.react, self.channels, self.load_ticket = react, channels, load_ticket
        self.origin, self._origin = origin, 0
        self.daily_limit = daily_limit
        self._tickets: OrderedDict[UUID, Ticket] = OrderedDict()

    @property
    def view(self) -> OutboxView:
        return self._view

    def for_view(self, view: OutboxView) -> OutboxProjection:
        """The same projection writing to other tables (a rebuild's)."""
        return OutboxProjection(
            view,
            self.application_name,
            react=self.react,
            channels=self.channels,
            load_ticket=self.load_ticket,
            origin=self.origin,
            daily_limit=self.daily_limit,
        )

    def process_events(
        self, items: Sequence[tuple[Any | None, Tracking]], expected: int | None = None
    ) -> None:
        position = self.view.position(self.application_name) if expected is None else expected
        items = [item for item in items if item[1].notification_id > position]
        if not items:
            return
        batch = _Batch(self.view)
        if not self._origin:
            self._origin = self.origin()  # recorded once by migrate; 0 means from the start
        try:
            # First the tickets and what they call for, to read every person the batch needs
            # in two queries; then everything in log order, as one event after the other.
            decided = {
                i: self._decide(event)
                for i, (event, tracking) in enumerate(items)
                if isinstance(event, TICKET_EVENTS) and tracking.notification_id > self._origin
            }
            users = {
                r.user_id.hex
                for intents, _ in decided.values()
                for intent in intents
                for r in intent.recipients
                if r.user_id is not None
            }
            first = min((e.timestamp for e, _ in items if e is not None), default=None)
            batch.preload(users, first)
            for i, (event, _) in enumerate(items):
                if i in decided:
                    self._ticket_event(batch, event, *decided[i])
                elif isinstance(event, TICKET_EVENTS):
                    continue  # before the outbox began: its state is history, not news
                elif isinstance(event, USER_EVENTS):
                    self._user_event(batch, event)
                elif isinstance(event, DELIVERY_EVENTS):
                    self._delivery_event(batch, event)
        except BaseException:
            self._tickets.clear()  # they may have moved past what the view will hold
            raise
        self.view.write(batch.changes, items[-1][1], position)

    # Tickets ----------------------------------------------------------------------------------

    def _decide(self, event: Any) -> tuple[list[Intent], list[str]]:
        """The intents of one ticket event, and the ticket's mail thread at that moment."""
        ticket = self._ticket_after(event)
        intents = self.react(ticket, event)
        if not intents:
            return [], []
        thread = [m["email_message_id"] for m in ticket.messages if m.get("email_message_id")]
        return intents, thread[:1] + thread[1:][-(THREAD_REFERENCES - 1) :]

    def _ticket_event(
        self, batch: _Batch, event: Any, intents: list[Intent], references: list[str]
    ) -> None:
        for n, intent in enumerate(intents):
            cause = f"{event.originator_id.hex}.{event.originator_version}.{n}"
            for person in self._recipients(batch, intent):
                self._plan(batch, intent, person, cause, event.timestamp, references)

    def _ticket_after(self, event: Any) -> Ticket:
        cached = self._tickets.pop(event.originator_id, None)
        if cached is not None and cached.version == event.originator_version - 1:
            ticket: Ticket = mutate_unchained(event, cached)
        elif isinstance(event, Ticket.Opened):
            ticket = mutate_unchained(event, None)
        else:
            ticket = self.load_ticket(event.originator_id, event.originator_version)
        self._tickets[event.originator_id] = ticket
        if len(self._tickets) > TICKET_CACHE:
            self._tickets.popitem(last=False)
        return ticket

    def _recipients(self, batch: _Batch, intent: Intent) -> list[Person]:
        found: dict[str, Person] = {}
        for recipient in intent.recipients:
            if recipient.user_id is not None:
                person = batch.person(recipient.user_id.hex)
                if person is not None and person.active:
                    found[person.id] = person
            elif recipient.department_id is not None:
                department = recipient.department_id.hex
                for person in batch.staff():
                    if department in person.departments:
                        found[person.id] = person
        return list(found.values())

    def _plan(
        self,
        batch: _Batch,
        intent: Intent,
        person: Person,
        cause: str,
        at: datetime,
        references: list[str],
    ) -> None:
        channels, digest_only = self.channels(
            person.role, intent.kind, person.preferences, bool(person.phone)
        )
        for channel in channels:
            status, why = self._status(batch, channel, person, intent, digest_only, at)
            batch.changes.new_items.append(
                OutboxItem(
                    key=f"{cause}.{intent.kind}.{person.id}.{channel}",
                    kind=intent.kind,
                    ticket=intent.ticket,
                    user_id=person.id,
                    channel=channel,
                    status=status,
                    created_at=at,
                    context=dict(intent.context),
                    automatic=intent.automatic,
                    references=references,
                    last_error=why,
                )
            )

    def _status(
        self,
        batch: _Batch,
        channel: str,
        person: Person,
        intent: Intent,
        digest_only: bool,
        at: datetime,
    ) -> tuple[str, str]:
        if channel == "in_app":
            return "unread", ""
        if digest_only:
            return "digest", "the user gets this kind in the digest only"
        if channel == "sms":
            return ("pending", "") if person.phone else ("suppressed", "no phone number")
        if person.failing:
            return "suppressed", f"mail to {person.email} bounced: {person.failing}"
        if intent.automatic:
            if batch.automatic_mails(person.id, at) >= self.daily_limit:
                return "suppressed", f"the limit of {self.daily_limit} automatic mails a day"
            batch.count_automatic(person.id, at)
        return "pending", ""

    # Users ------------------------------------------------------------------------------------

    def _user_event(self, batch: _Batch, event: Any) -> None:
        if isinstance(event, User.Created):
            batch.put(
                Person(
                    id=event.originator_id.hex,
                    email=event.email,
                    name=event.name,
                    role=event.role,
                    departments=[d.hex for d in event.department_ids],
                    locale=event.locale,
                    phone=event.phone,
                )
            )
            return
        person = batch.person(event.originator_id.hex)
        if person is None:
            return
        if isinstance(event, User.Updated):
            changes: dict[str, Any] = dict(event.changes)
            for name in ("email", "name", "role", "locale", "phone"):
                if name in changes:
                    setattr(person, name, changes[name])
            if "department_ids" in changes:
                person.departments = [_hex(d) for d in changes["department_ids"]]
        elif isinstance(event, User.Deactivated):
            person.active = False
        elif isinstance(event, User.Reactivated):
            person.active = True
        elif isinstance(event, User.MailBounced):
            person.failing = event.reason or "bounced"
        elif isinstance(event, User.MailDeliverable):
            person.failing = ""
        elif isinstance(event, User.PreferencesSet):
            person.preferences = dict(event.preferences)
        batch.put(person)

    # Deliveries -------------------------------------------------------------------------------

    def _delivery_event(self, batch: _Batch, event: Any) -> None:
        at = event.timestamp
        fields: dict[str, Any]
        if isinstance(event, Delivery.Opened):
            return
        if isinstance(event, Delivery.Sent):
            fields = {"status": "sent", "message_id": event.message_id}
        elif isinstance(event, Delivery.Failed):
            fields = {"status": "failed", "last_error": event.error, "next_at": event.retry_at}
        elif isinstance(event, Delivery.GaveUp):
            fields = {"status": "dead", "last_error": event.error}
        elif isinstance(event, Delivery.Requeued):
            fields = {"status": "pending", "next_at": None, "attempts": 0}
        else:  # Read
            fields = {"status": "read"}
        if isinstance(event, Delivery.Sent | Delivery.Failed | Delivery.GaveUp):
            fields["attempts"] = ATTEMPTED
        fields["updated_at"] = at
        batch.changes.updates.append((event.originator_id.hex, fields))


def _hex(value: Any) -> str:
    return value.hex if isinstance(value, UUID) else UUID(str(value)).hex


class _Batch:
    """One batch's changes, with what it wrote visible to what it reads next."""

    def __init__(self, view: OutboxView) -> None:
        self.view = view
        self.changes = OutboxChanges()
        self._staff: list[Person] | None = None
        self._read: dict[str, Person | None] = {}  # people read from the view
        self._mails: dict[str, list[datetime]] = {}  # user -> automatic mails, when

    def preload(self, user_ids: set[str], since: datetime | None) -> None:
        """Read the people the batch names, and their recent automatic mail, at once."""
        found = self.view.people(user_ids) if user_ids else {}
        for user_id in user_ids:
            self._read[user_id] = found.get(user_id)
        if since is not None:
            wanted = user_ids | {p.id for p in self.staff()}
            recent = self.view.automatic_mails(wanted, since - timedelta(days=1))
            for user_id in wanted:
                self._mails[user_id] = sorted(recent.get(user_id, []))

    def person(self, user_id: str) -> Person | None:
        found = self.changes.people.get(user_id)
        if found is not None:
            return found
        if user_id not in self._read:
            self._read[user_id] = self.view.people([user_id]).get(user_id)
        return self._read[user_id]

    def put(self, person: Person) -> None:
        self.changes.people[person.id] = person
        self._staff = None

    def staff(self) -> list[Person]:
        if self._staff is None:
            merged = {p.id: p for p in self.view.staff()}
            for person in self.changes.people.values():
                merged[person.id] = person
            self._staff = [p for p in merged.values() if p.is_staff and p.active]
        return self._staff

    def automatic_mails(self, user_id: str, at: datetime) -> int:
        """Automatic mails planned for the user in the 24 hours before `at`."""
        if user_id not in self._mails:
            recent = self.view.automatic_mails({user_id}, at - timedelta(days=1))
            self._mails[user_id] = sorted(recent.get(user_id, []))
        since = at - timedelta(days=1)
        return sum(1 for moment in self._mails[user_id] if since <= moment <= at)

    def count_automatic(self, user_id: str, at: datetime) -> None:
        self.automatic_mails(user_id, at)
        self._mails[user_id].append(at)
