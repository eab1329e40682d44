"""The local backend's fast decoding path writes what transformers' fp32 reference writes.

The backend decodes with its own KV cache layer (growing in place) and whatever dtype the
settings pick; neither may change the text. The reference is a separately loaded fp32 copy of
the same weights running transformers' stock ``generate``.
"""

from __future__ import annotations

from typing import Any

import pytest

from longwriter.backends.base import GenerationRequest
from longwriter.backends.kv_cache import GrowingLayer, new_cache
from longwriter.backends.local import LocalBackend
from longwriter.backends.worker import inference_worker

pytestmark = pytest.mark.model

STORY = "Write a story about a lighthouse keeper who finds a message in a bottle."
LOG = "Day {n}: the wind came from the west, two ships passed the point and the lamp burned all night. "


def fp32_reference(backend: LocalBackend, prompt: str, tokens: int) -> str:
    """Greedy text from an fp32 copy of the backend's weights with transformers' own cache."""
    import torch
    from transformers import AutoModelForCausalLM

    model: Any = AutoModelForCausalLM.from_pretrained(backend.model.name_or_path, dtype=torch.float32).eval()
    ids = backend.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False)
    return backend.tokenizer.decode(out[0, ids.input_ids.shape[1] :], skip_special_tokens=True)


@pytest.mark.parametrize("log_days", [0, 20], ids=["short-prompt", "long-prompt"])
async def test_greedy_text_matches_the_fp32_reference_for_64_tokens(local_backend: LocalBackend, log_days: int) -> None:
    prompt = "".join(LOG.format(n=n) for n in range(1, log_days + 1)) + STORY
    request = GenerationRequest(prompt=prompt, max_tokens=64, min_tokens=64, temperature=0.0, top_p=1.0)
    local_backend.prefix_cache.clear()
    text = "".join([piece async for piece in local_backend.stream(request)])
    rendered = local_backend.render(request)
    assert text == await inference_worker().submit(lambda: fp32_reference(local_backend, rendered, 64))


async def test_the_cache_grows_in_place_and_cuts_back(local_backend: LocalBackend) -> None:
    """Appends past the first room keep every earlier position; a cut keeps exactly the prefix."""
    import torch

    @torch.inference_mode()
    def exercise() -> None:
        cache = new_cache(local_backend.model.config)
        assert all(isinstance(layer, GrowingLayer) for layer in cache.layers)
        layer = cache.layers[0]
        steps = [torch.randn(1, 3, n, 64) for n in (200, 1, 100, 1, 300)]
        for step in steps:
            keys, values = layer.update(step, -step)
        whole = torch.cat(steps, dim=-2)
        assert torch.equal(keys, whole) and torch.equal(values, -whole)
        assert layer.get_seq_length() == 602
        layer.crop(-400)
        assert layer.get_seq_length() == 202
        keys, _ = layer.update(steps[3], -steps[3])
        assert torch.equal(keys, torch.cat([whole[..., :202, :], steps[3]], dim=-2))

    await inference_worker().submit(exercise)
