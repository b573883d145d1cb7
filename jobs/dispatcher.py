"""The outbox dispatcher: renders due items, hands them to their transport, records the outcome.

It runs as a thread beside the server (embedded default) or the worker, waking every
`interval` seconds and whenever this process saves something, and as a per-minute job as a
safety net. Each item's outcome is recorded as a Delivery event before the next round reads
the outbox again, so nothing is sent twice, except a mail in flight when the process died
(sent again after a restart with the same Message-ID, so clients show it once).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from ledgerdesk.adapters.mail_out.templates import MailTemplateError, MailTemplates
from ledgerdesk.bootstrap import Services
from ledgerdesk.domain.application.notifications import Attempt
from ledgerdesk.domain.errors import StoreUnavailableError
from ledgerdesk.domain.outgoing import MailTransport, OutgoingMail, SendResult, SmsTransport
from ledgerdesk.policies.mail.identity import LOOP_HEADER, MailIdentity
from ledgerdesk.projections.outbox.view import OutboxItem, Person

log = logging.getLogger("ledgerdesk.dispatch")
BATCH = 200
# One round at a time in a process (the thread and the per-minute job share it); one process
# dispatches: the embedded server, or the worker when there is a queue.
_ROUNDS = threading.Lock()
_SENDABLE_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>")
ACTOR = "system:dispatcher"
OUTBOX = ("outbox",)  # the read model a round depends on (not the ticket index)


class Dispatcher:
    def __init__(
        self,
        services: Services,
        *,
        transport: MailTransport,
        templates: MailTemplates,
        identity: MailIdentity,
        sms: SmsTransport | None = None,
        support_name: str = "Support",
    ) -> None:
        self.services, self.transport, self.templates = services, transport, templates
        self.identity, self.sms, self.support_name = identity, sms, support_name
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # Rounds --------------------------------------------------------------------------------

    def run_once(self, limit: int = BATCH) -> int:
        """Send what is due now; returns how many items were attempted."""
        with _ROUNDS:
            services = self.services
            head = services.app.read(services.app.recorder.max_notification_id)
            if not services.projections.wait(head, 30, only=OUTBOX):
                log.warning("the outbox lags behind the log; dispatching waits for it")
                return 0  # a lagging outbox may still show sent items as pending
            now = services.app.now()
            channels = ["email", "sms"] if self.sms is not None else ["email"]
            items = services.outbox.due(channels, now, limit)
            if not items:
                return 0
            people = services.outbox.people(_people_ids(items))
            attempts = self._send(items, people)
            if attempts:
                services.app.record_attempts(attempts, actor=ACTOR)
                # The next round must see these outcomes, or it would send the items again
                # (and it waits for them at its start if this wait runs out).
                services.projections.wait(services.app.last_position, 30, only=OUTBOX)
            return len(items)

    def drain(self, rounds: int = 1000) -> int:
        """Rounds until nothing is due (tests, the CLI)."""
        total = 0
        for _ in range(rounds):
            sent = self.run_once()
            total += sent
            if not sent:
                break
        return total

    def _send(self, items: list[OutboxItem], people: dict[str, Person]) -> list[Attempt]:
        attempts: list[Attempt] = []
        mails: list[OutgoingMail] = []
        texts: list[tuple[str, str, str]] = []
        by_key = {item.key: item for item in items}
        message_ids: dict[str, str] = {}
        for item in items:
            person = people.get(item.user_id)
            if person is None or not person.active:
                attempts.append(_failed(item, "the recipient is unknown or deactivated", True))
                continue
            try:
                if item.channel == "email":
                    mail = self._mail(item, person, people)
                    message_ids[item.key] = mail.message_id
                    mails.append(mail)
                else:
                    texts.append((item.key, person.phone, self._sms_text(item, person, people)))
            except MailTemplateError as error:
                attempts.append(_failed(item, str(error), True))
        results: list[SendResult] = []
        if mails:
            results += self.transport.send_many(mails)
        if texts and self.sms is not None:
            results += self.sms.send_many(texts)
        for result in results:
            item = by_key[result.key]
            if result.ok:
                attempts.append(
                    Attempt(item.key, item.channel, UUID(item.user_id), True,
                            message_id=message_ids.get(item.key, ""))
                )  # fmt: skip
            else:
                attempts.append(_failed(item, result.error, result.permanent))
        return attempts

    # Rendering -----------------------------------------------------------------------------

    def _context(
        self, item: OutboxItem, person: Person, people: dict[str, Person]
    ) -> dict[str, str]:
        settings = self.services.settings
        context = dict(item.context)
        context["recipient_name"] = person.name or person.email
        context["portal_url"] = f"{settings.base_url}/portal/tickets/{item.ticket}"
        context["support_name"] = self.support_name
        if "author_id" in context:
            author = people.get(_hex(context["author_id"]))
            context["author_name"] = author.name if author else self.support_name
        if "actor" in context:
            context["actor_name"] = _actor_name(context["actor"], people, self.support_name)
        return context

    def _mail(self, item: OutboxItem, person: Person, people: dict[str, Person]) -> OutgoingMail:
        rendered = self.templates.render(
            item.kind, person.locale, self._context(item, person, people)
        )
        event_hex = hashlib.sha256(item.key.encode()).hexdigest()[:32]
        # A customer's odd Message-ID (spaces, non-ASCII) must not make our mail unsendable.
        references = [r for r in item.references if _SENDABLE_ID.fullmatch(r)]
        settings = self.services.settings
        return OutgoingMail(
            key=item.key,
            message_id=self.identity.message_id(item.ticket, event_hex),
            sender=f"{self.support_name} <{settings.support_address}>",
            to=(person.email,),
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            reply_to=self.identity.reply_address(item.ticket),
            in_reply_to=references[-1] if references else None,
            references=tuple(references),
            automatic=item.automatic,
            headers=((LOOP_HEADER, self.identity.loop_value()),),
        )

    def _sms_text(self, item: OutboxItem, person: Person, people: dict[str, Person]) -> str:
        rendered = self.templates.render(
            item.kind, person.locale, self._context(item, person, people)
        )
        return rendered.subject[:160]

    # The thread ----------------------------------------------------------------------------

    def start(self, interval: float = 0.5) -> None:
        """Dispatch in a background thread until `stop()`: every `interval` seconds, and at
        once when this process saved something (the outbox may have new items)."""
        self._stop.clear()
        callbacks = getattr(self.services.app, "after_save", None)
        if callbacks is not None:
            callbacks.append(self._saved)
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="ledgerdesk-dispatcher", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        callbacks = getattr(self.services.app, "after_save", None)
        if callbacks is not None and self._saved in callbacks:
            callbacks.remove(self._saved)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.transport.close()
        if self.sms is not None:
            self.sms.close()

    def _saved(self, recordings: Sequence[Any]) -> None:
        self._wake.set()

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                while self.run_once() and not self._stop.is_set():
                    pass
            except StoreUnavailableError as error:
                log.warning("dispatch: the store is unavailable, will retry: %s", error)
            except Exception:
                log.exception("a dispatch round failed; the next one retries")


def _people_ids(items: list[OutboxItem]) -> list[str]:
    ids = [item.user_id for item in items]
    for item in items:
        for name in ("author_id",):
            value = item.context.get(name)
            if value:
                ids.append(_hex(value))
        actor = item.context.get("actor", "")
        if actor.startswith("user:"):
            ids.append(_hex(actor[5:]))
    return ids


def _hex(value: str) -> str:
    try:
        return UUID(value).hex
    except ValueError:
        return value


def _actor_name(actor: str, people: dict[str, Person], support_name: str) -> str:
    if actor.startswith("user:"):
        person = people.get(_hex(actor[5:]))
        return person.name if person else support_name
    if actor.startswith("email:"):
        return actor[6:]
    return support_name


def _failed(item: OutboxItem, error: str, permanent: bool) -> Attempt:
    return Attempt(
        item.key, item.channel, UUID(item.user_id), False, error=error, permanent=permanent
    )
