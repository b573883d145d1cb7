"""HTML mail: sanitized for display, and readable text with or without the quoted history."""

from __future__ import annotations

from ledgerdesk.policies.mail.html import html_to_text, sanitize_html

# Sanitizing ------------------------------------------------------------------------------------


def test_formatting_and_links_are_kept_with_safe_rel() -> None:
    html = sanitize_html('<p><b>bold</b> <i>it</i> <a href="https://example.org/x">link</a></p>')
    assert "<b>bold</b>" in html and "<i>it</i>" in html
    assert 'href="https://example.org/x"' in html
    assert 'rel="noopener noreferrer"' in html


def test_mailto_links_are_kept() -> None:
    assert 'href="mailto:a@example.org"' in sanitize_html('<a href="mailto:a@example.org">a</a>')


def test_scripts_are_removed_with_their_content() -> None:
    html = sanitize_html("<p>hi</p><script>alert(1)</script><SCRIPT SRC=//evil/x.js></SCRIPT>")
    assert "script" not in html.lower() and "alert" not in html


def test_event_handlers_are_removed() -> None:
    html = sanitize_html('<img src="cid:a@b" onerror="alert(1)"><div onclick="x()">d</div>')
    assert "onerror" not in html and "onclick" not in html


def test_javascript_and_other_schemes_are_removed_from_links() -> None:
    for href in ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<b>x", "ftp://x/y"]:
        assert "href" not in sanitize_html(f'<a href="{href}">x</a>'), href


def test_svg_is_removed_with_its_content() -> None:
    html = sanitize_html('<svg onload="alert(1)"><script>alert(2)</script><circle r="4"/></svg>ok')
    assert "svg" not in html and "alert" not in html and "ok" in html


def test_style_expressions_and_urls_are_removed() -> None:
    html = sanitize_html(
        '<div style="width: expression(alert(1)); color: red">a</div>'
        '<p style="background:url(javascript:alert(1))">b</p>'
    )
    assert "expression" not in html and "javascript" not in html and "url(" not in html


def test_safe_styles_are_kept() -> None:
    assert "color:red" in sanitize_html('<span style="color: red">x</span>').replace(" ", "")


def test_style_elements_are_removed() -> None:
    html = sanitize_html("<style>body{background:url(https://t.example/p)}</style><p>x</p>")
    assert "<style" not in html and "t.example" not in html


def test_remote_images_lose_their_source() -> None:
    html = sanitize_html('<img src="https://tracker.example/p.gif?u=1" width="1">')
    assert "tracker.example" not in html


def test_cid_and_data_images_are_kept() -> None:
    png = "data:image/png;base64,iVBORw0KGgo="
    html = sanitize_html(f'<img src="cid:image001.png@01DB"><img src="{png}">')
    assert 'src="cid:image001.png@01DB"' in html and f'src="{png}"' in html


def test_svg_data_images_are_removed() -> None:
    assert "data:" not in sanitize_html('<img src="data:image/svg+xml;base64,PHN2Zz4=">')


def test_forms_and_iframes_are_removed() -> None:
    html = sanitize_html(
        '<form action="https://evil"><input name="pw" type="password"><button>Go</button></form>'
        '<iframe src="https://evil"></iframe><object data="x"></object><embed src="y">'
    )
    for tag in ("<form", "<input", "<iframe", "<object", "<embed", "evil"):
        assert tag not in html


# Plain text ------------------------------------------------------------------------------------


def test_paragraphs_and_line_breaks_become_lines() -> None:
    assert html_to_text("<p>One<br>two</p><p>Three</p>") == "One\ntwo\n\nThree"


def test_whitespace_in_html_source_is_collapsed_but_pre_is_kept() -> None:
    assert html_to_text("<div>a\n   b</div><pre>x\n  y</pre>") == "a b\n\nx\n  y"


def test_lists_become_bullets_and_numbers() -> None:
    text = html_to_text("<ul><li>one</li><li>two<ol><li>a</li><li>b</li></ol></li></ul>")
    assert text == "- one\n- two\n  1. a\n  2. b"


def test_links_show_their_address_in_parentheses() -> None:
    text = html_to_text('See <a href="https://example.org/inv">the portal</a>.')
    assert text == "See the portal (https://example.org/inv)."


