"""The studio: the one service every front end calls to plan, write, resume and revise documents.

It ties settings, the model catalog, backends (loaded once and shared), the writer and the store
together, and it is the one place where a document's rules are applied: who owns it (every method
takes the user; another user's document does not exist for them), what may happen in which state
(:mod:`longwriter.rules`), and what becomes a preference (a user's edit, the version kept after a
regenerate, a thumb). The page, the API, the CLI and the evaluator call it and get the same answer;
none of them reaches the store around it. Each run is recorded as it streams and can be stopped from
anywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from typing import Any, Literal

from longwriter.agentwrite import AgentWriter, Mode, Sampling
from longwriter.availability import Availability, availability
from longwriter.backends import Backend, create_backend
from longwriter.catalog import ModelSpec, list_models, resolve
from longwriter.documents import document_record
from longwriter.events import Event, Failed
from longwriter.plan import Plan, Section
from longwriter.preferences import PreferenceError, keep_section_version, record_edit, record_thumb
from longwriter.rules import (
    Action,
    DocumentFacts,
    StudioError,
    check_edit,
    check_extra_words,
    check_request,
    refusal,
)
from longwriter.sampling import SAMPLING_KEYS
from longwriter.settings import Settings
from longwriter.store import Document, Feedback, NotFound, PreferencePair, Store, record
from longwriter.store import Section as SectionRow
from longwriter.store.models import GenerationKind


def stored_plan(doc: Document) -> Plan | None:
    """The document's plan as a :class:`Plan`, or None before planning."""
    if not doc.plan:
        return None
    return Plan(sections=[Section(main_point=s["main_point"], words=int(s["words"])) for s in doc.plan])


