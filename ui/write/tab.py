"""The Write tab: the request form and the document column, assembled from the rooms of this package.

Each section is its own component (a fixed pool of ``MAX_SECTIONS`` HTML blocks shown as needed)
and updates are batched a few times per second, so a 20,000-word document streams without freezing
the page. The rooms: :mod:`.plan_table` (the editable plan), :mod:`.presets_panel` (sampling),
:mod:`.revise` (section revisions and judgements), :mod:`.runs` (prepare, stream, stop, follow) and
:mod:`.views` (what the page shows in each situation). Every handler asks
:class:`longwriter.studio.Studio`, which decides; the page only shows the answer.
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr

from longwriter.plan import MAX_SECTIONS, Plan
from longwriter.rules import MAX_TARGET_WORDS, PLAN_MODES
from longwriter.store import NotFound
from longwriter.studio import Studio
from longwriter.text import clip
from ui.common import ASSETS, UPDATE_INTERVAL, current_user
from ui.view import LiveDoc, meter_html
from ui.write.plan_table import PlanTable
from ui.write.presets_panel import PresetsPanel
from ui.write.revise import ReviseTools
from ui.write.runs import Runs
from ui.write.views import PageViews

MODES = [
    ("AgentWrite: plan, then section by section", "agentwrite"),
    ("Single pass", "single"),
    ("Parallel sections", "parallel"),
    ("Think (LongWriter-Zero)", "think"),
]


def load_examples() -> list[dict[str, Any]]:
    """Example requests from ``ui/assets/examples.json`` (English and Chinese)."""
    try:
        items = json.loads((ASSETS / "examples.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [e for e in items if isinstance(e, dict) and e.get("instruction")]


class WriteTab:
    """The components and handlers of the Write tab (built inside an open ``gr.Tab``)."""

    def __init__(self, studio: Studio, interval: float = UPDATE_INTERVAL, concurrency: int = 2) -> None:
        self.studio = studio
        self.presets = PresetsPanel(studio)
        self.plan = PlanTable(studio)
        self.revise = ReviseTools(self)
        self.runs = Runs(self, interval, concurrency)
        self.views = PageViews(self)

    # -- build ------------------------------------------------------------------------------

    def build(self, presets_store: gr.BrowserState) -> None:
        self.presets_store = presets_store
        self.doc_box = gr.Textbox(visible=False, elem_id="lw-doc-id")
        self.pending = gr.State(None)
        with gr.Row(equal_height=False, elem_classes="lw-write"):
            with gr.Column(scale=4, min_width=320, elem_classes="lw-request"):
                self._build_request()
            with gr.Column(scale=7, min_width=420, elem_classes="lw-document"):
                self._build_document()
        self.follow = gr.Timer(2.0, active=False)
        self.outputs = [
            self.doc_box,
            self.pending,
            self.instruction,
            self.target,
            self.mode,
            self.model,
            self.presets.preset,
            *self.presets.sampling,
            self.examples_col,
            self.new_btn,
            self.message,
            self.meter,
            self.draft_btn,
            self.regen_plan_btn,
            self.write_btn,
            self.stop_btn,
            self.plan.group,
            self.plan.outline,
            self.plan.table,
            self.plan.total,
            self.reasoning_acc,
            self.reasoning,
            self.revise.tools_row,
            self.revise.section_pick,
            self.revise.editor_group,
            self.exports_row,
            *self.downloads.values(),
            *self.sections,
            self.follow,
            self.revise.keep_row,
            self.revise.keep_state,
        ]
        self._wire()

    def _build_request(self) -> None:
        models = self.studio.models()
        spec = self.studio.spec()
        if spec.id not in [m.id for m in models]:
            models = [spec, *models]
        self.instruction = gr.Textbox(
            label="Instruction",
            lines=6,
            max_lines=20,
            elem_id="lw-instruction",
            placeholder="What should be written? e.g. “Write a travel guide to Kyoto for a first visit, "
            "with history, neighbourhoods, food and a three-day itinerary.”",
        )
        with gr.Row():
            self.target = gr.Number(
                label="Target words",
                value=2000,
                minimum=100,
                maximum=MAX_TARGET_WORDS,
                step=100,
                precision=0,
                elem_id="lw-target",
                min_width=120,
            )
            self.model = gr.Dropdown(
                label="Model",
                choices=[(m.id, m.id) for m in models],
                value=spec.id,
                elem_id="lw-model",
                min_width=160,
                info=None,
            )
        self.mode = gr.Radio(label="Mode", choices=MODES, value="agentwrite", elem_id="lw-mode")
        self.presets.build(spec)
        examples = load_examples()
        with gr.Column(visible=bool(examples)) as self.examples_col:
            if examples:
                gr.Examples(
                    examples=[[e["instruction"], int(e.get("words", 2000))] for e in examples],
                    inputs=[self.instruction, self.target],
                    example_labels=[
                        f"{e.get('flag', '')} {e.get('title', clip(e['instruction'], 40))}"
                        f" · {int(e.get('words', 2000)):,} words".strip()
                        for e in examples
                    ],
                    label="Examples",
                    examples_per_page=6,
                    api_visibility="private",
                )
        self.new_btn = gr.Button("New document", visible=False, variant="secondary", elem_id="lw-new")

    def _build_document(self) -> None:
        self.message = gr.HTML(elem_id="lw-message", js_on_load=None)
        self.meter = gr.HTML(meter_html(None), elem_id="lw-meter", js_on_load=None)
        with gr.Row(elem_classes="lw-actions"):
            self.draft_btn = gr.Button("Draft plan", variant="secondary", elem_id="lw-draft")
            self.regen_plan_btn = gr.Button("Regenerate plan", visible=False, elem_id="lw-regen-plan")
            self.write_btn = gr.Button("Write", variant="primary", elem_id="lw-write-btn")
            self.stop_btn = gr.Button("Stop", variant="stop", visible=False, elem_id="lw-stop")
        self.plan.build()
        with gr.Accordion("Model's thinking", open=False, visible=False) as self.reasoning_acc:
            self.reasoning = gr.HTML(js_on_load=None)
        self.revise.build_tools()
        self.sections = [
            gr.HTML(visible=False, js_on_load=None, elem_id=f"lw-section-{i}", elem_classes="lw-section-block")
            for i in range(MAX_SECTIONS)
        ]
        with gr.Row(visible=False, elem_classes="lw-exports") as self.exports_row:
            self.downloads = {
                fmt: gr.DownloadButton(label, size="sm", elem_id=f"lw-download-{fmt}")
                for fmt, label in (("markdown", "⬇ Markdown"), ("html", "⬇ HTML"), ("docx", "⬇ DOCX"))
            }

    def _wire(self) -> None:
        light: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": None}
        runs = self.runs
        request_inputs = [self.instruction, self.target, self.mode, self.model, *self.presets.sampling]
        # The document id lives in the URL (?doc=…), so a reload or a bookmark reopens it.
        self.doc_box.change(
            None,
            [self.doc_box],
            None,
            api_visibility="private",
            js="(id) => { const u = new URL(window.location.href); if (id) { u.searchParams.set('doc', id); }"
            " else { u.searchParams.delete('doc'); } window.history.replaceState(null, '', u.toString()); }",
        )
        self.new_btn.click(self.new_document, [self.mode], self.outputs, **light)
        self.mode.change(self.on_mode, [self.mode, self.doc_box], [self.plan.group, self.draft_btn], **light)
        self.presets.wire(self.model, self.doc_box, self.presets_store)
        self.plan.wire(self.doc_box, self.target, self.write_btn)
        # Runs: prepare (instant) → gate (stops the chain quietly when prepare refused) → stream (queued).
        for button, action in ((self.draft_btn, "plan"), (self.regen_plan_btn, "plan"), (self.write_btn, "write")):
            prepare = runs.prepare(action)
            runs.chain(button.click(prepare, [*request_inputs, self.doc_box, self.plan.table], self.outputs, **light))
        self.stop_btn.click(runs.on_stop, [self.doc_box], [self.message, self.stop_btn], **light)
        self.revise.wire()
        self.follow.tick(runs.on_follow, [self.doc_box], self.outputs, **light)

    # -- documents --------------------------------------------------------------------------

    def live(self, doc_id: str, user: str | None) -> LiveDoc:
        """``user``'s document as the page shows it (NotFound when it is not theirs)."""
        return LiveDoc.from_record(self.studio.record(doc_id, user), running=self.studio.is_running(doc_id))

    def create(
        self,
        instruction: str,
        target: float | None,
        mode: str,
        model: str,
        sampling: tuple[Any, ...],
        user: str | None,
        then: str = "write",
        plan: Plan | None = None,
    ) -> str:
        """A new document from the request form; the studio validates it (StudioError says what is wrong)."""
        try:
            words = int(target) if target is not None else 0
        except (TypeError, ValueError):
            words = 0
        doc = self.studio.create(
            instruction or "",
            words,
            mode=mode,  # type: ignore[arg-type]
            model=model or None,
            sampling=self.presets.params(*sampling),
            plan=plan,
            user=user,
            then=then,  # type: ignore[arg-type]
        )
        return doc.id

    # -- page handlers ----------------------------------------------------------------------

    def load(self, doc_id: str, presets_store: Any, request: gr.Request) -> dict[Any, Any]:
        """Page load: reopen ``?doc=`` if given (and the user's), else an empty page."""
        out = self.views.blank()
        out.update(self.presets.on_load(self.studio.spec().id, presets_store))
        doc_id = (doc_id or "").strip()
        if doc_id:
            out.update(self.open_view(doc_id, current_user(request)))
        return out

    def open_view(self, doc_id: str, user: str | None) -> dict[Any, Any]:
        try:
            doc = self.live(doc_id, user)
        except NotFound as exc:
            return self.views.blank(str(exc), "warn")
        out = self.views.rest(doc, user, follow=doc.running)
        out.update({self.revise.keep_row: gr.update(visible=False), self.revise.keep_state: None})
        return out

    def new_document(self, mode: str) -> dict[Any, Any]:
        return self.views.blank(mode=mode)

    def on_mode(self, mode: str, doc_id: str) -> tuple[Any, Any]:
        if doc_id:
            return gr.skip(), gr.skip()
        plan_mode = mode in PLAN_MODES
        return gr.update(visible=plan_mode), gr.update(visible=plan_mode)
