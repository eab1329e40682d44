"""One long AgentWrite document end to end on the embedded model, with the local backend's improvements on and off.

"On" is the local backend as it ships (the previous call's KV cache kept, so each section
prefills only its new text). "Off" drops the kept cache before every call, so every section
prefills its whole prompt (task, plan and all text so far) as before. The same instruction,
target and seed run both ways, one after the other; printed are wall time, words, S_l, the
prompt tokens each way computed, and the ratio of wall times.

    python benchmarks/long_document.py [--words 5000] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from longwriter.agentwrite import AgentWriter, Sampling
from longwriter.backends.local import LocalBackend
from longwriter.catalog import resolve
from longwriter.events import DocumentDone, Event, Failed
from longwriter.settings import get_settings

INSTRUCTION = "Write a detailed guide to the history, design and daily life of lighthouses around the world."


async def document(backend: LocalBackend, words: int, seed: int) -> tuple[DocumentDone, float, int]:
    """Write the document; its final event, wall seconds and prompt tokens computed."""
    writer = AgentWriter(backend, sampling=Sampling.for_model(backend.spec, seed=seed))
    before = backend.prefix_cache.total.computed
    started = time.perf_counter()
    last: Event | None = None
    async for last in writer.run(INSTRUCTION, words, "agentwrite"):
        pass
    seconds = time.perf_counter() - started
    if not isinstance(last, DocumentDone):
        raise SystemExit(f"the document did not finish: {last.message if isinstance(last, Failed) else last}")
    return last, seconds, backend.prefix_cache.total.computed - before


async def main(words: int, seed: int, models_dir: Path) -> None:
    backend = LocalBackend(resolve("smollm2-135m", models_dir), models_dir=models_dir)
    await backend.load()
    results = {}
    for name, reuse in (("improvements on", True), ("improvements off", False)):
        backend.prefix_cache.clear()
        backend.prefix_cache.enabled = reuse
        results[name] = await document(backend, words, seed)
    await backend.aclose()

    print(f"AgentWrite, target {words} words, seed {seed}, embedded SmolLM2-135M")
    print(f"{'way':<18}{'seconds':>9}{'words':>7}{'S_l':>7}{'tokens out':>12}{'prompt tokens computed':>24}")
    for name, (done, seconds, computed) in results.items():
        print(f"{name:<18}{seconds:>9.0f}{done.words:>7}{done.length_score:>7.1f}{done.tokens:>12}{computed:>24}")
    on, off = results["improvements on"][1], results["improvements off"][1]
    print(f"RESULT long_document_speedup {off / on:.2f} goal 1.0 {'met' if off >= on else 'missed'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--models-dir", type=Path, default=None, help="converted-weights cache (default: settings)")
    args = parser.parse_args()
    asyncio.run(main(args.words, args.seed, args.models_dir or get_settings().models_dir))
