"""The typed events of one writing run: the single stream every consumer reads.

The UI, the CLI, the store and the tests all consume these; none re-implements the loop.
Events are small, immutable and JSON-friendly so they can cross threads and processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from longwriter.plan import Plan


@dataclass(frozen=True)
class PlanDelta:
    """A piece of the plan as the model streams it."""

    text: str


PlanSource = Literal["model", "retry", "fallback", "given"]
"""model: the model's first outline; retry: its second, after the first was refused; fallback: the
default plan, both outlines refused; given: a plan the user made or edited."""


@dataclass(frozen=True)
class PlanReady:
    """The plan the writer will follow, and where it came from (see :data:`PlanSource`).

    ``raw`` is the model's last outline, ``rejected`` the earlier ones it refused and ``problem``
    why the last refused outline was not a plan (for the page: "a default plan was made — edit it").
    """

    plan: Plan
    raw: str = ""
    source: PlanSource = "given"
    rejected: tuple[str, ...] = ()
    problem: str = ""

    @property
    def fallback(self) -> bool:
        """Whether the model's outlines were unusable and the default plan stands in."""
        return self.source == "fallback"

    @property
    def note(self) -> str:
        """What a reader should be told about where the plan came from; empty for the model's own."""
        why = self.problem.rstrip(".")
        if self.source == "fallback":
            return f"The model's outline was unusable ({why}); a default plan was made — edit it."
        if self.source == "retry":
            return f"The model's first outline was unusable ({why}); this is its second try."
        return ""


@dataclass(frozen=True)
class SectionStarted:
    """Section ``index`` (0-based position in ``plan.sections``) starts afresh.

    A run that continues stored partial text follows it with a ``SectionReset`` carrying that text.
    """

    index: int
    target_words: int
    prompt: str = ""


@dataclass(frozen=True)
class TextDelta:
    """Appended text of section ``index``; ``channel`` "reasoning" is think-mode thoughts, not document text."""

    index: int
    text: str
    channel: Literal["text", "reasoning"] = "text"


@dataclass(frozen=True)
class SectionReset:
    """Section ``index``'s text was rewritten (heading stripped, loop or overrun cut): ``text`` replaces it."""

    index: int
    text: str


@dataclass(frozen=True)
class SectionDone:
    index: int
    text: str
    words: int
    target_words: int
    tokens: int
    seconds: float
    continuations: int = 0
    stop_reason: Literal["complete", "target", "length-cap", "loop"] = "complete"
    """complete: the model ended; target: ended at a sentence once on budget; length-cap / loop: cut back."""
    prompt: str = ""
    raw: str = ""
    """Everything the model wrote for the section (continuations included), before markers, loops
    and leaked prompt lines were taken out: its generation row keeps this."""


@dataclass(frozen=True)
class DocumentDone:
    text: str
    words: int
    target_words: int
    length_score: float
    seconds: float
    tokens: int


@dataclass(frozen=True)
class Failed:
    """The run failed; everything written before stays. ``index`` is the section it failed in."""

    message: str
    index: int | None = None


@dataclass(frozen=True)
class Stopped:
    """The user stopped the run; ``index`` is the section that was being written."""

    index: int | None = None


Event = (
    PlanDelta | PlanReady | SectionStarted | TextDelta | SectionReset | SectionDone | DocumentDone | Failed | Stopped
)
