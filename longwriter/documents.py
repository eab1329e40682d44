"""A stored document as data and as files: the JSON record, Markdown, HTML and DOCX.

One function builds the record from the store's rows, and every output (CLI JSON, exports, the
UI's downloads) derives from it, so a document reads the same wherever it is taken out.

Model output is untrusted text: :func:`render_markdown` is the one place where it becomes HTML,
and it always goes through an allow-list sanitiser (``nh3``), so no script, event handler,
``javascript:`` link or style sheet written by a model reaches a page or an exported file. The
studio's page and the HTML and DOCX exports all use it.
"""

from __future__ import annotations

import html
import io
import re
from html.parser import HTMLParser
from typing import Any, ClassVar, Literal

import markdown as md
import nh3

from longwriter.store import NotFound, Store
from longwriter.text import clip, count_words, length_score

ExportFormat = Literal["markdown", "html", "docx"]
EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    "markdown": (".md", "text/markdown; charset=utf-8"),
    "html": (".html", "text/html; charset=utf-8"),
    "docx": (".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
}
"""Export format → (file suffix, MIME type)."""


def document_record(store: Store, doc_id: str, user: str | None = None) -> dict[str, Any]:
    """Everything about one document: request, plan, each section, the whole text, score and timings."""
    doc = store.get_document(doc_id, user=user)
    if doc is None:
        raise NotFound(f"There is no document {doc_id}.")
    sections = store.sections(doc_id)
    generations = store.generations(doc_id)
    text = "\n\n".join(s.text.strip() for s in sections if s.text.strip())
    words = count_words(text)
    seconds = {g.section_index: 0.0 for g in generations}
    for g in generations:
        seconds[g.section_index] += g.seconds
    return {
        "id": doc.id,
        "created_at": doc.created_at.isoformat(),
        "status": doc.status,
        "error": doc.error,
        "instruction": doc.instruction,
        "target_words": doc.target_words,
        "mode": doc.mode,
        "model": doc.model,
        "backend": doc.backend,
        "sampling": doc.params,
        "plan": {"sections": doc.plan or []},
        "sections": [
            {
                "index": s.index,
                "main_point": s.main_point,
                "target_words": s.target_words,
                "words": s.words,
                "status": s.status,
                "text": s.text,
                **({"reasoning": s.reasoning} if s.reasoning else {}),
                "seconds": round(seconds.get(s.index, 0.0), 2),
            }
            for s in sections
        ],
        "text": text,
        "words": words,
        "length_score": round(length_score(doc.target_words, words), 2),
        "timings": {
            "plan_seconds": round(seconds.get(None, 0.0), 2),
            "write_seconds": round(sum(v for k, v in seconds.items() if k is not None), 2),
        },
        "tokens": sum(g.output_tokens or 0 for g in generations),
    }


def to_markdown(record: dict[str, Any], headings: bool = True) -> str:
    """The document as Markdown: its title, then the sections' text with a heading each (see :func:`export_body`)."""
    return f"# {document_title(record)}\n\n{export_body(record, headings)}\n"


HEADING_CHARS = 100
"""A section heading made from a plan's main point is clipped to this many characters."""
_HEADING_LINE = re.compile(r"^\s*(?:#{1,6}\s+(?P<hash>.+?)\s*#*|\*\*(?P<bold>[^*]+)\*\*|__(?P<under>[^_]+)__)\s*$")


