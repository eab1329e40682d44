"""Helpers every tab shares: who is asking, and how to stream without flooding the browser.

Other tabs (Arena, Data, Evaluate) use these too:

* :func:`current_user` — the logged-in user name of a request, or None when the app runs without
  login. Pass it as ``user=`` to every store/studio call so each user sees only their own rows.
* :func:`throttled` — batch a fast event stream into a few UI updates per second. Gradio sends
  diffs, but the browser re-renders each updated component entirely, so a handler that yields
  per token makes a long document crawl.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr

from longwriter.documents import export_bytes, export_filename

T = TypeVar("T")

ASSETS = Path(__file__).with_name("assets")
"""The page's stylesheet, logo, icons and examples: package data, so an installed copy has them too."""

UPDATE_INTERVAL = 0.3
"""Seconds between UI updates while a stream runs (about three per second)."""


def current_user(request: gr.Request | None) -> str | None:
    """The login name behind ``request``, or None when the app runs without ``auth``."""
    if request is None:
        return None
    return getattr(request, "username", None) or None


async def throttled(
    events: AsyncIterator[T],
    interval: float | Callable[[], float] = UPDATE_INTERVAL,
    urgent: Callable[[T], bool] | None = None,
) -> AsyncIterator[list[T]]:
    """Re-yield ``events`` in batches: at most one batch every ``interval`` seconds.

    ``interval`` may be a function, asked before each wait, so a page can slow its updates down as
    the component being streamed grows (re-rendering a huge block costs the browser more).

    A batch is also released at once when an ``urgent`` event arrives (a section starts or ends,
    the run finishes), and when ``interval`` passes with events pending even if the stream has
    gone quiet, so nothing waits for the next token to show. Closing this generator (the page went
    away, the handler was cancelled) closes ``events`` too, which is what stops the model.
    """
    iterator = aiter(events)
    pending: list[T] = []
    last = 0.0  # the first events show at once
    nxt: asyncio.Future[T] | None = None
    try:
        while True:
            if nxt is None:
                nxt = asyncio.ensure_future(anext(iterator))
            every = interval() if callable(interval) else interval
            wait = None if not pending else max(0.0, every - (time.monotonic() - last))
            done, _ = await asyncio.wait({nxt}, timeout=wait)
            if nxt in done:
                future, nxt = nxt, None
                try:
                    event = future.result()
                except StopAsyncIteration:
                    break
                pending.append(event)
                if not (urgent is not None and urgent(event)) and time.monotonic() - last < every:
                    continue
            if pending:
                batch, pending = pending, []
                last = time.monotonic()
                yield batch
        if pending:
            yield pending
    finally:
        if nxt is not None and not nxt.done():
            nxt.cancel()
            with suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                await nxt
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


def export_file(record: dict[str, Any], fmt: str) -> Path:
    """Write ``record`` as a ``fmt`` file ("markdown", "html", "docx") for a download; returns its path.

    Files go to the system temp folder (Gradio serves files from there), one folder per document,
    replaced on every export.
    """
    folder = Path(tempfile.gettempdir()) / "longwriter-exports" / record["id"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / export_filename(record, fmt)
    path.write_bytes(export_bytes(record, fmt))
    return path
