"""What the Write tab shows, as plain data and HTML: no Gradio here, so it is easy to test.

:class:`LiveDoc` is a document as the page sees it — built from the stored record, then advanced
by the writer's events while a run streams (the fold is :class:`longwriter.document_state.DocumentState`). The renderers turn it into small HTML fragments,
one per section plus the meter, so a streaming update touches only what changed.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from typing import Any, Self

from longwriter.document_state import DocumentState, SectionState
from longwriter.documents import render_markdown
from longwriter.events import Event, Failed, PlanReady, Stopped
from longwriter.text import plural

DOC_STATUS = {
    "planning": "planning",
    "planned": "planned",
    "writing": "in progress",
    "done": "done",
    "stopped": "stopped",
    "failed": "failed",
}
"""Stored status → the word shown to the user."""


def doc_status_label(status: str, running: bool) -> str:
    """ "in progress" only while a run is live; a "writing" row with no run was cut off by a restart."""
    if status in ("writing", "planning") and not running:
        return "interrupted"
    if running:
        return "in progress"
    return DOC_STATUS.get(status, status)


@dataclass(kw_only=True)
class LiveDoc(DocumentState):
    """A document on the page: the stored record, advanced by the current run's events.

    The fold itself is :class:`DocumentState`'s; the page adds who and what the document is, the
    run's clock, and the message it shows when a run ends or the plan had to be replaced.
    """

    id: str
    instruction: str
    mode: str
    model: str
    running: bool = False
    seconds: float = 0.0
    """Stored writing time of earlier runs."""
    tokens: int = 0
    run_started: float | None = None
    message: str = ""
    level: str = "info"

    @classmethod
    def from_record(cls, record: dict[str, Any], running: bool = False, **fields: Any) -> Self:
        return super().from_record(
            record,
            id=record["id"],
            instruction=record["instruction"],
            mode=record["mode"],
            model=record["model"],
            running=running,
            seconds=record["timings"]["write_seconds"],
            tokens=record["tokens"],
            **fields,
        )

    @property
    def dirty(self) -> set[int]:
        """Sections to redraw (and :data:`~longwriter.document_state.REASONING`, the reasoning panel); the renderer clears them."""
        return self.changed

    @dirty.setter
    def dirty(self, value: set[int]) -> None:
        self.changed = value

    @property
    def plan_dirty(self) -> bool:
        return self.plan_changed

    @plan_dirty.setter
    def plan_dirty(self, value: bool) -> None:
        self.plan_changed = value

    # -- numbers -------------------------------------------------------------------------

    def elapsed(self) -> float:
        """Seconds of this run so far, or the stored writing time between runs."""
        if self.running and self.run_started is not None:
            return time.monotonic() - self.run_started
        return self.seconds

    def tokens_per_second(self) -> tuple[float | None, bool]:
        """(rate, estimated): exact from finished sections of this run, else ≈ 4 characters per token."""
        if self.running and self.run_started is not None:
            if self.run_tokens and self.run_seconds:
                return self.run_tokens / self.run_seconds, False
            streamed = sum(len(s.text) for s in self.unfinished())
            elapsed = time.monotonic() - self.run_started
            return (streamed / 4 / elapsed, True) if streamed and elapsed > 1 else (None, True)
        if self.tokens and self.seconds:
            return self.tokens / self.seconds, False
        return None, False

    def position(self) -> tuple[int, int]:
        """(k, n): the section being written (or the count of begun ones) out of all sections."""
        # Before any section begins the plan is the truth: the stored sections may be an older plan's.
        n = len(self.sections) if self.started_count else len(self.plan) or len(self.sections)
        if self.current is not None and self.running:
            return min(self.current + 1, n), n
        return self.started_count, n

    # -- events ---------------------------------------------------------------------------

    def start_run(self) -> None:
        self.running = True
        self.run_started = time.monotonic()
        self.run_tokens, self.run_seconds = 0, 0.0
        self.message, self.level = "", "info"

    def apply(self, event: Event) -> None:
        """Fold the event in, then say what the page should tell the user about it."""
        super().apply(event)
        match event:
            case PlanReady(source="fallback" | "retry", note=note):
                # Never "Plan ready" in green: a default plan stands in for the model's, and a second
                # try is worth a look before writing.
                self.message, self.level = note, "warn"
            case Stopped():
                self.message, self.level = "Stopped. Everything written so far is kept; Continue picks it up.", "info"
            case Failed(message=message):
                self.message, self.level = message, "error"


# -- rendering ---------------------------------------------------------------------------------

SECTION_STATUS = {
    "pending": "not written",
    "writing": "writing…",
    "done": "done",
    "stopped": "stopped",
    "failed": "failed",
}


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def _fmt_time(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _fit_class(words: int, target: int) -> str:
    if not target or not words:
        return ""
    ratio = words / target
    if 0.85 <= ratio <= 1.2:
        return " lw-fit"
    return " lw-over" if ratio > 1.2 else ""


def section_html(section: SectionState, total: int, single: bool = False) -> str:
    """One section: number, main point, its words against its budget, status, and its text."""
    status = section.status if section.status in SECTION_STATUS else "pending"
    point = "" if single else html.escape(section.main_point)
    body = render_markdown(section.text)
    if not body:
        body = (
            '<p class="lw-placeholder">Not written yet.</p>'
            if status != "writing"
            else '<p class="lw-placeholder">Waiting for the model…</p>'
        )
    title = "Document" if single else f"{section.index + 1}<span class='lw-of'>/{total}</span>"
    return (
        f'<article class="lw-section lw-status-{status}" data-index="{section.index}">'
        f'<header class="lw-section-head"><span class="lw-section-num">{title}</span>'
        f'<span class="lw-section-point">{point}</span>'
        f'<span class="lw-section-words{_fit_class(section.words, section.target_words)}">'
        f"{_fmt_int(section.words)} / {_fmt_int(section.target_words)} words</span>"
        f'<span class="lw-chip lw-chip-{status}">{SECTION_STATUS[status]}</span></header>'
        f'<div class="lw-section-body">{body}</div></article>'
    )


def meter_html(doc: LiveDoc | None) -> str:
    """The document meter: words against the target, S_l, tokens/s, elapsed, section k of n, a bar."""
    if doc is None:
        return (
            '<div class="lw-meter lw-meter-empty"><div class="lw-meter-hint">Describe what to write, '
            "set a length, then <b>Draft plan</b> (or <b>Write</b> straight away).</div></div>"
        )
    words, target = doc.words, doc.target_words
    score = doc.length_score
    rate, estimated = doc.tokens_per_second()
    k, n = doc.position()
    percent = min(100.0, 100.0 * words / target) if target else 0.0
    status = doc_status_label(doc.status, doc.running)
    stats = [
        ("words", f"{_fmt_int(words)}<span class='lw-dim'> / {_fmt_int(target)}</span>"),
        ("S<sub>l</sub>", "–" if score is None else f"{score:.0f}"),
        ("tok/s", "–" if rate is None else f"{'≈' if estimated else ''}{rate:.1f}"),
        ("elapsed", _fmt_time(doc.elapsed())),
        (plural("section", n), f"{k}<span class='lw-dim'> of {n}</span>" if n else "–"),
    ]
    cells = "".join(
        f'<div class="lw-stat"><div class="lw-stat-value">{v}</div><div class="lw-stat-label">{label}</div></div>'
        for label, v in stats
    )
    status_class = status.replace(" ", "-")
    return (
        f'<div class="lw-meter" data-status="{html.escape(doc.status)}">'
        f'<div class="lw-meter-top"><span class="lw-doc-status lw-doc-{status_class}">{html.escape(status)}</span>'
        f'<span class="lw-doc-id" title="document id">#{html.escape(doc.id[:8])}</span>'
        f'<span class="lw-doc-model">{html.escape(doc.model)} · {html.escape(doc.mode)}</span></div>'
        f'<div class="lw-stats">{cells}</div>'
        f'<div class="lw-bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
        f'aria-valuenow="{percent:.0f}"><div class="lw-bar-fill{" lw-bar-live" if doc.running else ""}" '
        f'style="width:{percent:.1f}%"></div></div></div>'
    )


def message_html(message: str, level: str = "info") -> str:
    if not message:
        return ""
    level = level if level in ("info", "warn", "error", "ok") else "info"
    return f'<div class="lw-msg lw-msg-{level}" role="status">{html.escape(message)}</div>'


def outline_html(raw: str) -> str:
    """The plan as the model streams it, before it is parsed into the table."""
    if not raw:
        return ""
    return f'<div class="lw-outline"><div class="lw-outline-label">Outline (streaming)</div><pre>{html.escape(raw)}</pre></div>'


def reasoning_html(text: str) -> str:
    return f'<div class="lw-reasoning">{render_markdown(text)}</div>' if text.strip() else ""
