"""The Data tab: what the users' judgements add up to, the arena leaderboard, a preview and the exports.

* Counts of stored judgements by source (arena, kept regenerations, edits, thumbs) and of battles.
* The leaderboard: Bradley–Terry ratings with bootstrap 95% intervals and online Elo per
  configuration, as a table and a chart (only battles that finished on both sides count).
* A preview of the preference pairs with the export filters, and export buttons that write the
  same JSONL files as ``longwriter export dpo|kto``.

Everything is read fresh when the tab is opened and on Refresh. With login, the preview and the
exports hold the signed-in user's own judgements only: their texts are that user's documents. (The
leaderboard counts every user's votes; it shows configurations, not texts. ``longwriter export``
is the operator's way to everyone's data.)
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.context import Context
from matplotlib.figure import Figure

from longwriter.preferences import (
    SOURCES,
    Filters,
    PreferenceError,
    arena_outcomes,
    counts,
    dpo_records,
    feedback,
    kto_records,
    pairs,
    write_jsonl,
)
from longwriter.ratings import Rating, leaderboard
from longwriter.studio import Studio
from longwriter.text import clip
from ui.common import current_user
from ui.view import message_html

log = logging.getLogger(__name__)

BOARD_HEADERS = ["Rank", "Configuration", "Rating", "95% interval", "Elo", "Battles", "Won · tied · lost"]
PAIR_HEADERS = ["When", "User", "Source", "Verdict", "Prompt", "Chosen", "Rejected", "Words (chosen / rejected)"]
EXPORTS = {
    "DPO pairs · conversational": ("dpo", "conversational"),
    "DPO pairs · standard strings": ("dpo", "standard"),
    "KTO labels (thumbs) · conversational": ("kto", "conversational"),
    "KTO labels (thumbs) · standard strings": ("kto", "standard"),
}
PREVIEW_ROWS = 50


def no_file() -> dict[str, Any]:
    """The export's file box when there is no file: hidden, not an empty box filling half the tab."""
    return gr.update(value=None, visible=False)


def board_rows(rows: list[Rating]) -> list[list[Any]]:
    return [
        [
            rank,
            row.config,
            round(row.rating),
            row.interval,  # "too few battles (1 of 10)" until the interval means something
            round(row.elo),
            row.battles,
            f"{row.wins} · {row.ties} · {row.losses}",
        ]
        for rank, row in enumerate(rows, start=1)
    ]


def board_chart(rows: list[Rating]) -> Figure | None:
    """Ratings with their 95% intervals as horizontal error bars, best at the top."""
    if not rows:
        return None
    figure = Figure(figsize=(7.5, 0.55 * len(rows) + 1.3), layout="constrained")
    axes = figure.subplots()
    order = list(reversed(rows))
    y = list(range(len(order)))
    settled = [(i, r) for i, r in zip(y, order, strict=True) if r.settled]
    if settled:
        axes.errorbar(
            [r.rating for _, r in settled],
            [i for i, _ in settled],
            xerr=[[r.rating - r.lower for _, r in settled], [r.upper - r.rating for _, r in settled]],
            fmt="o",
            color="#4f46e5",
            ecolor="#a5b4fc",
            elinewidth=3,
            capsize=4,
        )
    # Too few battles: a hollow point and no bar, since a bootstrap of one vote has no width to show.
    unsettled = [(i, r) for i, r in zip(y, order, strict=True) if not r.settled]
    if unsettled:
        axes.plot(
            [r.rating for _, r in unsettled],
            [i for i, _ in unsettled],
            "o",
            markerfacecolor="none",
            color="#94a3b8",
            label="too few battles: no interval yet",
        )
        axes.legend(loc="lower right", fontsize="small")
    axes.set_yticks(y, [r.config for r in order])
    axes.axvline(1000, color="#94a3b8", linewidth=1, linestyle="--")
    axes.set_xlabel("Bradley–Terry rating (95% bootstrap interval)")
    axes.grid(axis="x", alpha=0.3)
    return figure


