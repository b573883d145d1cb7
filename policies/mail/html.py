"""HTML mail: sanitized for display (nh3) and turned into readable plain text (html.parser).

Sanitizing keeps formatting and links but no scripts, styles that run code, forms, frames or
remote images (remote images are read receipts in disguise: only `cid:` parts and inline
`data:` images are shown). The text conversion can drop quoted history by the containers mail
clients put it in, which is more reliable than guessing from the text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

from ledgerdesk.policies.mail.reply_text import drop_trailing_attribution

__all__ = ["html_to_text", "sanitize_html"]

_TAGS = (set(nh3.ALLOWED_TAGS) | {"font", "tfoot", "center"}) - {"area", "map"}
_DROP_WITH_CONTENT = {
    "script", "style", "title", "head", "iframe", "frame", "frameset", "object", "embed",
    "noscript", "template", "textarea", "select", "svg", "math", "applet",
}  # fmt: skip
_ATTRIBUTES = {
    "*": {"title", "dir", "lang", "align", "style"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "font": {"color", "face", "size"},
    "td": {"colspan", "rowspan", "valign", "width"},
    "th": {"colspan", "rowspan", "valign", "width"},
    "table": {"width", "cellpadding", "cellspacing", "border"},
    "ol": {"start", "type"},
    "blockquote": {"cite"},
}
_STYLE_PROPERTIES = {
    "color", "background-color", "font-weight", "font-style", "font-size", "font-family",
    "text-decoration", "text-align", "vertical-align", "white-space", "margin", "margin-left",
    "padding", "padding-left", "border", "border-left", "border-top", "width", "list-style-type",
}  # fmt: skip
_LINK_SCHEMES = ("http:", "https:", "mailto:")
_IMAGE = re.compile(
    r"^(?:cid:\S+|data:image/(?:png|gif|jpe?g|webp|bmp);base64,[A-Za-z0-9+/=\s]+)$", re.I
)
_UNSAFE_STYLE = re.compile(r"expression|url\s*\(|javascript:|behavior|binding|@import|\\", re.I)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "href":
        return value if value.strip().lower().startswith(_LINK_SCHEMES) else None
    if attribute == "src":
        return value if tag == "img" and _IMAGE.match(value.strip()) else None
    if attribute == "style" and _UNSAFE_STYLE.search(value):
        return None
    return value


def sanitize_html(html: str) -> str:
    """HTML safe to show in our pages: formatting and links kept, no code, no remote images."""
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes={"http", "https", "mailto", "cid", "data"},
        filter_style_properties=_STYLE_PROPERTIES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


# Plain text ----------------------------------------------------------------------------------

_BLOCK = {
    "div", "section", "article", "header", "footer", "nav", "aside", "main", "table", "tr",
    "ul", "ol", "dl", "dt", "dd", "center", "address", "figure", "figcaption", "details",
    "summary", "hr", "form", "fieldset",
}  # fmt: skip
_PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"}
_VOID = {"br", "hr", "img", "input", "meta", "link", "col", "area", "base", "wbr", "source"}
_SKIP = {"script", "style", "head", "title", "template", "noscript", "svg", "math", "xml"}
_QUOTE_CLASSES = {
    "gmail_quote", "gmail_quote_container", "moz-cite-prefix", "yahoo_quoted",
    "protonmail_quote", "zmail_extra",
}  # fmt: skip
# Outlook puts the quoted mail *after* these markers, as siblings: everything after them goes.
_HISTORY_IDS = {
    "divrplyfwdmsg", "x_divrplyfwdmsg", "appendonsend", "x_appendonsend",
    "mail-editor-reference-message-container",
}  # fmt: skip
_HEADER_TEXT = re.compile(r"^\s*(?:From|Von|De|Da|Van|Från|Fra|Od)\s*:", re.I)
_SPACES = re.compile(r"\s+")


class _TextWriter:
    """Lines of plain text with `>` prefixes for quotes and indents for lists."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.current = ""
        self.pending = 0
        self.prefix = ""
        self.last_prefix = ""
        self.bullet = ""

    def write(self, text: str, raw: bool = False) -> None:
        if not raw:
            text = _SPACES.sub(" ", text)
            if not self.current:
                text = text.lstrip()
        if not text:
            return
        if self.pending:
            if self.current or self.lines:
                self._end_line()
                # A blank line between two quote levels belongs to the outer one.
                blank = min(self.prefix, self.last_prefix, key=len).rstrip()
                self.lines.extend([blank] * min(self.pending - 1, 1))
            self.pending = 0
        for i, piece in enumerate(text.split("\n") if raw else [text]):
            if i:
                self._end_line()
            if not self.current:
                self.last_prefix = self.prefix
                self.current = self.prefix + self.bullet
                self.bullet = ""
            self.current += piece

    def _end_line(self) -> None:
        self.lines.append(self.current.rstrip())
        self.current = ""

    def breaks(self, count: int) -> None:
        self.pending = max(self.pending, count)

    def line_break(self) -> None:
        self.pending = self.pending + 1 if self.pending else 1
        if not self.current and not self.lines:
            self.pending = 0

    def snapshot(self) -> tuple[int, str, int]:
        return len(self.lines), self.current, self.pending

    def restore(self, state: tuple[int, str, int]) -> None:
        del self.lines[state[0] :]
        self.current, self.pending = state[1], state[2]

    def text(self) -> str:
        lines = [*self.lines, self.current.rstrip()]
        return re.sub(r"\n(?:[ >]*\n){2,}", "\n\n", "\n".join(lines)).strip("\n")