def export_body(record: dict[str, Any], headings: bool = True) -> str:
    """The document's text under its title: one ``##`` heading per section when ``headings``.

    A section's heading is the subtitle the model gave it (a first line that is a heading or all
    bold; the write prompt invites one), else its plan point. A heading the title was taken from
    (see :func:`document_title`) is not repeated. A one-section document (single pass) needs no
    section heading: the title is its heading.
    """
    sections = [s for s in record.get("sections", []) if s.get("text", "").strip()]
    if not sections:
        return record.get("text", "").strip()
    texts = [s["text"].strip() for s in sections]
    if _leading_heading(texts[0]) is not None and _title_from_text(record) is not None:
        texts[0] = texts[0].partition("\n")[2].strip()
    if not headings or len(record.get("sections", [])) < 2:
        return "\n\n".join(t for t in texts if t)
    parts = []
    for section, text in zip(sections, texts, strict=True):
        own = _leading_heading(text)
        if own is not None:
            text = text.partition("\n")[2].strip()
        heading = clip(own or section.get("main_point") or f"Section {section['index'] + 1}", HEADING_CHARS)
        parts.append(f"## {heading}\n\n{text}".rstrip())
    return "\n\n".join(parts)


def _leading_heading(text: str) -> str | None:
    """The text of ``text``'s first line when that line is a heading or all bold, else None."""
    match = _HEADING_LINE.match(text.partition("\n")[0])
    if not match:
        return None
    heading = (match.group("hash") or match.group("bold") or match.group("under") or "").strip(" *_#:")
    return heading or None


# -- sanitised HTML ----------------------------------------------------------------------------

_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "del",
    "ins",
    "mark",
    "sub",
    "sup",
    "small",
    "blockquote",
    "q",
    "cite",
    "code",
    "pre",
    "kbd",
    "samp",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "caption",
    "a",
    "abbr",
    "span",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "th": {"colspan", "rowspan", "align"},
    "td": {"colspan", "rowspan", "align"},
}
_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    attributes=_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
    clean_content_tags={"script", "style", "iframe", "object", "embed", "template", "noscript", "svg", "math"},
)
"""An allow-list: text formatting only. No images (a model's output must not make the reader's
browser fetch anything), no classes, ids or styles, no forms, no event handlers."""

_MARKDOWN_EXTENSIONS = ["extra", "sane_lists"]


def sanitize_html(fragment: str) -> str:
    """Reduce an HTML fragment to safe text formatting (see ``_CLEANER``)."""
    # A lone surrogate (JSON "\ud800" from an API client) is not UTF-8; the sanitiser needs valid text.
    return _CLEANER.clean(fragment.encode("utf-8", "replace").decode("utf-8"))


def render_markdown(text: str) -> str:
    """Model (or user) Markdown as a safe HTML fragment: the page and every export use this.

    Markdown lets raw HTML through as it is, so the rendered HTML is sanitised afterwards;
    anything dangerous is dropped, and ordinary text is never lost.
    """
    if not text or not text.strip():
        return ""
    rendered = md.markdown(text, extensions=_MARKDOWN_EXTENSIONS, output_format="html")
    return sanitize_html(rendered)


def document_title(record: dict[str, Any], limit: int = 80) -> str:
    """A short title: the text's first heading, else the instruction's first line."""
    heading = _title_from_text(record)
    if heading:
        return clip(heading, limit)
    first = next((ln.strip() for ln in record.get("instruction", "").splitlines() if ln.strip()), "")
    return clip(first, limit) or "Untitled document"


def _title_from_text(record: dict[str, Any]) -> str | None:
    """The heading the text opens with (``# …`` on its first non-blank line), if any."""
    for line in record.get("text", "").splitlines():
        line = line.strip()
        if line.startswith("#"):
            return line.lstrip("#").strip(" *_") or None
        if line:
            return None
    return None


