"""Persist a writer's event stream while passing every event on unchanged.

The UI and the CLI iterate ``record(store, doc_id, writer_events)`` instead of the writer's
events directly, and storage happens as a side effect: the plan and each section's row are
written when they appear, streaming text is checkpointed every few seconds (not only when a
section ends), and whatever way the stream ends (finished, stopped, failed, the writer raising,
or the consumer walking away because a tab closed) the partial text is flushed and the document
says where it stopped. An event is persisted before it is passed on, so a consumer that sees it
can read it back from the store.

Resuming reads the rows: a section with status "done" is complete; "stopped", "failed" or
"writing" (left by a killed process) keeps its partial text. ``SectionStarted`` starts a
section's text afresh (its old text is replaced at the first checkpoint), so a writer that
continues a partial section seeds it with ``SectionReset(index, partial_text)`` first.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime

from longwriter.document_state import DocumentState
from longwriter.events import Event, PlanReady, SectionDone, SectionReset, SectionStarted, TextDelta
from longwriter.store.models import DocumentStatus, Generation, GenerationKind, utcnow
from longwriter.store.repo import NotFound, Store


async def record(
    store: Store,
    doc_id: str,
    events: AsyncIterator[Event],
    checkpoint_seconds: float = 2.0,
    *,
    kind: GenerationKind | None = None,
) -> AsyncGenerator[Event, None]:
    """Re-yield ``events`` while saving them to document ``doc_id``.

    Streaming text reaches the database at most every ``checkpoint_seconds`` (0: on every delta),
    and always when a section is reset or ends and when the stream ends. ``kind`` labels the
    section generations ("regenerate", "continue"); by default "single" for single-pass documents
    and "section" otherwise. Closing this generator closes ``events`` too, so the writer (and its
    backend request) stops when the consumer does.
    """
    try:
        recorder = _Recorder(store, doc_id, checkpoint_seconds, kind)
        try:
            async for event in events:
                recorder.handle(event)
                yield event
        except Exception as exc:
            recorder.finish("failed", error=str(exc) or type(exc).__name__)
            raise
        finally:
            recorder.finish(None)  # no-op after a terminal event or the failure above
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


class _Recorder:
    """Saves one run: the document state the events fold into, and when it was last checkpointed."""

    def __init__(self, store: Store, doc_id: str, checkpoint_seconds: float, kind: GenerationKind | None) -> None:
        doc = store.get_document(doc_id)
        if doc is None:
            raise NotFound(f"There is no document {doc_id}.")
        self.store, self.doc = store, doc
        self.kind: GenerationKind = kind or ("single" if doc.mode == "single" else "section")
        self.checkpoint_seconds = checkpoint_seconds
        self.state = DocumentState(target_words=doc.target_words, status="writing", plan=list(doc.plan or []))
        self.started_at: dict[int, datetime] = {}
        """When each section this run started and has not finished began."""
        self.run_started_at, self.started = utcnow(), time.monotonic()
        self.last_flush = self.started
        self.writing = False
        self.finished = False

    def handle(self, event: Event) -> None:
        doc_id, state = self.doc.id, self.state
        state.apply(event)
        match event:
            case PlanReady(plan=plan, raw=raw, fallback=fallback, rejected=rejected):
                self.store.set_plan(doc_id, plan, raw)
                for outline in rejected:  # outlines refused before the last one: one model call each
                    self._add_generation(
                        kind="plan", section_index=None, output=outline, started_at=self.run_started_at, status="failed"
                    )
                if raw:  # the model's planning call; a user-supplied plan has no raw text
                    self._add_generation(
                        kind="plan",
                        section_index=None,
                        output=raw,
                        started_at=self.run_started_at,
                        seconds=time.monotonic() - self.started,
                        status="failed" if fallback else "done",
                    )
            case SectionStarted(index=index, target_words=target):
                self.started_at[index] = utcnow()
                state.changed.discard(index)  # the text is replaced at the first checkpoint, not emptied now
                self.store.save_section(doc_id, index, status="writing", target_words=target)
                if not self.writing:
                    self.store.set_status(doc_id, "writing")
                    self.writing = True
            case TextDelta():
                if time.monotonic() - self.last_flush >= self.checkpoint_seconds:
                    self.flush()
            case SectionReset():
                self.flush()
            case SectionDone(index=index):
                state.changed.discard(index)
                self.flush()
                section = state.section(index)
                self.store.save_section(doc_id, index, text=section.text, reasoning=section.reasoning, status="done")
                self._add_generation(
                    kind=self.kind,
                    section_index=index,
                    prompt=event.prompt or section.prompt,
                    output=event.raw or event.text,  # what the model wrote, before anything was cut
                    output_tokens=event.tokens,
                    started_at=self.started_at.pop(index, utcnow()),
                    seconds=event.seconds,
                    stop_reason=event.stop_reason,
                    status="done",
                )

        if state.ended:  # DocumentDone, Stopped or Failed: the state says how the run ended
            self.finish(state.status, state.error)  # type: ignore[arg-type]

    def flush(self) -> None:
        """Write every section with unsaved text to its row."""
        state = self.state
        for index in sorted(i for i in state.changed if i >= 0):
            section = state.section(index)
            self.store.save_section(self.doc.id, index, text=section.text, reasoning=section.reasoning)
        state.changed.clear()
        self.last_flush = time.monotonic()

    def finish(self, status: DocumentStatus | None, error: str | None = None) -> None:
        """End the run once: save the text, mark unfinished sections stopped (or failed), set the status.

        ``status`` None means the stream ended without saying how: the document is "done" when
        every section is, and "stopped" otherwise.
        """
        if self.finished:
            return
        self.finished = True  # even if the database fails below: one attempt, not one per exit path
        self.flush()
        state = self.state
        if not state.ended:  # the stream ended (or raised) without a Stopped or Failed event
            state.halt("failed" if status == "failed" else "stopped", error)
        for section in state.sections:
            if section.status in ("stopped", "failed") and section.index in self.started_at:
                self.store.save_section(self.doc.id, section.index, status=section.status)
        if status is None and not self.writing:
            return  # a plan-only run ended normally: "planned" (or the plan's own status) stands
        if status is None:
            sections = self.store.sections(self.doc.id)
            status = "done" if sections and all(s.status == "done" for s in sections) else "stopped"
        self.store.set_status(self.doc.id, status, error)

    def _add_generation(self, **fields: object) -> None:
        doc = self.doc
        self.store.add_generation(
            Generation(document_id=doc.id, model=doc.model, backend=doc.backend, params=doc.params, **fields)
        )
