"""The in-process ``vllm`` backend, run inside the vLLM environment by ``test_vllm_inprocess.py``.

vLLM pins an older transformers than this project, so this script runs under ``.venv-vllm``'s
interpreter (where the project is installed without its pins) and reports what happened as one JSON
line: a short document written through :class:`AgentWriter`, then a second one stopped mid-section,
with how many requests the engine still held a second after Stop.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from longwriter.agentwrite import AgentWriter
from longwriter.backends.vllm import VLLMBackend
from longwriter.catalog import resolve
from longwriter.events import DocumentDone, Event, Stopped, TextDelta
from longwriter.plan import Plan, Section
from longwriter.sampling import Sampling
from longwriter.settings import Settings

PLAN = Plan(sections=[Section(main_point="Why tea matters", words=80), Section(main_point="How to brew it", words=80)])


async def main(model_dir: str, data_dir: str) -> dict[str, object]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        backend="vllm",
        dtype="bfloat16",
        max_model_len=4096,
        enforce_eager=True,
        data_dir=Path(data_dir),
        models_path=Path(data_dir) / "models",
    )
    spec = resolve(model_dir, settings.models_dir)
    started = time.monotonic()
    backend = VLLMBackend(spec, settings)
    report: dict[str, object] = {"start_seconds": round(time.monotonic() - started, 1)}
    try:
        sampling = Sampling.for_model(spec, seed=1, repetition_penalty=1.1)
        last: Event | None = None
        async for last in AgentWriter(backend, sampling=sampling).write_sequential("Write about tea.", PLAN):
            pass
        report["done"] = isinstance(last, DocumentDone)
        report["words"] = last.words if isinstance(last, DocumentDone) else 0

        stop = asyncio.Event()
        pieces = 0
        async for last in AgentWriter(backend, sampling=sampling, stop=stop).write_sequential("Write about tea.", PLAN):
            if isinstance(last, TextDelta):
                pieces += 1
                if pieces == 5:
                    stop.set()
        report["stopped"] = isinstance(last, Stopped)
        await asyncio.sleep(1.0)
        report["unfinished_after_stop"] = backend._engine.output_processor.get_num_unfinished_requests()
    finally:
        await backend.aclose()
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
