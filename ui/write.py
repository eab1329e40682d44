"""The Write tab: request, editable plan, streaming sections, meter, stop/continue, revisions, exports.

Every model call goes through :class:`longwriter.studio.Studio`'s event streams; this module only
turns events into page updates. Each section is its own component (a fixed pool of
``MAX_SECTIONS`` HTML blocks shown as needed) and updates are batched a few times per second, so
a 20,000-word document streams without freezing the page.

Running a model is two steps: a quick *prepare* step (validate, create or update the document,
put its id in the URL) that never waits in the queue, then the *stream* step, which waits for a
free generation slot (the page shows its queue position) and streams. Stop works in both.

The user's judgements are kept as preference data (:mod:`longwriter.preferences`): a substantial
edit, the version kept after a section is regenerated ("Keep new" / "Keep previous"), and thumbs
up or down on a finished section or on the whole document.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from longwriter.documents import EXPORT_FORMATS, document_record
from longwriter.events import DocumentDone, Failed, PlanReady, SectionDone, SectionStarted, Stopped
from longwriter.plan import MAX_SECTIONS, Plan, PlanError, normalize_budget, validate_rows
from longwriter.preferences import PreferenceError, keep_section_version, record_edit, record_thumb
from longwriter.store import NotFound
from longwriter.studio import Studio, StudioError
from ui import presets
from ui.common import ASSETS, UPDATE_INTERVAL, clip, current_user, export_file, throttled
from ui.view import (
    LiveDoc,
    message_html,
    meter_html,
    outline_html,
    reasoning_html,
    section_html,
)

log = logging.getLogger(__name__)

MODES = [
    ("AgentWrite: plan, then section by section", "agentwrite"),
    ("Single pass", "single"),
    ("Parallel sections", "parallel"),
    ("Think (LongWriter-Zero)", "think"),
]
PLAN_MODES = ("agentwrite", "parallel")
PLAN_HEADERS = ["Main point", "Words"]
GENERATE = "generate"
"""Concurrency group of every event that runs a model."""


def load_examples() -> list[dict[str, Any]]:
    """Example requests from ``ui/assets/examples.json`` (English and Chinese)."""
    try:
        items = json.loads((ASSETS / "examples.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [e for e in items if isinstance(e, dict) and e.get("instruction")]


def _urgent(event: object) -> bool:
    return isinstance(event, (PlanReady, SectionStarted, SectionDone, DocumentDone, Stopped, Failed))


def plan_rows(plan: list[dict[str, Any]] | None) -> list[list[Any]]:
    return [[s.get("main_point", ""), int(s.get("words", 0) or 0)] for s in plan or []]


def clean_rows(rows: Any) -> list[list[Any]]:
    """The table's rows as [point, words] pairs; rows left entirely blank are dropped."""
    if rows is None:
        return []
    if hasattr(rows, "values") and hasattr(rows, "columns"):  # a DataFrame, should the type change
        rows = rows.values.tolist()
    out = []
    for row in rows:
        row = list(row) + ["", ""]
        point, words = row[0], row[1]
        point = "" if point is None else str(point)
        words = "" if words is None else words
        if isinstance(words, float) and words.is_integer():
            words = int(words)
        if not point.strip() and str(words).strip() in ("", "nan", "None"):
            continue
        out.append([point, words])
    return out


def _bad(message: str) -> str:
    return f'<div class="lw-total lw-total-bad" role="alert">⚠ {html.escape(message)}</div>'


def plan_total_html(rows: list[list[Any]], target: int | None) -> str:
    """The running total against the target, or the reason the plan cannot be used as it stands."""
    try:
        plan = validate_rows([(p, w) for p, w in rows])
    except PlanError as exc:
        return _bad(str(exc))
    total = plan.total_words
    if not target:
        return f'<div class="lw-total">{len(plan.sections)} sections · {total:,} words</div>'
    gap = total - target
    ok = abs(gap) <= max(20, target * 0.02)
    sign = "+" if gap > 0 else "−"
    delta = "on target" if ok else f"{sign}{abs(gap):,}"
    return (
        f'<div class="lw-total{" lw-total-ok" if ok else " lw-total-off"}">{len(plan.sections)} sections · '
        f"<b>{total:,}</b> of {target:,} words ({delta})</div>"
    )


