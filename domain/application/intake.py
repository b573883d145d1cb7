"""Mail intake commands: deduplicate, thread and append classified mail, many per transaction."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

from ledgerdesk.domain import values as v
from ledgerdesk.domain.application.core import Core
from ledgerdesk.domain.application.unit_of_work import UnitOfWork
from ledgerdesk.domain.department import Department
from ledgerdesk.domain.errors import DomainError
from ledgerdesk.domain.inbound import InboundMail, Kind, MailFacts, Outcome, inbound_id, message_key
from ledgerdesk.domain.ticket import Ticket, format_number, ticket_id
from ledgerdesk.domain.user import EmailIndex, User
from ledgerdesk.domain.values import MessageKind, Status

MAX_PARTICIPANTS = 20  # Cc'd people recorded per mail; a mail to a crowd adds its first 20
NO_SUBJECT = "(no subject)"
ALIAS_TTL = 10.0


@dataclass(frozen=True)
class Receipt:
    """What became of one message: the intake's answer to every channel."""

    source: str
    outcome: Outcome
    ticket: str | None
    message_id: str | None
    reason: str

    def as_json(self) -> dict[str, str | None]:
        return {
            "source": self.source,
            "outcome": self.outcome.value,
            "ticket": self.ticket,
            "message_id": self.message_id,
            "reason": self.reason,
        }


