"""The Library tab: every document of the current user, searchable, with open, resume, duplicate,
delete and exports.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from longwriter.rules import PLAN_MODES
from longwriter.store import NotFound
from longwriter.studio import Studio, StudioError
from longwriter.text import clip
from ui.common import current_user
from ui.view import doc_status_label, message_html
from ui.write import WriteTab

HEADERS = ["Instruction", "Created", "Model", "Words", "S_l", "Status"]


class LibraryTab:
    def __init__(self, studio: Studio, write: WriteTab) -> None:
        self.studio = studio
        self.write = write

    def rows(self, user: str | None, search: str | None) -> tuple[list[list[Any]], list[str]]:
        rows, ids = [], []
        for d in self.studio.documents(user, search):
            rows.append(
                [
                    clip(d.instruction, 90),
                    d.created_at.strftime("%Y-%m-%d %H:%M"),
                    d.model,
                    f"{d.words:,} / {d.target_words:,}",
                    "" if d.length_score is None else f"{d.length_score:.0f}",
                    doc_status_label(d.status, self.studio.is_running(d.id)),
                ]
            )
            ids.append(d.id)
        return rows, ids

    def build(self, tabs: gr.Tabs, write_tab_id: str = "write") -> gr.Tab:
        self.tabs, self.write_tab_id = tabs, write_tab_id
        with gr.Tab("Library", id="library", elem_id="lw-library-tab") as tab:
            with gr.Row(equal_height=True):
                self.search = gr.Textbox(
                    show_label=False,
                    placeholder="Search the instructions and the text…",
                    scale=6,
                    elem_id="lw-search",
                    submit_btn=True,
                    container=False,
                )
                self.refresh = gr.Button("Refresh", scale=1, min_width=100, elem_id="lw-refresh")
            self.ids = gr.State([])
            self.selected = gr.Textbox(visible=False, elem_id="lw-selected")
            self.table = gr.Dataframe(
                headers=HEADERS,
                datatype=["str"] * len(HEADERS),
                type="array",
                value=[],
                interactive=False,
                wrap=True,
                elem_id="lw-library-table",
                max_height=520,
                column_widths=["46%", "13%", "13%", "12%", "6%", "10%"],
                label="Documents — click a row",
            )
            self.details = gr.HTML(elem_id="lw-library-details", js_on_load=None)
            with gr.Row(visible=False) as self.actions:
                self.open_btn = gr.Button("Open", variant="primary", size="sm", elem_id="lw-open")
                self.resume_btn = gr.Button("Resume", size="sm", elem_id="lw-resume")
                self.duplicate_btn = gr.Button("Duplicate with new plan", size="sm", elem_id="lw-duplicate")
                self.delete_btn = gr.Button("Delete…", variant="stop", size="sm", elem_id="lw-delete")
            with gr.Row(visible=False, elem_classes="lw-confirm") as self.confirm_row:
                self.confirm_text = gr.HTML(js_on_load=None)
                self.confirm_yes = gr.Button("Yes, delete it", variant="stop", size="sm", elem_id="lw-delete-yes")
                self.confirm_no = gr.Button("Cancel", size="sm")
            with gr.Row(visible=False, elem_classes="lw-exports") as self.exports_row:
                self.downloads = {
                    fmt: gr.DownloadButton(label, size="sm", elem_id=f"lw-library-download-{fmt}")
                    for fmt, label in (("markdown", "⬇ Markdown"), ("html", "⬇ HTML"), ("docx", "⬇ DOCX"))
                }
        self._wire(tab)
        return tab

    # ------------------------------------------------------------------------------------

    def _wire(self, tab: gr.Tab) -> None:
        light: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": None}
        listing = [self.table, self.ids, self.selected, self.details, self.actions, self.confirm_row, self.exports_row]
        tab.select(self.refresh_list, [self.search], listing, **light)
        self.search.submit(self.refresh_list, [self.search], listing, **light)
        self.refresh.click(self.refresh_list, [self.search], listing, **light)
        self.table.select(
            self.on_select,
            [self.ids],
            [self.selected, self.details, self.actions, self.confirm_row, self.exports_row, *self.downloads.values()],
            **light,
        )
        write = self.write
        self.open_btn.click(self.open_doc, [self.selected], [*write.outputs, self.tabs], **light)
        write.runs.chain(self.resume_btn.click(self.resume_doc, [self.selected], [*write.outputs, self.tabs], **light))
        write.runs.chain(
            self.duplicate_btn.click(
                self.duplicate_doc, [self.selected, self.search], [*write.outputs, self.tabs, *listing], **light
            )
        )
        self.delete_btn.click(self.ask_delete, [self.selected], [self.confirm_row, self.confirm_text], **light)
        self.confirm_no.click(lambda: gr.update(visible=False), None, [self.confirm_row], **light)
        self.confirm_yes.click(self.delete_doc, [self.selected, self.search], listing, **light)

    def refresh_list(self, search: str, request: gr.Request) -> tuple[Any, ...]:
        rows, ids = self.rows(current_user(request), search)
        empty = (
            "<p class='lw-dim'>No documents yet: write one in the Write tab.</p>"
            if not rows and not search
            else ("<p class='lw-dim'>Nothing matches that search.</p>" if not rows else "")
        )
        hidden = gr.update(visible=False)
        return rows, ids, "", empty, hidden, hidden, hidden

    def on_select(self, ids: list[str], evt: gr.SelectData, request: gr.Request) -> tuple[Any, ...]:
        index = evt.index
        row = index[0] if isinstance(index, (list, tuple)) else index
        hidden = gr.update(visible=False)
        if not isinstance(row, int) or not 0 <= row < len(ids):
            return ("", "", hidden, hidden, hidden, *[gr.skip()] * 3)
        doc_id = ids[row]
        user = current_user(request)
        try:
            record = self.studio.record(doc_id, user)
        except NotFound as exc:
            return (
                "",
                message_html(str(exc), "warn"),
                hidden,
                hidden,
                hidden,
                *[gr.skip()] * 3,
            )
        running = self.studio.is_running(doc_id)
        status = doc_status_label(record["status"], running)
        details = (
            f'<div class="lw-details"><div class="lw-details-instruction">{html.escape(record["instruction"])}</div>'
            f'<div class="lw-dim">{html.escape(status)} · {record["words"]:,} of {record["target_words"]:,} words · '
            f"S<sub>l</sub> {record['length_score']:.0f} · {html.escape(record['mode'])} · "
            f"{html.escape(record['model'])} · {len(record['sections'])} sections · #{doc_id[:8]}</div>"
            + (f'<div class="lw-msg lw-msg-error">{html.escape(record["error"])}</div>' if record.get("error") else "")
            + "</div>"
        )
        paths = self.write.views.exports(doc_id, user) if record["text"].strip() else {}
        return (
            doc_id,
            details,
            gr.update(visible=True),
            hidden,
            gr.update(visible=bool(paths)),
            *[gr.update(value=paths.get(fmt)) for fmt in self.downloads],
        )

    def open_doc(self, doc_id: str, request: gr.Request) -> dict[Any, Any]:
        if not doc_id:
            return {}
        out = self.write.open_view(doc_id, current_user(request))
        out[self.tabs] = gr.Tabs(selected=self.write_tab_id)
        return out

    def resume_doc(self, doc_id: str, request: gr.Request) -> dict[Any, Any]:
        if not doc_id:
            return {self.write.pending: None}
        user = current_user(request)
        out = self.write.open_view(doc_id, user)
        out.update(self.write.runs.prepare_resume(doc_id, request))
        out[self.tabs] = gr.Tabs(selected=self.write_tab_id)
        return out

    def duplicate_doc(self, doc_id: str, search: str, request: gr.Request) -> dict[Any, Any]:
        """A copy with the same request and settings, opened in the Write tab with a fresh plan drafting."""
        if not doc_id:
            return {self.write.pending: None}
        user = current_user(request)
        try:
            copy = self.studio.duplicate(doc_id, user)
        except NotFound as exc:
            return {self.write.pending: None, self.details: message_html(str(exc), "warn")}
        out = self.write.open_view(copy.id, user)
        if copy.mode in PLAN_MODES:
            out.update(self.write.runs.starting(copy.id, "plan", user))
        else:
            out[self.write.pending] = None
            out[self.write.message] = message_html("A copy with the same request: press Write.", "info")
        out[self.tabs] = gr.Tabs(selected=self.write_tab_id)
        rows, ids = self.rows(user, search)
        out.update(
            {
                self.table: rows,
                self.ids: ids,
                self.selected: "",
                self.details: "",
                self.actions: gr.update(visible=False),
                self.confirm_row: gr.update(visible=False),
                self.exports_row: gr.update(visible=False),
            }
        )
        return out

    def ask_delete(self, doc_id: str, request: gr.Request) -> tuple[Any, Any]:
        if not doc_id:
            return gr.skip(), gr.skip()
        try:
            doc = self.studio.document(doc_id, current_user(request))
        except NotFound:
            return gr.update(visible=False), gr.skip()
        text = f"Delete “{html.escape(clip(doc.instruction, 60))}” and all its sections? This cannot be undone."
        return gr.update(visible=True), f'<div class="lw-msg lw-msg-warn">{text}</div>'

    def delete_doc(self, doc_id: str, search: str, request: gr.Request) -> tuple[Any, ...]:
        user = current_user(request)
        note = ""
        if doc_id:
            try:
                deleted = self.studio.delete(doc_id, user)
                note = message_html(
                    "Deleted." if deleted else "That document no longer exists.", "ok" if deleted else "warn"
                )
            except StudioError as exc:
                note = message_html(str(exc), "warn")
        rows, ids = self.rows(user, search)
        hidden = gr.update(visible=False)
        return rows, ids, "", note, hidden, hidden, hidden