class _TextParser(HTMLParser):
    def __init__(self, drop_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.drop_quotes = drop_quotes
        self.out = _TextWriter()
        self.stack: list[str] = []
        self.skip_at: int | None = None  # stack depth of the element whose content is skipped
        self.cut = False  # quoted history started; nothing after this is kept
        self.border_at: tuple[int, tuple[int, str, int]] | None = None
        self.pre = 0
        self.lists: list[list[int]] = []  # one counter per open list; -1 for bullets
        self.links: list[tuple[str, list[str]]] = []
        self.quote_depths: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.cut:
            return
        attr = {k: v or "" for k, v in attrs}
        if tag not in _VOID:
            self.stack.append(tag)
        if self.skip_at is not None:
            return
        if tag in _SKIP or (self.drop_quotes and self._is_quote(tag, attr)):
            self.skip_at = len(self.stack)
            return
        if self.drop_quotes and attr.get("id", "").lower() in _HISTORY_IDS:
            self.cut = True
            return
        if "OutlookMessageHeader" in attr.get("class", "").split() and self.drop_quotes:
            self.cut = True
            return
        self._open(tag, attr)

    def _is_quote(self, tag: str, attr: dict[str, str]) -> bool:
        if tag == "blockquote" and attr.get("type", "").lower() == "cite":
            return True
        return bool(_QUOTE_CLASSES & set(attr.get("class", "").split()))

    def _open(self, tag: str, attr: dict[str, str]) -> None:
        out = self.out
        if tag == "br":
            out.line_break()
        elif tag in _PARAGRAPH:
            out.breaks(2)
            if tag == "pre":
                self.pre += 1
            elif tag == "blockquote":
                self.quote_depths.append(len(self.stack))
                out.prefix += "> "
        elif tag in ("ul", "ol"):
            out.breaks(1 if self.lists else 2)
            self.lists.append([int(attr.get("start") or 1) if tag == "ol" else -1])
        elif tag == "li":
            out.breaks(1)
            indent = "  " * max(len(self.lists) - 1, 0)
            counter = self.lists[-1] if self.lists else [-1]
            out.bullet = indent + ("- " if counter[0] < 0 else f"{counter[0]}. ")
            if counter[0] >= 0:
                counter[0] += 1
        elif tag in ("td", "th"):
            if out.current.strip():
                out.write("  ", raw=True)
        elif tag == "a":
            self.links.append((attr.get("href", "").strip(), []))
        elif tag in _BLOCK:
            out.breaks(2 if tag == "hr" else 1)
            if tag == "div" and "gmail_signature" in attr.get("class", "").split():
                out.write("-- ")
                out.breaks(1)
            style = attr.get("style", "").replace(" ", "").lower()
            if self.drop_quotes and "border-top:solid" in style and self.border_at is None:
                self.border_at = (len(self.stack), out.snapshot())

    def handle_endtag(self, tag: str) -> None:
        if self.cut or tag not in self.stack:
            return
        while self.stack:
            depth = len(self.stack)
            closed = self.stack.pop()
            if self.skip_at is not None:
                if depth == self.skip_at:
                    self.skip_at = None
            else:
                self._close(closed, depth)
            if closed == tag or self.cut:
                return

    def _close(self, tag: str, depth: int) -> None:
        out = self.out
        if tag in _PARAGRAPH:
            out.breaks(2)
            if tag == "pre":
                self.pre -= 1
            elif tag == "blockquote" and self.quote_depths and self.quote_depths[-1] == depth:
                self.quote_depths.pop()
                out.prefix = out.prefix[:-2]
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            out.breaks(1 if self.lists else 2)
        elif tag == "a" and self.links:
            href, words = self.links.pop()
            self._link(href, "".join(words).strip())
        elif tag in _BLOCK:
            out.breaks(1)
        if self.border_at is not None and self.border_at[0] == depth:
            # Outlook desktop: a top-bordered block starting "From:" heads the quoted mail.
            state, self.border_at = self.border_at[1], None
            written = "\n".join([*out.lines[state[0] :], out.current])[len(state[1]) :]
            if _HEADER_TEXT.match(written.lstrip("\n> ")):
                out.restore(state)
                self.cut = True

    def _link(self, href: str, text: str) -> None:
        lower = href.lower()
        if not lower.startswith(_LINK_SCHEMES):
            return
        shown = href[7:].partition("?")[0] if lower.startswith("mailto:") else href
        if shown and shown.rstrip("/") != text.rstrip("/"):
            self.out.write(f" ({shown})")

    def handle_data(self, data: str) -> None:
        if self.cut or self.skip_at is not None:
            return
        for _, words in self.links:
            words.append(data)
        self.out.write(data, raw=self.pre > 0)


def html_to_text(html: str, drop_quotes: bool = False) -> str:
    """Readable plain text of an HTML mail; `drop_quotes` leaves out the quoted history."""
    parser = _TextParser(drop_quotes)
    parser.feed(html)
    parser.close()
    text = parser.out.text()
    return drop_trailing_attribution(text) if drop_quotes and text else text
