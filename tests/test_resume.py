"""The writer's one dispatch: ``AgentWriter.run`` picks the way each mode writes and resumes it from
the stored sections, so the studio (and anything else) hands it the document and gets the rest."""

from __future__ import annotations

from dataclasses import dataclass

from test_streams import PLAN, Flaky

from longwriter.agentwrite import AgentWriter
from longwriter.events import DocumentDone, Event, PlanReady, SectionReset, SectionStarted


@dataclass
class Stored:
    index: int
    status: str
    text: str


async def run(mode: str, written: list[Stored], plan: bool = True) -> list[Event]:
    writer = AgentWriter(Flaky(bad="nothing"), max_parallel=2)  # type: ignore[arg-type]
    return [e async for e in writer.run("Write about tea", 120, mode, PLAN if plan else None, written)]  # type: ignore[arg-type]


async def test_sequential_writing_resumes_after_the_finished_sections_and_continues_the_partial_one() -> None:
    events = await run("agentwrite", [Stored(0, "done", "Tea in the morning."), Stored(1, "stopped", "In the evening")])
    assert isinstance(events[0], PlanReady) and events[0].plan == PLAN
    assert [e.index for e in events if isinstance(e, SectionStarted)] == [1]
    assert next(e for e in events if isinstance(e, SectionReset)).text == "In the evening"
    final = events[-1]
    assert isinstance(final, DocumentDone) and final.text.startswith("Tea in the morning.\n\nIn the evening")


async def test_a_gap_is_not_skipped_when_a_finished_section_follows_an_unwritten_one() -> None:
    events = await run("agentwrite", [Stored(0, "pending", ""), Stored(1, "done", "Evening tea.")])
    assert [e.index for e in events if isinstance(e, SectionStarted)] == [0, 1]


async def test_parallel_writing_skips_every_finished_section() -> None:
    events = await run("parallel", [Stored(0, "pending", ""), Stored(1, "done", "Evening tea.")])
    assert [e.index for e in events if isinstance(e, SectionStarted)] == [0]
    assert isinstance(events[-1], DocumentDone) and events[-1].text.endswith("Evening tea.")


async def test_a_single_pass_continues_its_stored_text() -> None:
    events = await run("single", [Stored(0, "stopped", "Tea is a leaf")], plan=False)
    assert not any(isinstance(e, PlanReady) for e in events)
    assert next(e for e in events if isinstance(e, SectionReset)).text == "Tea is a leaf"
    assert isinstance(events[-1], DocumentDone) and events[-1].text.startswith("Tea is a leaf")
