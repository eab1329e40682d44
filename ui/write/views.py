"""What the Write tab shows in each situation, as Gradio updates: no document, a document at rest,
a run streaming (only Stop is live), and the small delta of one streaming batch.

The views only show; which actions a document allows is the studio's answer, asked when a button is
pressed, so a stale page is refused with the same words as the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gradio as gr

from longwriter.documents import EXPORT_FORMATS
from longwriter.plan import MAX_SECTIONS
from longwriter.rules import PLAN_MODES
from longwriter.store import NotFound
from ui.common import export_file
from ui.view import LiveDoc, message_html, meter_html, reasoning_html, section_html

if TYPE_CHECKING:
    from ui.write.tab import WriteTab


class PageViews:
    """The Write tab's page for each situation; every method returns ``{component: update}``."""

    def __init__(self, tab: WriteTab) -> None:
        self.tab = tab

    def blank(self, message: str = "", level: str = "info", mode: str = "agentwrite") -> dict[Any, Any]:
        """No document: an unlocked request form (its values kept) and an empty page."""
        t = self.tab
        plan_mode = mode in PLAN_MODES
        out: dict[Any, Any] = {
            t.doc_box: "",
            t.pending: None,
            t.examples_col: gr.update(visible=True),
            t.new_btn: gr.update(visible=False),
            t.message: message_html(message, level),
            t.meter: meter_html(None),
            t.draft_btn: gr.update(visible=plan_mode, interactive=True),
            t.regen_plan_btn: gr.update(visible=False),
            t.write_btn: gr.update(value="Write", visible=True, interactive=True),
            t.stop_btn: gr.update(visible=False),
            t.reasoning_acc: gr.update(visible=False),
            t.reasoning: "",
            t.exports_row: gr.update(visible=False),
            t.follow: gr.Timer(active=False),
            **t.plan.blank(plan_mode),
            **t.revise.hidden(),
            **t.presets.unlocked(),
        }
        for comp in (t.instruction, t.target, t.mode, t.model):
            out[comp] = gr.update(interactive=True)
        for comp in t.sections:
            out[comp] = gr.update(value="", visible=False)
        return out

    def rest(
        self,
        doc: LiveDoc,
        user: str | None,
        message: str | None = None,
        level: str = "info",
        follow: bool = False,
        form: bool = True,
        table: bool = True,
        exports: bool = True,
    ) -> dict[Any, Any]:
        """Everything on the page for ``doc`` at rest (or followed while another session writes it)."""
        t = self.tab
        running = doc.running
        plan_mode = doc.mode in PLAN_MODES
        has_text = doc.has_text
        if message is None:
            message, level = rest_message(doc)
        out: dict[Any, Any] = {
            t.doc_box: doc.id,
            t.pending: None,
            t.examples_col: gr.update(visible=False),
            t.new_btn: gr.update(visible=True, interactive=not running),
            t.message: message_html(message, level),
            t.meter: meter_html(doc),
            t.draft_btn: gr.update(visible=plan_mode and not doc.plan, interactive=not running),
            t.regen_plan_btn: gr.update(visible=plan_mode and bool(doc.plan) and not has_text, interactive=not running),
            t.write_btn: gr.update(
                value=write_label(doc), visible=doc.status != "done" or running, interactive=not running
            ),
            t.stop_btn: gr.update(visible=running, interactive=True),
            t.reasoning_acc: gr.update(visible=bool(doc.reasoning.strip())),
            t.reasoning: reasoning_html(doc.reasoning),
            t.follow: gr.Timer(active=follow),
            **t.plan.rest(doc, open_=not has_text or doc.status == "planned", table=table),
            **t.revise.rest(doc),
        }
        if form:
            out.update(self._form(doc, user))
        out.update(self.sections(doc, all_=True))
        if has_text and not running and exports:
            paths = self.exports(doc.id, user)
            out[t.exports_row] = gr.update(visible=bool(paths))
            for fmt, button in t.downloads.items():
                out[button] = gr.update(value=paths.get(fmt))
        else:
            out[t.exports_row] = gr.update(visible=False)
        return out

    def running(self, doc: LiveDoc) -> dict[Any, Any]:
        """Controls while this page's run streams: only Stop is live."""
        t = self.tab
        out: dict[Any, Any] = {
            t.message: message_html(doc.message, doc.level),
            t.meter: meter_html(doc),
            t.draft_btn: gr.update(interactive=False),
            t.regen_plan_btn: gr.update(interactive=False),
            t.write_btn: gr.update(interactive=False),
            t.stop_btn: gr.update(visible=True, interactive=True),
            t.new_btn: gr.update(interactive=False),
            t.plan.table: gr.update(interactive=False),
            t.exports_row: gr.update(visible=False),
            t.follow: gr.Timer(active=False),
            **t.revise.hidden(),
        }
        out.update(self.sections(doc, all_=True))
        return out

    def delta(self, doc: LiveDoc, plan_changed: bool) -> dict[Any, Any]:
        """Only what changed since the last update: the meter, touched sections, the outline."""
        t = self.tab
        out: dict[Any, Any] = {t.meter: meter_html(doc)}
        out.update(self.sections(doc, all_=False))
        out.update(t.plan.streaming(doc, plan_changed))
        if -1 in doc.dirty:
            doc.dirty.discard(-1)
            out[t.reasoning_acc] = gr.update(visible=True)
            out[t.reasoning] = reasoning_html(doc.reasoning)
        if doc.message:
            out[t.message] = message_html(doc.message, doc.level)
        return out

    def sections(self, doc: LiveDoc, all_: bool) -> dict[Any, Any]:
        """The section blocks: all of them, or only those the run touched since the last update."""
        single = doc.mode not in PLAN_MODES
        indices = range(MAX_SECTIONS) if all_ else sorted(i for i in doc.dirty if i >= 0)
        out: dict[Any, Any] = {}
        for i in indices:
            if i >= MAX_SECTIONS:
                continue
            block = self.tab.sections[i]
            section = doc.sections[i] if i < len(doc.sections) else None
            if section is not None and (section.status != "pending" or bool(section.text.strip())):
                out[block] = gr.update(value=section_html(section, len(doc.sections), single=single), visible=True)
            elif all_:
                out[block] = gr.update(value="", visible=False)
        doc.dirty = {i for i in doc.dirty if i < 0}
        return out

    def exports(self, doc_id: str, user: str | None) -> dict[str, str]:
        """Fresh export files for the download buttons (small: written whenever the page settles)."""
        try:
            record = self.tab.studio.record(doc_id, user)
        except NotFound:
            return {}
        return {fmt: str(export_file(record, fmt)) for fmt in EXPORT_FORMATS}

    def _form(self, doc: LiveDoc, user: str | None) -> dict[Any, Any]:
        """The request form shows the document's own request and sampling, read-only."""
        t = self.tab
        try:
            params = dict(t.studio.document(doc.id, user).params)
        except NotFound:
            params = {}
        ids = [m.id for m in t.studio.models()]
        choices = [(i, i) for i in (ids if doc.model in ids else [*ids, doc.model])]
        return {
            t.instruction: gr.update(value=doc.instruction, interactive=False),
            t.target: gr.update(value=doc.target_words, interactive=False),
            t.mode: gr.update(value=doc.mode, interactive=False),
            t.model: gr.update(value=doc.model, interactive=False, choices=choices),
            **t.presets.document(params),
        }


def write_label(doc: LiveDoc) -> str:
    if doc.status == "failed":
        return "Retry"
    if doc.has_text or doc.status in ("stopped", "writing"):
        return "Continue"
    return "Write"


def rest_message(doc: LiveDoc) -> tuple[str, str]:
    """What the page says about a document it opens (or finishes a run of)."""
    if doc.running:
        return "This document is being written in another window; this page follows along.", "info"
    if doc.status == "failed":
        return f"{doc.error or 'The run failed.'} The text written so far is kept — press Retry to go on.", "error"
    if doc.status == "writing" or (doc.status == "planning" and doc.plan):
        return "This run was interrupted (the server stopped or the page closed). Continue picks it up.", "warn"
    if doc.status == "stopped":
        return "Stopped. Everything written so far is kept; Continue picks it up.", "info"
    if doc.status == "done":
        score = doc.length_score
        extra = "" if score is None else f" · length score S_l {score:.0f}"
        return f"Done: {doc.words:,} words of {doc.target_words:,}{extra}.", "ok"
    if doc.status == "planned" and doc.plan and doc.mode in PLAN_MODES:
        return "Plan ready. Edit any cell, add or move rows, then Write.", "info"
    return "", "info"
