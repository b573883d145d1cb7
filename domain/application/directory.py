"""Directory commands: users, departments, SLA policies and business calendars."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from ledgerdesk.domain import values as v
from ledgerdesk.domain.application.core import Core
from ledgerdesk.domain.application.unit_of_work import UnitOfWork
from ledgerdesk.domain.department import Department
from ledgerdesk.domain.editable import EditableAggregate
from ledgerdesk.domain.errors import ConflictError, NotFoundError, ValidationError
from ledgerdesk.domain.sla import BusinessCalendar, SlaPolicy, check_hours, check_targets
from ledgerdesk.domain.user import EmailIndex, User

PHONE_PATTERN = re.compile(r"^\+[1-9][0-9]{6,14}$")
USER_FIELDS = ("email", "name", "role", "department_ids", "time_zone", "locale", "phone")


class DirectoryCommands(Core):
    # Who held each address when this process last looked (a hint for prefetching only: what
    # is read is always checked against the address's index).
    _email_holders: dict[str, UUID] | None = None

    # Users -----------------------------------------------------------------------------------

    def create_user(
        self,
        *,
        actor: str,
        email: str,
        name: str = "",
        role: str = "customer",
        department_ids: Iterable[UUID] = (),
        time_zone: str = "UTC",
        locale: str = "en",
        phone: str = "",
        password_hash: str | None = None,
    ) -> User:
        """Create a user; the email address must not belong to anyone else."""
        actor = self.check_actor(actor)
        fields = self._user_fields(
            email=email,
            name=name or email.split("@")[0],
            role=role,
            department_ids=list(department_ids),
            time_zone=time_zone,
            locale=locale,
            phone=phone,
        )

        def command(unit: UnitOfWork) -> User:
            self._check_departments(unit, fields["department_ids"])
            user_id, at = self.new_id(), self.now()
            index = self._claim_email(unit, fields["email"], user_id, actor)
            user = User.start(User.Created, id=user_id, actor=actor, at=at, **fields)
            if password_hash:
                user.set_password_hash(password_hash, actor=actor, at=at)
            unit.add(index, user)
            return user

        return self.execute(command)

    def update_user(self, user_id: UUID, *, actor: str, **changes: Any) -> User:
        """Change a user's email, name, role, departments, time zone, locale or phone."""
        actor = self.check_actor(actor)
        unknown = set(changes) - set(USER_FIELDS)
        if unknown:
            raise ValidationError(sorted(unknown)[0], "is not a field of a user")
        clean = self._user_fields(**changes)

        def command(unit: UnitOfWork) -> User:
            user = self.user_in(unit, user_id)
            self._check_departments(unit, clean.get("department_ids", []))
            new_email = clean.get("email")
            if new_email and new_email != user.email:
                old_index = unit.get(EmailIndex, EmailIndex.id_for(user.email), "email index")
                old_index.release(actor=actor, at=self.now())
                unit.add(old_index, self._claim_email(unit, new_email, user.id, actor))
            user.update(clean, actor=actor, at=self.now())
            unit.add(user)
            return user

        return self.execute(command)

    def set_password_hash(self, user_id: UUID, password_hash: str, *, actor: str) -> User:
        actor = self.check_actor(actor)
        return self._edit(
            User,
            user_id,
            "user",
            lambda u: u.set_password_hash(password_hash, actor=actor, at=self.now()),
        )

    def deactivate_user(self, user_id: UUID, *, actor: str) -> User:
        actor = self.check_actor(actor)
        return self._edit(User, user_id, "user", lambda u: u.deactivate(actor=actor, at=self.now()))

    def reactivate_user(self, user_id: UUID, *, actor: str) -> User:
        actor = self.check_actor(actor)
        return self._edit(User, user_id, "user", lambda u: u.reactivate(actor=actor, at=self.now()))

    def user(self, user_id: UUID) -> User:
        return self.execute(lambda unit: self.user_in(unit, user_id))

    def find_user(self, user_id: UUID) -> User | None:
        return self.execute(lambda unit: unit.find(User, user_id))

    def user_by_email(self, email: str) -> User | None:
        address = v.email(email)

        def query(unit: UnitOfWork) -> User | None:
            index = unit.find(EmailIndex, EmailIndex.id_for(address))
            if index is None or index.user_id is None:
                if self._email_holders:
                    self._email_holders.pop(address, None)  # released: nothing to guess
                return None
            self._remember_holder(address, index.user_id)
            return unit.find(User, index.user_id)

        return self.execute(query)

    def email_reads(self, email: str) -> list[UUID]:
        """The aggregates `user_by_email(email)` will read, for a batch to prefetch in one
        query: the address's index and the user it named when this process last looked (a
        guess: if the index names someone else now, that user is read as usual)."""
        try:
            address = v.email(email)
        except ValidationError:
            return []
        holder = (self._email_holders or {}).get(address)
        index_id = EmailIndex.id_for(address)
        return [index_id] if holder is None else [index_id, holder]

    def _remember_holder(self, address: str, user_id: UUID) -> None:
        holders = self._email_holders
        if holders is None:
            holders = self._email_holders = {}
        elif len(holders) >= 65536 and address not in holders:
            holders.clear()  # a bound, not a cache policy: a miss costs one more query
        holders[address] = user_id

    def user_ids(self, *, start: int = 1, limit: int = 1000) -> list[tuple[int, UUID]]:
        return self.ids_of(User.Created, start=start, limit=limit)

    @staticmethod
    def user_in(unit: UnitOfWork, user_id: UUID) -> User:
        user = unit.find(User, user_id)
        if user is None:
            raise NotFoundError(f"there is no user with id {user_id}")
        return user

    # Departments -------------------------------------------------------------------------------

    def create_department(
        self,
        *,
        actor: str,
        slug: str,
        name: str,
        description: str = "",
        aliases: Iterable[str] = (),
    ) -> Department:
        """Create a department (team); its slug is its permanent handle."""
        actor, slug = self.check_actor(actor), v.slug(slug)
        name = v.text("name", name, max_length=v.MAX_NAME)
        description = v.text("description", description, max_length=2000, required=False)
        clean_aliases = sorted({v.email(a, "aliases") for a in aliases})

        def command(unit: UnitOfWork) -> Department:
            if unit.find(Department, Department.id_for(slug)) is not None:
                raise ConflictError(f"a department with the slug {slug!r} already exists")
            department = Department.start(
                Department.Created,
                id=Department.id_for(slug),
                actor=actor,
                at=self.now(),
                slug=slug,
                name=name,
                description=description,
                aliases=clean_aliases,
            )
            unit.add(department)
            return department

        return self.execute(command)

    def update_department(self, slug: str, *, actor: str, **changes: Any) -> Department:
        actor = self.check_actor(actor)
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "name":
                clean[key] = v.text("name", value, max_length=v.MAX_NAME)
            elif key == "description":
                clean[key] = v.text("description", value, max_length=2000, required=False)
            elif key == "aliases":
                clean[key] = sorted({v.email(a, "aliases") for a in value})
            elif key == "sla_policy_id":
                clean[key] = value
            else:
                raise ValidationError(key, "is not a field of a department")

        def command(unit: UnitOfWork) -> Department:
            department = self.department_in(unit, slug)
            if clean.get("sla_policy_id") is not None:
                unit.get(SlaPolicy, clean["sla_policy_id"], "SLA policy")
            department.update(clean, actor=actor, at=self.now())
            unit.add(department)
            return department

        return self.execute(command)

    def deactivate_department(self, slug: str, *, actor: str) -> Department:
        actor = self.check_actor(actor)
        return self._edit_department(slug, lambda d: d.deactivate(actor=actor, at=self.now()))

    def reactivate_department(self, slug: str, *, actor: str) -> Department:
        actor = self.check_actor(actor)
        return self._edit_department(slug, lambda d: d.reactivate(actor=actor, at=self.now()))

    def department(self, slug: str) -> Department:
        return self.execute(lambda unit: self.department_in(unit, slug))

    def department_ids(self, *, start: int = 1, limit: int = 1000) -> list[tuple[int, UUID]]:
        return self.ids_of(Department.Created, start=start, limit=limit)

    @staticmethod
    def department_reads(slug: str) -> list[UUID]:
        """The aggregate `department(slug)` reads (none for a malformed slug)."""
        try:
            return [Department.id_for(v.slug(slug, "department"))]
        except ValidationError:
            return []

    @staticmethod
    def department_in(unit: UnitOfWork, slug: str) -> Department:
        department = unit.find(Department, Department.id_for(v.slug(slug, "department")))
        if department is None:
            raise NotFoundError(f"there is no department {slug!r}")
        return department

    # SLA policies and calendars -----------------------------------------------------------------

    def create_sla_policy(
        self,
        *,
        actor: str,
        name: str,
        targets: dict[str, dict[str, int]],
        calendar_id: UUID | None = None,
    ) -> SlaPolicy:
        """Create an SLA policy: minutes to first response and resolution per priority."""
        actor, name = self.check_actor(actor), v.text("name", name, max_length=v.MAX_NAME)
        clean = check_targets(targets)

        def command(unit: UnitOfWork) -> SlaPolicy:
            if calendar_id is not None:
                unit.get(BusinessCalendar, calendar_id, "business calendar")
            policy = SlaPolicy.start(
                SlaPolicy.Created,
                id=self.new_id(),
                actor=actor,
                at=self.now(),
                name=name,
                targets=clean,
                calendar_id=calendar_id,
            )
            unit.add(policy)
            return policy

        return self.execute(command)

    def update_sla_policy(self, policy_id: UUID, *, actor: str, **changes: Any) -> SlaPolicy:
        actor = self.check_actor(actor)
        if "targets" in changes:
            changes["targets"] = check_targets(changes["targets"])
        if "name" in changes:
            changes["name"] = v.text("name", changes["name"], max_length=v.MAX_NAME)
        if set(changes) - {"targets", "name", "calendar_id"}:
            raise ValidationError(sorted(changes)[0], "is not a field of an SLA policy")
        return self._edit(
            SlaPolicy,
            policy_id,
            "SLA policy",
            lambda p: p.update(changes, actor=actor, at=self.now()),
        )

    def create_calendar(
        self,
        *,
        actor: str,
        name: str,
        time_zone: str,
        hours: dict[str, list[list[str]]],
        holidays: Iterable[str] = (),
    ) -> BusinessCalendar:
        """Create a business calendar: time zone, opening hours per weekday, holidays."""
        actor, name = self.check_actor(actor), v.text("name", name, max_length=v.MAX_NAME)
        fields = {
            "name": name,
            "time_zone": v.time_zone(time_zone),
            "hours": check_hours(hours),
            "holidays": _dates(holidays),
        }

        def command(unit: UnitOfWork) -> BusinessCalendar:
            calendar = BusinessCalendar.start(
                BusinessCalendar.Created, id=self.new_id(), actor=actor, at=self.now(), **fields
            )
            unit.add(calendar)
            return calendar

        return self.execute(command)

    def update_calendar(self, calendar_id: UUID, *, actor: str, **changes: Any) -> BusinessCalendar:
        actor = self.check_actor(actor)
        checks = {
            "name": lambda x: v.text("name", x, max_length=v.MAX_NAME),
            "time_zone": v.time_zone,
            "hours": check_hours,
            "holidays": _dates,
        }
        for key in changes:
            if key not in checks:
                raise ValidationError(key, "is not a field of a business calendar")
        clean = {key: checks[key](value) for key, value in changes.items()}
        return self._edit(
            BusinessCalendar,
            calendar_id,
            "business calendar",
            lambda c: c.update(clean, actor=actor, at=self.now()),
        )

    # Internals -------------------------------------------------------------------------------

    def _edit(self, cls: type[Any], aggregate_id: UUID, what: str, change: Any) -> Any:
        def command(unit: UnitOfWork) -> EditableAggregate:
            aggregate = unit.get(cls, aggregate_id, what)
            change(aggregate)
            unit.add(aggregate)
            return aggregate

        return self.execute(command)

    def _edit_department(self, slug: str, change: Any) -> Department:
        def command(unit: UnitOfWork) -> Department:
            department = self.department_in(unit, slug)
            change(department)
            unit.add(department)
            return department

        return self.execute(command)

    def _claim_email(self, unit: UnitOfWork, email: str, user_id: UUID, actor: str) -> EmailIndex:
        index = unit.find(EmailIndex, EmailIndex.id_for(email))
        if index is None:
            return EmailIndex.start(
                EmailIndex.Claimed,
                id=EmailIndex.id_for(email),
                actor=actor,
                at=self.now(),
                email=email,
                user_id=user_id,
            )
        if index.user_id is not None and index.user_id != user_id:
            raise ConflictError(f"a user with the email {email} already exists")
        index.claim(user_id, actor=actor, at=self.now())
        return index

    @staticmethod
    def _check_departments(unit: UnitOfWork, department_ids: list[UUID]) -> None:
        for department_id in department_ids:
            unit.get(Department, department_id, "department")

    @staticmethod
    def _user_fields(**fields: Any) -> dict[str, Any]:
        checks: dict[str, Callable[[Any], Any]] = {
            "email": v.email,
            "name": lambda x: v.text("name", x, max_length=v.MAX_NAME),
            "role": v.role,
            "department_ids": lambda ids: list(dict.fromkeys(ids)),
            "time_zone": v.time_zone,
            "locale": v.locale,
            "phone": _phone,
        }
        return {key: checks[key](value) for key, value in fields.items()}


def _phone(value: object) -> str:
    number = "".join(str(value or "").split()).replace("-", "")
    if number and not PHONE_PATTERN.match(number):
        raise ValidationError(
            "phone", f"{value!r} is not a phone number in +<country><number> form"
        )
    return number


def _dates(values: Iterable[str]) -> list[str]:
    from datetime import date

    out = []
    for value in values:
        try:
            out.append(date.fromisoformat(str(value)).isoformat())
        except ValueError:
            raise ValidationError(
                "holidays", f"{value!r} is not a date such as 2026-12-25"
            ) from None
    return sorted(set(out))
