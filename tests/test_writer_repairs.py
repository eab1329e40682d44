"""The writer's repairs of a small model's output, on outputs the real embedded model wrote.

Each test replays recorded output (:mod:`replay`) through the real writer, recorder and database:
an outline that is not a plan is asked for again and then replaced by the default plan, and the
events and stored rows say which; prompt text the model copied into a section never reaches the
stored section, while its generation row keeps the raw output; a phrase loop is cut within a few
rounds and the section ends on a sentence, not on "…".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from replay import ReplayBackend

from longwriter.agentwrite import AgentWriter, Sampling
from longwriter.evaluation.repairs import writer_signals
from longwriter.events import Event, PlanReady, SectionDone
from longwriter.plan import Plan, Section, fallback_plan
from longwriter.prompts import PLAN_OPENING
from longwriter.settings import Settings
from longwriter.store.recorder import record
from longwriter.studio import Studio

LISBON = "Write a 600-word guide to Lisbon for a first-time visitor."
# The embedded model's answers to the old planning prompt, as the issue reports them (after the
# opening "Paragraph 1 - Main Point:" the writer gives it).
ECHO = " <What this paragraph covers, in detail> - Word Count: 600 words"
ECHO_AGAIN = " <What I am going to cover today, in detail?> - Word Count: 600 words"
ONE_ROW = " A guide to Lisbon for a first-time visitor - Word Count: 600 words"
GOOD = (
    " Arriving in Lisbon: the airport, the metro and where to stay - Word Count: 300 words\n"
    "Paragraph 2 - Main Point: Alfama, Belém and the trams worth riding - Word Count: 300 words"
)


async def collect(events) -> list[Event]:  # type: ignore[no-untyped-def]
    return [event async for event in events]


async def plan_with(settings: Settings, models_dir: Path, outputs: list[str]) -> tuple[PlanReady, Studio, str]:
    backend = ReplayBackend(models_dir, outputs)
    studio = Studio(settings)
    studio.use_backend(backend)
    doc = studio.create(LISBON, 600, sampling={"seed": 7})
    events = await collect(studio.plan(doc.id))
    ready = next(e for e in events if isinstance(e, PlanReady))
    seeds = [r.seed for r in backend.requests]
    assert seeds == [7, 8][: len(seeds)]  # a retry samples with another seed
    return ready, studio, doc.id


async def test_an_unusable_outline_is_retried_then_replaced_by_the_default_plan(
    settings: Settings, models_dir: Path
) -> None:
    ready, studio, doc_id = await plan_with(settings, models_dir, [ECHO, ECHO_AGAIN])
    assert ready.source == "fallback" and ready.fallback
    assert ready.plan == fallback_plan(LISBON, 600) and len(ready.plan.sections) == 2
    assert ready.raw == PLAN_OPENING + ECHO_AGAIN and ready.rejected == (PLAN_OPENING + ECHO,)
    assert "template" in ready.problem
    rows = studio.store.generations(doc_id)
    assert [(g.kind, g.status) for g in rows] == [("plan", "failed"), ("plan", "failed")]
    assert writer_signals(rows, None)["plan"] == "fallback"
    await studio.aclose()


@pytest.mark.parametrize(
    ("outputs", "source"),
    [([GOOD], "model"), ([ONE_ROW, GOOD], "retry")],
)
async def test_the_model_plan_and_a_retried_one_say_so(
    settings: Settings, models_dir: Path, outputs: list[str], source: str
) -> None:
    ready, studio, doc_id = await plan_with(settings, models_dir, outputs)
    assert ready.source == source and not ready.fallback
    assert [s.main_point for s in ready.plan.sections][1] == "Alfama, Belém and the trams worth riding"
    assert writer_signals(studio.store.generations(doc_id), None)["plan"] == source
    if source == "retry":
        assert "needs 2 to 3" in ready.problem
    await studio.aclose()


TWO = Plan(sections=[Section(main_point="Getting around", words=120), Section(main_point="What to eat", words=120)])
# What the embedded model wrote for a last paragraph (from the issue): its prose, the prompt's own
# instructions, and the plan again, invented.
LEAKY = (
    "Lisbon's food is simple and generous. Grilled sardines are sold on every corner in June, and the "
    "custard tarts of Belém are worth the queue.\n\n"
    "This is the last paragraph: bring the document to a fitting close. Please add a title.\n"
    "Step 2: Include the main point of the paragraph.\n"
    "Here is the entire plan:\n"
    "Paragraph 1 - Main Point: Getting around - Word Count: 120 words\n"
    "1. Trams\n2. Food\n\n"
    "End your visit at a viewpoint at sunset, with a glass of ginjinha, and you will understand why so "
    "many visitors come back."
)


async def test_prompt_text_is_taken_out_of_the_stored_section(settings: Settings, models_dir: Path) -> None:
    backend = ReplayBackend(models_dir, [LEAKY])
    studio = Studio(settings)
    studio.use_backend(backend)
    doc = studio.create(LISBON, 240)
    studio.set_plan(doc.id, TWO)
    writer = AgentWriter(backend)
    events = await collect(record(studio.store, doc.id, writer.write_section(LISBON, TWO, ["Take the tram."], 1)))
    done = [e for e in events if isinstance(e, SectionDone)]
    text = done[0].text
    assert studio.store.sections(doc.id)[1].text == text  # what is stored is the cleaned text ...
    assert studio.store.generations(doc.id)[-1].output == LEAKY  # ... and the generation row keeps the raw output
    signals = writer_signals(studio.store.generations(doc.id), studio.store.document_text(doc.id))
    assert (signals["leaks_found"], signals["leaks_left"]) == (7, 0)
    for leak in ("This is the last paragraph", "Please add a title", "Step 2", "entire plan", "Main Point", "1. Trams"):
        assert leak not in text
    assert text.startswith("Lisbon's food is simple") and text.endswith("so many visitors come back.")
    assert done[0].raw == LEAKY  # what the model wrote stays with the event (and its generation row)
    await studio.aclose()


# The loop from the issue: a phrase pattern with varying words, about 45 characters a round.
LOOPING = (
    "Lisbon has more landmarks than a first visit can hold. The tower at Belém guards the river, and the "
    "monastery beside it is the finest building in the city. Other sights are "
    + "".join(
        f'known as the "{name}" (Portugal), '
        for name in [
            "Torre de Belém",
            "Mosteiro dos Jerónimos",
            "Castelo de São Jorge",
            "Praça do Comércio",
            "Elevador de Santa Justa",
            "Sé de Lisboa",
            "Panteão Nacional",
            "Museu do Azulejo",
        ]
        * 3
    )
    + "…"
)
ENDING = " Whatever you choose, leave time to sit in a square and watch the city go by."


async def test_a_phrase_loop_is_cut_early_and_the_section_ends_cleanly(models_dir: Path) -> None:
    backend = ReplayBackend(models_dir, [LOOPING, ENDING])
    writer = AgentWriter(backend)
    plan = Plan(sections=[Section(main_point="The sights", words=60)])
    events = await collect(writer.write_section(LISBON, plan, [], 0))
    done = next(e for e in events if isinstance(e, SectionDone))
    assert done.stop_reason == "loop"
    streamed = "".join(getattr(e, "text", "") for e in events if type(e).__name__ == "TextDelta")
    assert streamed.count("known as the") <= 8  # stopped within a few rounds, not after two dozen
    assert done.text.count("known as the") == 0  # the unfinished sentence that looped is cut back
    assert done.text.endswith(".") and not done.text.endswith(("…", "...", ","))
    assert done.continuations >= 1 and done.text.endswith("watch the city go by.")  # continued after the cut


async def test_cleaning_while_streaming_keeps_the_paragraph_breaks(models_dir: Path) -> None:
    backend = ReplayBackend(models_dir, [LEAKY])
    events = await collect(AgentWriter(backend).write_section(LISBON, TWO, ["Take the tram."], 1))
    done = next(e for e in events if isinstance(e, SectionDone))
    assert "\n\n\n" not in done.text
    assert done.text.split("\n\n") == [LEAKY.split("\n\n")[0], LEAKY.split("\n\n")[-1]]


async def test_a_section_continued_after_a_loop_is_sampled_with_a_repetition_penalty(models_dir: Path) -> None:
    """Without a penalty (a model outside the catalog), the same text and sampling loop again at once."""
    backend = ReplayBackend(models_dir, [LOOPING, ENDING])
    writer = AgentWriter(backend, sampling=Sampling(temperature=0.7, top_p=0.9))
    await collect(writer.write_section(LISBON, Plan(sections=[Section(main_point="The sights", words=60)]), [], 0))
    penalties = [r.repetition_penalty for r in backend.requests]
    assert penalties[0] == 1.0 and len(penalties) > 1 and set(penalties[1:]) == {1.1}, penalties
