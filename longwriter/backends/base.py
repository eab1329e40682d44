"""The backend protocol: stream text for a request, stop when the consumer stops listening.

Cancellation is the async-generator contract: when the consumer closes the stream (``aclose``,
a ``break``, task cancellation), the implementation must stop the model for real — set the stop
flag of a local ``generate``, close the HTTP response, abort the vLLM request.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from longwriter.catalog import ModelSpec


class BackendError(RuntimeError):
    """A backend failed (down, died mid-stream, refused the request); the message is for the user."""


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: the user prompt, optional system prompt and an assistant prefix to continue.

    ``min_tokens`` keeps the model from ending (its end token or a stop) before that many new
    tokens: how a section that ended far short of its budget is made to go on. It never exceeds
    ``max_tokens`` (the request clamps it), so backends pass it on as it is.
    """

    prompt: str
    max_tokens: int
    temperature: float
    top_p: float
    top_k: int = 0
    repetition_penalty: float = 1.0
    system: str | None = None
    assistant_prefix: str = ""
    stop: tuple[str, ...] = ()
    seed: int | None = None
    min_tokens: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "min_tokens", max(0, min(self.min_tokens, self.max_tokens)))


@runtime_checkable
class Backend(Protocol):
    """What every backend offers to the layers above it."""

    spec: ModelSpec
    name: str

    @property
    def context_window(self) -> int:
        """Tokens the model can attend to, prompt and output together."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model (an estimate where no tokenizer is at hand)."""
        ...

    def stream(self, request: GenerationRequest) -> AsyncGenerator[str, None]:
        """Yield output text pieces; closing the generator (``aclose``) stops generation."""
        ...

    async def aclose(self) -> None:
        """Release connections, threads and memory."""
        ...


def estimate_tokens(text: str) -> int:
    """A conservative token estimate for backends without a local tokenizer.

    About four characters per token for Latin text and one per CJK character; erring high keeps
    context budgets safe.
    """
    from longwriter.text import count_words

    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return int((len(text) - cjk) / 3.5) + int(cjk * 1.2) + max(0, count_words(text) // 50)
