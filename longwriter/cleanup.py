"""Prompt text a model copies into a section, found and removed before the section is stored.

A small model given the write prompt (task, plan, text so far, instructions) often writes some of
the prompt back: "This is the last paragraph: bring the document to a fitting close", "Step 2:
Include the main point…", "Here is the entire plan:" and an outline, a "Paragraph 3 - Main Point:
… - Word Count: 300 words" line. None of that is document text. This module finds such lines
(and such sentences inside a line of prose) so the writer can drop them; the model's raw output
stays in its generation row, so nothing is lost for inspection or training.

What counts as a leak, each rule kept narrow so ordinary prose is never touched:

* a plan label ("Main Point:", "Word Count:", "Paragraph 2 -"), or a short sentence that talks
  about the main point or the word count, or asks the writer for something ("Please add a title");
* a run of :data:`ECHO_RUN` words in a row from the write prompt's own wording (``wording``: the
  instructions with the task, plan and text left out, so echoing the topic is fine);
* an announcement of the plan or the prompt ("Here is the entire plan:", "Writing task:") and
  the short list lines that follow it (an invented outline), a sentence about the plan's
  paragraphs ("This is the second paragraph in the plan."), and a line that is only a template
  slot (``<What this paragraph covers, in detail>``, ``[Your name]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ECHO_RUN = 5
"""Words in a row shared with the prompt's own wording that make a sentence an echo of it."""
META_WORDS = 25
"""A sentence this short that talks about "the main point" or "word count" is an instruction."""
OUTLINE_WORDS = 15
"""List lines after a plan announcement up to this long are the invented outline."""

_UNIT = re.compile(r"[\u4e00-\u9fff]|[^\W_]+")
_LABEL = re.compile(
    r"\b(?:main\s*points?|word\s*counts?)\s*[:：]|^\W*paragraph\s*\d+\s*(?:[-–—:：.]|$)"
    r"|\bparagraph\s*\d+\s*of\s+the\s+plan",
    re.IGNORECASE,
)
_META = re.compile(
    r"\bmain\s*points?\b|\bword\s*counts?\b"
    r"|^\W*please\s+(?:write|continue|add\s+(?:a\s+)?(?:title|subtitle|heading)|include\s+the\s+main)"
    r"|\bthis\s+is\s+the\s+\w+\s+paragraph\b|\bparagraphs?\b[^.!?]*\b(?:the|this|your)\s+plan\b"
    r"|^\W*here(?:\s+is|'s|\s+are)\s+(?:the|my|your|an?)\s+(?:\w+\s+){0,2}(?:text|paragraphs?|plan|outline)\b",
    re.IGNORECASE,
)
_PLACEHOLDER_LINE = re.compile(r"^[\s*_>#-]*(?:<[^<>]+>|\[[^\[\]]+\])[\s*_.:]*$")
"""A line that is only a template slot: ``<What this paragraph covers, in detail>``, ``[Your name]``."""
_ANNOUNCE = re.compile(
    r"^\W*(?:(?:here\s+is|here's|below\s+is|this\s+is)\s+(?:the|my|an?)\s+(?:\w+\s+){0,2}(?:plan|outline)\b"
    r"|(?:the\s+)?(?:entire\s+|whole\s+|full\s+)?(?:plan|outline|writing\s+task|text\s+written\s+so\s+far)\s*[:：])",
    re.IGNORECASE,
)
_LIST_ITEM = re.compile(
    r"^\s*(?:[-*•]|\d+[.)]|[a-z][.)]|#+)\s+\S|^\s*(?:paragraph|step|section|part)\s*\d+", re.IGNORECASE
)
_SENTENCE = re.compile(r"[^.!?。！？]*(?:[.!?。！？]+[\"'”’)\]]*\s*|$)")


@dataclass(frozen=True)
class Cleaned:
    """A section's text with the leaked prompt text taken out, and what was taken."""

    text: str
    removed: tuple[str, ...]


def remove_leaks(text: str, wording: str = "") -> Cleaned:
    """``text`` without the lines and sentences that repeat the prompt rather than write the document.

    ``wording`` is the write prompt's own instructions with its slots (task, plan, text so far)
    empty; a sentence sharing :data:`ECHO_RUN` words in a row with it is an echo. Blank-line
    structure is kept; a line whose every sentence leaked disappears with its line break.
    """
    template = _runs(_units(wording))
    kept: list[str] = []
    removed: list[str] = []
    in_outline = False
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            in_outline = False
            kept.append(line)
            continue
        if in_outline and _LIST_ITEM.match(stripped) and len(_units(stripped)) <= OUTLINE_WORDS:
            removed.append(stripped)
            continue
        in_outline = False
        if _PLACEHOLDER_LINE.match(stripped):
            removed.append(stripped)
            continue
        if _ANNOUNCE.match(stripped):
            removed.append(stripped)
            in_outline = True
            continue
        sentences = [s for s in _SENTENCE.findall(line) if s]
        leaked = [s for s in sentences if _leaks(s, template)]
        if not leaked:
            kept.append(line)
            continue
        removed.extend(s.strip() for s in leaked)
        rest = "".join(s for s in sentences if s not in leaked).strip()
        if rest:
            kept.append(line[: len(line) - len(line.lstrip())] + rest)
    if not removed:
        return Cleaned(text, ())
    return Cleaned(_tidy("\n".join(kept), text), tuple(removed))


def _leaks(sentence: str, template: set[tuple[str, ...]]) -> bool:
    units = _units(sentence)
    if not units:
        return False
    if _LABEL.search(sentence):
        return True
    if _META.search(sentence) and len(units) <= META_WORDS:
        return True
    return any(tuple(units[i : i + ECHO_RUN]) in template for i in range(len(units) - ECHO_RUN + 1))


def _units(text: str) -> list[str]:
    return [u.lower() for u in _UNIT.findall(text)]


def _runs(units: list[str]) -> set[tuple[str, ...]]:
    return {tuple(units[i : i + ECHO_RUN]) for i in range(len(units) - ECHO_RUN + 1)}


def _tidy(cleaned: str, original: str) -> str:
    """Collapse the blank lines removals leave, keeping the original's leading and trailing space.

    The writer cleans text while it streams, so the space a continuation joins onto must stay.
    """
    body = re.sub(r"\n{3,}", "\n\n", cleaned).strip()
    if not body:
        return ""
    lead = original[: len(original) - len(original.lstrip())]
    trail = original[len(original.rstrip()) :]
    return lead + body + trail
