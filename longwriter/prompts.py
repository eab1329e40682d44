"""The prompts the writer sends, and what it strips from the model's answer because of them.

AgentWrite's two prompts (the paper's order: task, plan, text so far, current step) and the one-pass
prompt live here on their own because more than the writer reads them: the cleanup that removes
echoed prompt wording, the evaluator's report, the arena and the training data all need the exact
words the model saw.
"""

from __future__ import annotations

import re

from longwriter.plan import Plan, Section

PLAN_OPENING = "Paragraph 1 - Main Point:"
"""The plan answer is started for the model: even a 135M model then keeps to the line format."""

_MARKER = re.compile(
    r"""^\s*(?P<hashes>\#{1,6}\s*)?[*_]*\s*
        (?:(?:paragraph|section|part|step)\s*\d+|第\s*\d+\s*[段部分节]|段落\s*\d+)
        \s*[*_]*\s*[:：.\-–—)]*\s*[*_]*\s*""",
    re.IGNORECASE | re.VERBOSE,
)
_PLAN_ECHO = re.compile(
    r"(?:main\s*point\s*[:：]\s*)|(?:\s*[-–—]?\s*word\s*count\s*[:：]?\s*\d[\d,]*\s*(?:words?)?)", re.IGNORECASE
)


def section_prompt(instruction: str, plan: Plan, previous: list[str], index: int, omitted: int = 0) -> str:
    """The write prompt for section ``index`` (0-based): task, plan, text so far, current step.

    The order follows the paper so that the task, the plan and the text so far form a prefix
    shared byte for byte with the next section's prompt. ``omitted`` leading sections are left
    out (and said to be) when the whole text would not fit the context window.
    """
    section = plan.sections[index]
    if previous:
        note = f"[Paragraphs 1-{omitted} are omitted here for length.]\n\n" if omitted else ""
        so_far = note + "\n\n".join(previous)
    else:
        so_far = "(nothing yet: this is the first paragraph)"
    last = index == len(plan.sections) - 1
    ending = (
        "This is the last paragraph: bring the document to a fitting close."
        if last
        else "Do not conclude the whole document; later paragraphs follow."
    )
    return (
        "You are writing a long document one paragraph at a time, following a plan.\n\n"
        f"Writing task:\n{instruction.strip()}\n\n"
        f"Plan:\n{plan.to_text()}\n\n"
        f"Text written so far:\n{so_far}\n\n"
        f"Now write paragraph {index + 1} of the plan. Main point: {section.main_point}. "
        f"Length: about {section.words} words. Write this paragraph only, continue naturally from the text "
        f"so far without repeating it, and do not number it. {ending} You may begin with a short subtitle."
    )


PROMPT_WORDING = "\n".join(
    section_prompt("", Plan(sections=[Section(main_point="-", words=1)] * 2), [], index) for index in (0, 1)
)
"""The write prompt's own words with its slots empty: what a section must not repeat (see
:mod:`longwriter.cleanup`); derived from :func:`section_prompt` so the two never drift apart."""


def single_prompt(instruction: str, target_words: int) -> str:
    """The prompt for one-pass writing: the instruction, with the length made explicit if it is not."""
    instruction = instruction.strip()
    if re.search(r"\d", instruction):
        return instruction
    return f"{instruction}\n\nWrite about {target_words} words."


def strip_marker(text: str) -> str:
    """Remove a leading "Paragraph 3"-style marker (and a copied plan line) the model may add."""
    first, sep, rest = text.partition("\n")
    match = _MARKER.match(first)
    if not match:
        return text
    heading = _PLAN_ECHO.sub(" ", first[match.end() :]).strip(" *_-–—:：")
    if not heading:
        return rest.lstrip("\n")
    return f"{match.group('hashes') or ''}{heading}{sep}{rest}"
