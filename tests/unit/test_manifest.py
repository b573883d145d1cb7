"""The manifest: a pure literal whose every entry resolves and stays in step with the code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from eventsourcing.domain import CanMutateAggregate

from ledgerdesk import __version__
from ledgerdesk.jobs.queue import parse_cron
from ledgerdesk.manifest import MANIFEST
from ledgerdesk.utils import resolve

ROOT = Path(__file__).resolve().parents[2]


def test_the_manifest_is_one_literal_readable_without_running_code():
    tree = ast.parse((ROOT / "manifest.py").read_text())
    assert [type(node).__name__ for node in tree.body] == ["AnnAssign"]
    assert ast.literal_eval(tree.body[0].value) == MANIFEST  # type: ignore[attr-defined,arg-type]


def test_the_manifest_version_is_the_package_version():
    assert MANIFEST["version"] == __version__


def test_every_dotted_path_in_the_manifest_resolves():
    paths = [
        MANIFEST["application"],
        MANIFEST["lifecycle"],
        MANIFEST["cli"],
        MANIFEST["ticket_number"]["id"],
        MANIFEST["demo"]["command"],
        MANIFEST["demo"]["scenario"],
        *MANIFEST["aggregates"],
        *(job["task"] for job in MANIFEST["jobs"]),
    ]
    for path in paths:
        assert resolve(path) is not None, path


@pytest.mark.parametrize("aggregate", list(MANIFEST["aggregates"]))
def test_each_aggregate_lists_exactly_its_events(aggregate):
    cls = resolve(aggregate)
    declared = {
        name
        for name, value in vars(cls).items()
        if isinstance(value, type)
        and issubclass(value, CanMutateAggregate)
        and name not in ("Event", "Created")
    }
    inherited = {"Updated", "Deactivated", "Reactivated", "Created"} & set(
        MANIFEST["aggregates"][aggregate]
    )
    for name in inherited:
        assert isinstance(getattr(cls, name), type), f"{aggregate}.{name}"
    assert declared <= set(MANIFEST["aggregates"][aggregate])
    assert set(MANIFEST["aggregates"][aggregate]) - inherited <= declared | {"Created"}


def test_every_job_has_a_cron_that_parses_and_a_unique_name():
    names = [job["name"] for job in MANIFEST["jobs"]]
    assert len(names) == len(set(names))
    for job in MANIFEST["jobs"]:
        assert callable(parse_cron(job["cron"]))


def test_a_malformed_cron_is_refused():
    with pytest.raises(ValueError, match="five-field"):
        parse_cron("*/10 * *")


def test_projections_declare_both_store_views():
    for name, parts in MANIFEST["projections"].items():
        assert {"view", "projection", "postgres", "sqlite"} <= set(parts), name
        for path in parts.values():
            resolve(path)


def test_every_permission_a_route_asks_for_exists_in_the_default_policy():
    import re

    from ledgerdesk.adapters.casbin_access import default_rules
    from ledgerdesk.domain.access import ACTIONS, check_rule

    rules = [check_rule(rule) for rule in default_rules(ROOT / MANIFEST["access"]["policy"])]
    granted = {rule[3] for rule in rules if rule[0] == "p"}
    asked = set()
    for path in (ROOT / "api").rglob("*.py"):
        text = path.read_text()
        asked |= set(re.findall(r'(?:require|allowed|_readable)\(.*?, "([a-z_]+)"\)', text))
        asked |= set(
            re.findall(r'(?:require_kind|condition)\([^)]*?"[a-z_]+", "([a-z_]+)"\)', text)
        )
    assert asked, "no permission checks found in api/"
    assert asked <= set(ACTIONS), asked - set(ACTIONS)
    missing = {action for action in asked if action not in granted and "*" not in granted}
    assert not missing, f"actions no rule grants: {missing}"
    assert (ROOT / MANIFEST["access"]["model"]).is_file()


@pytest.mark.parametrize("entry", MANIFEST["mail_templates"], ids=lambda e: e["kind"])
def test_every_mail_template_renders_in_each_language_with_strict_variables(entry):
    from ledgerdesk.adapters.mail_out.templates import MailTemplates, sample_context

    templates = MailTemplates()
    for language in entry["languages"]:
        rendered = templates.render(entry["kind"], language, sample_context(entry["kind"]))
        assert rendered.subject and rendered.text and rendered.html
        assert "[T-" in rendered.subject


def test_every_reaction_names_a_declared_template_and_every_kind_has_templates():
    from ledgerdesk.domain.outgoing import KINDS

    declared = {e["kind"] for e in MANIFEST["mail_templates"]}
    assert {r["template"] for r in MANIFEST["reactions"]} <= declared
    assert declared == set(KINDS)
