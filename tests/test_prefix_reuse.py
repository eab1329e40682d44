"""The local backend keeps the previous call's KV cache: an AgentWrite section prefills only its new text.

Every check runs the real embedded model greedily and compares the text written with the kept
cache against the text written after the cache was dropped (a full prefill of the same prompt).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from longwriter.backends.base import GenerationRequest
from longwriter.backends.local import LocalBackend
from longwriter.plan import Plan, Section
from longwriter.prompts import section_prompt

pytestmark = pytest.mark.model

TASK = "Write a short guide to keeping bees in a small garden."
PLAN = Plan(
    sections=[
        Section(main_point="What bees need from a small garden", words=60),
        Section(main_point="Choosing and siting the hive", words=60),
        Section(main_point="Harvesting honey and sharing it", words=60),
    ]
)


def greedy(prompt: str, tokens: int = 40) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, max_tokens=tokens, min_tokens=tokens, temperature=0.0, top_p=1.0)


async def write(backend: LocalBackend, request: GenerationRequest) -> str:
    return "".join([piece async for piece in backend.stream(request)])


def prompt_tokens(backend: LocalBackend, request: GenerationRequest) -> int:
    return len(backend.tokenizer(backend.render(request), add_special_tokens=False).input_ids)


async def test_each_section_prefills_only_its_new_text_and_writes_the_same(local_backend: LocalBackend) -> None:
    local_backend.prefix_cache.clear()
    previous: list[str] = []
    for index in range(len(PLAN.sections)):
        request = greedy(section_prompt(TASK, PLAN, previous, index))
        reused_text = await write(local_backend, request)
        counted = local_backend.prefix_cache.last
        total = prompt_tokens(local_backend, request)
        assert counted.reused + counted.computed == total
        if index:
            # The task, the plan and every earlier section come from the kept cache: what is left
            # is the last section's text and the closing instruction, a fraction of the prompt.
            new_text = prompt_tokens(local_backend, greedy(previous[-1]))
            assert counted.reused > total / 2
            assert counted.computed < new_text + 120
        local_backend.prefix_cache.clear()
        fresh_text = await write(local_backend, request)
        assert local_backend.prefix_cache.last.reused == 0
        assert reused_text == fresh_text
        previous.append(reused_text)


async def test_a_continuation_cut_inside_a_word_reuses_only_the_common_tokens(local_backend: LocalBackend) -> None:
    """The old prompt ends inside a word the new one completes: the ids are compared, not the text."""
    ask = "Describe the old lighthouse on the cliff."
    cut = replace(greedy(ask, 8), assistant_prefix="Its keeper wrote in a logb")
    whole = replace(greedy(ask), assistant_prefix="Its keeper wrote in a logbook every night.")
    assert local_backend.render(whole).startswith(local_backend.render(cut))
    local_backend.prefix_cache.clear()
    await write(local_backend, cut)
    reused_text = await write(local_backend, whole)
    reused = local_backend.prefix_cache.last.reused
    assert prompt_tokens(local_backend, cut) - 4 <= reused < prompt_tokens(local_backend, cut)
    local_backend.prefix_cache.clear()
    assert reused_text == await write(local_backend, whole)


async def test_a_different_prompt_starts_afresh(local_backend: LocalBackend) -> None:
    local_backend.prefix_cache.clear()
    await write(local_backend, greedy("Tell me about rivers.", 8))
    request = greedy("Bees make honey from nectar.", 8)
    await write(local_backend, request)
    counted = local_backend.prefix_cache.last
    # Only the chat template's opening is shared; the question itself is computed in full.
    assert counted.computed > prompt_tokens(local_backend, request) - 40
