"""The app's public API, for ``gradio_client`` and any HTTP client: the same flow as the page.

    from gradio_client import Client
    c = Client("http://127.0.0.1:7860/")            # auth=("user", "pass") when login is on
    doc = c.predict("Write about tea", 800, api_name="/create_document")
    plan = c.predict(doc["id"], api_name="/draft_plan")
    c.predict(doc["id"], [["History of tea", 400], ["Tea today", 400]], api_name="/set_plan")
    job = c.submit(doc["id"], api_name="/write")       # streams progress dicts; c.predict(id, api_name="/stop")
    path = c.predict(doc["id"], "markdown", api_name="/export")

Every endpoint acts for the logged-in user only (documents of others do not exist for it), and
every run goes through the same queue group as the page, so API and browser users share the
model fairly. The page's own events are private; this module is what the API page documents.
"""

# No ``from __future__ import annotations`` here: gr.api reads the real type hints.

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import gradio as gr

from longwriter.document_state import is_milestone
from longwriter.documents import EXPORT_FORMATS
from longwriter.events import Event
from longwriter.plan import PlanError, normalize_budget, validate_rows
from longwriter.store import NotFound
from longwriter.studio import Studio, StudioError
from ui.common import current_user, export_file, throttled
from ui.view import LiveDoc, doc_status_label
from ui.write.runs import GENERATE

T = TypeVar("T")

API_INTERVAL = 0.5
"""Seconds between progress messages of a streaming endpoint."""


def _rows(rows: Any) -> list[tuple[Any, Any]]:
    """Plan rows as (main point, words): accepts [[point, words], …] or [{"main_point", "words"}, …]."""
    if not isinstance(rows, list):
        raise gr.Error("rows must be a list of [main point, words] pairs.", print_exception=False)
    out = []
    for row in rows:
        if isinstance(row, dict):
            out.append((row.get("main_point", ""), row.get("words", "")))
        elif isinstance(row, (list, tuple)):
            padded = [*row, "", ""]
            out.append((padded[0], padded[1]))
        else:
            raise gr.Error(f"Cannot read plan row {row!r}.", print_exception=False)
    return out


def progress(doc: LiveDoc) -> dict[str, Any]:
    """A streaming run's state as a small JSON object."""
    k, n = doc.position()
    rate, _estimated = doc.tokens_per_second()
    current = doc.sections[doc.current] if doc.current is not None and doc.current < len(doc.sections) else None
    return {
        "id": doc.id,
        "status": doc_status_label(doc.status, doc.running),
        "section": k,
        "sections": n,
        "words": doc.words,
        "target_words": doc.target_words,
        "length_score": None if doc.length_score is None else round(doc.length_score, 1),
        "tokens_per_second": None if rate is None else round(rate, 1),
        "elapsed": round(doc.elapsed(), 1),
        "current_section_words": current.words if current else 0,
        "outline": doc.plan_raw,
        "message": doc.message,
    }


