"""Decoding near the hardware limit: the local backend's tokens/s against the machine's read bandwidth.

A decoding step of a small model reads every weight once, so tokens/s can be at most read
bandwidth ÷ weight bytes. This script measures, in one run and on the inference thread the
backend uses, the read bandwidth (summing a 512 MiB tensor) and the greedy decoding speed of

* the reference: transformers' ``generate`` on the fp32 model with its stock cache, and
* the local backend as it runs (its dtype, its in-place KV cache, prefix reuse off),

each at a short and at a long context, and prints tokens/s ÷ (bandwidth ÷ bf16 weight bytes).
It also checks that the backend's first 64 greedy tokens are the fp32 reference's.

    python benchmarks/decode.py [--tokens 128] [--context 2000] [--dtype auto]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

from longwriter.backends.base import GenerationRequest
from longwriter.backends.local import LocalBackend
from longwriter.backends.worker import inference_worker
from longwriter.catalog import resolve
from longwriter.settings import get_settings

GOAL = 0.7
SHORT = "Write a long story about a lighthouse keeper and the ships he saw."
FILLER = (
    "The keeper climbed the stairs at dusk, trimmed the wick, wound the clockwork and wrote the weather in his "
    "log before the first ship passed the point. "
)


def read_bandwidth() -> float:
    """Bytes per second read by a multi-threaded reduction over a tensor far larger than the caches."""
    import torch

    data = torch.ones(128 * 1024 * 1024, dtype=torch.float32)
    data.sum()
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        data.sum()
        runs.append(data.numel() * 4 / (time.perf_counter() - started))
    return max(runs)


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def long_prompt(tokenizer: Any, tokens: int) -> str:
    text = SHORT + "\n\n"
    while len(tokenizer(text).input_ids) < tokens:
        text += FILLER
    return text + "\n\nGo on with the story."


def reference_rate(backend: LocalBackend, prompt: str, tokens: int) -> tuple[list[int], float]:
    """fp32 ``generate`` with transformers' own cache: output ids and tokens/s (prefill included)."""
    import torch

    ids = backend.tokenizer(backend.render(fixed(prompt, tokens)), return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        started = time.perf_counter()
        out = backend.model.generate(**ids, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False)
    return out[0, ids.input_ids.shape[1] :].tolist(), tokens / (time.perf_counter() - started)


def fixed(prompt: str, tokens: int) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, max_tokens=tokens, min_tokens=tokens, temperature=0.0, top_p=1.0)


async def backend_rate(backend: LocalBackend, prompt: str, tokens: int) -> tuple[str, float]:
    """The backend's streamed text and tokens/s (prefill included)."""
    started = time.perf_counter()
    text = "".join([piece async for piece in backend.stream(fixed(prompt, tokens))])
    return text, tokens / (time.perf_counter() - started)


async def main(tokens: int, context: int, dtype: str, repeats: int, models_dir: Path) -> None:
    spec = resolve("smollm2-135m", models_dir)
    reference = LocalBackend(spec, models_dir=models_dir, dtype="float32", reuse_prefix=False)
    fast = LocalBackend(spec, models_dir=models_dir, dtype=dtype, reuse_prefix=False)
    await reference.load()
    await fast.load()
    worker = inference_worker()
    params = sum(p.numel() for p in fast.model.parameters())
    bf16_bytes = params * 2

    ref_ids, _ = await worker.submit(lambda: reference_rate(reference, SHORT, 64))
    fast_text, _ = await backend_rate(fast, SHORT, 64)
    same = fast_text == reference.tokenizer.decode(ref_ids, skip_special_tokens=True)

    rows: dict[str, list[float]] = {}
    bandwidths: list[float] = []
    prompts = {"short": SHORT, f"~{context} tokens": long_prompt(fast.tokenizer, context)}
    for _ in range(repeats):
        bandwidths.append(await worker.submit(read_bandwidth))
        for label, prompt in prompts.items():
            _, ref_rate = await worker.submit(lambda prompt=prompt: reference_rate(reference, prompt, tokens))
            _, fast_rate = await backend_rate(fast, prompt, tokens)
            rows.setdefault(f"reference fp32 generate, {label} context", []).append(ref_rate)
            rows.setdefault(f"local backend ({fast.model.dtype}), {label} context", []).append(fast_rate)
    bandwidth = statistics.median(bandwidths)
    bound = bandwidth / bf16_bytes
    threads = await worker.submit(torch_threads)

    print(f"torch threads {threads}; {tokens} greedy tokens per run, median of {repeats}")
    print(f"read bandwidth {bandwidth / 1e9:.1f} GB/s; {params / 1e6:.1f}M parameters = {bf16_bytes / 1e6:.0f} MB bf16")
    print(f"bandwidth bound {bound:.1f} tokens/s")
    print(f"{'configuration':<52}{'tokens/s':>10}{'÷ bound':>10}")
    for name, rates in rows.items():
        rate = statistics.median(rates)
        print(f"{name:<52}{rate:>10.1f}{rate / bound:>10.2f}")
    print(f"first 64 greedy tokens equal to the fp32 reference: {same}")
    result = statistics.median(rows[f"local backend ({fast.model.dtype}), short context"]) / bound
    print(f"RESULT decode {result:.2f} goal {GOAL} {'met' if result >= GOAL and same else 'missed'}")
    await fast.aclose()
    await reference.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--context", type=int, default=2000, help="prompt tokens of the long-context runs")
    parser.add_argument("--dtype", default="auto", help="the local backend's dtype (LONGWRITER_DTYPE values)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models-dir", type=Path, default=None, help="converted-weights cache (default: settings)")
    args = parser.parse_args()
    asyncio.run(main(args.tokens, args.context, args.dtype, args.repeats, args.models_dir or get_settings().models_dir))
