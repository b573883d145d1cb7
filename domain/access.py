"""The access policy as an aggregate: every rule change is an audited event."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from ledgerdesk.domain.chain import ChainedAggregate
from ledgerdesk.domain.errors import ConflictError, ValidationError
from ledgerdesk.domain.values import role as check_role

POLICY_ID: UUID = uuid5(NAMESPACE_URL, "https://ledgerdesk.dev/ns/access-policy")
CONDITIONS = ("any", "own", "department")
RESOURCES = ("*", "ticket", "user", "department", "policy", "audit", "outbox")
ACTIONS = (
    "*",
    "create",
    "read",
    "read_notes",
    "reply",
    "note",
    "update",
    "assign",
    "transition",
    "deactivate",
    "manage",
)


def check_rule(rule: list[str]) -> list[str]:
    """A rule is ["p", role, resource, action, condition] or ["g", role, parent role]."""
    parts = [str(p).strip() for p in rule]
    if parts[:1] == ["p"] and len(parts) == 5:
        _, role, resource, action, condition = parts
        check_role(role)
        if resource not in RESOURCES:
            raise ValidationError("resource", f"{resource!r} is not one of {', '.join(RESOURCES)}")
        if action not in ACTIONS:
            raise ValidationError("action", f"{action!r} is not one of {', '.join(ACTIONS)}")
        if condition not in CONDITIONS:
            raise ValidationError(
                "condition", f"{condition!r} is not one of {', '.join(CONDITIONS)}"
            )
        return parts
    if parts[:1] == ["g"] and len(parts) == 3:
        check_role(parts[1])
        check_role(parts[2])
        if parts[1] == parts[2]:
            raise ValidationError("role", "a role cannot inherit from itself")
        return parts
    raise ValidationError(
        "rule", "a rule is [p, role, resource, action, condition] or [g, role, parent]"
    )


class AccessPolicy(ChainedAggregate):
    if TYPE_CHECKING:
        rules: list[list[str]]

    class Seeded(ChainedAggregate.Created):
        rules: list[list[str]]

        def apply(self, policy: AccessPolicy) -> None:
            policy.rules = [list(r) for r in self.rules]

    class RuleAdded(ChainedAggregate.Event):
        rule: list[str]

        def apply(self, policy: AccessPolicy) -> None:
            policy.rules.append(list(self.rule))

    class RuleRemoved(ChainedAggregate.Event):
        rule: list[str]

        def apply(self, policy: AccessPolicy) -> None:
            policy.rules.remove(list(self.rule))

    def add_rule(self, rule: list[str], *, actor: str, at: datetime) -> None:
        if rule in self.rules:
            raise ConflictError(f"the policy already has the rule {', '.join(rule)}")
        self.record(self.RuleAdded, actor=actor, at=at, rule=rule)

    def remove_rule(self, rule: list[str], *, actor: str, at: datetime) -> None:
        if rule not in self.rules:
            raise ConflictError(f"the policy has no rule {', '.join(rule)}")
        if rule == ["p", "admin", "*", "*", "any"]:
            raise ConflictError("the admin rule cannot be removed: nobody could edit rules then")
        self.record(self.RuleRemoved, actor=actor, at=at, rule=rule)
