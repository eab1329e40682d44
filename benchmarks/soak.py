"""Soak: many short documents back to back through the studio service, watching memory and files.

Every document is created, written to the end with the embedded model and exported (Markdown,
HTML, DOCX), as the page does, in one process; resident memory (VmRSS) and open file descriptors
are read at the start, after the first document (caches warm: model loaded, first compile done),
in the middle and at the end. A leak shows as growth between "warm" and "end".

    OMP_NUM_THREADS=1 python benchmarks/soak.py --documents 100 --words 100

Prints ``RESULT soak_rss_growth_mib …`` and ``RESULT soak_fd_growth …`` (goals: under 64 MiB,
which allows allocator noise, and 0).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import time
from pathlib import Path

from longwriter.documents import document_record, export_bytes
from longwriter.events import Failed
from longwriter.settings import Settings
from longwriter.studio import Studio

RSS_GOAL_MIB = 64.0
TOPICS = ["green tea", "lighthouses", "bees", "volcanoes", "violins", "glaciers", "owls", "bridges", "kites", "salt"]


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def report(label: str, done: int) -> tuple[float, int]:
    gc.collect()
    rss, fds = rss_mib(), open_fds()
    print(f"{label:<7} documents {done:>4}  rss {rss:8.1f} MiB  open fds {fds:>4}", flush=True)
    return rss, fds


async def soak(documents: int, words: int, data_dir: Path, mode: str) -> None:
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    studio = Studio(settings)
    report("start", 0)
    warm: tuple[float, int] | None = None
    started, failures = time.monotonic(), 0
    for n in range(documents):
        topic = TOPICS[n % len(TOPICS)]
        doc = studio.create(f"Write a short note about {topic} ({n}).", words, mode=mode)  # type: ignore[arg-type]
        failures += any([isinstance(e, Failed) async for e in studio.write(doc.id)])
        record = document_record(studio.store, doc.id)
        for fmt in ("markdown", "html", "docx"):
            export_bytes(record, fmt)
        if n == 0:
            warm = report("warm", 1)
        elif n + 1 == documents // 2:
            report("middle", n + 1)
    end = report("end", documents)
    await studio.aclose()
    assert warm is not None
    seconds = time.monotonic() - started
    growth, fd_growth = end[0] - warm[0], end[1] - warm[1]
    print(f"{documents} documents in {seconds:.0f} s, {failures} failed")
    print(
        f"RESULT soak_rss_growth_mib {growth:.1f} goal <{RSS_GOAL_MIB:g} {'met' if growth < RSS_GOAL_MIB else 'missed'}"
    )
    print(f"RESULT soak_fd_growth {fd_growth} goal 0 {'met' if fd_growth <= 0 else 'missed'}")
    print(f"RESULT soak_failures {failures} goal 0 {'met' if failures == 0 else 'missed'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=100, help="how many documents (default 100)")
    parser.add_argument("--words", type=int, default=100, help="target words of each (default 100)")
    parser.add_argument("--mode", default="single", help="writing mode (default single: one section)")
    parser.add_argument("--data-dir", type=Path, help="data folder (default: a fresh temporary one)")
    args = parser.parse_args()
    if args.documents < 2:
        parser.error("--documents must be at least 2 (the first one warms the caches)")
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="longwriter-soak-"))
    asyncio.run(soak(args.documents, args.words, data_dir, args.mode))


if __name__ == "__main__":
    main()
