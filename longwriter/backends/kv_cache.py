"""A KV cache layer that grows in place, so a decoding step costs the same at token 50 and token 5,000.

transformers' ``DynamicLayer`` appends each step's keys and values with ``torch.cat``, which copies
the whole cache every token: at a few thousand tokens of context (every late AgentWrite section)
that copy outweighs reading the model's weights. This layer keeps buffers with spare room,
doubles them when full, writes each step's states into place and hands attention views of the
filled part. Cutting it back to a prefix (prefix reuse) only moves its length.
"""

from __future__ import annotations

from typing import Any

from transformers.cache_utils import DynamicLayer

_FIRST_ROOM = 256


class GrowingLayer(DynamicLayer):
    """A full-attention cache layer (``[batch, heads, seq, dim]``) with amortised O(1) appends."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.length = 0
        self._key_room: Any = None
        self._value_room: Any = None

    def lazy_initialization(self, key_states: Any, value_states: Any) -> None:
        self.device = key_states.device
        self._key_room = key_states.new_empty((*key_states.shape[:2], _FIRST_ROOM, key_states.shape[3]))
        self._value_room = value_states.new_empty((*value_states.shape[:2], _FIRST_ROOM, value_states.shape[3]))
        self.length = 0
        self.is_initialized = True

    def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self._key_room.shape[-2]:
            self._key_room = self._grown(self._key_room, end)
            self._value_room = self._grown(self._value_room, end)
        self._key_room[..., self.length : end, :].copy_(key_states)
        self._value_room[..., self.length : end, :].copy_(value_states)
        self.length = end
        self.keys = self._key_room[..., :end, :]
        self.values = self._value_room[..., :end, :]
        return self.keys, self.values

    def _grown(self, room: Any, needed: int) -> Any:
        size = room.shape[-2]
        while size < needed:
            size *= 2
        bigger = room.new_empty((*room.shape[:2], size, room.shape[3]))
        bigger[..., : self.length, :].copy_(room[..., : self.length, :])
        return bigger

    def get_seq_length(self) -> int:
        return self.length if self.is_initialized else 0

    def crop(self, tokens_to_remove: int) -> None:
        if tokens_to_remove > 0:
            raise ValueError("crop takes the number of tokens to remove as a negative int")
        if self.is_initialized and tokens_to_remove:
            self.length = max(0, self.length + tokens_to_remove)
            self.keys = self._key_room[..., : self.length, :]
            self.values = self._value_room[..., : self.length, :]

    def reset(self) -> None:
        self.length = 0
        self.keys = self.values = None
        self._key_room = self._value_room = None
        self.is_initialized = False

    def batch_repeat_interleave(self, repeats: int) -> None:
        raise NotImplementedError("GrowingLayer holds one sequence; it is not used for beam search")

    def batch_select_indices(self, indices: Any) -> None:
        raise NotImplementedError("GrowingLayer holds one sequence; it is not used for beam search")


def new_cache(config: Any) -> Any:
    """A ``DynamicCache`` for ``config``'s model whose full-attention layers grow in place.

    Sliding-window, chunked and linear-attention layers keep transformers' own classes.
    """
    from transformers import DynamicCache

    cache = DynamicCache(config=config)
    cache.layers = [GrowingLayer() if type(layer) is DynamicLayer else layer for layer in cache.layers]
    return cache


def can_cut_back(cache: Any) -> bool:
    """Whether ``cache`` can be cut back to any prefix: every layer remembers every position."""
    return all(isinstance(layer, GrowingLayer) for layer in cache.layers)
