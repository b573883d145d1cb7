"""Access policy commands: the rules admins edit, stored as audited events."""

from __future__ import annotations

from collections.abc import Iterable

from ledgerdesk.domain.access import POLICY_ID, AccessPolicy, check_rule
from ledgerdesk.domain.application.core import Core
from ledgerdesk.domain.application.unit_of_work import UnitOfWork


class AccessCommands(Core):
    def seed_policy(self, rules: Iterable[list[str]], *, actor: str) -> AccessPolicy:
        """Store the default policy, once; an existing policy is left as it is."""
        actor = self.check_actor(actor)
        clean = [check_rule(r) for r in rules]

        def command(unit: UnitOfWork) -> AccessPolicy:
            existing = unit.find(AccessPolicy, POLICY_ID)
            if existing is not None:
                return existing
            policy = AccessPolicy.start(
                AccessPolicy.Seeded, id=POLICY_ID, actor=actor, at=self.now(), rules=clean
            )
            unit.add(policy)
            return policy

        return self.execute(command)

    def access_policy(self) -> AccessPolicy | None:
        return self.execute(lambda unit: unit.find(AccessPolicy, POLICY_ID))

    def add_rule(self, rule: list[str], *, actor: str) -> AccessPolicy:
        """Add a rule (takes effect at once, in every process within seconds)."""
        return self._change_policy(rule, actor, add=True)

    def remove_rule(self, rule: list[str], *, actor: str) -> AccessPolicy:
        """Remove a rule."""
        return self._change_policy(rule, actor, add=False)

    def _change_policy(self, rule: list[str], actor: str, *, add: bool) -> AccessPolicy:
        actor, clean = self.check_actor(actor), check_rule(rule)

        def command(unit: UnitOfWork) -> AccessPolicy:
            policy = unit.get(AccessPolicy, POLICY_ID, "access policy")
            (policy.add_rule if add else policy.remove_rule)(clean, actor=actor, at=self.now())
            unit.add(policy)
            return policy

        return self.execute(command)
