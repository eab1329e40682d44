"""What the Write tab shows, as plain data and HTML: no Gradio here, so it is easy to test.

:class:`LiveDoc` is a document as the page sees it — built from the stored record, then advanced
by the writer's events while a run streams. The renderers turn it into small HTML fragments,
one per section plus the meter, so a streaming update touches only what changed.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from typing import Any

from longwriter.documents import render_markdown
from longwriter.events import (
    DocumentDone,
    Event,
    Failed,
    PlanDelta,
    PlanReady,
    SectionDone,
    SectionReset,
    SectionStarted,
    Stopped,
    TextDelta,
)
from longwriter.text import count_words, length_score

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


@dataclass
class LiveSection:
    index: int
    main_point: str
    target_words: int
    text: str = ""
    status: str = "pending"
    words: int = 0

    def set_text(self, text: str) -> None:
        self.text = text
        self.words = count_words(text)


@dataclass
class LiveDoc:
    """A document on the page: the stored record plus whatever the current run has streamed."""

    id: str
    instruction: str
    target_words: int
    mode: str
    model: str
    status: str
    error: str | None = None
    sections: list[LiveSection] = field(default_factory=list)
    plan: list[dict[str, Any]] = field(default_factory=list)
    plan_raw: str = ""
    reasoning: str = ""
    running: bool = False
    current: int | None = None
    seconds: float = 0.0
    tokens: int = 0
    run_started: float | None = None
    run_tokens: int = 0
    run_seconds: float = 0.0
    message: str = ""
    level: str = "info"
    dirty: set[int] = field(default_factory=set)
    plan_dirty: bool = False

    @classmethod
    def from_record(cls, record: dict[str, Any], running: bool = False) -> LiveDoc:
        sections = [
            LiveSection(s["index"], s["main_point"], s["target_words"], s["text"], s["status"], s["words"])
            for s in record["sections"]
        ]
        reasoning = "\n\n".join(s.get("reasoning", "") for s in record["sections"] if s.get("reasoning"))
        doc = cls(
            id=record["id"],
            instruction=record["instruction"],
            target_words=record["target_words"],
            mode=record["mode"],
            model=record["model"],
            status=record["status"],
            error=record.get("error"),
            sections=sections,
            plan=list(record["plan"]["sections"]),
            reasoning=reasoning,
            running=running,
            seconds=record["timings"]["write_seconds"],
            tokens=record["tokens"],
        )
        doc.dirty = set(range(len(sections)))
        return doc

    # -- numbers -------------------------------------------------------------------------

    @property
    def words(self) -> int:
        return sum(s.words for s in self.sections)

    @property
    def length_score(self) -> float | None:
        return length_score(self.target_words, self.words) if self.words else None

    @property
    def has_text(self) -> bool:
        return any(s.text.strip() for s in self.sections)

    @property
    def done_count(self) -> int:
        return sum(1 for s in self.sections if s.status == "done")

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
            streamed = sum(len(s.text) for s in self.sections if s.status == "writing")
            elapsed = time.monotonic() - self.run_started
            return (streamed / 4 / elapsed, True) if streamed and elapsed > 1 else (None, True)
        if self.tokens and self.seconds:
            return self.tokens / self.seconds, False
        return None, False

    def position(self) -> tuple[int, int]:
        """(k, n): the section being written (or the count of finished ones) out of all sections."""
        n = len(self.sections)
        if self.current is not None and self.running:
            return min(self.current + 1, n), n
        started = sum(1 for s in self.sections if s.status != "pending" or s.text.strip())
        return started, n

    # -- events ---------------------------------------------------------------------------

    def start_run(self) -> None:
        self.running = True
        self.run_started = time.monotonic()
        self.run_tokens, self.run_seconds = 0, 0.0
        self.message, self.level = "", "info"

    def apply(self, event: Event) -> None:
        """Advance the page's copy of the document by one writer event."""
        match event:
            case PlanDelta(text=text):
                self.plan_raw += text
                self.plan_dirty = True
            case PlanReady(plan=plan, fallback=fallback):
                self.plan = [s.model_dump() for s in plan.sections]
                self.plan_dirty = True
                if fallback:
                    self.message = (
                        "The model's outline could not be used, so a plain plan was made from your "
                        "request. Edit it as you like."
                    )
                    self.level = "warn"
            case SectionStarted(index=index, target_words=target):
                section = self._section(index, target)
                section.set_text("")
                section.status = "writing"
                self.current = index
                self.dirty.add(index)
                if self.mode == "think":
                    self.reasoning = ""
            case TextDelta(index=index, text=text, channel=channel):
                if channel == "reasoning":
                    self.reasoning += text
                    self.dirty.add(-1)  # -1: the reasoning panel
                    return
                section = self._section(index)
                section.text += text
                self.dirty.add(index)
            case SectionReset(index=index, text=text):
                self._section(index).set_text(text)
                self.dirty.add(index)
            case SectionDone(index=index, text=text, tokens=tokens, seconds=seconds):
                section = self._section(index)
                section.set_text(text)
                section.status = "done"
                self.run_tokens += tokens
                self.run_seconds += seconds
                self.dirty.add(index)
            case DocumentDone():
                self.status = "done"
            case Stopped(index=index):
                self.status = "stopped"
                self.message, self.level = "Stopped. Everything written so far is kept; Continue picks it up.", "info"
                self._halt(index, "stopped")
            case Failed(message=message, index=index):
                self.status = "failed"
                self.error = message
                self.message, self.level = message, "error"
                self._halt(index, "failed")

    def recount(self) -> None:
        """Refresh word counts of sections that streamed text since the last render."""
        for index in self.dirty:
            if 0 <= index < len(self.sections):
                section = self.sections[index]
                section.words = count_words(section.text)

    def _halt(self, index: int | None, status: str) -> None:
        for s in self.sections:
            if s.status == "writing" or (index is not None and s.index == index and s.status != "done"):
                s.status = status
                self.dirty.add(s.index)

    def _section(self, index: int, target: int | None = None) -> LiveSection:
        while len(self.sections) <= index:
            i = len(self.sections)
            step = self.plan[i] if i < len(self.plan) else {}
            self.sections.append(LiveSection(i, step.get("main_point", ""), int(step.get("words", 0) or 0)))
        section = self.sections[index]
        if target:
            section.target_words = target
        return section


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


def section_html(section: LiveSection, total: int, single: bool = False) -> str:
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
        ("section", f"{k}<span class='lw-dim'> of {n}</span>" if n else "–"),
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
