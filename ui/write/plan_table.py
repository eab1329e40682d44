"""The Write tab's plan: the streamed outline, the editable table of main points and budgets, its
running total against the target, and the row tools (add, delete, move, rebalance).

A valid edit of a plan that has no text yet is saved at once; a plan with written sections is saved
when Write is pressed (a changed main point starts that section over), so the table only offers
"Write plan changes" then. Whether a plan may change at all is the studio's answer.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from longwriter.plan import MAX_SECTIONS, Plan, PlanError, normalize_budget, validate_rows
from longwriter.rules import PLAN_MODES
from longwriter.store import NotFound
from longwriter.studio import Studio, StudioError
from longwriter.text import plural
from ui.common import current_user
from ui.view import LiveDoc, outline_html

PLAN_HEADERS = ["Main point", "Words"]


def plan_rows(plan: list[dict[str, Any]] | None) -> list[list[Any]]:
    """A stored plan as the table's [main point, words] rows."""
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


def rows_plan(rows: list[list[Any]]) -> Plan:
    """The cleaned rows as a :class:`Plan`, or PlanError saying which row is wrong."""
    return validate_rows([(p, w) for p, w in rows])


def _bad(message: str) -> str:
    return f'<div class="lw-total lw-total-bad" role="alert">⚠ {html.escape(message)}</div>'


def plan_total_html(rows: list[list[Any]], target: int | None) -> str:
    """The running total against the target, or the reason the plan cannot be used as it stands."""
    try:
        plan = rows_plan(rows)
    except PlanError as exc:
        return _bad(str(exc))
    total = plan.total_words
    count = f"{len(plan.sections)} {plural('section', len(plan.sections))}"
    if not target:
        return f'<div class="lw-total">{count} · {total:,} words</div>'
    gap = total - target
    ok = abs(gap) <= max(20, target * 0.02)
    sign = "+" if gap > 0 else "−"
    delta = "on target" if ok else f"{sign}{abs(gap):,}"
    return (
        f'<div class="lw-total{" lw-total-ok" if ok else " lw-total-off"}">{count} · '
        f"<b>{total:,}</b> of {target:,} words ({delta})</div>"
    )


class PlanTable:
    """The plan accordion of the Write tab (built where it stands in the page's layout)."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    def build(self) -> None:
        with gr.Accordion("Plan", open=True, visible=True, elem_classes="lw-plan", elem_id="lw-plan") as self.group:
            self.outline = gr.HTML(visible=False, js_on_load=None, elem_id="lw-outline")
            self.table = gr.Dataframe(
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
            self.total = gr.HTML(elem_id="lw-plan-total", js_on_load=None)
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

    def wire(self, doc_box: gr.Textbox, target: gr.Number, write_btn: gr.Button) -> None:
        light: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": None}
        self.table.change(self.on_table, [self.table, doc_box, target], [self.total, write_btn], **light)
        self.table.select(self.on_select, None, [self.row_num], **light)
        for button, op in (
            (self.add_row, "add"),
            (self.del_row, "delete"),
            (self.up_row, "up"),
            (self.down_row, "down"),
        ):
            button.click(self._row_op(op), [self.table, self.row_num], [self.table, self.row_num, self.total], **light)
        self.rebalance.click(self.on_rebalance, [self.table, doc_box, target], [self.table, self.total], **light)

    # -- views ------------------------------------------------------------------------------

    def blank(self, plan_mode: bool) -> dict[Any, Any]:
        return {
            self.group: gr.update(visible=plan_mode, open=True),
            self.outline: gr.update(value="", visible=False),
            self.table: gr.update(value=[], interactive=True),
            self.total: "",
        }

    def rest(self, doc: LiveDoc, open_: bool, table: bool) -> dict[Any, Any]:
        """The plan of ``doc`` at rest (the table itself only when ``table``: an edit in progress stays)."""
        out: dict[Any, Any] = {
            self.group: gr.update(visible=doc.mode in PLAN_MODES, open=open_),
            self.outline: gr.update(value="", visible=False),
        }
        if table:
            rows = plan_rows(doc.plan)
            out[self.table] = gr.update(value=rows, interactive=not doc.running)
            out[self.total] = plan_total_html(rows, doc.target_words) if rows else ""
        return out

    def streaming(self, doc: LiveDoc, plan_changed: bool) -> dict[Any, Any]:
        """While a run streams: the outline as it is drafted, then the table once the plan is ready."""
        out: dict[Any, Any] = {}
        if doc.plan_dirty:
            out[self.outline] = gr.update(value=outline_html(doc.plan_raw), visible=bool(doc.plan_raw))
            doc.plan_dirty = False
        if plan_changed:
            rows = plan_rows(doc.plan)
            out[self.table] = gr.update(value=rows, interactive=False)
            out[self.total] = plan_total_html(rows, doc.target_words)
            out[self.outline] = gr.update(value="", visible=False)
        return out

    # -- handlers ---------------------------------------------------------------------------

    def on_table(self, rows: Any, doc_id: str, target: float | None, request: gr.Request) -> tuple[Any, Any]:
        """Running total and inline problems; a valid edit of a plan without text is saved at once."""
        rows = clean_rows(rows)
        user = current_user(request)
        try:
            doc = self.studio.document(doc_id, user) if doc_id else None
        except NotFound:
            doc = None
        goal = doc.target_words if doc is not None else (int(target) if target else None)
        if not rows and not (doc is not None and doc.plan):
            return "", gr.skip()
        html_total = plan_total_html(rows, goal)
        if doc is None or doc.plan is None or self.studio.is_running(doc.id):
            return html_total, gr.skip()  # a run's own plan updates the table: nothing to save
        try:
            plan = rows_plan(rows)
        except PlanError:
            return html_total, gr.skip()
        if plan.model_dump()["sections"] == doc.plan:
            return html_total, gr.skip()
        if any(s.text.strip() for s in self.studio.sections(doc.id, user)):
            return html_total, gr.update(visible=True, value="Write plan changes", interactive=True)
        try:
            self.studio.set_plan(doc.id, plan, user)
        except (StudioError, NotFound) as exc:
            return _bad(str(exc)), gr.skip()
        return html_total, gr.skip()

    @staticmethod
    def on_select(evt: gr.SelectData) -> Any:
        index = evt.index
        row = index[0] if isinstance(index, (list, tuple)) else index
        return gr.update(value=int(row) + 1) if isinstance(row, int) else gr.skip()

    @staticmethod
    def _row_op(op: str):
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
        try:
            goal = self.studio.document(doc_id, current_user(request)).target_words if doc_id else int(target or 0)
        except NotFound:
            goal = int(target or 0)
        try:
            plan = rows_plan(rows)
            if goal < 100:
                raise PlanError("Set a target of at least 100 words first.")
            plan = normalize_budget(plan, goal)
        except PlanError as exc:
            return gr.skip(), _bad(str(exc))
        rows = plan_rows(plan.model_dump()["sections"])
        return rows, plan_total_html(rows, goal)
