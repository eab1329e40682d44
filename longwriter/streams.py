"""Merging several async event streams into one: the parallel writer, the arena and the evaluator.

Each of them runs several producers at once (sections written in parallel, the two sides of a
battle, evaluation items) and hands their events to one consumer as they come. Doing that right
is subtle enough to do once: a producer that raises must not leave the consumer waiting forever,
a consumer that walks away must cancel every producer (which closes their writer streams and
aborts their backend requests), and at most ``limit`` producers may run at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Raised:
    """A source's exception on its way to the consumer (an item may be anything, even an exception)."""

    def __init__(self, error: Exception) -> None:
        self.error = error


async def merge(sources: Sequence[Callable[[], AsyncIterator[T]]], limit: int | None = None) -> AsyncGenerator[T, None]:
    """Run the streams ``sources()`` make, at most ``limit`` at once, yielding their items as they come.

    Each source is a function that opens its stream, so a source that never gets a turn is never
    opened. With ``limit`` 1 the streams run inline, one after the other: a consumer that stops
    after an item leaves the next source unopened. A source's exception is raised to the consumer
    (the other sources are cancelled); closing the merged stream cancels every source.
    """
    if limit == 1:
        for source in sources:
            async with aclosing(source()) as items:  # type: ignore[type-var]
                async for item in items:
                    yield item
        return
    queue: asyncio.Queue[object] = asyncio.Queue()
    gate = asyncio.Semaphore(limit or max(1, len(sources)))

    async def pump(source: Callable[[], AsyncIterator[T]]) -> None:
        try:
            async with gate, aclosing(source()) as items:  # type: ignore[type-var]
                async for item in items:
                    queue.put_nowait(item)
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            queue.put_nowait(_Raised(exc))
        finally:
            queue.put_nowait(_DONE)

    tasks = [asyncio.create_task(pump(source)) for source in sources]
    remaining = len(tasks)
    try:
        while remaining:
            item = await queue.get()
            if item is _DONE:
                remaining -= 1
            elif isinstance(item, _Raised):
                raise item.error
            else:
                yield item  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
