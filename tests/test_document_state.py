"""The one fold of the event stream, and its consumers agreeing on what a run left behind.

The recorder (what the store keeps), the page (``LiveDoc``), the arena (``Side``) and the CLI
and evaluator all fold events through :class:`DocumentState`; the last test feeds one stream
through the store and the page and checks they tell the same story, section by section (before
the fold was shared, the page marked every unfinished section of a failed run "failed" and the
store only the one that failed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from longwriter.document_state import REASONING, DocumentState, is_milestone
from longwriter.documents import document_record
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
from longwriter.plan import Plan
from longwriter.plan import Section as Step
from longwriter.store import Store, record
from longwriter.text import count_words

PLAN = Plan(sections=[Step(main_point="Why cats purr", words=300), Step(main_point="How cats hunt", words=200)])


def done(index: int, text: str, tokens: int = 10, seconds: float = 2.0) -> SectionDone:
    return SectionDone(index, text, count_words(text), 300, tokens, seconds)


def fold(events: Sequence[Event], state: DocumentState | None = None) -> DocumentState:
    state = state or DocumentState(target_words=500)
    for event in events:
        state.apply(event)
    return state


def test_a_sequential_run_folds_into_sections_text_and_status() -> None:
    state = fold([PlanDelta("Paragraph 1 - Main Point: Why"), PlanReady(PLAN)])
    assert state.plan_raw.startswith("Paragraph 1") and state.plan_changed
    assert [row["main_point"] for row in state.plan] == ["Why cats purr", "How cats hunt"]
    assert state.sections == [] and state.started_count == 0

    fold([SectionStarted(0, 300, prompt="write 1"), TextDelta(0, "Cats purr "), TextDelta(0, "when calm.")], state)
    first = state.sections[0]
    assert (first.text, first.status, first.prompt, first.main_point) == (
        "Cats purr when calm.",
        "writing",
        "write 1",
        "Why cats purr",
    )
    assert first.words == 4 and state.words == 4 and state.status == "writing" and state.current == 0
    assert state.changed == {0, REASONING}

    fold([SectionReset(0, "Cats purr."), done(0, "Cats purr."), SectionStarted(1, 200), done(1, "They stalk.")], state)
    assert [s.status for s in state.sections] == ["done", "done"] and state.words == 4
    assert (state.run_tokens, state.run_seconds) == (20, 4.0)
    state.apply(DocumentDone("Cats purr.\n\nThey stalk.", 4, 500, 0.0, 4.0, 20))
    assert state.status == "done" and state.ended and state.text == "Cats purr.\n\nThey stalk."
    assert state.length_score is not None and state.length_score < 50  # 4 words of 500


def test_reasoning_is_kept_per_section_and_starts_afresh() -> None:
    state = fold([SectionStarted(0, 300), TextDelta(0, "think…", "reasoning"), TextDelta(0, "Answer.")])
    assert (state.reasoning, state.text) == ("think…", "Answer.")
    state.changed.clear()
    state.apply(SectionStarted(0, 300))  # written again: new thoughts, new text
    assert state.reasoning == "" and state.text == "" and REASONING in state.changed


def test_words_follow_every_change_of_a_sections_text() -> None:
    state = fold([SectionStarted(0, 300), TextDelta(0, "one two")])
    assert state.words == 2
    state.apply(TextDelta(0, " three"))
    assert state.words == 3
    state.apply(SectionReset(0, "猫"))
    assert state.words == 1


@pytest.mark.parametrize(
    ("end", "statuses", "status", "error"),
    [
        (Stopped(index=1), ["done", "stopped", "stopped"], "stopped", None),
        (Failed("the server went away", index=1), ["done", "failed", "stopped"], "failed", "the server went away"),
        (Failed("the model could not start"), ["done", "stopped", "stopped"], "failed", "the model could not start"),
    ],
)
def test_a_run_that_ends_early_stops_its_unfinished_sections(
    end: Event, statuses: list[str], status: str, error: str | None
) -> None:
    """Parallel sections 1 and 2 are writing when the run ends: the one a failure names fails."""
    state = fold([SectionStarted(0, 100), done(0, "Done."), SectionStarted(1, 100), SectionStarted(2, 100), end])
    assert [s.status for s in state.sections] == statuses
    assert (state.status, state.error) == (status, error)


def test_a_stored_record_is_the_starting_state(store: Store) -> None:
    doc = store.create_document("Write about cats", 500, plan=PLAN)
    store.save_section(doc.id, 0, text="Cats purr.", status="done")
    state = DocumentState.from_record(document_record(store, doc.id))
    assert [(s.index, s.status, s.text) for s in state.sections] == [(0, "done", "Cats purr."), (1, "pending", "")]
    assert state.started_count == 1 and state.changed == {0, 1}
    state.apply(SectionStarted(1, 200))
    state.apply(TextDelta(1, "They stalk."))
    assert state.text == "Cats purr.\n\nThey stalk." and state.sections[1].target_words == 200


def test_milestones_are_the_events_that_change_a_runs_shape() -> None:
    assert is_milestone(SectionDone(0, "", 0, 0, 0, 0.0)) and is_milestone(Failed("x"))
    assert not is_milestone(TextDelta(0, "x")) and not is_milestone(PlanDelta("x"))


# -- the consumers agree ---------------------------------------------------------------------------


@pytest.fixture
def store() -> AsyncIterator[Store]:
    opened = Store("sqlite://")
    yield opened  # type: ignore[misc]
    opened.close()


async def replay(events: Sequence[Event]) -> AsyncIterator[Event]:
    for event in events:
        yield event


PARALLEL_FAILURE: list[Event] = [
    PlanReady(PLAN),
    SectionStarted(0, 300, prompt="write 1"),
    SectionStarted(1, 200, prompt="write 2"),
    TextDelta(0, "Cats purr when they are calm"),
    TextDelta(1, "Cats stalk"),
    Failed("The model server went away.", index=1),
]


async def test_the_store_and_the_page_tell_the_same_story(store: Store) -> None:
    from ui.view import LiveDoc

    doc = store.create_document("Write about cats", 500, mode="parallel")
    page = LiveDoc.from_record(document_record(store, doc.id), running=True)
    async for event in record(store, doc.id, replay(PARALLEL_FAILURE), checkpoint_seconds=0):
        page.apply(event)
    stored = document_record(store, doc.id)
    assert [(s["status"], s["text"]) for s in stored["sections"]] == [
        ("stopped", "Cats purr when they are calm"),
        ("failed", "Cats stalk"),
    ]
    assert [(s.status, s.text) for s in page.sections] == [(s["status"], s["text"]) for s in stored["sections"]]
    assert stored["status"] == page.status == "failed" and stored["text"] == page.text
    assert (page.message, page.level) == ("The model server went away.", "error")
