"""The Write tab's revisions of a finished section: regenerate, continue, edit by hand, keep the new
or the previous version after a regenerate, and thumbs on a section or the whole document.

Every button asks the studio, which decides whether the section may be revised now and what becomes
a preference (a substantial edit, the version kept, a thumb); this module only shows its answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gradio as gr

from longwriter.rules import CHOOSE_SECTION, EXTRA_WORDS, PLAN_MODES, Action, check_extra_words
from longwriter.store import NotFound
from longwriter.studio import StudioError
from longwriter.text import clip
from ui.common import ASSETS, current_user
from ui.view import LiveDoc, message_html

if TYPE_CHECKING:
    from ui.write.tab import WriteTab

NO_DOCUMENT = "Open or write a document first."


class ReviseTools:
    """Section tools, the keep choice after a regenerate, and the section editor."""

    def __init__(self, tab: WriteTab) -> None:
        self.tab = tab
        self.studio = tab.studio

    def build_tools(self) -> None:
        with gr.Group(visible=False, elem_classes="lw-tools") as self.tools_row:
            with gr.Row(equal_height=True):
                self.section_pick = gr.Dropdown(
                    label="Revise a finished section", choices=[], scale=4, min_width=200, elem_id="lw-section-pick"
                )
                self.extra_words = gr.Number(
                    label="Continue by (words)",
                    value=200,
                    precision=0,
                    minimum=EXTRA_WORDS[0],
                    maximum=EXTRA_WORDS[1],
                    scale=1,
                    min_width=110,
                )
            with gr.Row():
                self.regenerate = gr.Button("↻ Regenerate section", size="sm", elem_id="lw-regen-section")
                self.continue_ = gr.Button("+ Continue section", size="sm", elem_id="lw-continue-section")
                self.edit = gr.Button("✎ Edit section", size="sm", elem_id="lw-edit-section")
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
                thumb: dict[str, Any] = {"size": "sm", "scale": 0}
                self.thumbs = [
                    (
                        gr.Button("Good section", icon=up, min_width=135, elem_id="lw-thumb-section-up", **thumb),
                        True,
                        1,
                    ),
                    (
                        gr.Button("Bad section", icon=down, min_width=135, elem_id="lw-thumb-section-down", **thumb),
                        False,
                        1,
                    ),
                    (gr.Button("Good document", icon=up, min_width=150, elem_id="lw-thumb-doc-up", **thumb), True, 0),
                    (
                        gr.Button("Bad document", icon=down, min_width=150, elem_id="lw-thumb-doc-down", **thumb),
                        False,
                        0,
                    ),
                ]
        # After a section is regenerated: which version stays (recorded as a preference pair).
        self.keep_state = gr.State(None)
        with gr.Row(visible=False, elem_classes="lw-keep", elem_id="lw-keep") as self.keep_row:
            self.keep_new = gr.Button("Keep new", variant="primary", size="sm", elem_id="lw-keep-new")
            self.keep_previous = gr.Button("Keep previous", size="sm", elem_id="lw-keep-previous")
        with gr.Group(visible=False) as self.editor_group:
            self.editor = gr.Textbox(label="Edit section (Markdown)", lines=12, max_lines=40, elem_id="lw-editor")
            self.edit_index = gr.State(None)
            with gr.Row():
                self.save_edit = gr.Button("Save edit", variant="primary", size="sm", elem_id="lw-save-edit")
                self.cancel_edit = gr.Button("Cancel", size="sm")

    def wire(self) -> None:
        tab = self.tab
        light: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": None}
        tab.runs.chain(
            self.regenerate.click(self.prepare_regenerate, [tab.doc_box, self.section_pick], tab.outputs, **light)
        )
        tab.runs.chain(
            self.continue_.click(
                self.prepare_continue, [tab.doc_box, self.section_pick, self.extra_words], tab.outputs, **light
            )
        )
        self.edit.click(
            self.open_editor,
            [tab.doc_box, self.section_pick],
            [self.editor_group, self.editor, self.edit_index, tab.message],
            **light,
        )
        self.cancel_edit.click(
            lambda: (gr.update(visible=False), None), None, [self.editor_group, self.edit_index], **light
        )
        self.save_edit.click(
            self.on_save_edit, [tab.doc_box, self.edit_index, self.editor, self.keep_state], tab.outputs, **light
        )
        self.keep_new.click(self.keep("new"), [tab.doc_box, self.keep_state], tab.outputs, **light)
        self.keep_previous.click(self.keep("previous"), [tab.doc_box, self.keep_state], tab.outputs, **light)
        for button, good, on_section in self.thumbs:
            button.click(
                self.thumb(good, bool(on_section)),
                [tab.doc_box, self.section_pick, self.thumb_reason],
                [tab.message, self.thumb_reason],
                **light,
            )

    # -- views ------------------------------------------------------------------------------

    def hidden(self) -> dict[Any, Any]:
        """Nothing to revise: no document, or a run is streaming (a choice belongs to its run)."""
        return {
            self.tools_row: gr.update(visible=False),
            self.editor_group: gr.update(visible=False),
            self.keep_row: gr.update(visible=False),
            self.keep_state: None,
        }

    def rest(self, doc: LiveDoc) -> dict[Any, Any]:
        """The tools for ``doc`` at rest: its finished sections to choose from."""
        done = [s for s in doc.sections if s.status == "done"]
        plan_mode = doc.mode in PLAN_MODES
        return {
            self.tools_row: gr.update(visible=bool(done) and not doc.running),
            self.section_pick: gr.update(
                choices=[
                    (f"{s.index + 1}. {clip(s.main_point, 48)}" if plan_mode else "The document", s.index) for s in done
                ],
                value=done[-1].index if done else None,
            ),
            self.editor_group: gr.update(visible=False),
        }

    @staticmethod
    def keep_offer(final: LiveDoc, pending: dict[str, Any]) -> dict[str, Any] | None:
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

    def offer(self, keep: dict[str, Any], quiet: bool) -> dict[Any, Any]:
        """Show the keep buttons for ``keep`` (and say so, unless a warning is showing)."""
        out: dict[Any, Any] = {self.keep_row: gr.update(visible=True), self.keep_state: keep}
        if not quiet:
            out[self.tab.message] = message_html(
                f"Section {keep['index'] + 1} rewritten. Keep the new version, or go back to the previous one?", "info"
            )
        return out

    # -- handlers ---------------------------------------------------------------------------

    def _finished_section(self, action: Action, doc_id: str, index: Any, user: str | None) -> tuple[int, str]:
        """Section ``index`` and its text when the studio allows ``action`` on it; its refusal otherwise."""
        if not doc_id:
            raise StudioError(NO_DOCUMENT)
        at = None if index is None else int(index)
        self.studio.check(action, doc_id, user, at)
        assert at is not None  # the studio refuses an action on no section
        return at, self.studio.sections(doc_id, user)[at].text

    def prepare_regenerate(self, doc_id: str, index: Any, request: gr.Request) -> dict[Any, Any]:
        user = current_user(request)
        try:
            at, previous = self._finished_section("regenerate", doc_id, index, user)
        except (StudioError, NotFound) as exc:
            return self.tab.runs.refuse(str(exc))
        return self.tab.runs.starting(doc_id, "regenerate", user, index=at, previous=previous)

    def prepare_continue(self, doc_id: str, index: Any, extra: float | None, request: gr.Request) -> dict[Any, Any]:
        user = current_user(request)
        words = int(extra or 200)
        try:
            at, _ = self._finished_section("continue", doc_id, index, user)
            check_extra_words(words)
        except (StudioError, NotFound) as exc:
            return self.tab.runs.refuse(str(exc))
        return self.tab.runs.starting(doc_id, "continue", user, index=at, extra=words)

    def open_editor(self, doc_id: str, index: Any, request: gr.Request) -> tuple[Any, Any, Any, Any]:
        try:
            at, text = self._finished_section("edit", doc_id, index, current_user(request))
        except (StudioError, NotFound) as exc:
            return gr.skip(), gr.skip(), None, message_html(str(exc), "warn")
        note = f"Editing section {at + 1}. Your edit replaces the text; the model's version stays on record."
        return gr.update(visible=True), text, at, message_html(note, "info")

    def on_save_edit(
        self, doc_id: str, index: Any, text: str, keep: dict[str, Any] | None, request: gr.Request
    ) -> dict[Any, Any]:
        """Save the user's text; the studio keeps an edit that changes enough words as a preference pair."""
        user = current_user(request)
        try:
            at, _ = self._finished_section("edit", doc_id, index, user)
            pair = self.studio.edit_section(doc_id, at, text, user)
        except (StudioError, NotFound) as exc:
            return {self.tab.message: message_html(str(exc), "warn")}
        message = f"Section {at + 1} saved."
        if pair is not None:
            message += " Kept as a preference: your text over the model's."
        out = self.tab.views.rest(
            self.tab.live(doc_id, user), user, message=message, level="ok", form=False, table=False
        )
        if keep and keep.get("doc") == doc_id and keep.get("index") == at:
            # The regenerated version was edited: there is no longer a plain choice between the two.
            out[self.keep_row], out[self.keep_state] = gr.update(visible=False), None
        return out

    def keep(self, choice: str):
        """The "Keep new" / "Keep previous" buttons shown after a section is regenerated."""

        def handler(doc_id: str, keep: dict[str, Any] | None, request: gr.Request) -> dict[Any, Any]:
            user = current_user(request)
            hide = {self.keep_row: gr.update(visible=False), self.keep_state: None}
            if not keep or not doc_id or keep.get("doc") != doc_id:
                return {
                    **hide,
                    self.tab.message: message_html("There is no regenerated section to choose for.", "warn"),
                }
            index = int(keep["index"])
            try:
                self.studio.keep_version(doc_id, index, choice, keep["previous"], user)  # type: ignore[arg-type]
            except (StudioError, NotFound) as exc:
                return {self.tab.message: message_html(str(exc), "warn")}
            which = "new" if choice == "new" else "previous"
            message = f"Kept the {which} version of section {index + 1}."
            out = self.tab.views.rest(
                self.tab.live(doc_id, user), user, message=message, level="ok", form=False, table=False
            )
            out.update(hide)
            return out

        return handler

    def thumb(self, good: bool, on_section: bool):
        """Thumbs up or down on the chosen finished section, or on the whole document."""

        def handler(doc_id: str, index: Any, reason: str, request: gr.Request) -> tuple[Any, Any]:
            at = int(index) if on_section and index is not None else None
            if on_section and at is None:  # to the studio, no index means the whole document
                return message_html(CHOOSE_SECTION if doc_id else NO_DOCUMENT, "warn"), gr.skip()
            try:
                self.studio.rate(
                    doc_id, good, index=at, reason=(reason or "").strip() or None, user=current_user(request)
                )
            except (StudioError, NotFound) as exc:
                return message_html(str(exc) if doc_id else NO_DOCUMENT, "warn"), gr.skip()
            what = f"section {at + 1}" if at is not None else "the document"
            return message_html(f"Thanks — {what} rated {'good' if good else 'bad'}; recorded.", "ok"), ""

        return handler
