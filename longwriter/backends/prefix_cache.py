"""The previous generation's KV cache, kept so that a prompt extending it prefills only its new tokens.

AgentWrite sends every section a prompt that repeats the previous prompt's long prefix byte for
byte (task, plan, text so far) until a context drop. Recomputing that prefix for every section
makes the prefill work grow with the square of the document's length; keeping the cache makes a
section cost what its new text costs. vLLM does this by itself (prefix caching); the local
backend does it here.

The match is made on token ids, not on text: a tokenizer may merge characters across the point
where the old prompt ends, so the reusable part is the longest common prefix of the two id
sequences, and everything after it is computed again. At least one prompt token is always
computed, since generation needs the last prompt position's logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class PrefillCount:
    """Prompt tokens taken from the kept cache (``reused``) and run through the model (``computed``)."""

    reused: int = 0
    computed: int = 0

    def add(self, other: PrefillCount) -> None:
        self.reused += other.reused
        self.computed += other.computed


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token id sequences."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class PrefixCache:
    """One kept KV cache and the token ids it holds, handed to one generation at a time.

    ``take`` gives the running generation the cache cut back to the part it shares with the new
    prompt; ``keep`` takes it back when the generation ends normally. A generation that fails never
    gives it back, so a cache in an unknown state is never reused. Only models whose every layer
    is full attention are reused: sliding-window and linear-attention layers forget positions and
    cannot be cut back to an arbitrary prefix.
    """

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._cache: Any = None
        self._ids: list[int] = []
        self.last = PrefillCount()
        self.total = PrefillCount()

    def take(self, ids: Sequence[int], config: Any) -> Any:
        """A cache holding the longest reusable prefix of ``ids`` (a new one for ``config``'s model if none)."""
        from longwriter.backends.kv_cache import new_cache

        cache, held = self._cache, self._ids
        self._cache, self._ids = None, []
        reuse = max(0, min(common_prefix(held, ids), len(ids) - 1)) if self.enabled and cache is not None else 0
        if reuse:
            cache.crop(reuse - cache.get_seq_length())
        else:
            cache = new_cache(config)
        self.last = PrefillCount(reused=reuse, computed=len(ids) - reuse)
        self.total.add(self.last)
        return cache

    def keep(self, cache: Any, ids: Sequence[int]) -> None:
        """Hold ``cache`` after a finished generation; ``ids`` are the prompt and output token ids."""
        from longwriter.backends.kv_cache import can_cut_back

        if not self.enabled or not can_cut_back(cache):
            return
        self._cache = cache
        self._ids = list(ids[: cache.get_seq_length()])

    def clear(self) -> None:
        """Drop the kept cache (the model is unloaded or replaced)."""
        self._cache, self._ids = None, []