class WriteTab:
    """The components and handlers of the Write tab (built inside an open ``gr.Tab``)."""

    def __init__(self, studio: Studio, interval: float = UPDATE_INTERVAL, concurrency: int = 2) -> None:
        self.studio = studio
        self.interval = interval
        self.concurrency = concurrency
        self._queued: set[str] = set()
        self._cancelled: set[str] = set()

    # ==================================================================================== build

    def build(self, presets_store: gr.BrowserState) -> None:
        studio = self.studio
        self.presets_store = presets_store
        models = studio.models()
        default_model = studio.spec().id
        if default_model not in [m.id for m in models]:
            models = [studio.spec(), *models]
        self.doc_box = gr.Textbox(visible=False, elem_id="lw-doc-id")
        self.pending = gr.State(None)

        with gr.Row(equal_height=False, elem_classes="lw-write"):
            with gr.Column(scale=4, min_width=320, elem_classes="lw-request"):
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
                        maximum=100_000,
                        step=100,
                        precision=0,
                        elem_id="lw-target",
                        min_width=120,
                    )
                    self.model = gr.Dropdown(
                        label="Model",
                        choices=[(m.id, m.id) for m in models],
                        value=default_model,
                        elem_id="lw-model",
                        min_width=160,
                        info=None,
                    )
                self.mode = gr.Radio(label="Mode", choices=MODES, value="agentwrite", elem_id="lw-mode")
                self.preset = gr.Dropdown(
                    label="Sampling preset",
                    choices=presets.preset_names(None),
                    value=presets.MODEL_DEFAULT,
                    elem_id="lw-preset",
                )
                spec = studio.spec()
                with gr.Accordion("Advanced sampling", open=False, elem_id="lw-advanced"):
                    self.temperature = gr.Slider(0.0, 2.0, value=spec.temperature, step=0.05, label="Temperature")
                    self.top_p = gr.Slider(0.05, 1.0, value=spec.top_p, step=0.01, label="Top-p")
                    self.top_k = gr.Slider(0, 200, value=spec.top_k, step=1, label="Top-k (0 = off)")
                    self.repetition_penalty = gr.Slider(
                        1.0, 2.0, value=spec.repetition_penalty, step=0.01, label="Repetition penalty"
                    )
                    self.seed = gr.Number(label="Seed (blank = random)", value=None, precision=0)
                    with gr.Row():
                        self.preset_name = gr.Textbox(
                            label="Save these settings as", placeholder="preset name", scale=3, min_width=140
                        )
                        self.preset_default = gr.Checkbox(
                            label="Default for this model", value=False, scale=2, min_width=120
                        )
                    with gr.Row():
                        self.save_preset = gr.Button("Save preset", size="sm")
                        self.delete_preset = gr.Button("Delete selected preset", size="sm", variant="secondary")
                    self.preset_msg = gr.HTML()
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

            with gr.Column(scale=7, min_width=420, elem_classes="lw-document"):
                self.message = gr.HTML(elem_id="lw-message", js_on_load=None)
                self.meter = gr.HTML(meter_html(None), elem_id="lw-meter", js_on_load=None)
                with gr.Row(elem_classes="lw-actions"):
                    self.draft_btn = gr.Button("Draft plan", variant="secondary", elem_id="lw-draft")
                    self.regen_plan_btn = gr.Button("Regenerate plan", visible=False, elem_id="lw-regen-plan")
                    self.write_btn = gr.Button("Write", variant="primary", elem_id="lw-write-btn")
                    self.stop_btn = gr.Button("Stop", variant="stop", visible=False, elem_id="lw-stop")
                with gr.Accordion(
                    "Plan", open=True, visible=True, elem_classes="lw-plan", elem_id="lw-plan"
                ) as self.plan_group:
                    self.outline = gr.HTML(visible=False, js_on_load=None, elem_id="lw-outline")
                    self.plan_table = gr.Dataframe(
                        headers=PLAN_HEADERS,
                        datatype=["str", "str"],
                        type="array",
                        value=[],
                        interactive=True,
                        show_row_numbers=True,
                        wrap=True,
                        column_widths=["80%", "14%"],
                        show_label=False,
                        elem_id="lw-plan-table",
                        max_height=420,
                    )
                    self.plan_total = gr.HTML(elem_id="lw-plan-total", js_on_load=None)
                    with gr.Row(elem_classes="lw-plan-tools", equal_height=True):
                        self.row_num = gr.Number(
                            label="Row",
                            value=1,
                            precision=0,
                            minimum=1,
                            maximum=MAX_SECTIONS + 50,
                            min_width=70,
                            scale=0,
                            elem_id="lw-row",
                            show_label=True,
                        )
                        self.add_row = gr.Button("+ Add row", size="sm", min_width=90, scale=0, elem_id="lw-add-row")
                        self.del_row = gr.Button("Delete row", size="sm", min_width=90, scale=0, elem_id="lw-del-row")
                        self.up_row = gr.Button("↑ Up", size="sm", min_width=70, scale=0, elem_id="lw-up-row")
                        self.down_row = gr.Button("↓ Down", size="sm", min_width=70, scale=0, elem_id="lw-down-row")
                        self.rebalance = gr.Button(
                            "⚖ Rebalance to target", size="sm", min_width=150, scale=0, elem_id="lw-rebalance"
                        )
                with gr.Accordion("Model's thinking", open=False, visible=False) as self.reasoning_acc:
                    self.reasoning = gr.HTML(js_on_load=None)
                with gr.Group(visible=False, elem_classes="lw-tools") as self.tools_row:
                    with gr.Row(equal_height=True):
                        self.section_pick = gr.Dropdown(
                            label="Revise a finished section",
                            choices=[],
                            scale=4,
                            min_width=200,
                            elem_id="lw-section-pick",
                        )
                        self.extra_words = gr.Number(
                            label="Continue by (words)",
                            value=200,
                            precision=0,
                            minimum=20,
                            maximum=5000,
                            scale=1,
                            min_width=110,
                        )
                    with gr.Row():
                        self.regen_sec = gr.Button("↻ Regenerate section", size="sm", elem_id="lw-regen-section")
                        self.cont_sec = gr.Button("+ Continue section", size="sm", elem_id="lw-continue-section")
                        self.edit_sec = gr.Button("✎ Edit section", size="sm", elem_id="lw-edit-section")
                    with gr.Row(equal_height=True, elem_classes="lw-thumbs"):
                        self.thumb_reason = gr.Textbox(
                            label="Why? (optional)",
                            placeholder="what works or not",
                            scale=3,
                            min_width=160,
                            max_lines=3,
                            elem_id="lw-thumb-reason",
                        )
                        # Icons from files, not emoji: a browser without an emoji font shows those as boxes.
                        up, down = ASSETS / "thumb-up.svg", ASSETS / "thumb-down.svg"
                        self.thumb_sec_up = gr.Button(
                            "Good section", icon=up, size="sm", min_width=135, scale=0, elem_id="lw-thumb-section-up"
                        )
                        self.thumb_sec_down = gr.Button(
                            "Bad section", icon=down, size="sm", min_width=135, scale=0, elem_id="lw-thumb-section-down"
                        )
                        self.thumb_doc_up = gr.Button(
                            "Good document", icon=up, size="sm", min_width=150, scale=0, elem_id="lw-thumb-doc-up"
                        )
                        self.thumb_doc_down = gr.Button(
                            "Bad document", icon=down, size="sm", min_width=150, scale=0, elem_id="lw-thumb-doc-down"
                        )
                # After a section is regenerated: which version stays (recorded as a preference pair).
                self.keep_state = gr.State(None)
                with gr.Row(visible=False, elem_classes="lw-keep", elem_id="lw-keep") as self.keep_row:
                    self.keep_new = gr.Button("Keep new", variant="primary", size="sm", elem_id="lw-keep-new")
                    self.keep_prev = gr.Button("Keep previous", size="sm", elem_id="lw-keep-previous")
                with gr.Group(visible=False) as self.editor_group:
                    self.editor = gr.Textbox(
                        label="Edit section (Markdown)", lines=12, max_lines=40, elem_id="lw-editor"
                    )
                    self.edit_index = gr.State(None)
                    with gr.Row():
                        self.save_edit = gr.Button("Save edit", variant="primary", size="sm", elem_id="lw-save-edit")
                        self.cancel_edit = gr.Button("Cancel", size="sm")
                self.sections = [
                    gr.HTML(visible=False, js_on_load=None, elem_id=f"lw-section-{i}", elem_classes="lw-section-block")
                    for i in range(MAX_SECTIONS)
                ]
                with gr.Row(visible=False, elem_classes="lw-exports") as self.exports_row:
                    self.downloads = {
                        fmt: gr.DownloadButton(label, size="sm", elem_id=f"lw-download-{fmt}")
                        for fmt, label in (("markdown", "⬇ Markdown"), ("html", "⬇ HTML"), ("docx", "⬇ DOCX"))
                    }
        self.follow = gr.Timer(2.0, active=False)
        self.form = [
            self.instruction,
            self.target,
            self.mode,
            self.model,
            self.preset,
            self.temperature,
            self.top_p,
            self.top_k,
            self.repetition_penalty,
            self.seed,
        ]
        self.outputs = [
            self.doc_box,
            self.pending,
            *self.form,
            self.examples_col,
            self.new_btn,
            self.message,
            self.meter,
            self.draft_btn,
            self.regen_plan_btn,
            self.write_btn,
            self.stop_btn,
            self.plan_group,
            self.outline,
            self.plan_table,
            self.plan_total,
            self.reasoning_acc,
            self.reasoning,
            self.tools_row,
            self.section_pick,
            self.editor_group,
            self.exports_row,
            *self.downloads.values(),
            *self.sections,
            self.follow,
            self.keep_row,
            self.keep_state,
        ]
        self._wire()

    # ==================================================================================== events

    def _wire(self) -> None:
        private: dict[str, Any] = {"api_visibility": "private"}
        light: dict[str, Any] = {**private, "concurrency_limit": None}
        sampling = [self.temperature, self.top_p, self.top_k, self.repetition_penalty, self.seed]
        request_inputs = [self.instruction, self.target, self.mode, self.model, *sampling]

        # The document id lives in the URL (?doc=…), so a reload or a bookmark reopens it.
        self.doc_box.change(
            None,
            [self.doc_box],
            None,
            **private,
            js="(id) => { const u = new URL(window.location.href); if (id) { u.searchParams.set('doc', id); }"
            " else { u.searchParams.delete('doc'); } window.history.replaceState(null, '', u.toString()); }",
        )
        self.new_btn.click(self.new_document, [self.mode], self.outputs, **light)
        self.mode.change(self.on_mode, [self.mode, self.doc_box], [self.plan_group, self.draft_btn], **light)
        self.model.change(
            self.on_model, [self.model, self.presets_store, self.doc_box], [self.preset, *sampling[:4]], **light
        )
        self.preset.input(self.on_preset, [self.preset, self.model, self.presets_store], sampling[:4], **light)
        self.save_preset.click(
            self.on_save_preset,
            [self.preset_name, self.preset_default, self.model, *sampling[:4], self.presets_store],
            [self.presets_store, self.preset, self.preset_msg],
            **light,
        )
        self.delete_preset.click(
            self.on_delete_preset,
            [self.preset, self.model, self.presets_store],
            [self.presets_store, self.preset, self.preset_msg, *sampling[:4]],
            **light,
        )

        # Plan table: running total and inline messages; plans of untouched documents save as you edit.
        self.plan_table.change(
            self.on_table, [self.plan_table, self.doc_box, self.target], [self.plan_total, self.write_btn], **light
        )
        self.plan_table.select(self.on_table_select, None, [self.row_num], **light)
        for button, op in (
            (self.add_row, "add"),
            (self.del_row, "delete"),
            (self.up_row, "up"),
            (self.down_row, "down"),
        ):
            button.click(
                self._row_op(op),
                [self.plan_table, self.row_num],
                [self.plan_table, self.row_num, self.plan_total],
                **light,
            )
        self.rebalance.click(
            self.on_rebalance, [self.plan_table, self.doc_box, self.target], [self.plan_table, self.plan_total], **light
        )

        # Runs: prepare (instant) → gate (stops the chain quietly when prepare refused) → stream (queued).
        self.chain(self.draft_btn.click(self.prepare_plan, [*request_inputs, self.doc_box], self.outputs, **light))
        self.chain(self.regen_plan_btn.click(self.prepare_plan, [*request_inputs, self.doc_box], self.outputs, **light))
        self.chain(
            self.write_btn.click(
                self.prepare_write, [*request_inputs, self.doc_box, self.plan_table], self.outputs, **light
            )
        )
        self.chain(
            self.regen_sec.click(self.prepare_regenerate, [self.doc_box, self.section_pick], self.outputs, **light)
        )
        self.chain(
            self.cont_sec.click(
                self.prepare_continue, [self.doc_box, self.section_pick, self.extra_words], self.outputs, **light
            )
        )
        self.stop_btn.click(self.on_stop, [self.doc_box], [self.message, self.stop_btn], **light)

        self.edit_sec.click(
            self.open_editor,
            [self.doc_box, self.section_pick],
            [self.editor_group, self.editor, self.edit_index, self.message],
            **light,
        )
        self.cancel_edit.click(
            lambda: (gr.update(visible=False), None), None, [self.editor_group, self.edit_index], **light
        )
        self.save_edit.click(
            self.on_save_edit, [self.doc_box, self.edit_index, self.editor, self.keep_state], self.outputs, **light
        )
        self.keep_new.click(self._keep("new"), [self.doc_box, self.keep_state], self.outputs, **light)
        self.keep_prev.click(self._keep("previous"), [self.doc_box, self.keep_state], self.outputs, **light)
        for button, label, scope in (
            (self.thumb_sec_up, True, "section"),
            (self.thumb_sec_down, False, "section"),
            (self.thumb_doc_up, True, "document"),
            (self.thumb_doc_down, False, "document"),
        ):
            button.click(
                self._thumb(label, scope),
                [self.doc_box, self.section_pick, self.thumb_reason],
                [self.message, self.thumb_reason],
                **light,
            )
        self.follow.tick(self.on_follow, [self.doc_box], self.outputs, **light)

    def chain(self, prepared: Any) -> Any:
        """Attach the gate and the queued stream to a prepare event; returns the stream event."""
        return prepared.then(
            self.gate,
            [self.pending],
            None,
            api_visibility="private",
            concurrency_limit=None,
        ).success(
            self.stream,
            [self.pending],
            self.outputs,
            api_visibility="private",
            concurrency_id=GENERATE,
            concurrency_limit=self.concurrency,
            show_progress="minimal",
            show_progress_on=[self.meter],
        )

    @staticmethod
    def gate(pending: dict[str, Any] | None) -> None:
        if not pending:
            raise gr.Error("nothing to run", visible=False, print_exception=False)

    # ==================================================================================== views

    def record(self, doc_id: str, user: str | None) -> dict[str, Any]:
        return document_record(self.studio.store, doc_id, user=user)

    def live(self, doc_id: str, user: str | None) -> LiveDoc:
        return LiveDoc.from_record(self.record(doc_id, user), running=self.studio.is_running(doc_id))

    def blank_view(self, message: str = "", level: str = "info", mode: str = "agentwrite") -> dict[Any, Any]:
        """No document: an unlocked request form (its values kept) and an empty page."""
        plan_mode = mode in PLAN_MODES
        out: dict[Any, Any] = {
            self.doc_box: "",
            self.pending: None,
            self.examples_col: gr.update(visible=True),
            self.new_btn: gr.update(visible=False),
            self.message: message_html(message, level),
            self.meter: meter_html(None),
            self.draft_btn: gr.update(visible=plan_mode, interactive=True),
            self.regen_plan_btn: gr.update(visible=False),
            self.write_btn: gr.update(value="Write", visible=True, interactive=True),
            self.stop_btn: gr.update(visible=False),
            self.plan_group: gr.update(visible=plan_mode, open=True),
            self.outline: gr.update(value="", visible=False),
            self.plan_table: gr.update(value=[], interactive=True),
            self.plan_total: "",
            self.reasoning_acc: gr.update(visible=False),
            self.reasoning: "",
            self.tools_row: gr.update(visible=False),
            self.editor_group: gr.update(visible=False),
            self.exports_row: gr.update(visible=False),
            self.follow: gr.Timer(active=False),
            self.keep_row: gr.update(visible=False),
            self.keep_state: None,
        }
        for comp in self.form:
            out[comp] = gr.update(interactive=True)
        for comp in self.sections:
            out[comp] = gr.update(value="", visible=False)
        return out

    def full_view(
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
        running = doc.running
        plan_mode = doc.mode in PLAN_MODES
        has_text = doc.has_text
        if message is None:
            message, level = self._rest_message(doc)
        out: dict[Any, Any] = {
            self.doc_box: doc.id,
            self.pending: None,
            self.examples_col: gr.update(visible=False),
            self.new_btn: gr.update(visible=True, interactive=not running),
            self.message: message_html(message, level),
            self.meter: meter_html(doc),
            self.draft_btn: gr.update(visible=plan_mode and not doc.plan, interactive=not running),
            self.regen_plan_btn: gr.update(
                visible=plan_mode and bool(doc.plan) and not has_text, interactive=not running
            ),
            self.write_btn: gr.update(
                value=self._write_label(doc), visible=doc.status != "done" or running, interactive=not running
            ),
            self.stop_btn: gr.update(visible=running, interactive=True),
            self.plan_group: gr.update(visible=plan_mode, open=not has_text or doc.status == "planned"),
            self.outline: gr.update(value="", visible=False),
            self.reasoning_acc: gr.update(visible=bool(doc.reasoning.strip())),
            self.reasoning: reasoning_html(doc.reasoning),
            self.editor_group: gr.update(visible=False),
            self.follow: gr.Timer(active=follow),
        }
        if table:
            rows = plan_rows(doc.plan)
            out[self.plan_table] = gr.update(value=rows, interactive=not running)
            out[self.plan_total] = plan_total_html(rows, doc.target_words) if rows else ""
        if form:
            out.update(self._form_values(doc))
        done = [s for s in doc.sections if s.status == "done"]
        out[self.tools_row] = gr.update(visible=bool(done) and not running)
        out[self.section_pick] = gr.update(
            choices=[
                (f"{s.index + 1}. {clip(s.main_point, 48)}" if plan_mode else "The document", s.index) for s in done
            ],
            value=done[-1].index if done else None,
        )
        out.update(self._sections(doc, all_=True))
        if has_text and not running and exports:
            paths = self._exports(doc.id, user)
            out[self.exports_row] = gr.update(visible=bool(paths))
            for fmt, button in self.downloads.items():
                out[button] = gr.update(value=paths.get(fmt))
        else:
            out[self.exports_row] = gr.update(visible=False)
        return out

    def running_view(self, doc: LiveDoc) -> dict[Any, Any]:
        """Controls while this page's run streams: only Stop is live."""
        out: dict[Any, Any] = {
            self.message: message_html(doc.message, doc.level),
            self.meter: meter_html(doc),
            self.draft_btn: gr.update(interactive=False),
            self.regen_plan_btn: gr.update(interactive=False),
            self.write_btn: gr.update(interactive=False),
            self.stop_btn: gr.update(visible=True, interactive=True),
            self.new_btn: gr.update(interactive=False),
            self.plan_table: gr.update(interactive=False),
            self.tools_row: gr.update(visible=False),
            self.editor_group: gr.update(visible=False),
            self.exports_row: gr.update(visible=False),
            self.follow: gr.Timer(active=False),
            self.keep_row: gr.update(visible=False),
            self.keep_state: None,
        }
        out.update(self._sections(doc, all_=True))
        return out

    def delta_view(self, doc: LiveDoc, plan_changed: bool) -> dict[Any, Any]:
        """Only what changed since the last update: the meter, touched sections, the outline."""
        out: dict[Any, Any] = {self.meter: meter_html(doc)}
        out.update(self._sections(doc, all_=False))
        if doc.plan_dirty:
            out[self.outline] = gr.update(value=outline_html(doc.plan_raw), visible=bool(doc.plan_raw))
            doc.plan_dirty = False
        if plan_changed:
            rows = plan_rows(doc.plan)
            out[self.plan_table] = gr.update(value=rows, interactive=False)
            out[self.plan_total] = plan_total_html(rows, doc.target_words)
            out[self.outline] = gr.update(value="", visible=False)
        if -1 in doc.dirty:
            doc.dirty.discard(-1)
            out[self.reasoning_acc] = gr.update(visible=True)
            out[self.reasoning] = reasoning_html(doc.reasoning)
        if doc.message:
            out[self.message] = message_html(doc.message, doc.level)
        return out

    def _sections(self, doc: LiveDoc, all_: bool) -> dict[Any, Any]:
        doc.recount()
        single = doc.mode not in PLAN_MODES
        indices = range(MAX_SECTIONS) if all_ else sorted(i for i in doc.dirty if i >= 0)
        out: dict[Any, Any] = {}
        for i in indices:
            if i >= MAX_SECTIONS:
                continue
            section = doc.sections[i] if i < len(doc.sections) else None
            shown = section is not None and (section.status != "pending" or bool(section.text.strip()))
            if shown:
                out[self.sections[i]] = gr.update(
                    value=section_html(section, len(doc.sections), single=single), visible=True
                )
            elif all_:
                out[self.sections[i]] = gr.update(value="", visible=False)
        doc.dirty = {i for i in doc.dirty if i < 0}
        return out

    def _form_values(self, doc: LiveDoc) -> dict[Any, Any]:
        record_params = self._params(doc.id)
        values = {
            self.instruction: doc.instruction,
            self.target: doc.target_words,
            self.mode: doc.mode,
            self.model: doc.model,
            self.preset: None,
            self.temperature: record_params.get("temperature"),
            self.top_p: record_params.get("top_p"),
            self.top_k: record_params.get("top_k"),
            self.repetition_penalty: record_params.get("repetition_penalty"),
            self.seed: record_params.get("seed"),
        }
        out: dict[Any, Any] = {}
        for comp, value in values.items():
            if comp is self.preset:
                out[comp] = gr.update(interactive=False)
            elif comp is self.model:
                out[comp] = gr.update(value=value, interactive=False, choices=self._model_choices(value))
            elif value is None and comp is not self.seed:
                out[comp] = gr.update(interactive=False)
            else:
                out[comp] = gr.update(value=value, interactive=False)
        return out

    def _model_choices(self, extra: str | None = None) -> list[tuple[str, str]]:
        ids = [m.id for m in self.studio.models()]
        if extra and extra not in ids:
            ids.append(extra)
        return [(i, i) for i in ids]

    def _params(self, doc_id: str) -> dict[str, Any]:
        doc = self.studio.store.get_document(doc_id)
        return dict(doc.params) if doc is not None else {}

    @staticmethod
    def _write_label(doc: LiveDoc) -> str:
        if doc.status == "failed":
            return "Retry"
        if doc.has_text or doc.status in ("stopped", "writing"):
            return "Continue"
        return "Write"

    @staticmethod
    def _rest_message(doc: LiveDoc) -> tuple[str, str]:
        if doc.running:
            return "This document is being written in another window; this page follows along.", "info"
        if doc.status == "failed":
            return (
                f"{doc.error or 'The run failed.'} The text written so far is kept — press Retry to go on.",
                "error",
            )
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

    def _exports(self, doc_id: str, user: str | None) -> dict[str, str]:
        """Fresh export files for the download buttons (small: written whenever the page settles)."""
        try:
            record = self.record(doc_id, user)
        except NotFound:
            return {}
        return {fmt: str(export_file(record, fmt)) for fmt in EXPORT_FORMATS}

    # ==================================================================================== handlers

    def load(self, doc_id: str, presets_store: Any, request: gr.Request) -> dict[Any, Any]:
        """Page load: reopen ``?doc=`` if given (and the user's), else an empty page."""
        user = current_user(request)
        out = self.blank_view()
        model = self.studio.spec().id
        name = presets.default_preset(model, presets_store)
        out[self.preset] = gr.update(choices=presets.preset_names(presets_store), value=name, interactive=True)
        if name != presets.MODEL_DEFAULT:
            out.update(self._sampling_updates(presets.values_for(name, self.studio.spec(model), presets_store)))
        doc_id = (doc_id or "").strip()
        if doc_id:
            out.update(self.open_view(doc_id, user))
        return out

    def open_view(self, doc_id: str, user: str | None) -> dict[Any, Any]:
        try:
            doc = self.live(doc_id, user)
        except NotFound:
            out = self.blank_view("That document does not exist (or belongs to someone else).", "warn")
            return out
        out = self.full_view(doc, user, follow=doc.running)
        out[self.keep_row], out[self.keep_state] = gr.update(visible=False), None  # a choice belongs to its run
        return out

    def new_document(self, mode: str) -> dict[Any, Any]:
        return self.blank_view(mode=mode)

    def on_mode(self, mode: str, doc_id: str) -> tuple[Any, Any]:
        if doc_id:
            return gr.skip(), gr.skip()
        plan_mode = mode in PLAN_MODES
        return gr.update(visible=plan_mode), gr.update(visible=plan_mode)

    def on_model(self, model: str, store: Any, doc_id: str) -> list[Any]:
        if doc_id:
            return [gr.skip()] * 5
        name = presets.default_preset(model, store)
        values = presets.values_for(name, self.studio.spec(model), store)
        return [gr.update(value=name), *self._sampling_list(values)]

    def on_preset(self, name: str, model: str, store: Any) -> list[Any]:
        return self._sampling_list(presets.values_for(name or presets.MODEL_DEFAULT, self.studio.spec(model), store))

    def on_save_preset(
        self,
        name: str,
        make_default: bool,
        model: str,
        temperature: float,
        top_p: float,
        top_k: float,
        repetition_penalty: float,
        store: Any,
    ) -> tuple[Any, Any, Any]:
        values = {
            "temperature": temperature,
            "top_p": top_p,
            "top_k": int(top_k or 0),
            "repetition_penalty": repetition_penalty,
        }
        try:
            store = presets.save_preset(store, name, values, model if make_default else None)
        except ValueError as exc:
            return gr.skip(), gr.skip(), message_html(str(exc), "warn")
        name = " ".join(name.split())
        note = f"Saved “{name}”" + (f" as the default for {model}." if make_default else ".")
        return store, gr.update(choices=presets.preset_names(store), value=name), message_html(note, "ok")

    def on_delete_preset(self, name: str, model: str, store: Any) -> list[Any]:
        try:
            store = presets.delete_preset(store, name)
        except ValueError as exc:
            return [gr.skip(), gr.skip(), message_html(str(exc), "warn"), *[gr.skip()] * 4]
        fallback = presets.default_preset(model, store)
        values = presets.values_for(fallback, self.studio.spec(model), store)
        return [
            store,
            gr.update(choices=presets.preset_names(store), value=fallback),
            message_html(f"Deleted “{name}”.", "ok"),
            *self._sampling_list(values),
        ]

    def _sampling_list(self, values: dict[str, Any]) -> list[Any]:
        return [values["temperature"], values["top_p"], values["top_k"], values["repetition_penalty"]]

    def _sampling_updates(self, values: dict[str, Any]) -> dict[Any, Any]:
        comps = [self.temperature, self.top_p, self.top_k, self.repetition_penalty]
        return dict(zip(comps, self._sampling_list(values)))

    # -- plan table -----------------------------------------------------------------------

    def on_table(self, rows: Any, doc_id: str, target: float | None, request: gr.Request) -> tuple[Any, Any]:
        """Running total and inline problems; a valid edit of an unwritten plan is saved at once.

        A plan with written sections is saved when Write is pressed (a changed main point starts that
        section over), so the Write button appears for a finished document whose plan was changed.
        """
        rows = clean_rows(rows)
        user = current_user(request)
        doc = self.studio.store.get_document(doc_id, user=user) if doc_id else None
        goal = doc.target_words if doc is not None else (int(target) if target else None)
        if not rows and not (doc is not None and doc.plan):
            return "", gr.skip()
        html_total = plan_total_html(rows, goal)
        if doc is None or doc.plan is None or self.studio.is_running(doc.id):
            return html_total, gr.skip()
        try:
            plan = validate_rows([(p, w) for p, w in rows])
        except PlanError:
            return html_total, gr.skip()
        if plan.model_dump()["sections"] == doc.plan:
            return html_total, gr.skip()
        if not any(s.text.strip() for s in self.studio.store.sections(doc.id)):
            try:
                self.studio.set_plan(doc.id, plan)
            except (StudioError, NotFound):
                pass
            return html_total, gr.skip()
        return html_total, gr.update(visible=True, value="Write plan changes", interactive=True)

    @staticmethod
    def on_table_select(evt: gr.SelectData) -> Any:
        index = evt.index
        row = index[0] if isinstance(index, (list, tuple)) else index
        return gr.update(value=int(row) + 1) if isinstance(row, int) else gr.skip()

    def _row_op(self, op: str):
        """Add (below the chosen row), delete, or move the chosen row; ``row`` is 1-based."""

        def handler(rows: Any, row: float | None) -> tuple[Any, Any, Any]:
            rows = clean_rows(rows)
            n = len(rows)
            i = int(row) - 1 if row else n - 1
            if op == "add":
                if n >= MAX_SECTIONS:
                    return (
                        gr.skip(),
                        gr.skip(),
                        _bad(f"A plan has at most {MAX_SECTIONS} sections; merge some before adding more."),
                    )
                known = [int(w) for _, w in rows if str(w).strip().isdigit()]
                words = round(sum(known) / len(known)) if known else 300
                at = min(max(i + 1, 0), n)
                rows.insert(at, ["", words])
                return rows, at + 1, gr.skip()
            if not 0 <= i < n:
                return (
                    gr.skip(),
                    gr.update(value=max(1, n)),
                    _bad(f"There is no row {i + 1}; the plan has {n} row{'s' if n != 1 else ''}."),
                )
            if op == "delete":
                del rows[i]
                return rows, max(1, min(i + 1, len(rows))), gr.skip()
            j = i - 1 if op == "up" else i + 1
            if not 0 <= j < n:
                return gr.skip(), gr.skip(), gr.skip()
            rows[i], rows[j] = rows[j], rows[i]
            return rows, j + 1, gr.skip()

        return handler

    def on_rebalance(self, rows: Any, doc_id: str, target: float | None, request: gr.Request) -> tuple[Any, Any]:
        rows = clean_rows(rows)
        doc = self.studio.store.get_document(doc_id, user=current_user(request)) if doc_id else None
        goal = doc.target_words if doc is not None else int(target or 0)
        try:
            plan = validate_rows([(p, w) for p, w in rows])
            if goal < 100:
                raise PlanError("Set a target of at least 100 words first.")
            plan = normalize_budget(plan, goal)
        except PlanError as exc:
            return gr.skip(), _bad(str(exc))
        rows = plan_rows(plan.model_dump()["sections"])
        return rows, plan_total_html(rows, goal)

    # -- runs -------------------------------------------------------------------------------

    def _refuse(self, message: str, level: str = "warn") -> dict[Any, Any]:
        return {self.pending: None, self.message: message_html(message, level)}

    def _create(
        self,
        instruction: str,
        target: float | None,
        mode: str,
        model: str,
        sampling: list[Any],
        user: str | None,
        plan: Plan | None = None,
    ) -> str:
        temperature, top_p, top_k, repetition_penalty, seed = sampling
        params = {
            "temperature": temperature,
            "top_p": top_p,
            "top_k": None if top_k is None else int(top_k),
            "repetition_penalty": repetition_penalty,
            "seed": None if seed in (None, "") else int(seed),
        }
        try:
            words = int(target) if target is not None else 0
        except (TypeError, ValueError):
            words = 0
        doc = self.studio.create(
            instruction or "",
            words,
            mode=mode,
            model=model or None,  # type: ignore[arg-type]
            sampling=params,
            plan=plan,
            user=user,
        )
        return doc.id

    def _starting(self, doc_id: str, action: str, user: str | None, **extra: Any) -> dict[Any, Any]:
        """Locked form and URL for ``doc_id``, and the pending action the stream step will run."""
        self._cancelled.discard(doc_id)
        self._queued.add(doc_id)
        doc = self.live(doc_id, user)
        out = self.full_view(doc, user, message="Waiting for the model…", table=False, exports=False)
        out.update(self.running_view(doc))
        out[self.pending] = {"doc": doc_id, "action": action, **extra}
        out[self.message] = message_html("Waiting for the model…", "info")
        return out

    def prepare_plan(
        self,
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
        request: gr.Request,
    ) -> dict[Any, Any]:
        user = current_user(request)
        sampling = [temperature, top_p, top_k, repetition_penalty, seed]
        if doc_id:
            try:
                doc = self.studio.document(doc_id, user)
            except NotFound:
                return self._refuse("That document no longer exists; start a new one.")
            if self.studio.is_running(doc_id):
                return self._refuse("This document is being written right now; stop it first.")
            if any(s.text.strip() for s in self.studio.store.sections(doc_id)):
                return self._refuse(
                    "This document already has text, so its plan stays. To plan it afresh, use "
                    "Library → Duplicate with new plan."
                )
            if doc.mode not in PLAN_MODES:
                return self._refuse("Single-pass and think modes write without a plan.")
        else:
            if mode not in PLAN_MODES:
                return self._refuse("Single-pass and think modes write without a plan: press Write.")
            try:
                doc_id = self._create(instruction, target, mode, model, sampling, user)
            except StudioError as exc:
                return self._refuse(str(exc))
        return self._starting(doc_id, "plan", user)

    def prepare_write(
        self,
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
        sampling = [temperature, top_p, top_k, repetition_penalty, seed]
        if not doc_id:
            plan = None
            if rows and mode in PLAN_MODES:
                try:
                    plan = validate_rows([(p, w) for p, w in rows])
                except PlanError as exc:
                    return self._refuse(f"The plan cannot be written yet: {exc}")
            try:
                doc_id = self._create(instruction, target, mode, model, sampling, user, plan=plan)
            except StudioError as exc:
                return self._refuse(str(exc))
            return self._starting(doc_id, "write", user)
        try:
            doc = self.studio.document(doc_id, user)
        except NotFound:
            return self._refuse("That document no longer exists; start a new one.")
        if self.studio.is_running(doc_id):
            return self._refuse("This document is being written right now (in another window?).")
        if doc.mode in PLAN_MODES and doc.plan is not None:
            try:
                plan = validate_rows([(p, w) for p, w in rows])
            except PlanError as exc:
                return self._refuse(f"The plan cannot be written yet: {exc}")
            if plan.model_dump()["sections"] != doc.plan:
                try:
                    self.studio.set_plan(doc_id, plan)
                except StudioError as exc:
                    return self._refuse(str(exc))
        return self._starting(doc_id, "write", user)

    def prepare_resume(self, doc_id: str, request: gr.Request) -> dict[Any, Any]:
        """Continue a stored document from its last section (the Library's Resume)."""
        user = current_user(request)
        try:
            self.studio.document(doc_id, user)
        except NotFound:
            return self._refuse("That document no longer exists.")
        if self.studio.is_running(doc_id):
            return self._refuse("This document is being written right now (in another window?).")
        return self._starting(doc_id, "write", user)

    def _check_section(self, doc_id: str, index: Any, user: str | None) -> str | None:
        if not doc_id:
            return "Open or write a document first."
        try:
            self.studio.document(doc_id, user)
        except NotFound:
            return "That document no longer exists."
        if self.studio.is_running(doc_id):
            return "This document is being written right now; stop it first."
        sections = self.studio.store.sections(doc_id)
        if index is None or not 0 <= int(index) < len(sections):
            return "Choose a section first."
        if sections[int(index)].status != "done":
            return "Only finished sections can be revised; Continue the document first."
        return None

    def prepare_regenerate(self, doc_id: str, index: Any, request: gr.Request) -> dict[Any, Any]:
        user = current_user(request)
        if problem := self._check_section(doc_id, index, user):
            return self._refuse(problem)
        previous = self.studio.store.sections(doc_id)[int(index)].text
        return self._starting(doc_id, "regenerate", user, index=int(index), previous=previous)

    def prepare_continue(self, doc_id: str, index: Any, extra: float | None, request: gr.Request) -> dict[Any, Any]:
        user = current_user(request)
        if problem := self._check_section(doc_id, index, user):
            return self._refuse(problem)
        words = int(extra or 200)
        if not 20 <= words <= 5000:
            return self._refuse("Continue by 20 to 5,000 words.")
        return self._starting(doc_id, "continue", user, index=int(index), extra=words)

    def events_for(self, pending: dict[str, Any]) -> AsyncIterator[Any]:
        doc_id, action = pending["doc"], pending["action"]
        if action == "plan":
            return self.studio.plan(doc_id)
        if action == "write":
            return self.studio.write(doc_id)
        if action == "regenerate":
            return self.studio.regenerate_section(doc_id, pending["index"])
        if action == "continue":
            return self.studio.continue_section(doc_id, pending["index"], pending["extra"])
        raise ValueError(f"unknown action {action!r}")

    async def stream(self, pending: dict[str, Any] | None, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        """Run the pending action and stream the page: a few batched updates per second."""
        if not pending:
            yield {}
            return
        user = current_user(request)
        doc_id = pending["doc"]
        self._queued.discard(doc_id)
        try:
            doc = self.live(doc_id, user)
        except NotFound:
            yield self.blank_view("That document no longer exists.", "warn")
            return
        if doc_id in self._cancelled:
            self._cancelled.discard(doc_id)
            yield self.full_view(doc, user, message="Stopped before it started.", form=False)
            return
        try:
            events = self.events_for(pending)
        except (StudioError, NotFound) as exc:
            yield self.full_view(doc, user, message=str(exc), level="warn", form=False)
            return
        doc.start_run()
        if pending["action"] == "plan":
            doc.plan_raw, doc.plan_dirty = "", True
        first = self.running_view(doc)
        if pending["action"] != "plan":
            first[self.plan_group] = gr.update(open=False)
        yield first
        try:
            async for batch in throttled(events, lambda: self._interval_for(doc), urgent=_urgent):
                plan_changed = False
                for event in batch:
                    doc.apply(event)
                    plan_changed |= isinstance(event, PlanReady)
                yield self.delta_view(doc, plan_changed)
        except Exception as exc:
            log.exception("run of %s failed", doc_id)
            doc.message, doc.level = (
                (f"Something went wrong: {exc}. The text written so far is kept; press Retry to go on."),
                "error",
            )
        final = self.live(doc_id, user)
        message, level = (doc.message, doc.level) if doc.message else (None, "info")
        if doc.level == "error":
            message = f"{doc.message} The text written so far is kept — press Retry to go on."
        if pending["action"] == "plan" and final.status == "planned" and doc.level != "warn":
            message, level = "Plan ready. Edit any cell, add or move rows, then Write.", "ok"
        out = self.full_view(final, user, message=message, level=level, form=False)
        if keep := self._keep_offer(final, pending):
            out[self.keep_row] = gr.update(visible=True)
            out[self.keep_state] = keep
            if doc.level not in ("warn", "error"):
                out[self.message] = message_html(
                    f"Section {keep['index'] + 1} rewritten. Keep the new version, or go back to the previous one?",
                    "info",
                )
        yield out

    @staticmethod
    def _keep_offer(final: LiveDoc, pending: dict[str, Any]) -> dict[str, Any] | None:
        """After a finished regenerate that changed the section: what the keep buttons will choose between."""
        if pending.get("action") != "regenerate" or final.running:
            return None
        index, previous = pending["index"], pending.get("previous") or ""
        section = next((s for s in final.sections if s.index == index), None)
        if section is None or section.status != "done" or not previous.strip():
            return None
        if section.text.strip() == previous.strip():
            return None
        return {"doc": final.id, "index": index, "previous": previous}

    def _interval_for(self, doc: LiveDoc) -> float:
        """Seconds between updates: a few per second, slower while one very long section streams
        (a single-pass 20,000-word text is one component the browser re-renders on each update)."""
        current = doc.sections[doc.current] if doc.current is not None and doc.current < len(doc.sections) else None
        size = len(current.text) if current is not None else 0
        return self.interval + min(1.5, size / 100_000)

    async def on_stop(self, doc_id: str, request: gr.Request) -> tuple[Any, Any]:
        """Stop this document's run for real: the backend request is aborted, the text kept.

        Async on purpose: the studio's stop switch is an asyncio.Event, set here on the server's loop.
        """
        if not doc_id:
            return gr.skip(), gr.skip()
        try:
            self.studio.document(doc_id, current_user(request))
        except NotFound:
            return message_html("That document does not exist.", "warn"), gr.skip()
        if self.studio.stop(doc_id):
            return message_html("Stopping…", "info"), gr.update(interactive=False)
        if doc_id in self._queued:
            self._cancelled.add(doc_id)
            return message_html("Cancelled before it started.", "info"), gr.update(interactive=False)
        return gr.skip(), gr.update(visible=False)

    def open_editor(self, doc_id: str, index: Any, request: gr.Request) -> tuple[Any, Any, Any, Any]:
        user = current_user(request)
        if problem := self._check_section(doc_id, index, user):
            return gr.skip(), gr.skip(), None, message_html(problem, "warn")
        text = self.studio.store.sections(doc_id)[int(index)].text
        return (
            gr.update(visible=True),
            text,
            int(index),
            message_html(
                f"Editing section {int(index) + 1}. Your edit replaces the text; the model's version stays on record.",
                "info",
            ),
        )

    def on_save_edit(
        self, doc_id: str, index: Any, text: str, keep: dict[str, Any] | None, request: gr.Request
    ) -> dict[Any, Any]:
        """Save the user's text; an edit that changes enough words is kept as a preference pair."""
        user = current_user(request)
        if problem := self._check_section(doc_id, index, user):
            return {self.message: message_html(problem, "warn")}
        if not (text or "").strip():
            return {self.message: message_html("The section cannot be empty; Cancel to keep it as it was.", "warn")}
        try:
            self.studio.edit_section(doc_id, int(index), text)
        except (StudioError, NotFound) as exc:
            return {self.message: message_html(str(exc), "warn")}
        message, level = f"Section {int(index) + 1} saved.", "ok"
        try:
            record_edit(self.studio.store, self.studio.settings, doc_id, int(index), text, user)
        except (PreferenceError, NotFound) as exc:
            message, level = f"{message} (Not kept as a preference: {exc})", "warn"
        doc = self.live(doc_id, user)
        out = self.full_view(doc, user, message=message, level=level, form=False, table=False)
        if keep and keep.get("doc") == doc_id and keep.get("index") == int(index):
            # The regenerated version was edited: there is no longer a plain choice between the two.
            out[self.keep_row] = gr.update(visible=False)
            out[self.keep_state] = None
        return out

    def _keep(self, choice: str):
        """The "Keep new" / "Keep previous" buttons shown after a section is regenerated."""

        def handler(doc_id: str, keep: dict[str, Any] | None, request: gr.Request) -> dict[Any, Any]:
            user = current_user(request)
            hide = {self.keep_row: gr.update(visible=False), self.keep_state: None}
            if not keep or not doc_id or keep.get("doc") != doc_id:
                return {**hide, self.message: message_html("There is no regenerated section to choose for.", "warn")}
            index = int(keep["index"])
            try:
                self.studio.document(doc_id, user)
                if self.studio.is_running(doc_id):
                    return {
                        self.message: message_html(
                            "This document is being written right now; choose when it stops.", "warn"
                        )
                    }
                keep_section_version(
                    self.studio,
                    doc_id,
                    index,
                    choice,  # type: ignore[arg-type]
                    keep["previous"],
                    user,
                )
            except (PreferenceError, StudioError, NotFound) as exc:
                return {**hide, self.message: message_html(str(exc), "warn")}
            which = "new" if choice == "new" else "previous"
            doc = self.live(doc_id, user)
            out = self.full_view(
                doc,
                user,
                message=f"Kept the {which} version of section {index + 1}.",
                level="ok",
                form=False,
                table=False,
            )
            out.update(hide)
            return out

        return handler

    def _thumb(self, label: bool, scope: str):
        """Thumbs up or down on the chosen finished section, or on the whole document."""

        def handler(doc_id: str, index: Any, reason: str, request: gr.Request) -> tuple[Any, Any]:
            user = current_user(request)
            if scope == "section":
                if problem := self._check_section(doc_id, index, user):
                    return message_html(problem, "warn"), gr.skip()
            else:
                if not doc_id:
                    return message_html("Open or write a document first.", "warn"), gr.skip()
                try:
                    self.studio.document(doc_id, user)
                except NotFound:
                    return message_html("That document no longer exists.", "warn"), gr.skip()
                if self.studio.is_running(doc_id):
                    return message_html(
                        "This document is being written right now; rate it when it stops.", "warn"
                    ), gr.skip()
            at = int(index) if scope == "section" else None
            try:
                record_thumb(
                    self.studio.store, doc_id, label, index=at, reason=(reason or "").strip() or None, user=user
                )
            except (PreferenceError, NotFound) as exc:
                return message_html(str(exc), "warn"), gr.skip()
            what = f"section {at + 1}" if at is not None else "the document"
            return message_html(f"Thanks — {what} rated {'good' if label else 'bad'}; recorded.", "ok"), ""

        return handler

    def on_follow(self, doc_id: str, request: gr.Request) -> dict[Any, Any]:
        """While another session writes this document, refresh from the store (checkpoints every ~2 s)."""
        if not doc_id:
            return {self.follow: gr.Timer(active=False)}
        user = current_user(request)
        try:
            doc = self.live(doc_id, user)
        except NotFound:
            return {self.follow: gr.Timer(active=False)}
        return self.full_view(doc, user, follow=doc.running, form=False, table=not doc.running)