class Studio:
    """Backends, store and stop switches of one running app (or one CLI invocation)."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store or Store.from_settings(settings)
        self._backends: dict[str, Backend] = {}
        self._shared: set[str] = set()
        self._loading = asyncio.Lock()
        self._stops: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}

    # -- models ---------------------------------------------------------------------------

    def models(self) -> list[ModelSpec]:
        return list_models(self.settings.models_dir)

    def spec(self, model: str | None = None) -> ModelSpec:
        return resolve(model or self.settings.model, self.settings.models_dir)

    async def backend(self, model: str | None = None) -> Backend:
        """The backend for ``model``, created on first use and then shared by every run."""
        spec = self.spec(model)
        async with self._loading:
            if spec.id not in self._backends:
                self._backends[spec.id] = await create_backend(self.settings, spec)
        return self._backends[spec.id]

    def availability(self, model: str | None = None) -> Availability:
        """Whether ``model`` can run now, and if not why: a model this studio already serves can; any other
        is asked of :func:`longwriter.availability.availability` (files, device, model server)."""
        spec = self.spec(model)
        if spec.id in self._backends:
            return Availability(spec.id, True, "")
        return availability(self.settings, spec)

    def use_backend(self, backend: Backend) -> None:
        """Serve ``backend.spec`` with an already-loaded backend owned by the caller (not closed here)."""
        self._backends[backend.spec.id] = backend
        self._shared.add(backend.spec.id)

    async def aclose(self) -> None:
        for model_id, backend in self._backends.items():
            if model_id not in self._shared:
                await backend.aclose()
        self._backends.clear()
        self.store.close()

    # -- documents ------------------------------------------------------------------------

    def create(
        self,
        instruction: str,
        target_words: int,
        mode: Mode = "agentwrite",
        model: str | None = None,
        sampling: dict[str, float | int | None] | None = None,
        plan: Plan | None = None,
        user: str | None = None,
        then: Action = "write",
    ) -> Document:
        """Validate and store a new document; nothing is generated yet.

        ``then`` is what the caller does next ("plan" or "write"): a request that cannot lead there
        is refused before a document is left behind.
        """
        check_request(instruction, target_words, mode, then)
        spec = self.spec(model)
        params = asdict(Sampling.for_model(spec, **self._sampling_overrides(sampling)))
        return self.store.create_document(
            instruction.strip(),
            target_words,
            mode=mode,
            model=spec.id,
            backend=self.settings.backend,
            params=params,
            plan=plan,
            user=user,
        )

    def document(self, doc_id: str, user: str | None = None) -> Document:
        """``user``'s document (any document when ``user`` is None: no login); NotFound otherwise."""
        doc = self.store.get_document(doc_id, user=user) if doc_id else None
        if doc is None:
            raise NotFound(f"There is no document {doc_id}: it was deleted, or it belongs to someone else.")
        return doc

    def record(self, doc_id: str, user: str | None = None) -> dict[str, Any]:
        """The full record of ``user``'s document (:func:`longwriter.documents.document_record`)."""
        self.document(doc_id, user)
        return document_record(self.store, doc_id)

    def documents(self, user: str | None = None, search: str | None = None) -> list[Document]:
        """``user``'s documents, most recently changed first; ``search`` matches the instruction or the text."""
        return self.store.list_documents(user=user, search=search or None)

    def sections(self, doc_id: str, user: str | None = None) -> list[SectionRow]:
        """The sections of ``user``'s document in plan order."""
        self.document(doc_id, user)
        return self.store.sections(doc_id)

    def check(self, action: Action, doc_id: str, user: str | None = None, index: int | None = None) -> Document:
        """``user``'s document when ``action`` (on section ``index``) may happen now; StudioError saying
        what to do instead when it may not, NotFound when the document is not theirs.

        Every method below asks this first; a page asks it too before it queues a run, so that a
        refusal shows at once instead of after a wait for a free generation slot.
        """
        doc = self.document(doc_id, user)
        sections = self.store.sections(doc_id)
        facts = DocumentFacts(
            mode=doc.mode,
            status=doc.status,
            running=self.is_running(doc_id),
            sections=tuple(s.status for s in sections),
            has_text=any(s.text.strip() for s in sections),
        )
        if reason := refusal(action, facts, index):
            raise StudioError(reason)
        return doc

    def set_plan(self, doc_id: str, plan: Plan, user: str | None = None) -> Document:
        """Store a user-edited plan (validated by the caller through :func:`longwriter.plan.validate_rows`).

        A section whose main point changes starts over empty; the others keep their text.
        """
        self.check("set_plan", doc_id, user)
        return self.store.set_plan(doc_id, plan)

    def edit_section(self, doc_id: str, index: int, text: str, user: str | None = None) -> PreferencePair | None:
        """Replace a finished section's text with the user's; an edit that changes enough words is kept
        as a preference pair (the user's text over the model's, whose text stays in its generation row).

        Returns the pair, or None when the edit is too small to be a preference (a typo fix).
        """
        self.check("edit", doc_id, user, index)
        check_edit(text)
        self.store.update_section_text(doc_id, index, text)
        return record_edit(self.store, self.settings, doc_id, index, text, user)

    def keep_version(
        self, doc_id: str, index: int, keep: Literal["new", "previous"], previous: str, user: str | None = None
    ) -> PreferencePair | None:
        """After a regenerate, keep the new text or put the ``previous`` one back; the choice is a pair."""
        self.check("keep", doc_id, user, index)
        try:
            return keep_section_version(self, doc_id, index, keep, previous, user)
        except PreferenceError as exc:
            raise StudioError(str(exc)) from None

    def rate(
        self, doc_id: str, good: bool, index: int | None = None, reason: str | None = None, user: str | None = None
    ) -> Feedback:
        """Thumbs up or down on finished section ``index``, or on the whole document when ``index`` is None."""
        self.check("rate", doc_id, user, index)
        try:
            return record_thumb(self.store, doc_id, good, index=index, reason=reason, user=user)
        except PreferenceError as exc:
            raise StudioError(str(exc)) from None

    def delete(self, doc_id: str, user: str | None = None) -> bool:
        """Delete ``user``'s document with its sections; False when there was none to delete."""
        try:
            self.check("delete", doc_id, user)
        except NotFound:
            return False
        return self.store.delete_document(doc_id, user=user)

    def duplicate(self, doc_id: str, user: str | None = None) -> Document:
        """A copy with the same request, settings and plan and no text, to re-plan or rewrite."""
        self.document(doc_id, user)
        return self.store.duplicate_document(doc_id, user=user)

    def stop(self, doc_id: str, user: str | None = None) -> bool:
        """Ask the run of ``doc_id`` to stop (from any thread); the backend request is aborted, the text kept.

        False when nothing was running.
        """
        self.document(doc_id, user)
        running = self._stops.get(doc_id)
        if running is None:
            return False
        loop, event = running
        loop.call_soon_threadsafe(event.set)  # safe from any thread (sync UI handlers run in workers)
        return True

    def is_running(self, doc_id: str) -> bool:
        return doc_id in self._stops

    # -- runs (each an event stream, recorded as it goes) ----------------------------------
    # The rules are checked when the method is called, so a refusal is an exception the caller
    # sees at once, not an event after a wait in the generation queue.

    def plan(self, doc_id: str, user: str | None = None) -> AsyncIterator[Event]:
        """Draft (or redraft) the plan of a document that has no text yet."""
        doc = self.check("plan", doc_id, user)
        return self._run(doc, lambda writer: writer.draft_plan(doc.instruction, doc.target_words))

    def write(self, doc_id: str, user: str | None = None) -> AsyncIterator[Event]:
        """Write the document, planning first if needed; a second call resumes where it stopped."""
        doc = self.check("write", doc_id, user)
        plan, written = stored_plan(doc), self.store.sections(doc_id)
        return self._run(doc, lambda w: w.run(doc.instruction, doc.target_words, doc.mode, plan=plan, written=written))

    def regenerate_section(self, doc_id: str, index: int, user: str | None = None) -> AsyncIterator[Event]:
        """Write finished section ``index`` again from the same prompt context; the others are untouched."""
        doc, plan = self._planned("regenerate", doc_id, index, user)
        previous = [s.text for s in self.store.sections(doc_id)[:index]]
        return self._run(doc, lambda w: w.write_section(doc.instruction, plan, previous, index), kind="regenerate")

    def continue_section(
        self, doc_id: str, index: int, extra_words: int = 200, user: str | None = None
    ) -> AsyncIterator[Event]:
        """Extend finished section ``index`` by about ``extra_words`` words."""
        check_extra_words(extra_words)
        doc, plan = self._planned("continue", doc_id, index, user)
        sections = self.store.sections(doc_id)
        previous = [s.text for s in sections[:index]]
        current = sections[index].text
        return self._run(
            doc,
            lambda w: w.write_section(doc.instruction, plan, previous, index, prefix=current, extra_words=extra_words),
            kind="continue",
        )

    # -- internals --------------------------------------------------------------------------

    def _planned(self, action: Action, doc_id: str, index: int, user: str | None) -> tuple[Document, Plan]:
        doc = self.check(action, doc_id, user, index)
        plan = stored_plan(doc)
        if plan is None or not 0 <= index < len(plan.sections):  # the rules saw a finished section there
            raise StudioError(f"Section {index + 1} does not exist in this document's plan.")
        return doc, plan

    async def _run(
        self,
        doc: Document,
        make_events: Callable[[AgentWriter], AsyncIterator[Event]],
        kind: GenerationKind | None = None,
    ) -> AsyncIterator[Event]:
        """Run one writer stream for ``doc`` with a stop switch, recording every event."""
        if doc.id in self._stops:
            yield Failed("This document is already being written (in another tab or window?).")
            return
        stop = asyncio.Event()
        self._stops[doc.id] = (asyncio.get_running_loop(), stop)
        try:
            try:
                backend = await self.backend(doc.model)
            except Exception as exc:  # noqa: BLE001 - any load failure becomes a message, never a traceback
                self.store.set_status(doc.id, "failed", str(exc))
                yield Failed(f"The model could not be started: {exc}")
                return
            sampling = Sampling(**doc.params) if doc.params else Sampling.for_model(backend.spec)
            writer = AgentWriter(backend, sampling=sampling, stop=stop)
            async for event in record(self.store, doc.id, make_events(writer), kind=kind):
                yield event
        finally:
            self._stops.pop(doc.id, None)

    @staticmethod
    def _sampling_overrides(sampling: dict[str, float | int | None] | None) -> dict[str, float | int | None]:
        unknown = set(sampling or {}) - set(SAMPLING_KEYS)
        if unknown:
            raise StudioError(f"Unknown sampling parameter(s): {', '.join(sorted(unknown))}.")
        return dict(sampling or {})