PRINT_CSS = """
:root { color-scheme: light; }
body { font-family: "Iowan Old Style", "Palatino Linotype", Palatino, Georgia, "Noto Serif", "Noto Serif CJK SC",
       "Songti SC", serif; font-size: 12pt; line-height: 1.6; color: #1c1c1c; background: #fff;
       max-width: 42rem; margin: 3rem auto; padding: 0 1.5rem; }
h1, h2, h3, h4, h5, h6 { line-height: 1.25; margin: 1.6em 0 0.6em; font-weight: 600; }
h1 { font-size: 1.8em; } h2 { font-size: 1.4em; } h3 { font-size: 1.2em; } h4, h5, h6 { font-size: 1em; }
p { margin: 0 0 0.9em; text-align: justify; hyphens: auto; }
blockquote { margin: 1em 0; padding-left: 1em; border-left: 3px solid #bbb; color: #444; }
pre, code { font-family: "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.9em; }
pre { background: #f5f5f5; padding: 0.8em; overflow-x: auto; white-space: pre-wrap; }
table { border-collapse: collapse; margin: 1em 0; } th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; }
a { color: #1a4f8b; }
header.doc-meta { color: #666; font-size: 0.85em; border-bottom: 1px solid #ddd; margin-bottom: 2em; padding-bottom: 0.5em; }
@media print {
  @page { margin: 2.2cm 2cm; }
  body { margin: 0; max-width: none; padding: 0; font-size: 11pt; }
  header.doc-meta { display: none; }
  h1, h2, h3, h4 { page-break-after: avoid; break-after: avoid; }
  p, li, blockquote { orphans: 3; widows: 3; }
  pre, blockquote, table { page-break-inside: avoid; break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
""".strip()


def to_html(record: dict[str, Any], headings: bool = True) -> str:
    """A standalone, sanitised HTML page with a clean print stylesheet (print it to PDF as it is)."""
    title = html.escape(document_title(record))
    meta = html.escape(
        f"{record.get('words', 0):,} words · target {record.get('target_words', 0):,} · model {record.get('model', '')}"
    )
    body = f"<h1>{title}</h1>\n" + render_markdown(export_body(record, headings))
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="LongWriter Studio">\n'
        f"<title>{title}</title>\n<style>\n{PRINT_CSS}\n</style>\n</head>\n<body>\n"
        f'<header class="doc-meta">{meta}</header>\n<main>\n{body}\n</main>\n</body>\n</html>\n'
    )


# -- DOCX ----------------------------------------------------------------------------------------


def to_docx(record: dict[str, Any], headings: bool = True) -> bytes:
    """The document as a Word file: its title, headings, paragraphs, lists, quotes, code and tables kept."""
    from docx import Document as DocxDocument

    doc = DocxDocument()
    doc.core_properties.title = document_title(record)
    doc.core_properties.comments = record.get("instruction", "")[:1000]
    doc.core_properties.author = "LongWriter Studio"
    doc.add_heading(document_title(record), level=0)
    _DocxBuilder(doc).feed(render_markdown(export_body(record, headings)))
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


