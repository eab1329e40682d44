"""A backend that replays what the real embedded model once wrote, for tests of the writer's repairs.

The writer's rules about a model's output (refuse an outline that is not a plan, take prompt text
out of a section, cut a loop) must be checked on exactly the outputs that broke them; sampling the
135M model again gives different text each time and rarely the failure under test. So each call
here answers with the next recorded output (from ``tests/data/`` or quoted from an issue), streamed
in small pieces as a model would, and keeps the requests so a test can see what was asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from longwriter.backends.base import GenerationRequest
from longwriter.catalog import resolve


class ReplayBackend:
    """Answers call ``n`` with ``outputs[n]`` (and nothing once they run out)."""

    name = "replay"

    def __init__(self, models_dir: Path, outputs: list[str], piece_chars: int = 7) -> None:
        self.spec = resolve("smollm2-135m", models_dir)
        self.outputs = list(outputs)
        self.piece_chars = piece_chars
        self.requests: list[GenerationRequest] = []

    @property
    def context_window(self) -> int:
        return 8192

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        self.requests.append(request)
        text = self.outputs.pop(0) if self.outputs else ""
        for start in range(0, len(text), self.piece_chars):
            await asyncio.sleep(0)
            yield text[start : start + self.piece_chars]

    async def aclose(self) -> None:
        pass
