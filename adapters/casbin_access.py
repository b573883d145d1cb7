"""Access control with Casbin: the model file, the audited policy, and list scopes.

The rules live in the AccessPolicy aggregate (every change an event). Each process keeps a
Casbin enforcer built from them and rebuilds it when the policy's version moves: at once for
changes made in this process, within `refresh_seconds` for changes made elsewhere.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import casbin
from casbin.model import Model

from ledgerdesk.domain.access import POLICY_ID
from ledgerdesk.domain.application import LedgerDesk
from ledgerdesk.policies.access import Record, Subject, broadest, within

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"


def default_rules(path: Path = POLICY_DIR / "access_policy.csv") -> list[list[str]]:
    rules = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append([part.strip() for part in line.split(",")])
    return rules


class AccessControl:
    def __init__(
        self,
        app: LedgerDesk,
        *,
        model_path: Path = POLICY_DIR / "access_model.conf",
        refresh_seconds: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = app
        self._model_text = model_path.read_text()
        self._refresh = refresh_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._enforcing = threading.Lock()
        self._version = -1
        self._checked = float("-inf")
        self._enforcer: casbin.Enforcer | None = None

    def seed(self) -> None:
        """Store the default policy unless one is stored already."""
        self._app.seed_policy(default_rules(), actor="system:migrate")

    # Decisions --------------------------------------------------------------------------------

    def allowed(self, subject: Subject, record: Record, action: str) -> bool:
        enforcer = self._current()
        # Casbin parses its matcher with `ast` on every call, which CPython 3.11 does not
        # allow from several threads at once ("AST constructor recursion depth mismatch").
        with self._enforcing:
            return bool(enforcer.enforce(subject, record, action))

    def conditions(self, subject: Subject, resource: str, action: str) -> frozenset[str]:
        """Every condition under which the subject may do `action` on some `resource`
        ("any", "department", "own"): lists and searches turn their union into a SQL scope."""
        enforcer = self._current()
        roles = {subject.role, *enforcer.get_implicit_roles_for_user(subject.role)}
        return frozenset(
            cond
            for role, res, act, cond in enforcer.get_policy()
            if role in roles and res in ("*", resource) and act in ("*", action)
        )

    def condition(self, subject: Subject, resource: str, action: str) -> str | None:
        """The widest of those conditions, or None."""
        return broadest(set(self.conditions(subject, resource, action)))

    def rules(self) -> list[list[str]]:
        self._current()
        policy = self._app.access_policy()
        return [list(rule) for rule in policy.rules] if policy else []

    def changed(self) -> None:
        """Rebuild on the next decision (this process just changed the policy)."""
        with self._lock:
            self._checked = float("-inf")

    # Internals -------------------------------------------------------------------------------

    def _current(self) -> casbin.Enforcer:
        now = self._monotonic()
        with self._lock:
            if self._enforcer is not None and now - self._checked < self._refresh:
                return self._enforcer
            self._checked = now
            version = self._stored_version()
            if self._enforcer is None or version != self._version:
                self._enforcer = self._build()
                self._version = version
            return self._enforcer

    def _stored_version(self) -> int:
        rows = self._app.read(
            lambda: self._app.recorder.select_events(POLICY_ID, desc=True, limit=1)
        )
        return rows[0].originator_version if rows else 0

    def _build(self) -> casbin.Enforcer:
        policy = self._app.access_policy()
        rules = [list(r) for r in policy.rules] if policy else default_rules()
        model = Model()
        model.load_model_from_text(self._model_text)
        enforcer = casbin.Enforcer(model)
        enforcer.add_function("within", _within)
        p_rules = [r[1:] for r in rules if r[0] == "p"]
        g_rules = [r[1:] for r in rules if r[0] == "g"]
        if p_rules:
            enforcer.add_policies(p_rules)
        if g_rules:
            enforcer.add_grouping_policies(g_rules)
        return enforcer


def _within(subject: Any, record: Any, condition: Any) -> bool:
    return within(subject, record, str(condition))
