"""Mail templates: every kind renders in every language, overrides win, errors name what is
missing, HTML escapes what customers write. Pure: templates from the package and tmp_path."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from jinja2 import meta, nodes

from ledgerdesk.adapters.mail_out.templates import (
    MailTemplateError,
    MailTemplates,
    sample_context,
)
from ledgerdesk.domain.outgoing import KINDS
from ledgerdesk.policies.mail.identity import MailIdentity

LANGUAGES = ["de", "en"]
CUSTOMER_KINDS = ["ticket_opened", "agent_replied", "status_changed"]
REPLY_HINT = {"en": "Reply to this email to add to your ticket", "de": "Antworten Sie auf diese"}
TEMPLATES = MailTemplates()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_renders_in_every_language_from_its_sample_context(
    kind: str, language: str
) -> None:
    context = sample_context(kind)
    mail = TEMPLATES.render(kind, language, context)
    assert f"[{context['number']}]" in mail.subject and "\n" not in mail.subject
    assert mail.subject == mail.subject.strip()
    assert context["portal_url"] in mail.text
    assert mail.html is not None and f'href="{context["portal_url"]}"' in mail.html
    assert f'<html lang="{language}">' in mail.html


def test_english_and_german_templates_exist_for_every_kind() -> None:
    assert TEMPLATES.languages() == LANGUAGES
    for language in LANGUAGES:
        for kind in KINDS:
            assert TEMPLATES.language_for(kind, language) == language


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("status", ["resolved", "closed", "waiting", "in_progress"])
def test_every_status_a_requester_hears_of_renders(language: str, status: str) -> None:
    context = sample_context("status_changed") | {"status": status}
    mail = TEMPLATES.render("status_changed", language, context)
    assert REPLY_HINT[language] in mail.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_resolved_mail_says_that_a_reply_reopens_the_ticket(language: str) -> None:
    mail = TEMPLATES.render("status_changed", language, sample_context("status_changed"))
    says = {"en": "reply to this email to reopen", "de": "um das Ticket wieder\nzu eröffnen"}
    assert says[language] in mail.text
    assert {"en": "reply to this email to reopen", "de": "wieder zu eröffnen"}[language] in (
        mail.html or ""
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", CUSTOMER_KINDS)
def test_customer_mails_say_that_replying_adds_to_the_ticket(kind: str, language: str) -> None:
    mail = TEMPLATES.render(kind, language, sample_context(kind))
    assert REPLY_HINT[language] in mail.text and REPLY_HINT[language] in (mail.html or "")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_subject_carries_the_token_the_intake_threads_by(kind: str, language: str) -> None:
    context = sample_context(kind) | {"number": "T-1042", "subject": "Invoice [T-7] wrong"}
    subject = TEMPLATES.render(kind, language, context).subject
    assert MailIdentity.ticket_of_subject(subject) == "T-1042"


def test_a_subject_stays_one_line_whatever_the_ticket_subject_holds() -> None:
    context = sample_context("agent_replied") | {"subject": "Printer\r\nBcc: evil@x.test  on fire"}
    mail = TEMPLATES.render("agent_replied", "en", context)
    assert mail.subject == "Re: [T-12] Printer Bcc: evil@x.test on fire"


@pytest.mark.parametrize("kind", ["agent_replied", "customer_replied", "ticket_opened"])
def test_html_escapes_a_script_in_a_customers_text(kind: str) -> None:
    text = '<script>alert("x")</script>\n<b>bold</b> & more'
    context = sample_context(kind) | {"text": text, "subject": "<img src=x onerror=alert(1)>"}
    mail = TEMPLATES.render(kind, "en", context)
    html = mail.html or ""
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;<br>" in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html
    assert text in mail.text or text.replace("\n", "\n    ") in mail.text  # plain text as is


def test_a_missing_variable_is_an_error_naming_kind_language_and_variable() -> None:
    context = sample_context("agent_replied")
    del context["text"]
    with pytest.raises(MailTemplateError) as caught:
        TEMPLATES.render("agent_replied", "de-AT", context)
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.kind, error.language, error.variable) == ("agent_replied", "de", "text")
    assert "'agent_replied'" in str(error) and "'de'" in str(error) and "'text'" in str(error)


def test_an_unknown_kind_is_an_error_naming_it() -> None:
    with pytest.raises(MailTemplateError, match="'parcel_shipped'"):
        TEMPLATES.render("parcel_shipped", "en", {})


@pytest.mark.parametrize(
    ("locale", "language"),
    [("de-AT", "de"), ("de_CH", "de"), ("DE", "de"), ("en-GB", "en"), ("fr", "en"), ("", "en")],
)
def test_a_locale_falls_back_to_its_language_then_to_english(locale: str, language: str) -> None:
    assert TEMPLATES.language_for("ticket_opened", locale) == language


def test_an_override_file_in_the_data_directory_wins(tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "mail" / "en"
    folder.mkdir(parents=True)
    (folder / "ticket_opened.subject.j2").write_text("[{{ number }}] Thanks, {{ recipient_name }}")
    templates = MailTemplates.in_data_dir(tmp_path)
    mail = templates.render("ticket_opened", "en", sample_context("ticket_opened"))
    assert mail.subject == "[T-12] Thanks, Bob Customer"
    assert "We have received your request" in mail.text  # the files not overridden still apply
    assert TEMPLATES.render("ticket_opened", "en", sample_context("ticket_opened")).subject == (
        "[T-12] Printer on fire"
    )


def test_a_region_of_its_own_can_be_added_in_the_data_directory(tmp_path: Path) -> None:
    folder = tmp_path / "de-CH"
    folder.mkdir()
    (folder / "escalated.subject.j2").write_text("[{{ number }}] Eskaliert")
    (folder / "escalated.txt.j2").write_text("Grüezi {{ recipient_name }}")
    mail = MailTemplates(tmp_path).render("escalated", "de-CH", sample_context("escalated"))
    assert (mail.subject, mail.text, mail.html) == ("[T-12] Eskaliert", "Grüezi Bob Customer", None)
    german = MailTemplates(tmp_path).render("escalated", "de-AT", sample_context("escalated"))
    assert german.subject == "[T-12] Eskaliert: Printer on fire"


@pytest.mark.parametrize("kind", list(KINDS))
def test_templates_use_only_the_variables_their_kind_documents(kind: str) -> None:
    allowed = set(sample_context(kind))
    env = TEMPLATES.env
    for language in LANGUAGES:
        for part in ("subject", "txt", "html"):
            name = f"{language}/{kind}.{part}.j2"
            assert env.loader is not None
            tree = env.parse(env.loader.get_source(env, name)[0])
            used = meta.find_undeclared_variables(tree) - _imported(tree)
            assert used <= allowed, (name, used - allowed)


def _imported(tree: nodes.Template) -> set[str]:
    """Names a template imports (meta counts them as undeclared inside a child's blocks)."""
    names = {node.target for node in tree.find_all(nodes.Import)}
    for node in tree.find_all(nodes.FromImport):
        names.update(name if isinstance(name, str) else name[1] for name in node.names)
    return names


def test_shared_pieces_need_nothing_beyond_what_they_are_given() -> None:
    env = TEMPLATES.env
    assert env.loader is not None
    for name in ("layout.html.j2", "_ui.html.j2", "en/_words.j2", "de/_words.j2"):
        source = env.loader.get_source(env, name)[0]
        assert meta.find_undeclared_variables(env.parse(source)) == set(), name
    with pytest.raises(jinja2.TemplateNotFound):
        env.get_template("xx/ticket_opened.subject.j2")


@pytest.mark.parametrize(
    "source",
    ["{% if %}broken", "{{ number | no_such_filter }}", "{% include 'gone.j2' %}", "{{ 1 / 0 }}"],
)
def test_a_broken_override_is_an_error_naming_the_kind_not_a_crash(
    tmp_path: Path, source: str
) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "agent_replied.txt.j2").write_text(source)
    with pytest.raises(MailTemplateError, match="'agent_replied'"):
        MailTemplates(tmp_path).render("agent_replied", "en", sample_context("agent_replied"))


def test_an_override_language_without_a_text_template_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "escalated.subject.j2").write_text("[{{ number }}] Escaladé")
    with pytest.raises(MailTemplateError, match=r"'fr'.*\.txt\.j2"):
        MailTemplates(tmp_path).render("escalated", "fr", sample_context("escalated"))
