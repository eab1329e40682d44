"""A backend without a model, for the tests of the pages and the API.

What those tests check is the app around a streaming model (throttled updates, Stop, queues, a
backend that dies mid-run), not the words, so a fast deterministic stand-in serves them; every
test of the words themselves uses the real embedded model.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

from longwriter.backends.base import BackendError, GenerationRequest
from longwriter.catalog import resolve

_WORDS = (
    "tea leaves hills morning merchants rivers smoke jade kettles monks gardens caravans porcelain harvest mist "
    "terraces bitter sweet green black oolong steam cups villages ports ships letters emperors poets markets spring "
    "autumn roasting rolling drying brewing whisking bowls"
)
VOCABULARY = _WORDS.split()


class ScriptedBackend:
    """Plain varied sentences at a steady pace; a two-part plan when asked to plan.

    ``fail_after`` makes a run fail after that many pieces, as a model server that goes away does.
    ``active``/``max_active`` count concurrent runs and ``closed`` finished ones, so tests can see
    the queue and Stop at work.
    """

    name = "scripted"

    def __init__(self, models_dir: Path, delay: float = 0.01, fail_after: int | None = None) -> None:
        self.spec = resolve("smollm2-135m", models_dir)
        self.delay, self.fail_after = delay, fail_after
        self.active = self.max_active = 0
        self.closed = 0

    @property
    def context_window(self) -> int:
        return 8192

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if request.prompt.startswith("You are planning"):
                for i in (1, 2):
                    yield f" Part {i} of the subject - Word Count: 120 words\nParagraph {i + 1} - Main Point:"
                return
            rng = random.Random(len(request.prompt))
            for n in range(request.max_tokens):
                await asyncio.sleep(self.delay)
                if self.fail_after is not None and n >= self.fail_after:
                    raise BackendError("The model server went away (connection reset by peer).")
                yield " ".join(rng.choice(VOCABULARY) for _ in range(6)).capitalize() + ". "
        finally:
            self.active -= 1
            self.closed += 1

    async def aclose(self) -> None:
        pass