class _Refused(Exception):
    """A message the domain refused half-way: the batch is re-run with it quarantined."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index, self.reason = index, reason


class IntakeCommands(Core):
    # address -> department; re-read every ALIAS_TTL seconds so other processes' edits apply
    _aliases_cache: tuple[float, dict[str, UUID]] | None = None

    def receive_mail(self, batch: Sequence[MailFacts]) -> list[Receipt]:
        """Append many received mails in one transaction; each gets its outcome."""
        refused: dict[int, str] = {}
        while True:
            aliases = self.department_aliases()
            try:
                return self._in_unit(
                    lambda unit, aliases=aliases: self._receive_all(  # type: ignore[misc]
                        unit, batch, refused, aliases
                    )
                )
            except _Refused as refusal:
                refused[refusal.index] = refusal.reason
                self.numbers.resync()  # the discarded run's numbers were never used

    def reprocess_mail(self, key: str, facts: MailFacts, *, actor: str) -> Receipt:
        """Run a quarantined message through the intake again (after a fix)."""
        actor = self.check_actor(actor)
        aliases = self.department_aliases()

        def command(unit: UnitOfWork) -> Receipt:
            record = unit.find(InboundMail, inbound_id(key))
            if record is None:
                raise DomainError(f"no received message with key {key}")
            if not record.quarantined:
                raise DomainError(f"that message is not in quarantine (it was {record.outcome})")
            try:
                receipt = self._decide(unit, facts, aliases, actor)
            except DomainError as error:
                receipt = self._receipt(facts, Outcome.QUARANTINED, None, str(error))
            record.reprocessed(
                receipt.outcome,
                receipt.ticket,
                receipt.reason,
                facts.html_sha256,
                actor=actor,
                at=self.now(),
            )
            unit.add(record)
            return receipt

        return self.execute(command)

    def inbound_mail(self, key: str) -> InboundMail | None:
        return self.execute(lambda unit: unit.find(InboundMail, inbound_id(key)))

    def forget_department_aliases(self) -> None:
        self._aliases_cache = None

    # Internals -------------------------------------------------------------------------------

    def _receive_all(
        self,
        unit: UnitOfWork,
        batch: Sequence[MailFacts],
        refused: dict[int, str],
        aliases: dict[str, UUID],
    ) -> list[Receipt]:
        self._prefetch(unit, batch)
        return [
            self._receive(unit, facts, refused.get(i), aliases, i) for i, facts in enumerate(batch)
        ]

    @staticmethod
    def _prefetch(unit: UnitOfWork, batch: Sequence[MailFacts]) -> None:
        """Read what the batch will look at in three queries, not three per mail."""
        inbound, emails, tickets = [], [], []
        for facts in batch:
            inbound.append(inbound_id(facts.key))
            inbound += [inbound_id(message_key(m, "")) for m in facts.other_refs[:3]]
            emails += [
                EmailIndex.id_for(a) for a in [facts.sender_email, *facts.bounced_addresses] if a
            ]
            emails += [EmailIndex.id_for(a) for _, a in facts.cc[:MAX_PARTICIPANTS]]
            numbers = [*facts.our_refs[:3], facts.address_ticket, facts.subject_ticket]
            tickets += [ticket_id(n.upper()) for n in numbers if n]
        unit.prefetch([*inbound, *emails])
        users, more_tickets = [], []
        for aggregate_id in emails:
            index = unit.find(EmailIndex, aggregate_id)
            if index is not None and index.user_id is not None:
                users.append(index.user_id)
        for aggregate_id in inbound:
            earlier = unit.find(InboundMail, aggregate_id)
            if earlier is not None and earlier.ticket:
                more_tickets.append(ticket_id(earlier.ticket))
        unit.prefetch([*users, *tickets, *more_tickets])

    def _receive(
        self,
        unit: UnitOfWork,
        facts: MailFacts,
        refused: str | None,
        aliases: dict[str, UUID],
        index: int,
    ) -> Receipt:
        existing = unit.find(InboundMail, inbound_id(facts.key))
        if existing is not None and (existing.sender, existing.subject) != (
            facts.sender_email,
            facts.subject[: v.MAX_SUBJECT],
        ):
            # Another message under a Message-ID already used (a broken mailer, or a forger):
            # it is received on its own, keyed by its bytes, instead of being taken for a copy.
            facts.key = message_key(None, facts.raw_sha256)
            existing = unit.find(InboundMail, inbound_id(facts.key))
        if existing is not None:
            reason = f"already received through {existing.channel} ({existing.outcome})"
            return self._receipt(facts, Outcome.DUPLICATE, existing.ticket, reason)
        if refused is not None:
            receipt = self._receipt(facts, Outcome.QUARANTINED, None, refused)
        else:
            try:
                receipt = self._decide(unit, facts, aliases, _actor(facts))
            except DomainError as error:
                raise _Refused(index, str(error)) from error
        unit.add(
            InboundMail.start(
                InboundMail.Received,
                id=inbound_id(facts.key),
                actor=_actor(facts),
                at=self.now(),
                key=facts.key,
                message_id=facts.message_id,
                raw_sha256=facts.raw_sha256,
                html_sha256=facts.html_sha256,
                channel=facts.channel,
                source=facts.source[:500],
                sender=facts.sender_email,
                subject=facts.subject[: v.MAX_SUBJECT],
                outcome=receipt.outcome.value,
                ticket=receipt.ticket,
                reason=receipt.reason,
            )
        )
        return receipt

    def _decide(
        self, unit: UnitOfWork, facts: MailFacts, aliases: dict[str, UUID], actor: str
    ) -> Receipt:
        if facts.kind == Kind.INVALID:
            return self._receipt(facts, Outcome.QUARANTINED, None, facts.reason)
        if facts.kind == Kind.LOOP:
            return self._receipt(facts, Outcome.LOOP, None, facts.reason)
        sender = self._user_by_email(unit, facts.sender_email) if facts.sender_email else None
        ticket = self._thread(unit, facts, sender)
        if facts.kind == Kind.BOUNCE:
            return self._bounce(unit, facts, ticket, actor)
        if facts.kind == Kind.AUTO_REPLY:
            if ticket is not None:
                self._note(unit, ticket, facts, actor, f"Automatic reply from {facts.sender_email}")
            return self._receipt(
                facts, Outcome.AUTO_REPLY, ticket.number if ticket else None, facts.reason
            )
        if ticket is not None and (
            sender is None or sender.is_staff or sender.id not in ticket.participants
        ):
            # A From header proves nothing: mail claiming an agent, or from someone outside
            # the conversation, is kept for the agents as an internal note. It grants nobody
            # access, reopens nothing and tells no customer.
            who = "an agent's address" if sender and sender.is_staff else "not on the ticket"
            self._note(unit, ticket, facts, actor, f"Mail from {facts.sender_email} ({who})")
            return self._receipt(
                facts, Outcome.REPLIED, ticket.number, f"kept as an internal note: {who}"
            )
        if sender is None:
            sender = self._new_customer(unit, facts.sender_email, facts.sender_name, actor)
        elif not sender.active:
            raise DomainError(f"the sender {sender.email} is deactivated")
        others = [
            self._user_by_email(unit, address) or self._new_customer(unit, address, name, actor)
            for name, address in facts.cc[:MAX_PARTICIPANTS]
        ]
        prefix = ""
        if ticket is not None and ticket.status == Status.CLOSED and not self.reopen_closed:
            prefix, ticket = f"(Follow-up to the closed ticket {ticket.number})\n\n", None
        if ticket is not None:
            ticket.add_message(
                actor=actor,
                at=self.now(),
                message_id=self.new_id(),
                kind=MessageKind.REPLY,
                author_id=sender.id,
                by_staff=False,
                reopen_closed=self.reopen_closed,
                **self._message(facts),
            )
            outcome = Outcome.REPLIED
        else:
            ticket = self._open(unit, facts, sender, aliases, actor, prefix)
            outcome = Outcome.OPENED
        if not sender.is_staff:
            ticket.add_participant(sender.id, actor=actor, at=self.now())
        for user in others:
            if user.active:
                ticket.add_participant(user.id, actor=actor, at=self.now())
        unit.add(ticket)
        return self._receipt(facts, outcome, ticket.number, facts.reason)

    def _thread(self, unit: UnitOfWork, facts: MailFacts, sender: User | None) -> Ticket | None:
        for number in facts.our_refs:
            ticket = self._ticket(unit, number)
            if ticket is not None:
                return ticket
        for message_id in facts.other_refs:
            earlier = unit.find(InboundMail, inbound_id(message_key(message_id, "")))
            if earlier is not None and earlier.ticket:
                ticket = self._ticket(unit, earlier.ticket)
                if ticket is not None:
                    return ticket
        if facts.address_ticket:
            ticket = self._ticket(unit, facts.address_ticket)
            if ticket is not None:
                return ticket
        if facts.subject_ticket and sender is not None:
            ticket = self._ticket(unit, facts.subject_ticket)
            if ticket is not None and (sender.id in ticket.participants or sender.is_staff):
                return ticket
        return None

    def _bounce(
        self, unit: UnitOfWork, facts: MailFacts, ticket: Ticket | None, actor: str
    ) -> Receipt:
        # Only a bounce of one of our (signed) mails marks an address failing, and only an
        # address of that ticket's people: anyone can write "X-Failed-Recipients: you".
        people = set(ticket.participants) if ticket is not None and facts.our_refs else set()
        for address in facts.bounced_addresses:
            user = self._user_by_email(unit, address)
            if user is not None and user.id in people:
                user.mark_bounced(facts.reason[:300], actor=actor, at=self.now())
                unit.add(user)
        if ticket is not None:
            failed = ", ".join(facts.bounced_addresses) or "a recipient"
            self._note(unit, ticket, facts, actor, f"Delivery to {failed} failed")
        return self._receipt(facts, Outcome.BOUNCE, ticket.number if ticket else None, facts.reason)

    def _note(
        self, unit: UnitOfWork, ticket: Ticket, facts: MailFacts, actor: str, title: str
    ) -> None:
        message = self._message(facts)
        heading = f"{title}: {facts.reason}" if facts.reason else title
        message["visible_text"] = f"{heading}\n\n{message['visible_text']}"
        ticket.add_message(
            actor=actor,
            at=self.now(),
            message_id=self.new_id(),
            kind=MessageKind.NOTE,
            author_id=None,
            by_staff=False,
            reopen_closed=self.reopen_closed,
            **message,
        )
        unit.add(ticket)

    def _open(
        self,
        unit: UnitOfWork,
        facts: MailFacts,
        sender: User,
        aliases: dict[str, UUID],
        actor: str,
        prefix: str,
    ) -> Ticket:
        department_id = next((aliases[a] for a in facts.recipients if a in aliases), None)
        return Ticket.open(
            format_number(self.numbers.allocate()),
            actor=actor,
            at=self.now(),
            requester_id=sender.id,
            message_id=self.new_id(),
            message=self._message(facts, prefix),
            reopen_closed=self.reopen_closed,
            subject=facts.subject[: v.MAX_SUBJECT] or NO_SUBJECT,
            department_id=department_id,
            category="",
            priority="normal",
            due_at=None,
            tags=[],
        )

    def _message(self, facts: MailFacts, prefix: str = "") -> dict[str, Any]:
        visible = prefix + (facts.visible_text.strip() or _empty_text(facts))
        return {
            "channel": "email",
            "visible_text": visible,
            "full_text": facts.full_text or visible,
            "attachments": list(facts.attachments),
            "email_message_id": facts.message_id,
        }

    def _new_customer(self, unit: UnitOfWork, email: str, name: str, actor: str) -> User:
        address = v.email(email, "sender")
        user_id, at = self.new_id(), self.now()
        user = User.start(
            User.Created,
            id=user_id,
            actor=actor,
            at=at,
            email=address,
            name=(name or address.split("@")[0])[: v.MAX_NAME],
            role="customer",
            department_ids=[],
            time_zone="UTC",
            locale="en",
            phone="",
        )
        index = unit.find(EmailIndex, EmailIndex.id_for(address))
        if index is None:
            index = EmailIndex.start(
                EmailIndex.Claimed,
                id=EmailIndex.id_for(address),
                actor=actor,
                at=at,
                email=address,
                user_id=user_id,
            )
        else:
            index.claim(user_id, actor=actor, at=at)
        unit.add(index, user)
        return user

    @staticmethod
    def _user_by_email(unit: UnitOfWork, email: str) -> User | None:
        index = unit.find(EmailIndex, EmailIndex.id_for(email))
        if index is None or index.user_id is None:
            return None
        return unit.find(User, index.user_id)

    @staticmethod
    def _ticket(unit: UnitOfWork, number: str) -> Ticket | None:
        return unit.find(Ticket, ticket_id(number.upper()))

    def department_aliases(self) -> dict[str, UUID]:
        """Which department each alias address belongs to (active departments only)."""
        cached = self._aliases_cache
        if cached is not None and time.monotonic() - cached[0] < ALIAS_TTL:
            return cached[1]
        found: dict[str, UUID] = {}
        for _, department_id in self.ids_of(Department.Created, limit=10_000):
            department = self.execute(partial(_find_department, department_id=department_id))
            if department is not None and department.active:
                for alias in department.aliases:
                    found[alias.lower()] = department.id
        self._aliases_cache = (time.monotonic(), found)
        return found

    @staticmethod
    def _receipt(facts: MailFacts, outcome: Outcome, ticket: str | None, reason: str) -> Receipt:
        return Receipt(facts.source, outcome, ticket, facts.message_id, reason)


def _find_department(unit: UnitOfWork, department_id: UUID) -> Department | None:
    return unit.find(Department, department_id)


def _actor(facts: MailFacts) -> str:
    address = facts.sender_email
    return f"email:{address}" if address and v.EMAIL_PATTERN.fullmatch(address) else "system:intake"


def _empty_text(facts: MailFacts) -> str:
    count = len(facts.attachments)
    if count:
        return f"(no text; {count} attachment{'s' if count != 1 else ''})"
    return "(no text)"
