"""The document so far: the one fold of the writer's event stream.

Every consumer of a run needs the same picture — each section's text, reasoning and status, the
plan, where the run stands and how it ended — and each used to rebuild it by hand. The store's
recorder, the page, the arena, the CLI progress and the evaluator now all apply events to a
:class:`DocumentState` and read what they show or save from it; what they *do* with a change
(write a row, render a fragment, move a progress bar) stays theirs.

Word counts are taken lazily and cached per text, so a consumer that reads them once per render
pays one count per render, not one per streamed piece.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Self

from longwriter import events as ev
from longwriter.text import count_words, length_score

SectionStatus = Literal["pending", "writing", "done", "stopped", "failed"]
REASONING = -1
"""The key :attr:`DocumentState.changed` uses for "the reasoning (think mode) changed"."""
MILESTONES = (ev.PlanReady, ev.SectionStarted, ev.SectionDone, ev.DocumentDone, ev.Stopped, ev.Failed)
"""Events that change a run's shape (not just its text): a throttled consumer shows them at once."""


def is_milestone(event: object) -> bool:
    """True for the events a throttled view must not hold back (see :data:`MILESTONES`)."""
    return isinstance(event, MILESTONES)


@dataclass
class SectionState:
    """One section as the run has left it so far."""

    index: int
    main_point: str = ""
    target_words: int = 0
    text: str = ""
    status: SectionStatus | str = "pending"
    """As stored: pending (not begun), writing, done, stopped or failed."""
    reasoning: str = ""
    prompt: str = ""
    """The exact write prompt of this run's attempt (empty for a section loaded from the store)."""
    _counted: tuple[str, int] = field(default=("", 0), repr=False, compare=False)

    @property
    def words(self) -> int:
        """The text's word count, recounted only when the text changed since the last read."""
        counted, words = self._counted
        if counted is not self.text:
            words = count_words(self.text)
            self._counted = (self.text, words)
        return words

    @property
    def started(self) -> bool:
        return self.status != "pending" or bool(self.text.strip())


@dataclass
class DocumentState:
    """A document's plan and sections, advanced one writer event at a time by :meth:`apply`.

    ``changed`` collects the sections (and :data:`REASONING`) whose text changed since the
    consumer last cleared it, ``plan_changed`` whether the plan or its streamed outline did: a
    consumer saves or redraws only those, then clears them.
    """

    target_words: int = 0
    status: str = "planned"
    error: str | None = None
    plan: list[dict[str, Any]] = field(default_factory=list)
    """The plan's rows as stored (``{"main_point": …, "words": …}``), the shape the page edits."""
    plan_raw: str = ""
    """The outline as the model streamed it, before it was parsed."""
    fallback: bool = False
    sections: list[SectionState] = field(default_factory=list)
    current: int | None = None
    """The section this run is writing (or last wrote)."""
    run_tokens: int = 0
    run_seconds: float = 0.0
    """Tokens and seconds of the sections this run finished (the exact generation rate)."""
    changed: set[int] = field(default_factory=set)
    plan_changed: bool = False

    @classmethod
    def from_record(cls, record: dict[str, Any], **fields: Any) -> Self:
        """The state of a stored document (:func:`longwriter.documents.document_record`).

        ``fields`` are passed on to the constructor (a subclass's own fields)."""
        state = cls(
            target_words=record["target_words"],
            status=record["status"],
            error=record.get("error"),
            plan=list(record["plan"]["sections"]),
            **fields,
        )
        state.sections = [
            SectionState(s["index"], s["main_point"], s["target_words"], s["text"], s["status"], s.get("reasoning", ""))
            for s in record["sections"]
        ]
        state.changed = set(range(len(state.sections)))
        return state

    # -- what it adds up to -------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The document as one text: its non-empty sections in order (as the store joins them)."""
        return "\n\n".join(s.text.strip() for s in self.sections if s.text.strip())

    @property
    def words(self) -> int:
        return sum(s.words for s in self.sections)

    @property
    def length_score(self) -> float | None:
        """S_l of the text so far against the target (None before any text)."""
        words = self.words
        return length_score(self.target_words, words) if words and self.target_words else None

    @property
    def reasoning(self) -> str:
        return "\n\n".join(s.reasoning for s in self.sections if s.reasoning)

    @property
    def started_count(self) -> int:
        """Sections this run or an earlier one began (in parallel mode they begin out of order)."""
        return sum(1 for s in self.sections if s.started)

    @property
    def has_text(self) -> bool:
        return any(s.text.strip() for s in self.sections)

    @property
    def ended(self) -> bool:
        return self.status in ("done", "stopped", "failed")

    def unfinished(self) -> list[SectionState]:
        """Sections this run started and did not finish."""
        return [s for s in self.sections if s.status == "writing"]

    # -- the fold -----------------------------------------------------------------------------

    def apply(self, event: ev.Event) -> None:
        """Advance the state by one writer event."""
        match event:
            case ev.PlanDelta(text=text):
                self.plan_raw += text
                self.plan_changed = True
            case ev.PlanReady(plan=plan, fallback=fallback):
                self.plan = [s.model_dump() for s in plan.sections]
                self.fallback = fallback
                self.plan_changed = True
            case ev.SectionStarted(index=index, target_words=target, prompt=prompt):
                section = self.section(index)
                section.text, section.reasoning, section.status = "", "", "writing"
                section.target_words, section.prompt = target, prompt
                self.current, self.status = index, "writing"
                self.changed |= {index, REASONING}
            case ev.TextDelta(index=index, text=text, channel="reasoning"):
                self.section(index).reasoning += text
                self.changed |= {index, REASONING}
            case ev.TextDelta(index=index, text=text):
                self.section(index).text += text
                self.changed.add(index)
            case ev.SectionReset(index=index, text=text):
                self.section(index).text = text
                self.changed.add(index)
            case ev.SectionDone(index=index, text=text, tokens=tokens, seconds=seconds):
                section = self.section(index)
                section.text, section.status = text, "done"
                self.run_tokens += tokens
                self.run_seconds += seconds
                self.changed.add(index)
            case ev.DocumentDone():
                self.status = "done"
            case ev.Stopped():
                self.halt("stopped")
            case ev.Failed(message=message, index=index):
                self.halt("failed", error=message, failed_index=index)

    def halt(
        self, status: Literal["stopped", "failed"], error: str | None = None, failed_index: int | None = None
    ) -> list[SectionState]:
        """End the run: sections still being written stop, the one a failure names fails.

        Returns the sections whose status this changed (the recorder saves exactly those)."""
        self.status, self.error = status, error
        halted = []
        for section in self.sections:
            if section.index == failed_index and section.status != "done":
                section.status = "failed"
            elif section.status == "writing":
                section.status = "stopped"
            else:
                continue
            halted.append(section)
            self.changed.add(section.index)
        return halted

    def section(self, index: int) -> SectionState:
        """Section ``index``, adding the plan's sections up to it when the run reaches past the list."""
        while len(self.sections) <= index:
            i = len(self.sections)
            row = self.plan[i] if i < len(self.plan) else {}
            self.sections.append(SectionState(i, row.get("main_point", ""), int(row.get("words", 0) or 0)))
        return self.sections[index]
