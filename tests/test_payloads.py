"""Payloads inert: model output, plan points, instructions and user edits carrying scripts, event
handlers, ``javascript:``/``data:`` links, SVG with script, CSS ``url()``, entities that decode to tags
and Markdown link tricks are text, never behaviour, in the HTML and DOCX exports.

The checker parses the exported page as a browser would and lists every element, attribute and
link that could act; the page's own frame (head, title, print stylesheet) is the only markup allowed
beyond the sanitiser's text formatting.
"""

from __future__ import annotations

import io
import re
import zipfile
from html.parser import HTMLParser
from typing import Any

import pytest
from test_properties import PAYLOADS, SAFE_ATTRIBUTES, SAFE_SCHEMES, SAFE_TAGS

from longwriter.documents import export_bytes, render_markdown

FRAME = {"html", "head", "meta", "title", "style", "body", "header", "main"}
"""The export's own page around the document (``to_html``); its one stylesheet is ours."""
FRAME_ATTRIBUTES = {"charset", "name", "content", "class", "lang"}


class ExportedPage(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SAFE_TAGS | FRAME:
            self.problems.append(f"<{tag}>")
        self._in_style = tag == "style"
        for name, value in attrs:
            if name not in SAFE_ATTRIBUTES | FRAME_ATTRIBUTES:
                self.problems.append(f"{name}= on <{tag}>")
            if name == "href" and not SAFE_SCHEMES.match(re.sub(r"[\x00-\x20]", "", value or "")):
                self.problems.append(f"link {value!r}")
            if name == "content" and value and "url=" in value.lower():
                self.problems.append(f"refresh {value!r}")

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False


def record_with(payload: str) -> dict[str, Any]:
    """A two-section document where the payload is everywhere a user or a model can put text."""
    sections = [
        {"index": 0, "main_point": f"Opening {payload}", "text": f"Tea grows on hills. {payload}\n\nMore tea."},
        {"index": 1, "main_point": "Closing", "text": f"## {payload}\n\n* {payload}\n\n> {payload}"},
    ]
    return {
        "id": "0123456789abcdef0123456789abcdef",
        "instruction": f"Write about tea {payload}",
        "target_words": 300,
        "words": 20,
        "model": f"model {payload}",
        "sections": sections,
        "text": "\n\n".join(s["text"] for s in sections),
        "status": "done",
    }


@pytest.mark.parametrize("payload", PAYLOADS)
def test_html_export_is_inert(payload: str) -> None:
    page = ExportedPage()
    page.feed(export_bytes(record_with(payload), "html").decode("utf-8"))
    page.close()
    assert page.problems == [], page.problems
    assert len(page.styles) == 1 and "url(" not in page.styles[0], "the only stylesheet is the export's own"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_docx_export_is_inert(payload: str) -> None:
    with zipfile.ZipFile(io.BytesIO(export_bytes(record_with(payload), "docx"))) as docx:
        names = docx.namelist()
        xml = {name: docx.read(name).decode("utf-8", "replace") for name in names if name.endswith((".xml", ".rels"))}
    assert not [n for n in names if n.startswith(("word/media", "word/embeddings", "word/activeX")) or "vba" in n]
    for name, content in xml.items():
        assert 'TargetMode="External"' not in content, f"{name} links outside the document"
        # Payload words may stand in the text (<w:t>) and the title property; nothing may act on them:
        # no hyperlink, no field code (a HYPERLINK or INCLUDETEXT field runs when the file opens).
        assert not re.search(r"<w:hyperlink|<w:fldSimple|<w:instrText|<w:object|<v:", content), name


def test_the_payloads_stay_readable_as_text() -> None:
    """Inert, not lost: the words around a payload and a script's visible text reach the page as text."""
    rendered = render_markdown("Before <script>alert(1)</script> after, and `<b>code</b>` shown.")
    assert "Before" in rendered and "after" in rendered and "&lt;b&gt;code&lt;/b&gt;" in rendered
