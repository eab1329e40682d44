"""AgentWrite at the cost of one pass: the local backend's kept KV cache, measured side by side.

Writes an 8-section document the AgentWrite way (each section's prompt holds the task, the plan
and all text so far) with the previous call's KV cache kept, then the same prompts with the cache
dropped after every call, then one single pass that generates the same number of tokens. Every
generation is greedy with a fixed length (``min_tokens = max_tokens``), so the three ways decode
exactly the same number of tokens and differ only in what they prefill. Prints prompt tokens
computed, wall time, the process's CPU time, and AgentWrite ÷ single pass. On a shared machine
wall time swings with other work; CPU seconds (exact with one torch thread, OMP_NUM_THREADS=1)
are what each way itself costs, and the RESULT line uses them.

    python benchmarks/prefix_reuse.py [--sections 8] [--tokens 96]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from longwriter.backends.base import GenerationRequest
from longwriter.backends.local import LocalBackend
from longwriter.catalog import resolve
from longwriter.plan import Plan, Section
from longwriter.prompts import section_prompt, single_prompt
from longwriter.settings import get_settings

GOAL = 1.15
TASK = "Write a practical guide to keeping bees in a small town garden, from the first hive to the first honey."
POINTS = [
    "Why bees thrive in town gardens",
    "Rules, neighbours and registering the hive",
    "Choosing a hive and where to put it",
    "Buying bees and the first weeks",
    "Inspections through the season",
    "Swarms, pests and diseases",
    "Harvesting and bottling honey",
    "Getting the colony through winter",
]


def fixed(prompt: str, tokens: int) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, max_tokens=tokens, min_tokens=tokens, temperature=0.0, top_p=1.0)


@dataclass
class Cost:
    """What one way cost: prompt tokens computed, wall seconds, CPU seconds of this process."""

    computed: int = 0
    wall: float = 0.0
    cpu: float = 0.0

    def add(self, other: Cost) -> None:
        self.computed += other.computed
        self.wall += other.wall
        self.cpu += other.cpu


async def run(backend: LocalBackend, requests: list[GenerationRequest]) -> tuple[list[str], Cost]:
    """Generate every request in turn: the texts and what they cost."""
    before = backend.prefix_cache.total.computed
    texts = []
    wall, cpu = time.perf_counter(), time.process_time()
    for request in requests:
        texts.append("".join([piece async for piece in backend.stream(request)]))
    cost = Cost(backend.prefix_cache.total.computed - before, time.perf_counter() - wall, time.process_time() - cpu)
    return texts, cost


async def agentwrite(backend: LocalBackend, plan: Plan, tokens: int) -> tuple[list[str], Cost]:
    """The sections one after another, each prompt built from the text written before it."""
    texts: list[str] = []
    total = Cost()
    for index in range(len(plan.sections)):
        [text], cost = await run(backend, [fixed(section_prompt(TASK, plan, texts, index), tokens)])
        texts.append(text)
        total.add(cost)
    return texts, total


async def main(sections: int, tokens: int, models_dir: Path) -> None:
    backend = LocalBackend(resolve("smollm2-135m", models_dir), models_dir=models_dir)
    await backend.load()
    plan = Plan(sections=[Section(main_point=p, words=tokens * 3 // 4) for p in POINTS[:sections]])
    await run(backend, [fixed("Say hello.", 8)])  # warm-up

    backend.prefix_cache.clear()
    texts, kept = await agentwrite(backend, plan, tokens)
    backend.prefix_cache.enabled = False
    prompts = [fixed(section_prompt(TASK, plan, texts[:i], i), tokens) for i in range(sections)]
    again, full = await run(backend, prompts)
    backend.prefix_cache.enabled = True
    single_request = fixed(single_prompt(TASK, plan.total_words), tokens * sections)
    _, single = await run(backend, [single_request])
    await backend.aclose()

    generated = tokens * sections
    print(f"{sections} sections x {tokens} tokens = {generated} generated tokens per way (greedy, fixed length)")
    print(f"{'way':<26}{'prompt tokens computed':>24}{'wall s':>9}{'÷ single':>10}{'CPU s':>9}{'÷ single':>10}")
    for name, cost in (("agentwrite, kept cache", kept), ("agentwrite, full prefill", full), ("single pass", single)):
        print(
            f"{name:<26}{cost.computed:>24}{cost.wall:>9.1f}{cost.wall / single.wall:>10.2f}"
            f"{cost.cpu:>9.1f}{cost.cpu / single.cpu:>10.2f}"
        )
    print(f"same text with and without the kept cache: {again == texts}")
    ratio = kept.cpu / single.cpu
    print(f"RESULT prefix_reuse {ratio:.2f} goal {GOAL} {'met' if ratio <= GOAL else 'missed'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, default=8, choices=range(1, len(POINTS) + 1))
    parser.add_argument("--tokens", type=int, default=96, help="tokens generated per section")
    parser.add_argument("--models-dir", type=Path, default=None, help="converted-weights cache (default: settings)")
    args = parser.parse_args()
    asyncio.run(main(args.sections, args.tokens, args.models_dir or get_settings().models_dir))
