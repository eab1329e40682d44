"""Why every generation runs on one long-lived inference thread: tokens/s measured both ways.

Loads the embedded model on a dedicated thread, then times the same greedy generation (a) on
that thread, as the local backend does, and (b) on a fresh thread per call, as a naive
``threading.Thread(target=model.generate)`` streamer would. Prints tokens/s for each and the
ratio, measured in one run.

    python benchmarks/inference_thread.py [--tokens 128] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from longwriter.backends.local import cache_embedded_model
from longwriter.backends.worker import InferenceWorker


def main(tokens: int, repeats: int, models_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    worker = InferenceWorker("bench-inference")
    folder = worker.call(lambda: cache_embedded_model(models_dir / "smollm2-135m"))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = worker.call(lambda: AutoModelForCausalLM.from_pretrained(folder).eval())
    inputs = tokenizer("Write a long story about a lighthouse keeper.", return_tensors="pt")

    def generate() -> float:
        started = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False)
        return (out.shape[1] - inputs.input_ids.shape[1]) / (time.perf_counter() - started)

    worker.call(generate)  # warm-up on the inference thread
    same = [worker.call(generate) for _ in range(repeats)]
    fresh: list[float] = []
    for _ in range(repeats):
        box: list[float] = []
        thread = threading.Thread(target=lambda box=box: box.append(generate()))
        thread.start()
        thread.join()
        fresh.extend(box)
    a, b = statistics.median(same), statistics.median(fresh)
    print(f"torch threads: {torch.get_num_threads()}, {tokens} new tokens, median of {repeats}")
    print(f"long-lived inference thread: {a:6.1f} tokens/s")
    print(f"fresh thread per generation: {b:6.1f} tokens/s")
    print(f"ratio: {a / b:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models-dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        main(args.tokens, args.repeats, args.models_dir or Path(tmp))
