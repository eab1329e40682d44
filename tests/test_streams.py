"""Merging event streams (longwriter.streams.merge) and the writers built on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from pathlib import Path

import pytest
from scripted import ScriptedBackend

from longwriter.agentwrite import AgentWriter
from longwriter.backends.base import GenerationRequest
from longwriter.events import DocumentDone, SectionDone
from longwriter.plan import Plan
from longwriter.plan import Section as Step
from longwriter.streams import merge


class Producers:
    """Sources that count how many run at once, which were opened and which were closed."""

    def __init__(self) -> None:
        self.running = self.most = 0
        self.opened: list[str] = []
        self.closed: list[str] = []

    def source(self, name: str, items: int = 3, fail_at: int | None = None) -> Callable[[], AsyncIterator[str]]:
        async def produce() -> AsyncIterator[str]:
            self.opened.append(name)
            self.running += 1
            self.most = max(self.most, self.running)
            try:
                for i in range(items):
                    await asyncio.sleep(0.001)
                    if i == fail_at:
                        raise RuntimeError(f"{name} broke")
                    yield f"{name}{i}"
            finally:
                self.running -= 1
                self.closed.append(name)

        return produce


async def test_every_item_of_every_source_arrives_at_most_limit_at_once() -> None:
    p = Producers()
    items = [item async for item in merge([p.source(n) for n in "abcd"], limit=2)]
    assert sorted(items) == sorted(f"{n}{i}" for n in "abcd" for i in range(3))
    assert p.most == 2 and sorted(p.closed) == list("abcd")
    for name in "abcd":  # each source's own order is kept
        assert [i for i in items if i[0] == name] == [f"{name}0", f"{name}1", f"{name}2"]


async def test_with_limit_one_the_sources_run_inline_and_a_consumer_that_stops_leaves_the_rest_unopened() -> None:
    p = Producers()
    async with aclosing(merge([p.source("a"), p.source("b")], limit=1)) as items:
        async for item in items:
            if item == "a1":
                break
    assert p.opened == ["a"] and p.closed == ["a"]


async def test_a_source_that_raises_reaches_the_consumer_and_the_others_are_cancelled() -> None:
    p = Producers()
    with pytest.raises(RuntimeError, match="b broke"):
        await asyncio.wait_for(_drain(merge([p.source("a", items=1000), p.source("b", fail_at=1)])), 5)
    assert p.running == 0 and sorted(p.closed) == ["a", "b"]


async def test_closing_the_merged_stream_cancels_every_source() -> None:
    p = Producers()
    merged = merge([p.source(n, items=1000) for n in "abc"])
    await anext(merged)
    await merged.aclose()
    assert p.running == 0 and sorted(p.closed) == list("abc")


async def _drain(items: AsyncIterator[str]) -> None:
    async for _ in items:
        pass


# -- the parallel writer ----------------------------------------------------------------------------


class Flaky(ScriptedBackend):
    """The scripted model, except that its request for the section about ``bad`` raises an
    unexpected error (not a BackendError) a few pieces in."""

    def __init__(self, bad: str) -> None:
        super().__init__(Path("/nonexistent"), delay=0.001)
        self.bad = bad

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        doomed = self.bad in request.prompt.rsplit("Main point:", 1)[-1]
        async with aclosing(super().stream(request)) as pieces:  # type: ignore[type-var]
            n = 0
            async for piece in pieces:
                if doomed and n == 3:
                    raise ZeroDivisionError("a bug in the engine")
                n += 1
                yield piece


PLAN = Plan(sections=[Step(main_point="Morning tea", words=60), Step(main_point="Evening tea", words=60)])


async def test_parallel_sections_finish_into_one_document() -> None:
    writer = AgentWriter(Flaky(bad="nothing"), max_parallel=2)  # type: ignore[arg-type]
    events = [e async for e in writer.write_parallel("Write about tea", PLAN)]
    assert sorted(e.index for e in events if isinstance(e, SectionDone)) == [0, 1]
    assert isinstance(events[-1], DocumentDone) and events[-1].words > 0


async def test_a_parallel_section_that_crashes_ends_the_run_instead_of_hanging_it() -> None:
    writer = AgentWriter(Flaky(bad="Evening"), max_parallel=2)  # type: ignore[arg-type]
    with pytest.raises(ZeroDivisionError, match="a bug in the engine"):
        await asyncio.wait_for(_drain(writer.write_parallel("Write about tea", PLAN)), 10)  # type: ignore[arg-type]
