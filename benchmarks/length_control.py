"""How close to its target does a document land? AgentWrite with length control vs one pass.

Writes the same instructions with the embedded model in ``agentwrite`` mode (plan, sections,
continuation and cut-back) and in ``single`` mode (one generation asked for N words), and prints
each document's words and LongBench-Write length score S_l, then the mean S_l of each mode and
their ratio — all measured in this one run.

    python benchmarks/length_control.py [--targets 300 600 1200] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from longwriter.events import DocumentDone
from longwriter.settings import Settings
from longwriter.studio import Studio

INSTRUCTIONS = [
    "Write an article about the history and future of public libraries.",
    "Write a guide for beginners on growing vegetables on a balcony.",
]


async def write(studio: Studio, instruction: str, words: int, mode: str, seed: int) -> tuple[int, float, float]:
    doc = studio.create(instruction, words, mode=mode, sampling={"seed": seed})  # type: ignore[arg-type]
    started = time.monotonic()
    async for event in studio.write(doc.id):
        if isinstance(event, DocumentDone):
            return event.words, event.length_score, time.monotonic() - started
    raise RuntimeError(f"{mode} run of {instruction!r} did not finish: {studio.document(doc.id).error}")


async def main(targets: list[int], seed: int, data_dir: Path) -> None:
    studio = Studio(Settings(_env_file=None, data_dir=data_dir))  # type: ignore[call-arg]
    scores: dict[str, list[float]] = {"agentwrite": [], "single": []}
    print(f"{'mode':<11} {'target':>6} {'words':>6} {'S_l':>6} {'seconds':>8}  instruction")
    try:
        for instruction in INSTRUCTIONS:
            for target in targets:
                for mode in scores:
                    words, score, seconds = await write(studio, instruction, target, mode, seed)
                    scores[mode].append(score)
                    print(f"{mode:<11} {target:>6} {words:>6} {score:>6.1f} {seconds:>8.1f}  {instruction[:40]}")
    finally:
        await studio.aclose()
    agent, single = statistics.mean(scores["agentwrite"]), statistics.mean(scores["single"])
    print(f"\nmean S_l  agentwrite {agent:.1f}  single {single:.1f}  ratio {agent / max(single, 1e-9):.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, nargs="+", default=[300, 600, 1200])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a data dir (keeps the model cache)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(args.targets, args.seed, args.data_dir or Path(tmp)))
