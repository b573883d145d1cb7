"""Mail templates: subject, plain text and HTML per kind and language, with Jinja2.

Files are `<lang>/<kind>.subject.j2`, `<kind>.txt.j2` and `<kind>.html.j2`, packaged under
`ledgerdesk/templates/mail`; the same names under `<data dir>/templates/mail` win over the
packaged ones (any file, including `layout.html.j2`, `_ui.html.j2` and `<lang>/_words.j2`).
A locale falls back to its language, then to English: `de-AT` -> `de` -> `en`.

Variables: a kind's intent context (policies/reactions.py, CONTEXT_KEYS) plus SHARED_KEYS
(recipient_name, portal_url, support_name) and the names of the ids the intent carries
(author_name, actor_name). Undefined variables are errors, never blanks. HTML is autoescaped;
`nl2br` escapes a text and keeps its line breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from ledgerdesk.policies.reactions import CONTEXT_KEYS, NAMED_KEYS, SHARED_KEYS

FALLBACK_LANGUAGE = "en"
OVERRIDE_DIR = Path("templates") / "mail"  # under the data directory
PARTS = ("subject", "txt", "html")
_UNDEFINED = re.compile(r"^'([^']+)' is undefined$")


class MailTemplateError(ValueError):
    """A mail could not be rendered: no template for its kind, or a variable it needs is missing."""

    def __init__(self, kind: str, language: str, variable: str = "", detail: str = "") -> None:
        self.kind, self.language, self.variable = kind, language, variable
        if variable:
            message = (
                f"the {language!r} mail template {kind!r} needs the variable {variable!r}, "
                "which its context lacks"
            )
        else:
            message = f"the {language!r} mail template {kind!r} cannot be rendered: {detail}"
        super().__init__(message)


@dataclass(frozen=True)
class Rendered:
    subject: str  # one line, stripped
    text: str
    html: str | None  # None only when an override language has no HTML file for the kind


def nl2br(value: object) -> Markup:
    """The text escaped, each line break kept as `<br>`."""
    text = value if isinstance(value, Markup) else escape(str(value))
    return Markup("<br>\n").join(text.replace("\r\n", "\n").split("\n"))


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith(".html.j2")


class MailTemplates:
    """Renders one kind of mail in the recipient's language."""

    def __init__(self, override_dir: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if override_dir is not None:
            loaders.append(jinja2.FileSystemLoader(override_dir))
        loaders.append(jinja2.PackageLoader("ledgerdesk", "templates/mail"))
        self._loader = jinja2.ChoiceLoader(loaders)
        self.env = jinja2.Environment(
            loader=self._loader,
            autoescape=_autoescape,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["nl2br"] = nl2br

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> MailTemplates:
        """Packaged templates, overridden by those under `<data_dir>/templates/mail`."""
        return cls(data_dir / OVERRIDE_DIR)

    def languages(self) -> list[str]:
        """Every language some kind has a subject template in (packaged or overridden)."""
        names = self.env.list_templates(filter_func=lambda name: name.endswith(".subject.j2"))
        return sorted({name.partition("/")[0] for name in names if "/" in name})

    def language_for(self, kind: str, locale: str) -> str:
        """The first of `de-AT`, `de`, `en` that has templates for `kind`."""
        for language in _candidates(locale):
            try:
                self._loader.get_source(self.env, f"{language}/{kind}.subject.j2")
            except jinja2.TemplateNotFound:
                continue
            return language
        raise MailTemplateError(kind, locale, detail="there is no template for this kind")

    def render(self, kind: str, locale: str, context: dict[str, str]) -> Rendered:
        """Subject, text and HTML of one mail; MailTemplateError names what is missing."""
        language = self.language_for(kind, locale)
        subject = self._render(kind, language, "subject", context)
        try:
            text = self._render(kind, language, "txt", context)
        except jinja2.TemplateNotFound:
            raise MailTemplateError(kind, language, detail="its .txt.j2 file is missing") from None
        try:
            html: str | None = self._render(kind, language, "html", context)
        except jinja2.TemplateNotFound:
            html = None
        return Rendered(subject=" ".join(subject.split()), text=text, html=html)

    def _render(self, kind: str, language: str, part: str, context: dict[str, str]) -> str:
        # TemplateNotFound passes only for the part's own file; whatever else goes wrong in a
        # template (an administrator's override may be broken) becomes a MailTemplateError.
        name = f"{language}/{kind}.{part}.j2"
        try:
            return self.env.get_template(name).render(context)
        except jinja2.TemplateNotFound as error:
            if error.name == name:
                raise
            detail = f"{name} uses {error.name}, which does not exist"
            raise MailTemplateError(kind, language, detail=detail) from error
        except jinja2.UndefinedError as error:
            match = _UNDEFINED.match(str(error))
            variable = match.group(1) if match else ""
            raise MailTemplateError(kind, language, variable, detail=str(error)) from error
        except Exception as error:
            detail = f"{name}: {type(error).__name__}: {error}"
            raise MailTemplateError(kind, language, detail=detail) from error


def _candidates(locale: str) -> list[str]:
    cleaned = locale.strip().replace("_", "-")
    language = cleaned.partition("-")[0].lower()
    region = cleaned.partition("-")[2].upper()
    found = [f"{language}-{region}" if region else "", language, FALLBACK_LANGUAGE]
    return list(dict.fromkeys(name for name in found if name))


_SAMPLE: dict[str, str] = {
    "number": "T-12",
    "subject": "Printer on fire",
    "status": "in_progress",
    "from_status": "new",
    "priority": "high",
    "channel": "email",
    "text": "The printer on floor 3 is smoking.\nShould I unplug it?",
    "author_id": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
    "author_name": "Alice Example",
    "actor": "user:9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
    "actor_name": "Alice Example",
    "reason": "no answer within the target",
    "target": "first_response",
    "due_at": "2026-11-02 17:00 UTC",
    "recipient_name": "Bob Customer",
    "portal_url": "http://127.0.0.1:8000/portal/tickets/T-12",
    "support_name": "Example Support",
}
_SAMPLE_STATUS = {"status_changed": "resolved", "sla_breached": "new", "escalated": "new"}


def sample_context(kind: str) -> dict[str, str]:
    """A full context for `kind`: its intent keys, the names for its ids and the shared keys."""
    keys = CONTEXT_KEYS[kind]
    names = tuple(NAMED_KEYS[key] for key in keys if key in NAMED_KEYS)
    context = {key: _SAMPLE[key] for key in (*keys, *names, *SHARED_KEYS)}
    if "status" in context:
        context["status"] = _SAMPLE_STATUS.get(kind, context["status"])
    return context
