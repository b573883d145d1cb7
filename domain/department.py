"""Departments (teams) own tickets; the address a mail was sent to can choose one."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from ledgerdesk.domain.chain import ChainedAggregate
from ledgerdesk.domain.editable import EditableAggregate

DEPARTMENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.dev/ns/department")


class Department(EditableAggregate):
    if TYPE_CHECKING:
        slug: str
        name: str
        description: str
        aliases: list[str]
        sla_policy_id: UUID | None

    @staticmethod
    def id_for(slug: str) -> UUID:
        """A department's id is derived from its slug, which therefore stays unique."""
        return uuid5(DEPARTMENT_NAMESPACE, slug)

    class Created(ChainedAggregate.Created):
        slug: str
        name: str
        description: str
        aliases: list[str]

        def apply(self, d: Department) -> None:
            d.slug, d.name, d.description = self.slug, self.name, self.description
            d.aliases, d.sla_policy_id, d.active = list(self.aliases), None, True

    @property
    def label(self) -> str:
        return f"department {self.slug!r}"