def test_links_whose_text_is_the_address_are_not_repeated() -> None:
    html = '<a href="https://example.org/">https://example.org</a> '
    html += '<a href="mailto:a@b.org">a@b.org</a>'
    assert html_to_text(html) == "https://example.org a@b.org"


def test_scripts_styles_and_head_give_no_text() -> None:
    html = "<html><head><title>T</title><style>p{}</style></head>"
    html += "<body><script>x()</script>Hi</body>"
    assert html_to_text(html) == "Hi"


def test_entities_are_decoded() -> None:
    assert html_to_text("<p>Fish &amp; chips&nbsp;&lt;3 &eacute;</p>") == "Fish & chips <3 é"


def test_blockquotes_are_prefixed_when_quotes_are_kept() -> None:
    text = html_to_text("<p>New</p><blockquote>Old<br>older</blockquote>")
    assert text == "New\n\n> Old\n> older"


GMAIL = (
    '<div dir="ltr">Got it, thanks.</div><br><div class="gmail_quote gmail_quote_container">'
    '<div dir="ltr" class="gmail_attr">On Tue, 4 Mar 2025 at 10:12, Support &lt;s@example.com&gt;'
    ' wrote:<br></div><blockquote class="gmail_quote">Hello Alice, we sent it.</blockquote></div>'
)


def test_gmail_quote_is_dropped() -> None:
    assert html_to_text(GMAIL, drop_quotes=True) == "Got it, thanks."


def test_gmail_quote_is_kept_by_default() -> None:
    assert "we sent it" in html_to_text(GMAIL)


def test_gmail_signature_gets_a_signature_delimiter() -> None:
    html = '<div>Hi</div><div class="gmail_signature">Alice<br>ACME</div>'
    assert html_to_text(html) == "Hi\n--\nAlice\nACME"


def test_apple_mail_cite_blockquote_and_its_attribution_are_dropped() -> None:
    html = (
        '<body>Danke!<div><br><blockquote type="cite"><div>Am 04.03.2025 um 10:12 schrieb'
        " Support &lt;s@example.com&gt;:</div><div>Hallo</div></blockquote></div></body>"
    )
    assert html_to_text(html, drop_quotes=True) == "Danke!"


def test_apple_mail_attribution_outside_the_quote_is_dropped() -> None:
    html = (
        '<body>Thanks.<br><div dir="ltr">On 4 Mar 2025, at 10:12, S &lt;s@example.com&gt; wrote:'
        '</div><blockquote type="cite"><div>Hello</div></blockquote></body>'
    )
    assert html_to_text(html, drop_quotes=True) == "Thanks."


def test_thunderbird_cite_prefix_is_dropped() -> None:
    html = (
        '<p>Yes, version 3.</p><div class="moz-cite-prefix">On 04/03/2025 10:12, S wrote:<br>'
        '</div><blockquote type="cite" cite="mid:x@y">Which version?</blockquote>'
    )
    assert html_to_text(html, drop_quotes=True) == "Yes, version 3."


def test_outlook_web_reply_history_after_divrplyfwdmsg_is_dropped() -> None:
    html = (
        '<div>Ok, merci.</div><div id="appendonsend"></div><hr><div id="divRplyFwdMsg">'
        "<b>De :</b> Support<br><b>Envoyé :</b> mardi</div><div>Bonjour, ancien texte</div>"
    )
    assert html_to_text(html, drop_quotes=True) == "Ok, merci."


def test_outlook_desktop_border_top_from_block_is_dropped() -> None:
    html = (
        '<div class="WordSection1"><p class="MsoNormal">Please cancel.<o:p></o:p></p><div>'
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
        '<p class="MsoNormal"><b>From:</b> Support<br><b>Sent:</b> Tuesday<br><b>To:</b> Bob</p>'
        '</div></div><p class="MsoNormal">Hello Bob, shipped.</p></div>'
    )
    assert html_to_text(html, drop_quotes=True) == "Please cancel."


def test_a_border_top_block_that_is_not_a_header_stays() -> None:
    html = '<div style="border-top: solid 1px #ccc">Totals: 40 EUR</div><p>More</p>'
    assert html_to_text(html, drop_quotes=True) == "Totals: 40 EUR\n\nMore"


def test_unclosed_and_stray_tags_do_not_break_the_text() -> None:
    assert html_to_text("<div><p>One<p>Two</span></div>Three</b>") == "One\n\nTwo\n\nThree"


def test_empty_html_gives_empty_text() -> None:
    assert html_to_text("") == ""
