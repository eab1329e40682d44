"""The document rules as pure functions: every state the contract test does not reach through a page.

:mod:`tests.test_contract` holds the page, the API and the CLI to these answers on real documents;
here the corners of the table are checked directly: single-pass documents, ratings, section numbers,
and the checks of a new request.
"""

from __future__ import annotations

import pytest

from longwriter import rules
from longwriter.rules import DocumentFacts, StudioError, refusal

WRITTEN = DocumentFacts(mode="agentwrite", status="done", running=False, sections=("done", "done"), has_text=True)
HALF = DocumentFacts(mode="agentwrite", status="stopped", running=False, sections=("done", "stopped"), has_text=True)
SINGLE = DocumentFacts(mode="single", status="done", running=False, sections=("done",), has_text=True)
FRESH = DocumentFacts(mode="agentwrite", status="planning", running=False)
RUNNING = DocumentFacts(mode="agentwrite", status="writing", running=True, sections=("done", "writing"), has_text=True)


@pytest.mark.parametrize(
    ("action", "facts", "index", "expected"),
    [
        ("plan", FRESH, None, None),
        ("write", FRESH, None, None),  # plans first
        ("regenerate", FRESH, 0, rules.NO_PLAN_YET),
        ("plan", SINGLE, None, rules.WITHOUT_PLAN),
        ("set_plan", SINGLE, None, rules.WITHOUT_PLAN),
        ("write", SINGLE, None, rules.FINISHED),  # would write the whole text again
        ("regenerate", SINGLE, 0, "Regenerate and continue work on the sections of a planned document"),
        ("edit", SINGLE, 0, None),
        ("set_plan", WRITTEN, None, None),  # the user's own plan edit: changed sections start over
        ("keep", WRITTEN, 1, None),
        ("regenerate", WRITTEN, None, rules.CHOOSE_SECTION),
        ("continue", WRITTEN, 2, "There is no section 3: choose one of sections 1–2."),
        ("edit", HALF, 1, "Section 2 is not finished"),
        ("rate", HALF, 1, "Section 2 is not finished"),
        ("rate", HALF, None, None),  # the whole document, as far as it goes
        ("rate", FRESH, None, rules.NOTHING_TO_RATE),
        ("delete", RUNNING, None, rules.RUNNING),
        ("rate", RUNNING, None, rules.RUNNING),
        ("delete", WRITTEN, None, None),
    ],
)
def test_refusal(action: rules.Action, facts: DocumentFacts, index: int | None, expected: str | None) -> None:
    answer = refusal(action, facts, index)
    if expected is None:
        assert answer is None
    else:
        assert answer is not None and answer.startswith(expected)


@pytest.mark.parametrize(
    ("instruction", "words", "mode", "then", "message"),
    [
        ("  ", 1000, "agentwrite", "write", "instruction is empty"),
        ("x" * 20_001, 1000, "agentwrite", "write", "longer than 20,000"),
        ("Tea.", 99, "agentwrite", "write", "between 100 and 100,000 words, not 99"),
        ("Tea.", 1000, "essay", "write", "Unknown mode 'essay'"),
        ("Tea.", 1000, "single", "plan", "written without a plan"),
    ],
)
def test_a_new_request_is_refused_before_anything_is_stored(
    instruction: str, words: int, mode: str, then: rules.Action, message: str
) -> None:
    with pytest.raises(StudioError, match=message):
        rules.check_request(instruction, words, mode, then)
    rules.check_request("Tea.", 1000, "single", "write")


def test_continue_and_edit_limits() -> None:
    rules.check_extra_words(20)
    with pytest.raises(StudioError, match="20 to 5,000 words, not 6,000"):
        rules.check_extra_words(6000)
    with pytest.raises(StudioError, match="cannot be empty"):
        rules.check_edit(" \n")
