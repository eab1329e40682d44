"""How close to its target does a document land? The writer's length control, measured.

Writes the same instructions with the embedded model three ways and prints each document's words
and LongBench-Write length score S_l, then each way's mean S_l and the ratios, all in one run:

* ``agentwrite``: plan, then section by section, with length control (continue short sections,
  end at a sentence once on budget, cut overruns back);
* ``single``: one generation asked for N words, with the same length control;
* ``single-raw``: one generation asked for N words that stops only where the model stops (token
  cap 4x the target), i.e. what the model does on its own.

    python benchmarks/length_control.py [--targets 300 800] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from longwriter.agentwrite import AgentWriter, LengthControl, Sampling
from longwriter.backends import create_backend
from longwriter.events import DocumentDone, Event, Failed
from longwriter.settings import Settings

INSTRUCTIONS = [
    "Write an article about the history and future of public libraries.",
    "Write a guide for beginners on growing vegetables on a balcony.",
]
UNCONTROLLED = LengthControl(continue_below=0.0, max_continuations=0, finish_above=1e9, cut_above=4.0)


async def main(targets: list[int], seed: int, data_dir: Path) -> None:
    backend = await create_backend(Settings(_env_file=None, data_dir=data_dir))  # type: ignore[call-arg]
    sampling = Sampling.for_model(backend.spec, seed=seed)
    ways = {
        "agentwrite": lambda w, i, n: w.run(i, n, "agentwrite"),
        "single": lambda w, i, n: w.write_single(i, n),
        "single-raw": lambda w, i, n: w.write_single(i, n),
    }
    scores: dict[str, list[float]] = {way: [] for way in ways}
    print(f"{'way':<11} {'target':>6} {'words':>6} {'S_l':>6} {'seconds':>8}  instruction")
    for instruction in INSTRUCTIONS:
        for target in targets:
            for way, run in ways.items():
                length = UNCONTROLLED if way == "single-raw" else LengthControl()
                writer = AgentWriter(backend, sampling=sampling, length=length)
                started = time.monotonic()
                last: Event | None = None
                async for last in run(writer, instruction, target):
                    pass
                if not isinstance(last, DocumentDone):
                    message = last.message if isinstance(last, Failed) else last
                    raise RuntimeError(f"{way} did not finish: {message}")  # noqa: TRY004 - an unfinished run
                scores[way].append(last.length_score)
                print(
                    f"{way:<11} {target:>6} {last.words:>6} {last.length_score:>6.1f} "
                    f"{time.monotonic() - started:>8.1f}  {instruction[:40]}"
                )
    await backend.aclose()
    means = {way: statistics.mean(values) for way, values in scores.items()}
    print("\nmean S_l  " + "  ".join(f"{way} {mean:.1f}" for way, mean in means.items()))
    raw = max(means["single-raw"], 1e-9)
    print(f"ratio to single-raw  agentwrite {means['agentwrite'] / raw:.2f}x  single {means['single'] / raw:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, nargs="+", default=[300, 800])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse a data dir (keeps the model cache)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(args.targets, args.seed, args.data_dir or Path(tmp)))
