"""What may happen to a document in which state: the one table every front end's answer comes from.

The page, the API, the CLI and the evaluator all act on documents through
:class:`longwriter.studio.Studio`, which asks :func:`refusal` before it changes anything. A refused
action raises :class:`StudioError` whose message says what to do instead, so a user of the API and
a user of the page get the same answer in the same words, and no front end keeps a copy of a rule
that can drift (a rule that lived only in the page once let the API empty a written document).

The rules are pure functions of a :class:`DocumentFacts` snapshot, so they are tested without a
model, a database or a server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from longwriter.agentwrite import MODES

Action = Literal["plan", "set_plan", "write", "regenerate", "continue", "edit", "keep", "rate", "delete"]
"""Everything a user may ask of a stored document (reading it and stopping it are always allowed)."""

SECTION_ACTIONS: frozenset[Action] = frozenset({"regenerate", "continue", "edit", "keep"})
"""Actions on one section: only a finished section can be revised or chosen between."""

PLAN_MODES = ("agentwrite", "parallel")
"""Modes that write from a plan; single-pass and think write the whole document in one call."""

MAX_TARGET_WORDS = 100_000
EXTRA_WORDS = (20, 5000)
"""How far one "continue" may extend a section, in words."""

RUNNING = "This document is being written right now: stop it first, or wait until it finishes."
HAS_TEXT = (
    "This document already has text, so its plan stays: revise its sections, "
    "or duplicate it (Library → Duplicate with new plan) to plan it afresh."
)
WITHOUT_PLAN = "Single-pass and think documents are written without a plan: write it directly."
FINISHED = "This document is finished: regenerate, continue or edit a section, or duplicate it to write it again."
NO_PLAN_YET = "This document has no sections yet: draft its plan or write it first."
CHOOSE_SECTION = "Choose a section first."
NOTHING_TO_RATE = "There is no text to rate yet: write the document first."


class StudioError(ValueError):
    """A request the studio refuses; the message is meant for the user and names what to do instead."""


@dataclass(frozen=True)
class DocumentFacts:
    """What the rules look at: the document's mode and status, whether it runs, its sections' progress."""

    mode: str
    status: str
    running: bool
    sections: tuple[str, ...] = ()
    """Each section's status, in plan order ("pending", "writing", "done", "stopped", "failed")."""
    has_text: bool = False


def refusal(action: Action, facts: DocumentFacts, index: int | None = None) -> str | None:
    """Why ``action`` (on section ``index`` for section actions) may not happen now, or None when it may."""
    if facts.running:
        return RUNNING
    if action in ("plan", "set_plan") and facts.mode not in PLAN_MODES:
        return WITHOUT_PLAN
    if action == "plan" and facts.has_text:
        return HAS_TEXT  # a redrafted plan empties every section whose main point changes
    if action == "write" and facts.status == "done":
        return FINISHED
    if action in ("regenerate", "continue") and facts.mode not in PLAN_MODES:
        return (
            "Regenerate and continue work on the sections of a planned document: edit this one, "
            "or duplicate it to write it again."
        )
    if action in SECTION_ACTIONS or (action == "rate" and index is not None):
        return _section_refusal(facts, index)
    if action == "rate" and not facts.has_text:
        return NOTHING_TO_RATE
    return None


def _section_refusal(facts: DocumentFacts, index: int | None) -> str | None:
    if index is None:
        return CHOOSE_SECTION
    if not facts.sections:
        return NO_PLAN_YET
    if not 0 <= index < len(facts.sections):
        return f"There is no section {index + 1}: choose one of sections 1–{len(facts.sections)}."
    if facts.sections[index] != "done":
        return f"Section {index + 1} is not finished, so it cannot be revised yet: continue the document first (Write)."
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_request(instruction: str, target_words: int, mode: str, then: Action = "write") -> None:
    """Refuse an empty or absurd new document before anything is stored or generated.

    ``then`` is what the caller does next, so that a request that cannot lead there (a plan for a
    single-pass document) is refused before it leaves a document behind.
    """
    if not instruction or not instruction.strip():
        raise StudioError("The instruction is empty: say what the document should be about.")
    if len(instruction) > 20_000:
        raise StudioError("The instruction is longer than 20,000 characters; put long material in fewer words.")
    if not instruction.isascii() and _SURROGATE.search(instruction):  # JSON can carry them; no database stores them
        raise StudioError("The instruction holds a broken character (a lone UTF-16 surrogate); paste it again as text.")
    if not 100 <= target_words <= MAX_TARGET_WORDS:
        raise StudioError(
            f"The target length must be between 100 and {MAX_TARGET_WORDS:,} words, not {target_words:,}."
        )
    if mode not in MODES:
        raise StudioError(f"Unknown mode {mode!r}; choose one of {', '.join(MODES)}.")
    if then == "plan" and mode not in PLAN_MODES:
        raise StudioError(WITHOUT_PLAN)


def check_extra_words(words: int) -> None:
    """A continue asks for a sensible number of words."""
    low, high = EXTRA_WORDS
    if not low <= words <= high:
        raise StudioError(f"Continue by {low} to {high:,} words, not {words:,}.")


def check_edit(text: str) -> None:
    """A user's edit may not empty a section (deleting text is done by writing less, not nothing)."""
    if not (text or "").strip():
        raise StudioError("The section cannot be empty: write some text, or keep it as it was.")
