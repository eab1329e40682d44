"""Exports carry the document's title and one heading per section, in Markdown, HTML and DOCX."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from longwriter.documents import document_record, export_bytes
from longwriter.plan import Plan, Section
from longwriter.store import Store

INSTRUCTION = "Write a 600-word guide to Lisbon for a first-time visitor."


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'db.sqlite'}")


def written(store: Store, texts: list[str]) -> dict:
    """A stored three-section document with ``texts`` as its sections."""
    plan = Plan(
        sections=[
            Section(main_point="Where to stay and how to get around", words=200),
            Section(main_point="The old quarters: Alfama and Baixa", words=200),
            Section(main_point="Day trips to Belém and Sintra", words=200),
        ][: len(texts)]
    )
    doc = store.create_document(INSTRUCTION, 600, plan=plan)
    for index, text in enumerate(texts):
        store.save_section(doc.id, index, text=text, status="done")
    return document_record(store, doc.id)


def docx_paragraphs(content: bytes) -> list[tuple[str, str]]:
    from docx import Document

    return [(p.style.name, p.text) for p in Document(io.BytesIO(content)).paragraphs if p.text.strip()]


def test_markdown_has_the_title_and_a_heading_per_section(store: Store) -> None:
    record = written(
        store,
        [
            "Lisbon is hilly; wear good shoes. The metro is cheap.",
            "### Alfama at dawn\nThe oldest quarter wakes early.",  # the model's own subtitle
            "Belém has the tower and the pastries.",
        ],
    )
    assert export_bytes(record, "markdown").decode() == (
        f"# {INSTRUCTION}\n\n"
        "## Where to stay and how to get around\n\nLisbon is hilly; wear good shoes. The metro is cheap.\n\n"
        "## Alfama at dawn\n\nThe oldest quarter wakes early.\n\n"
        "## Day trips to Belém and Sintra\n\nBelém has the tower and the pastries.\n"
    )
    plain = export_bytes(record, "markdown", headings=False).decode()
    assert plain.startswith(f"# {INSTRUCTION}\n\n") and "\n## " not in plain and "### Alfama at dawn" in plain


def test_a_heading_the_text_opens_with_is_the_title_once(store: Store) -> None:
    record = written(store, ["# Lisbon in Three Days\nStart at the river.", "Then climb to the castle."])
    markdown = export_bytes(record, "markdown").decode()
    assert markdown.startswith(
        "# Lisbon in Three Days\n\n## Where to stay and how to get around\n\nStart at the river."
    )
    assert markdown.count("Lisbon in Three Days") == 1


def test_html_and_docx_carry_the_same_title_and_headings(store: Store) -> None:
    record = written(store, ["First part.", "Second part.", "Third part."])
    page = export_bytes(record, "html").decode()
    assert f"<h1>{INSTRUCTION}</h1>" in page
    assert page.count("<h2>") == 3 and "<h2>The old quarters: Alfama and Baixa</h2>" in page
    paragraphs = docx_paragraphs(export_bytes(record, "docx"))
    assert paragraphs[0] == ("Title", INSTRUCTION)
    assert [text for style, text in paragraphs if style == "Heading 2"] == [
        "Where to stay and how to get around",
        "The old quarters: Alfama and Baixa",
        "Day trips to Belém and Sintra",
    ]
    assert ("Heading 2", "Where to stay and how to get around") not in docx_paragraphs(
        export_bytes(record, "docx", headings=False)
    )