class DataTab:
    """Components and handlers of the Data tab (built inside an open ``gr.Tab``)."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    def build(self) -> None:
        tab = Context.block  # the enclosing gr.Tab, so the tab refreshes whenever it is opened
        with gr.Row():
            gr.Markdown(
                "Every judgement (arena votes, kept regenerations, substantial edits, thumbs) is stored as "
                "training data in TRL's formats."
            )
            self.refresh_btn = gr.Button("↻ Refresh", size="sm", scale=0, min_width=110, elem_id="lw-data-refresh")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=260):
                self.counts = gr.Dataframe(
                    headers=["Judgements", "Count"],
                    datatype=["str", "number"],
                    value=[],
                    interactive=False,
                    label="Stored",
                    elem_id="lw-data-counts",
                )
            with gr.Column(scale=3, min_width=420):
                self.board = gr.Dataframe(
                    headers=BOARD_HEADERS,
                    datatype=["number", "str", "number", "str", "number", "number", "str"],
                    value=[],
                    interactive=False,
                    label="Leaderboard (arena battles that finished)",
                    elem_id="lw-data-board",
                    wrap=True,
                )
                self.chart = gr.Plot(label="Ratings", show_label=False, elem_id="lw-data-chart", format="png")
                gr.Markdown(
                    "Rating: Bradley–Terry maximum likelihood (ties count half), centred on 1000; 400 points "
                    "mean 10:1 odds. Interval: 95% of 100 bootstrap resamples of the votes. Elo: online, K = 4, "
                    "in vote order. With only a few battles the ratings are extreme and the intervals mean "
                    "little; a configuration that never lost gets a large but finite rating.",
                    elem_classes="lw-data-note",
                )
        with gr.Accordion("Preference pairs", open=True):
            with gr.Row(equal_height=True):
                self.sources = gr.CheckboxGroup(
                    choices=list(SOURCES), value=list(SOURCES), label="Sources", elem_id="lw-data-sources"
                )
                self.min_words = gr.Number(value=0, minimum=0, precision=0, label="Minimum words", min_width=110)
                self.ties = gr.Checkbox(value=False, label="Include ties and 'both bad'", elem_id="lw-data-ties")
            self.preview = gr.Dataframe(
                headers=PAIR_HEADERS,
                value=[],
                interactive=False,
                wrap=True,
                max_height=420,
                column_widths=["130px", "90px", "100px", "110px", "220px", "280px", "280px", "120px"],
                label=f"Newest {PREVIEW_ROWS} pairs",
                elem_id="lw-data-preview",
            )
            with gr.Row(equal_height=True):
                self.export_kind = gr.Dropdown(
                    choices=list(EXPORTS),
                    value=next(iter(EXPORTS)),
                    label="Export as",
                    scale=3,
                    elem_id="lw-data-export-kind",
                )
                self.export_btn = gr.Button("⬇ Export JSONL", variant="primary", scale=1, elem_id="lw-data-export")
            self.export_file = gr.File(label="Exported file", interactive=False, visible=False, elem_id="lw-data-file")
            self.export_msg = gr.HTML(elem_id="lw-data-export-msg")
            gr.Markdown(
                "The same files from the terminal: `longwriter export dpo --out pairs.jsonl` "
                "(`--format standard`, `--source`, `--since`, `--user`, `--min-words`, `--to-disk`, "
                "`--push-to-hub`) and `longwriter export kto`."
            )
        filters = [self.sources, self.min_words, self.ties]
        views = [self.counts, self.board, self.chart, self.preview]
        light: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": None}
        self.refresh_btn.click(self.refresh, filters, views, **light)
        if isinstance(tab, gr.Tab):
            tab.select(self.refresh, filters, views, **light)
        gr.on(
            [self.sources.change, self.min_words.submit, self.ties.change],
            self.refresh_preview,
            filters,
            [self.preview],
            **light,
        )
        self.export_btn.click(self.export, [self.export_kind, *filters], [self.export_file, self.export_msg], **light)

    # -- handlers -------------------------------------------------------------------------------

    def _filters(self, sources: list[str], min_words: float | None, ties: bool, request: gr.Request | None) -> Filters:
        user = current_user(request)
        return Filters(
            sources=sources or list(SOURCES),
            user=user,
            min_words=int(min_words or 0),
            include_ties=bool(ties),
            include_both_bad=bool(ties),
        )

    def refresh(
        self, sources: list[str], min_words: float | None, ties: bool, request: gr.Request
    ) -> tuple[Any, Any, Any, Any]:
        store = self.studio.store
        rows = leaderboard(arena_outcomes(store))
        return (
            [[k, n] for k, n in counts(store)],
            board_rows(rows),
            board_chart(rows),
            self.refresh_preview(sources, min_words, ties, request),
        )

    def refresh_preview(
        self, sources: list[str], min_words: float | None, ties: bool, request: gr.Request
    ) -> list[list[Any]]:
        found = pairs(self.studio.store, self._filters(sources, min_words, ties, request))
        return [
            [
                p.created_at.strftime("%Y-%m-%d %H:%M"),
                p.user or "",
                p.source,
                p.verdict,
                clip(p.prompt, 90),
                clip(p.chosen, 120),
                clip(p.rejected, 120),
                f"{p.chosen_words} / {p.rejected_words}",
            ]
            for p in reversed(found[-PREVIEW_ROWS:])
        ]

    def export(
        self, kind: str, sources: list[str], min_words: float | None, ties: bool, request: gr.Request
    ) -> tuple[Any, Any]:
        what, fmt = EXPORTS.get(kind, ("dpo", "conversational"))
        store = self.studio.store
        try:
            filters = self._filters(sources, min_words, ties, request)
            if what == "dpo":
                records = dpo_records(pairs(store, filters), format=fmt)  # type: ignore[arg-type]
            else:
                records = kto_records(feedback(store, filters), format=fmt)  # type: ignore[arg-type]
        except PreferenceError as exc:
            return no_file(), message_html(str(exc), "warn")
        if not records:
            return no_file(), message_html("Nothing to export yet: no judgements match these filters.", "warn")
        path = self.studio.settings.exports_dir / f"{what}-{fmt}-{datetime.now():%Y%m%d-%H%M%S}.jsonl"
        try:
            write_jsonl(records, path)
        except OSError as exc:
            return no_file(), message_html(f"Could not write the export: {exc.strerror or exc}", "error")
        # Gradio serves files from the temp folder only: the download is a copy of the kept export.
        download = Path(tempfile.gettempdir()) / "longwriter-exports" / path.name
        download.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, download)
        noun = "pairs" if what == "dpo" else "labels"
        return gr.update(value=str(download), visible=True), message_html(
            f"Exported {len(records)} {noun} to {path}.", "ok"
        )


def build_data_tab(studio: Studio) -> None:
    """Build the Data tab's content (call inside ``with gr.Tab("Data"):``)."""
    DataTab(studio).build()
