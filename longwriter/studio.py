"""The studio: the one service the CLI and the UI call to plan, write, resume and revise documents.

It ties settings, the model catalog, backends (loaded once and shared), the writer and the store
together, so that every front end gets the same behaviour: each run is recorded as it streams,
each document can be stopped from anywhere, and nothing depends on which front end started it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from itertools import takewhile

from longwriter.agentwrite import MODES, AgentWriter, Mode, Sampling
from longwriter.backends import Backend, create_backend
from longwriter.catalog import ModelSpec, list_models, resolve
from longwriter.events import Event, Failed, PlanReady
from longwriter.plan import Plan, Section
from longwriter.settings import Settings
from longwriter.store import Document, NotFound, Store, record
from longwriter.store.models import GenerationKind

MAX_TARGET_WORDS = 100_000


class StudioError(ValueError):
    """A request the studio refuses; the message is meant for the user."""


def check_request(instruction: str, target_words: int, mode: str) -> None:
    """Refuse empty or absurd requests before anything is stored or generated."""
    if not instruction or not instruction.strip():
        raise StudioError("The instruction is empty: say what the document should be about.")
    if len(instruction) > 20_000:
        raise StudioError("The instruction is longer than 20,000 characters; put long material in fewer words.")
    if not 100 <= target_words <= MAX_TARGET_WORDS:
        raise StudioError(
            f"The target length must be between 100 and {MAX_TARGET_WORDS:,} words, not {target_words:,}."
        )
    if mode not in MODES:
        raise StudioError(f"Unknown mode {mode!r}; choose one of {', '.join(MODES)}.")


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
    ) -> Document:
        """Validate and store a new document; nothing is generated yet."""
        check_request(instruction, target_words, mode)
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
        doc = self.store.get_document(doc_id, user=user)
        if doc is None:
            raise NotFound(f"There is no document {doc_id}.")
        return doc

    def stop(self, doc_id: str) -> bool:
        """Ask the run of ``doc_id`` to stop (from any thread); the backend request is aborted, the text kept."""
        running = self._stops.get(doc_id)
        if running is None:
            return False
        loop, event = running
        loop.call_soon_threadsafe(event.set)  # safe from any thread (sync UI handlers run in workers)
        return True

    def is_running(self, doc_id: str) -> bool:
        return doc_id in self._stops

    def set_plan(self, doc_id: str, plan: Plan) -> Document:
        """Store a user-edited plan (validated by the caller through :func:`longwriter.plan.validate_rows`)."""
        self._refuse_if_running(doc_id)
        return self.store.set_plan(doc_id, plan)

    def edit_section(self, doc_id: str, index: int, text: str) -> None:
        """Replace a section's text with the user's edit (the model's text stays in its generation row)."""
        self._refuse_if_running(doc_id)
        self.store.update_section_text(doc_id, index, text)

    # -- runs (each an event stream, recorded as it goes) ----------------------------------

    def plan(self, doc_id: str) -> AsyncIterator[Event]:
        """Draft (or redraft) the document's plan."""
        doc = self.document(doc_id)
        return self._run(doc, lambda writer: writer.draft_plan(doc.instruction, doc.target_words))

    def write(self, doc_id: str) -> AsyncIterator[Event]:
        """Write the document, planning first if needed; a second call resumes where it stopped."""
        doc = self.document(doc_id)
        plan = stored_plan(doc)
        sections = self.store.sections(doc_id)
        # Resume after the leading run of finished sections: a plan edit can leave a finished section
        # behind an unwritten one, and sequential writing must not skip the gap.
        done = [s.text for s in takewhile(lambda s: s.status == "done", sections)]
        following = sections[len(done)] if len(done) < len(sections) else None
        partial = following.text if following is not None and following.text.strip() else ""
        if doc.mode in ("single", "think"):
            return self._run(
                doc,
                lambda w: w.write_single(doc.instruction, doc.target_words, think=doc.mode == "think", partial=partial),
            )
        if plan is None:
            return self._run(doc, lambda w: w.run(doc.instruction, doc.target_words, doc.mode))
        if doc.mode == "parallel":
            finished = {s.index: s.text for s in sections if s.status == "done"}
            return self._run(doc, lambda w: w.write_parallel(doc.instruction, plan, done=finished))
        return self._run(
            doc, lambda w: w.write_sequential(doc.instruction, plan, done=done, partial=partial), announce=plan
        )

    def regenerate_section(self, doc_id: str, index: int) -> AsyncIterator[Event]:
        """Write section ``index`` again from the same prompt context; later sections are untouched."""
        doc, plan = self._planned(doc_id, index)
        previous = [s.text for s in self.store.sections(doc_id)[:index]]
        return self._run(doc, lambda w: w.write_section(doc.instruction, plan, previous, index), kind="regenerate")

    def continue_section(self, doc_id: str, index: int, extra_words: int = 200) -> AsyncIterator[Event]:
        """Extend a finished section by about ``extra_words`` words."""
        doc, plan = self._planned(doc_id, index)
        sections = self.store.sections(doc_id)
        previous = [s.text for s in sections[:index]]
        current = sections[index].text if index < len(sections) else ""
        return self._run(
            doc,
            lambda w: w.write_section(doc.instruction, plan, previous, index, prefix=current, extra_words=extra_words),
            kind="continue",
        )

    # -- internals --------------------------------------------------------------------------

    def _planned(self, doc_id: str, index: int) -> tuple[Document, Plan]:
        doc = self.document(doc_id)
        plan = stored_plan(doc)
        if plan is None or not 0 <= index < len(plan.sections):
            raise StudioError(f"Section {index + 1} does not exist in this document's plan.")
        return doc, plan

    def _refuse_if_running(self, doc_id: str) -> None:
        if self.is_running(doc_id):
            raise StudioError("This document is being written right now; stop it first.")

    async def _run(
        self,
        doc: Document,
        make_events: Callable[[AgentWriter], AsyncIterator[Event]],
        kind: GenerationKind | None = None,
        announce: Plan | None = None,
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

            async def events() -> AsyncIterator[Event]:
                if announce is not None:
                    yield PlanReady(plan=announce)
                async for event in make_events(writer):
                    yield event

            async for event in record(self.store, doc.id, events(), kind=kind):
                yield event
        finally:
            self._stops.pop(doc.id, None)

    @staticmethod
    def _sampling_overrides(sampling: dict[str, float | int | None] | None) -> dict[str, float | int | None]:
        allowed = {"temperature", "top_p", "top_k", "repetition_penalty", "seed"}
        unknown = set(sampling or {}) - allowed
        if unknown:
            raise StudioError(f"Unknown sampling parameter(s): {', '.join(sorted(unknown))}.")
        return dict(sampling or {})