class _DocxBuilder(HTMLParser):
    """Walks the sanitised HTML (a small, known set of tags) and writes python-docx blocks."""

    _INLINE: ClassVar[dict[str, str]] = {
        "strong": "bold",
        "b": "bold",
        "em": "italic",
        "i": "italic",
        "cite": "italic",
        "u": "underline",
        "a": "underline",
        "code": "code",
        "kbd": "code",
        "samp": "code",
        "s": "strike",
        "del": "strike",
        "sub": "subscript",
        "sup": "superscript",
    }

    def __init__(self, doc: Any) -> None:
        super().__init__(convert_charrefs=True)
        self.doc = doc
        self.paragraph: Any = None
        self.style: str | None = None
        self.marks: list[str] = []
        self.lists: list[str] = []
        self.quote = 0
        self.pre = 0
        self.table: list[list[str]] | None = None
        self.cell: list[str] | None = None

    def feed(self, data: str) -> None:
        super().feed(data)
        self.close()
        if self.table is not None:
            self._flush_table()

    # blocks
    def _new_paragraph(self, style: str | None = None) -> None:
        if self.quote and style is None:
            style = "Quote"
        self.paragraph = self.doc.add_paragraph(style=style)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.table is not None:
            if tag == "tr":
                self.table.append([])
            elif tag in ("td", "th"):
                self.cell = []
            return
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.paragraph = self.doc.add_heading(level=min(int(tag[1]), 4))
        elif tag == "p":
            if not (self.lists and self.paragraph is not None and self._in_fresh_item):
                self._new_paragraph()
            self._in_fresh_item = False
        elif tag in ("ul", "ol"):
            self.lists.append(tag)
        elif tag == "li":
            kind = "List Number" if self.lists and self.lists[-1] == "ol" else "List Bullet"
            depth = min(len(self.lists), 3)
            self._new_paragraph(kind if depth == 1 else f"{kind} {depth}")
            self._in_fresh_item = True
        elif tag == "blockquote":
            self.quote += 1
        elif tag == "pre":
            self.pre += 1
            self._new_paragraph("No Spacing")
        elif tag in ("dt", "dd"):
            self._new_paragraph()
            if tag == "dt":
                self.marks.append("bold")
        elif tag == "br":
            if self.paragraph is not None:
                self.paragraph.add_run().add_break()
        elif tag == "hr":
            self._new_paragraph()
            self.paragraph = None
        elif tag == "table":
            self.table = []
        elif tag in self._INLINE:
            self.marks.append(self._INLINE[tag])

    _in_fresh_item = False

    def handle_endtag(self, tag: str) -> None:
        if self.table is not None:
            if tag in ("td", "th") and self.cell is not None and self.table:
                self.table[-1].append(" ".join("".join(self.cell).split()))
                self.cell = None
            elif tag == "table":
                self._flush_table()
            return
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "dd"):
            self._trim_paragraph()
            self.paragraph = None
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag == "dt":
            self.paragraph = None
            self._pop_mark("bold")
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        elif tag in self._INLINE:
            self._pop_mark(self._INLINE[tag])

    def _trim_paragraph(self) -> None:
        if self.paragraph is not None and self.paragraph.runs and not self.pre:
            last = self.paragraph.runs[-1]
            last.text = last.text.rstrip()

    def _pop_mark(self, mark: str) -> None:
        for i in range(len(self.marks) - 1, -1, -1):
            if self.marks[i] == mark:
                del self.marks[i]
                return

    def handle_data(self, data: str) -> None:
        if self.table is not None:
            if self.cell is not None:
                self.cell.append(data)
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
            if self.paragraph is None and not data.strip():
                return
        if self.paragraph is None:
            self._new_paragraph("No Spacing" if self.pre else None)
        if self.paragraph is not None and not self.paragraph.runs and not self.pre:
            data = data.lstrip()
        if not data:
            return
        run = self.paragraph.add_run(data)
        marks = set(self.marks)
        run.bold = "bold" in marks or None
        run.italic = "italic" in marks or None
        run.underline = "underline" in marks or None
        if "strike" in marks:
            run.font.strike = True
        if "subscript" in marks:
            run.font.subscript = True
        if "superscript" in marks:
            run.font.superscript = True
        if "code" in marks or self.pre:
            run.font.name = "Courier New"

    def _flush_table(self) -> None:
        rows = [r for r in (self.table or []) if r]
        self.table, self.cell = None, None
        if not rows:
            return
        width = max(len(r) for r in rows)
        table = self.doc.add_table(rows=len(rows), cols=width)
        table.style = "Table Grid"
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                table.cell(i, j).text = value
        self.paragraph = None


# -- files ---------------------------------------------------------------------------------------


def export_bytes(record: dict[str, Any], fmt: str, headings: bool = True) -> bytes:
    """The document in ``fmt`` ("markdown", "html" or "docx") as the bytes of a file.

    Every format carries the title; ``headings`` gives each section a heading (on by default).
    """
    if fmt == "markdown":
        return to_markdown(record, headings).encode("utf-8")
    if fmt == "html":
        return to_html(record, headings).encode("utf-8")
    if fmt == "docx":
        return to_docx(record, headings)
    raise ValueError(f"Unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}.")


def export_filename(record: dict[str, Any], fmt: str) -> str:
    """A safe, readable file name such as ``the-history-of-tea-3f2a9c1e.md``."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}.")
    words = re.findall(r"[a-z0-9]+", document_title(record).lower())
    slug = "-".join(words)[:50].strip("-") or "document"
    return f"{slug}-{record['id'][:8]}{EXPORT_FORMATS[fmt][0]}"
