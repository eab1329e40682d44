"""Fast start: process start → first streamed token, for the CLI's write and for the studio's first run.

Each measurement is a fresh Python process on an empty data directory, with the converted-weights
cache warm (converted once beforehand). ``write`` imports the CLI module and runs the path of
``longwriter write``; ``studio`` imports the web app's module (Gradio included) and runs the
studio's first document the way the page's Generate does, without serving the page. Both stop at
the first token of the plan. Also printed: a bare interpreter's start, and the imports (by
``-X importtime``) that cost most before the first token.

    python benchmarks/cold_start.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 5.0
INSTRUCTION = "Write a short guide to brewing green tea at home."


async def first_token(entry: str) -> dict[str, float]:
    """In the child: import what ``entry`` imports, start a document, stop at its first token."""
    marks = {"start": time.time()}
    if entry == "write":
        from longwriter.cli import _studio

        studio = _studio()
    else:
        import ui.app  # noqa: F401 - the web app's import cost is what is measured
        from longwriter.settings import get_settings
        from longwriter.studio import Studio

        studio = Studio(get_settings())
    from longwriter.events import PlanDelta, TextDelta

    marks["imported"] = time.time()
    doc = studio.create(INSTRUCTION, 600)
    async for event in studio.write(doc.id):
        if isinstance(event, PlanDelta | TextDelta):
            marks["first token"] = time.time()
            break
    return marks


def child(entry: str) -> None:
    marks = asyncio.run(first_token(entry))
    print(" ".join(f"{name.replace(' ', '_')}={value:.6f}" for name, value in marks.items()), flush=True)
    os._exit(0)  # the measurement is taken; interpreter teardown is not part of it


def run_child(entry: str, env: dict[str, str]) -> dict[str, float]:
    spawned = time.time()
    done = subprocess.run(
        [sys.executable, __file__, "--child", entry], env=env, capture_output=True, text=True, check=False
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("start=")), None)
    if line is None:
        raise SystemExit(f"{entry} child failed:\n{done.stderr[-3000:]}")
    marks = {k.replace("_", " "): float(v) for k, v in (item.split("=") for item in line.split())}
    return {name: value - spawned for name, value in marks.items()}


def heaviest_imports(module: str, env: dict[str, str], top: int = 8) -> list[tuple[float, str]]:
    """What ``module`` imports directly, by cumulative import time."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    costs: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if len(name) - len(name.lstrip()) != 3 or not cumulative.strip().isdigit():
            continue  # one level under the module itself
        costs[name.strip()] = costs.get(name.strip(), 0.0) + int(cumulative) / 1e6
    return sorted(((s, n) for n, s in costs.items()), reverse=True)[:top]


def main(repeats: int) -> None:
    from longwriter.backends.local import cache_embedded_model
    from longwriter.catalog import resolve
    from longwriter.settings import get_settings

    models = get_settings().models_dir
    cache_embedded_model(models / resolve("smollm2-135m", models).id)  # warm, as the goal says
    interpreter = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        interpreter.append(time.perf_counter() - started)
    print(f"bare interpreter start: {statistics.median(interpreter):.2f} s")

    worst = 0.0
    for entry in ("write", "studio"):
        runs = []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as data:
                env = {**os.environ, "LONGWRITER_DATA_DIR": data, "LONGWRITER_MODELS_PATH": str(models)}
                runs.append(run_child(entry, env))
        imported = statistics.median(r["imported"] for r in runs)
        first = statistics.median(r["first token"] for r in runs)
        worst = max(worst, first)
        print(f"{entry:<7} imports done {imported:5.2f} s   first token {first:5.2f} s   (median of {repeats})")
    env = {**os.environ, "LONGWRITER_MODELS_PATH": str(models)}
    for module in ("longwriter.cli", "ui.app", "transformers.models.llama.modeling_llama"):
        costs = ", ".join(f"{name} {seconds:.2f}" for seconds, name in heaviest_imports(module, env))
        print(f"import {module}: {costs}")
    print(f"RESULT cold_start {worst:.2f} goal {GOAL} {'met' if worst <= GOAL else 'missed'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", choices=("write", "studio"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # ui/ lives at the repository root
        child(args.child)
    else:
        main(args.repeats)
