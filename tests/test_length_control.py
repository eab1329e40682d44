"""Length control's requests: a section that ends far short is continued, and the continuation
asks the backend not to end again before the section reaches its floor (``min_tokens``).

That each backend honours ``min_tokens`` is tested against the real model (test_agentwrite.py,
test_openai_backend.py); here a backend that always ends after one sentence shows what the
writer asks for, which no real model does reliably enough to test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from longwriter.agentwrite import AgentWriter, LengthControl
from longwriter.backends.base import GenerationRequest, estimate_tokens
from longwriter.catalog import resolve
from longwriter.events import SectionDone
from longwriter.plan import Plan, Section


class EndsEarly:
    """A model that writes its next reply (the last one again once they run out) and ends,
    whatever it is asked; it keeps every request."""

    name = "ends-early"

    def __init__(self, *replies: str) -> None:
        self.spec = resolve("smollm2-135m", Path("/nonexistent"))
        self.replies = list(replies)
        self.requests: list[GenerationRequest] = []

    @property
    def context_window(self) -> int:
        return 8192

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        self.requests.append(request)
        for sentence in self.replies[min(len(self.requests), len(self.replies)) - 1].split(". "):
            yield sentence.strip() + ". "  # a sentence at a time, as a model streams

    async def aclose(self) -> None:
        pass


async def write_one(backend: EndsEarly, words: int) -> SectionDone:
    plan = Plan(sections=[Section(main_point="Why rivers meander", words=words)])
    writer = AgentWriter(backend, length=LengthControl(continue_below=0.75, max_continuations=2))
    events = [event async for event in writer.write_section("Write about rivers.", plan, [], 0)]
    done = events[-1]
    assert isinstance(done, SectionDone)
    return done


async def test_a_short_section_is_continued_with_a_floor_that_shrinks_as_it_grows() -> None:
    backend = EndsEarly("Rivers bend where the bank is soft. ")
    done = await write_one(backend, 200)
    first, *continued = backend.requests
    assert done.continuations == 2 and len(continued) == 2
    assert first.min_tokens == 0  # the model's own ending is trusted once
    floors = [request.min_tokens for request in continued]
    assert floors[0] > floors[1] > 0  # what is still missing up to 75% of the budget, in tokens
    assert all(request.min_tokens <= request.max_tokens for request in continued)
    assert continued[0].assistant_prefix.startswith("Rivers bend") and continued[0].prompt == first.prompt


async def test_a_section_that_reaches_its_floor_is_not_continued() -> None:
    backend = EndsEarly("Rivers bend where the bank is soft and the water slow. ")
    done = await write_one(backend, 10)
    assert done.continuations == 0 and [request.min_tokens for request in backend.requests] == [0]


async def test_a_section_cut_back_for_looping_is_continued_when_that_left_it_short() -> None:
    words = [
        "stone",
        "reed",
        "willow",
        "heron",
        "silt",
        "delta",
        "ferry",
        "mill",
        "bridge",
        "otter",
        "salmon",
        "barge",
        "lock",
        "weir",
        "ford",
    ]
    varied = " ".join(f"The {a} meets the {b} where the {c} lies." for a, b, c in zip(words, words[3:], words[6:]))
    backend = EndsEarly("Rivers bend where the bank is soft. " + "The water turns again and again. " * 40, varied)
    done = await write_one(backend, 200)
    assert [request.min_tokens > 0 for request in backend.requests] == [False, True, True]
    # The section keeps "loop" as its stop reason after its continuations, so reports count the loop cut.
    assert done.continuations == 2 and done.stop_reason == "loop"
    assert done.text.count("The water turns again") == 1  # the loop was cut after its first round
    assert "The stone meets the heron" in done.text and done.words >= 150
