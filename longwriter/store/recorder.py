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
from dataclasses import dataclass, field
from datetime import datetime

from longwriter.events import (
    DocumentDone,
    Event,
    Failed,
    PlanReady,
    SectionDone,
    SectionReset,
    SectionStarted,
    Stopped,
    TextDelta,
)
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


@dataclass
class _Draft:
    """A section being written: its text so far and whether the database has all of it."""

    prompt: str = ""
    text: str = ""
    reasoning: str = ""
    dirty: bool = False
    started_at: datetime = field(default_factory=utcnow)


class _Recorder:
    """The state of one recorded run: unsaved drafts and when they were last checkpointed."""

    def __init__(self, store: Store, doc_id: str, checkpoint_seconds: float, kind: GenerationKind | None) -> None:
        doc = store.get_document(doc_id)
        if doc is None:
            raise NotFound(f"There is no document {doc_id}.")
        self.store, self.doc = store, doc
        self.kind: GenerationKind = kind or ("single" if doc.mode == "single" else "section")
        self.checkpoint_seconds = checkpoint_seconds
        self.drafts: dict[int, _Draft] = {}
        self.started_at, self.started = utcnow(), time.monotonic()
        self.last_flush = self.started
        self.writing = False
        self.finished = False

    def handle(self, event: Event) -> None:
        doc_id = self.doc.id
        match event:
            case PlanReady(plan=plan, raw=raw, fallback=fallback):
                self.store.set_plan(doc_id, plan, raw)
                if raw:  # the model's planning call; a user-supplied plan has no raw text
                    self._add_generation(
                        kind="plan",
                        section_index=None,
                        output=raw,
                        started_at=self.started_at,
                        seconds=time.monotonic() - self.started,
                        status="failed" if fallback else "done",
                    )
            case SectionStarted(index=index, target_words=target, prompt=prompt):
                self.drafts[index] = _Draft(prompt=prompt)
                self.store.save_section(doc_id, index, status="writing", target_words=target)
                if not self.writing:
                    self.store.set_status(doc_id, "writing")
                    self.writing = True
            case TextDelta(index=index, text=text, channel=channel):
                draft = self.drafts.setdefault(index, _Draft())
                if channel == "reasoning":
                    draft.reasoning += text
                else:
                    draft.text += text
                draft.dirty = True
                if time.monotonic() - self.last_flush >= self.checkpoint_seconds:
                    self.flush()
            case SectionReset(index=index, text=text):
                draft = self.drafts.setdefault(index, _Draft())
                draft.text, draft.dirty = text, True
                self.flush()
            case SectionDone():
                draft = self.drafts.pop(event.index, _Draft())
                self.flush()
                self.store.save_section(doc_id, event.index, text=event.text, reasoning=draft.reasoning, status="done")
                self._add_generation(
                    kind=self.kind,
                    section_index=event.index,
                    prompt=event.prompt or draft.prompt,
                    output=event.text,
                    output_tokens=event.tokens,
                    started_at=draft.started_at,
                    seconds=event.seconds,
                    stop_reason=event.stop_reason,
                    status="done",
                )
            case DocumentDone():
                self.finish("done")
            case Stopped():
                self.finish("stopped")
            case Failed(message=message, index=index):
                self.finish("failed", error=message, failed_index=index)

    def flush(self) -> None:
        """Write every draft with unsaved text to its section row."""
        for index, draft in self.drafts.items():
            if draft.dirty:
                self.store.save_section(self.doc.id, index, text=draft.text, reasoning=draft.reasoning)
                draft.dirty = False
        self.last_flush = time.monotonic()

    def finish(self, status: DocumentStatus | None, error: str | None = None, failed_index: int | None = None) -> None:
        """End the run once: save drafts, mark unfinished sections stopped (or failed), set the status.

        ``status`` None means the stream ended without saying how: the document is "done" when
        every section is, and "stopped" otherwise.
        """
        if self.finished:
            return
        self.finished = True  # even if the database fails below: one attempt, not one per exit path
        self.flush()
        for index in self.drafts:
            self.store.save_section(self.doc.id, index, status="failed" if index == failed_index else "stopped")
        self.drafts.clear()
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