def register_api(studio: Studio, concurrency: int = 2) -> None:
    """Add the API endpoints to the open ``gr.Blocks`` (first, so that they keep their exact names).

    Each endpoint asks the studio, which decides (owner, state, what becomes a preference); a
    refusal becomes a ``gr.Error`` with the studio's own words, the same the page shows.
    """

    def ask(call: Callable[[], T]) -> T:
        try:
            return call()
        except (StudioError, NotFound, PlanError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    async def run(doc_id: str, user: str | None, events: AsyncIterator[Event]) -> AsyncIterator[dict[str, Any]]:
        doc = LiveDoc.from_record(ask(lambda: studio.record(doc_id, user)))
        doc.start_run()
        async for batch in throttled(events, API_INTERVAL, urgent=is_milestone):
            for event in batch:
                doc.apply(event)
            yield progress(doc)
        final = LiveDoc.from_record(ask(lambda: studio.record(doc_id, user)), running=studio.is_running(doc_id))
        result = progress(final)
        result["message"] = doc.message or result["message"]
        result["plan"] = final.plan
        result["error"] = final.error
        yield result

    def models() -> list[dict[str, Any]]:
        """The model catalog: id, prompt format, context window, sampling defaults, description."""
        return [m.to_json() for m in studio.models()]

    def create_document(
        instruction: str,
        target_words: int = 2000,
        mode: str = "agentwrite",
        model: str = "",
        sampling: dict[str, Any] | None = None,
        request: gr.Request = None,
    ) -> dict[str, Any]:  # type: ignore[assignment]
        """Store a new document (nothing is generated yet); returns its record."""
        user = current_user(request)
        try:
            doc = studio.create(
                instruction,
                int(target_words),
                mode=mode,  # type: ignore[arg-type]
                model=model or None,
                sampling=sampling or None,
                user=user,
            )
        except (StudioError, TypeError, ValueError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        return studio.record(doc.id, user)

    async def draft_plan(doc_id: str, request: gr.Request = None) -> AsyncIterator[dict[str, Any]]:  # type: ignore[assignment]
        """Draft (or redraft) the plan of a document without text; streams the outline, ends with the plan."""
        user = current_user(request)
        async for item in run(doc_id, user, ask(lambda: studio.plan(doc_id, user))):
            yield item

    def set_plan(doc_id: str, rows: list, request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """Replace the plan with edited rows ([main point, words] pairs); returns the plan and its total.

        A section whose main point changes starts over empty; the others keep their text."""
        plan = ask(lambda: validate_rows(_rows(rows)))
        ask(lambda: studio.set_plan(doc_id, plan, current_user(request)))
        return {"plan": plan.model_dump()["sections"], "total_words": plan.total_words}

    def rebalance_plan(rows: list, target_words: int) -> list[dict[str, Any]]:
        """Scale the rows' word budgets to sum to ``target_words`` (proportions kept)."""
        return ask(lambda: normalize_budget(validate_rows(_rows(rows)), int(target_words)).model_dump()["sections"])

    async def write_document(doc_id: str, request: gr.Request = None) -> AsyncIterator[dict[str, Any]]:  # type: ignore[assignment]
        """Write the document (planning first if needed); also resumes a stopped one. Streams progress."""
        user = current_user(request)
        async for item in run(doc_id, user, ask(lambda: studio.write(doc_id, user))):
            yield item

    async def regenerate_section(doc_id: str, index: int, request: gr.Request = None) -> AsyncIterator[dict[str, Any]]:  # type: ignore[assignment]
        """Write finished section ``index`` (0-based) again; the others stay."""
        user = current_user(request)
        async for item in run(doc_id, user, ask(lambda: studio.regenerate_section(doc_id, int(index), user))):
            yield item

    async def continue_section(
        doc_id: str, index: int, extra_words: int = 200, request: gr.Request = None
    ) -> AsyncIterator[dict[str, Any]]:  # type: ignore[assignment]
        """Extend finished section ``index`` (0-based) by about ``extra_words`` words."""
        user = current_user(request)
        events = ask(lambda: studio.continue_section(doc_id, int(index), int(extra_words), user))
        async for item in run(doc_id, user, events):
            yield item

    def edit_section(doc_id: str, index: int, text: str, request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """Replace finished section ``index``'s text with your own; returns the document record.

        An edit that changes enough of the model's words is kept as a preference pair, as on the page."""
        user = current_user(request)
        ask(lambda: studio.edit_section(doc_id, int(index), text, user))
        return studio.record(doc_id, user)

    async def stop(doc_id: str, request: gr.Request = None) -> bool:  # type: ignore[assignment]
        """Stop the document's run (the model stops generating); False when nothing was running."""
        return ask(lambda: studio.stop(doc_id, current_user(request)))

    def document(doc_id: str, request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """The full record: request, plan, sections with text and status, words, S_l, timings."""
        found = ask(lambda: studio.record(doc_id, current_user(request)))
        found["running"] = studio.is_running(doc_id)
        return found

    def list_documents(search: str = "", request: gr.Request = None) -> list[dict[str, Any]]:  # type: ignore[assignment]
        """Your documents, newest first; ``search`` matches the instruction or the text."""
        return [
            {
                "id": d.id,
                "created_at": d.created_at.isoformat(),
                "instruction": d.instruction,
                "model": d.model,
                "mode": d.mode,
                "words": d.words,
                "target_words": d.target_words,
                "length_score": None if d.length_score is None else round(d.length_score, 2),
                "status": doc_status_label(d.status, studio.is_running(d.id)),
            }
            for d in studio.documents(current_user(request), search)
        ]

    def delete_document(doc_id: str, request: gr.Request = None) -> bool:  # type: ignore[assignment]
        """Delete the document and its sections; False when there was none."""
        return ask(lambda: studio.delete(doc_id, current_user(request)))

    def duplicate_document(doc_id: str, request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """A copy with the same request, settings and plan, and no text (to re-plan or rewrite)."""
        user = current_user(request)
        copy = ask(lambda: studio.duplicate(doc_id, user))
        return studio.record(copy.id, user)

    gen: dict[str, Any] = {"concurrency_id": GENERATE, "concurrency_limit": concurrency}
    quick: dict[str, Any] = {"concurrency_limit": None}
    gr.api(models, api_name="models", **quick)
    gr.api(create_document, api_name="create_document", **quick)
    gr.api(draft_plan, api_name="draft_plan", **gen)
    gr.api(set_plan, api_name="set_plan", **quick)
    gr.api(rebalance_plan, api_name="rebalance_plan", **quick)
    gr.api(write_document, api_name="write", **gen)
    gr.api(regenerate_section, api_name="regenerate_section", **gen)
    gr.api(continue_section, api_name="continue_section", **gen)
    gr.api(edit_section, api_name="edit_section", **quick)
    gr.api(stop, api_name="stop", **quick)
    gr.api(document, api_name="document", **quick)
    gr.api(list_documents, api_name="list_documents", **quick)
    gr.api(delete_document, api_name="delete_document", **quick)
    gr.api(duplicate_document, api_name="duplicate_document", **quick)

    # Files need a component to be served: an API-only event with hidden components.
    doc_in = gr.Textbox(visible=False)
    fmt_in = gr.Textbox(visible=False)
    file_out = gr.File(visible=False)

    def export(doc_id: str, fmt: str, request: gr.Request) -> str:
        """Export the document as a file: fmt is "markdown", "html" or "docx"; returns the file."""
        fmt = (fmt or "markdown").lower()
        fmt = {"md": "markdown", "htm": "html"}.get(fmt, fmt)
        if fmt not in EXPORT_FORMATS:
            raise gr.Error(f"Unknown format {fmt!r}; choose markdown, html or docx.", print_exception=False)
        return str(export_file(ask(lambda: studio.record(doc_id, current_user(request))), fmt))

    gr.on([], export, [doc_in, fmt_in], [file_out], api_name="export", concurrency_limit=None)
