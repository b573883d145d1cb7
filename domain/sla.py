"""SLA policies and business calendars: configuration as aggregates, so every change is audited.

This is the data; the engine that costs due dates against it comes with the SLA issue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from ledgerdesk.domain.chain import ChainedAggregate
from ledgerdesk.domain.editable import EditableAggregate
from ledgerdesk.domain.errors import ValidationError
from ledgerdesk.domain.values import Priority

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def check_targets(targets: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Targets per priority: minutes to first response and to resolution."""
    cleaned: dict[str, dict[str, int]] = {}
    for prio, target in targets.items():
        try:
            Priority(prio)
        except ValueError:
            raise ValidationError("targets", f"{prio!r} is not a priority") from None
        row: dict[str, int] = {}
        for key in ("first_response_minutes", "resolution_minutes"):
            value = target.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValidationError("targets", f"{prio}.{key} must be a positive whole number")
            row[key] = value
        if row["resolution_minutes"] < row["first_response_minutes"]:
            raise ValidationError(
                "targets", f"{prio}: resolution cannot come before first response"
            )
        cleaned[prio] = row
    return cleaned


def check_hours(hours: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
    """Opening hours per weekday as [["09:00", "17:00"], ...], non-overlapping and in order."""
    cleaned: dict[str, list[list[str]]] = {}
    for day, spans in hours.items():
        if day not in WEEKDAYS:
            raise ValidationError("hours", f"{day!r} is not one of {', '.join(WEEKDAYS)}")
        last_end = ""
        rows: list[list[str]] = []
        for span in spans:
            if len(span) != 2 or not all(_is_clock(t) for t in span):
                raise ValidationError("hours", f"{day}: {span!r} is not a HH:MM-HH:MM span")
            start, end = span
            if not start < end or (last_end and start < last_end):
                raise ValidationError("hours", f"{day}: spans must be in order and not overlap")
            rows.append([start, end])
            last_end = end
        cleaned[day] = rows
    return cleaned


def _is_clock(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        return False
    hh, mm = value[:2], value[3:]
    return hh.isdigit() and mm.isdigit() and (int(hh) < 24 or value == "24:00") and int(mm) < 60


class SlaPolicy(EditableAggregate):
    if TYPE_CHECKING:
        name: str
        targets: dict[str, dict[str, int]]
        calendar_id: UUID | None

    class Created(ChainedAggregate.Created):
        name: str
        targets: dict[str, dict[str, int]]
        calendar_id: UUID | None

        def apply(self, p: SlaPolicy) -> None:
            p.name, p.targets, p.calendar_id, p.active = (
                self.name,
                dict(self.targets),
                self.calendar_id,
                True,
            )


class BusinessCalendar(EditableAggregate):
    if TYPE_CHECKING:
        name: str
        time_zone: str
        hours: dict[str, list[list[str]]]
        holidays: list[str]

    class Created(ChainedAggregate.Created):
        name: str
        time_zone: str
        hours: dict[str, list[list[str]]]
        holidays: list[str]

        def apply(self, c: BusinessCalendar) -> None:
            c.name, c.time_zone = self.name, self.time_zone
            c.hours, c.holidays, c.active = dict(self.hours), list(self.holidays), True
