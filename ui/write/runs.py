"""The Write tab's runs: draft the plan, write or resume, stop, and follow a run from another window.

Running a model is two steps: a quick *prepare* step that asks the studio whether the action may
happen now (and creates the document, puts its id in the URL) and never waits in the queue, then the
*stream* step, which waits for a free generation slot (the page shows its queue position) and turns
the studio's event stream into a few batched page updates per second. Stop works in both.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import gradio as gr

from longwriter.document_state import is_milestone
from longwriter.events import PlanReady
from longwriter.plan import Plan, PlanError
from longwriter.rules import PLAN_MODES
from longwriter.store import NotFound
from longwriter.studio import StudioError
from ui.common import current_user, throttled
from ui.view import LiveDoc, message_html
from ui.write.plan_table import clean_rows, rows_plan

if TYPE_CHECKING:
    from ui.write.tab import WriteTab

log = logging.getLogger(__name__)

GENERATE = "generate"
"""Concurrency group of every event that runs a model (the page's and the API's)."""


class Runs:
    """Prepare, stream, stop and follow the runs of the Write tab's document."""

    def __init__(self, tab: WriteTab, interval: float, concurrency: int) -> None:
        self.tab = tab
        self.studio = tab.studio
        self.interval = interval
        self.concurrency = concurrency
        self._queued: set[str] = set()
        self._cancelled: set[str] = set()

    def chain(self, prepared: Any) -> Any:
        """Attach the gate and the queued stream to a prepare event; returns the stream event."""
        tab = self.tab
        return prepared.then(self.gate, [tab.pending], None, api_visibility="private", concurrency_limit=None).success(
            self.stream,
            [tab.pending],
            tab.outputs,
            api_visibility="private",
            concurrency_id=GENERATE,
            concurrency_limit=self.concurrency,
            show_progress="minimal",
            show_progress_on=[tab.meter],
        )

    @staticmethod
    def gate(pending: dict[str, Any] | None) -> None:
        """Stop the chain quietly when the prepare step refused."""
        if not pending:
            raise gr.Error("nothing to run", visible=False, print_exception=False)

    def refuse(self, message: str, level: str = "warn") -> dict[Any, Any]:
        return {self.tab.pending: None, self.tab.message: message_html(message, level)}

    def starting(self, doc_id: str, action: str, user: str | None, **extra: Any) -> dict[Any, Any]:
        """Locked form and URL for ``doc_id``, and the pending action the stream step will run."""
        self._cancelled.discard(doc_id)
        self._queued.add(doc_id)
        views = self.tab.views
        doc = self.tab.live(doc_id, user)
        out = views.rest(doc, user, message="Waiting for the model…", table=False, exports=False)
        out.update(views.running(doc))
        out[self.tab.pending] = {"doc": doc_id, "action": action, **extra}
        out[self.tab.message] = message_html("Waiting for the model…", "info")
        return out

    # -- prepare ----------------------------------------------------------------------------

    def prepare(self, action: str):
        """The handler of Draft plan (``action`` "plan") or Write ("write"), given the request form.

        With a document open it asks the studio whether ``action`` may happen now; before Write, an
        edited table is saved as the plan first (the studio decides whether it may change). Without one,
        it creates a document from the form, following the table's plan if there is one.
        """

        def handler(
            instruction: str,
            target: float | None,
            mode: str,
            model: str,
            temperature: float,
            top_p: float,
            top_k: float,
            repetition_penalty: float,
            seed: float | None,
            doc_id: str,
            rows: Any,
            request: gr.Request,
        ) -> dict[Any, Any]:
            user = current_user(request)
            rows = clean_rows(rows)
            sampling = (temperature, top_p, top_k, repetition_penalty, seed)
            try:
                if not doc_id:
                    plan = self._table_plan(rows) if action == "write" and rows and mode in PLAN_MODES else None
                    doc_id = self.tab.create(instruction, target, mode, model, sampling, user, then=action, plan=plan)
                else:
                    if action == "write":
                        self._save_table(doc_id, rows, user)
                    self.studio.check(action, doc_id, user)  # type: ignore[arg-type]
            except (StudioError, NotFound) as exc:
                return self.refuse(str(exc))
            return self.starting(doc_id, action, user)

        return handler

    def _save_table(self, doc_id: str, rows: list[list[Any]], user: str | None) -> None:
        """The table's rows become the plan when they differ from it (a plan-mode document at rest)."""
        doc = self.studio.document(doc_id, user)
        if doc.mode in PLAN_MODES and doc.plan is not None and not self.studio.is_running(doc_id):
            plan = self._table_plan(rows)
            if plan.model_dump()["sections"] != doc.plan:
                self.studio.set_plan(doc_id, plan, user)

    def prepare_resume(self, doc_id: str, request: gr.Request) -> dict[Any, Any]:
        """Continue a stored document from its last section (the Library's Resume)."""
        user = current_user(request)
        try:
            self.studio.check("write", doc_id, user)
        except (StudioError, NotFound) as exc:
            return self.refuse(str(exc))
        return self.starting(doc_id, "write", user)

    @staticmethod
    def _table_plan(rows: list[list[Any]]) -> Plan:
        try:
            return rows_plan(rows)
        except PlanError as exc:
            raise StudioError(f"The plan cannot be written yet: {exc}") from None

    # -- stream -----------------------------------------------------------------------------

    def events_for(self, pending: dict[str, Any], user: str | None) -> AsyncIterator[Any]:
        doc_id, action = pending["doc"], pending["action"]
        if action == "plan":
            return self.studio.plan(doc_id, user)
        if action == "write":
            return self.studio.write(doc_id, user)
        if action == "regenerate":
            return self.studio.regenerate_section(doc_id, pending["index"], user)
        if action == "continue":
            return self.studio.continue_section(doc_id, pending["index"], pending["extra"], user)
        raise ValueError(f"unknown action {action!r}")

    async def stream(self, pending: dict[str, Any] | None, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        """Run the pending action and stream the page: a few batched updates per second."""
        if not pending:
            yield {}
            return
        views = self.tab.views
        user = current_user(request)
        doc_id = pending["doc"]
        self._queued.discard(doc_id)
        try:
            doc = self.tab.live(doc_id, user)
        except NotFound as exc:
            yield views.blank(str(exc), "warn")
            return
        if doc_id in self._cancelled:
            self._cancelled.discard(doc_id)
            yield views.rest(doc, user, message="Stopped before it started.", form=False)
            return
        try:
            events = self.events_for(pending, user)
        except (StudioError, NotFound) as exc:  # the document changed while this run waited for its turn
            yield views.rest(doc, user, message=str(exc), level="warn", form=False)
            return
        doc.start_run()
        if pending["action"] == "plan":
            doc.plan_raw, doc.plan_dirty = "", True
        first = views.running(doc)
        if pending["action"] != "plan":
            first[self.tab.plan.group] = gr.update(open=False)
        yield first
        try:
            async for batch in throttled(events, lambda: self._interval_for(doc), urgent=is_milestone):
                plan_changed = False
                for event in batch:
                    doc.apply(event)
                    plan_changed |= isinstance(event, PlanReady)
                yield views.delta(doc, plan_changed)
        except Exception as exc:
            log.exception("run of %s failed", doc_id)
            doc.message = f"Something went wrong: {exc}. The text written so far is kept; press Retry to go on."
            doc.level = "error"
        yield self._finished(doc, pending, user)

    def _finished(self, doc: LiveDoc, pending: dict[str, Any], user: str | None) -> dict[Any, Any]:
        """The page once the run ended, with the keep choice after a regenerate that changed the section."""
        final = self.tab.live(doc.id, user)
        message, level = (doc.message, doc.level) if doc.message else (None, "info")
        if doc.level == "error":
            message = f"{doc.message} The text written so far is kept — press Retry to go on."
        if pending["action"] == "plan" and final.status == "planned" and not doc.message:  # a retry or fallback says so
            message, level = "Plan ready. Edit any cell, add or move rows, then Write.", "ok"
        out = self.tab.views.rest(final, user, message=message, level=level, form=False)
        if keep := self.tab.revise.keep_offer(final, pending):
            out.update(self.tab.revise.offer(keep, quiet=doc.level in ("warn", "error")))
        return out

    def _interval_for(self, doc: LiveDoc) -> float:
        """Seconds between updates: a few per second, slower while one very long section streams
        (a single-pass 20,000-word text is one component the browser re-renders on each update)."""
        current = doc.sections[doc.current] if doc.current is not None and doc.current < len(doc.sections) else None
        size = len(current.text) if current is not None else 0
        return self.interval + min(1.5, size / 100_000)

    # -- stop and follow --------------------------------------------------------------------

    async def on_stop(self, doc_id: str, request: gr.Request) -> tuple[Any, Any]:
        """Stop this document's run for real: the backend request is aborted, the text kept.

        Async on purpose: the studio's stop switch is an asyncio.Event, set here on the server's loop.
        """
        if not doc_id:
            return gr.skip(), gr.skip()
        try:
            stopped = self.studio.stop(doc_id, current_user(request))
        except NotFound as exc:
            return message_html(str(exc), "warn"), gr.skip()
        if stopped:
            return message_html("Stopping…", "info"), gr.update(interactive=False)
        if doc_id in self._queued:
            self._cancelled.add(doc_id)
            return message_html("Cancelled before it started.", "info"), gr.update(interactive=False)
        return gr.skip(), gr.update(visible=False)

    def on_follow(self, doc_id: str, request: gr.Request) -> dict[Any, Any]:
        """While another session writes this document, refresh from the store (checkpoints every ~2 s)."""
        if not doc_id:
            return {self.tab.follow: gr.Timer(active=False)}
        user = current_user(request)
        try:
            doc = self.tab.live(doc_id, user)
        except NotFound:
            return {self.tab.follow: gr.Timer(active=False)}
        return self.tab.views.rest(doc, user, follow=doc.running, form=False, table=not doc.running)
