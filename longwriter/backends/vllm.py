"""Backend running vLLM's ``AsyncLLM`` inside this process (the optional ``gpu`` extra).

One engine serves every request with continuous batching and prefix caching, which is what
makes parallel section writing and the AgentWrite prompts (each sharing a long prefix with
the next) cheap. vLLM is imported only when this backend is built, so the package imports
and its tests run on machines without it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator
from pathlib import Path

from longwriter.backends.base import BackendError, GenerationRequest
from longwriter.catalog import EMBEDDED_SOURCE, ModelSpec
from longwriter.settings import Settings

_GPU_EXTRA = "The vllm backend needs the gpu extra: pip install 'longwriter-studio[gpu]'"
_LORA_NAME = "longwriter-adapter"
_LORA_ID = 1
_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
"""The ranks vLLM's ``LoRAConfig.max_lora_rank`` accepts (a ``Literal``: any other value fails validation)."""


class VLLMBackend:
    """Streams from an in-process vLLM engine; stopping the consumer aborts the request."""

    name = "vllm"

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        if spec.source == EMBEDDED_SOURCE:
            raise BackendError(
                f"{spec.id} is embedded as a GGUF file for the local backend; vLLM needs a model folder or Hub id."
            )
        try:
            from vllm.engine.arg_utils import AsyncEngineArgs
            from vllm.lora.request import LoRARequest
            from vllm.v1.engine.async_llm import AsyncLLM
        except ImportError as exc:
            raise BackendError(_GPU_EXTRA) from exc
        self.spec = spec
        self._max_model_len = settings.max_model_len or spec.context_window
        lora = settings.lora_path
        lora_args = {"enable_lora": True, "max_lora_rank": _lora_rank(lora)} if lora is not None else {}
        try:
            # Building the args runs vLLM's plugin loading and offline-path lookups, so it can fail too.
            args = AsyncEngineArgs(
                model=spec.source,
                trust_remote_code=spec.trust_remote_code,
                dtype=settings.dtype,
                max_model_len=self._max_model_len,
                tensor_parallel_size=settings.tensor_parallel_size,
                pipeline_parallel_size=settings.pipeline_parallel_size,
                gpu_memory_utilization=settings.gpu_memory_utilization,
                quantization=settings.quantization,
                enable_prefix_caching=True,
                enforce_eager=settings.enforce_eager,
                **lora_args,
            )
            self._engine = AsyncLLM.from_engine_args(args)
        except Exception as exc:  # CUDA, config and memory errors all mean "cannot start"
            raise BackendError(f"vLLM could not start {spec.source}: {exc}") from exc
        self._tokenizer = self._engine.get_tokenizer()
        # Keywords, not positions: vLLM has renamed and reordered these fields before (lora_local_path → lora_path).
        self._lora = (
            LoRARequest(lora_name=_LORA_NAME, lora_int_id=_LORA_ID, lora_path=str(lora)) if lora is not None else None
        )

    @property
    def context_window(self) -> int:
        return self._max_model_len

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[str, None]:
        """Yield text deltas; whatever ends the consumer (``aclose``, ``break``, cancellation) aborts the request."""
        from vllm.sampling_params import RequestOutputKind, SamplingParams

        fmt = self.spec.format
        text = fmt.render(
            request.prompt, system=request.system, assistant_prefix=request.assistant_prefix, tokenizer=self._tokenizer
        )
        # The rendered text holds its special tokens already (see formats), so tokenize it as is.
        prompt = {"prompt_token_ids": self._tokenizer.encode(text, add_special_tokens=False)}
        request_id = f"longwriter-{uuid.uuid4().hex}"
        try:
            params = SamplingParams(
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                top_p=request.top_p,
                top_k=request.top_k,
                repetition_penalty=request.repetition_penalty,
                stop=list(dict.fromkeys(request.stop + fmt.stop)),
                stop_token_ids=list(fmt.extra_stop_ids),
                seed=request.seed,
                min_tokens=request.min_tokens,
                output_kind=RequestOutputKind.DELTA,
            )
            async for output in self._engine.generate(prompt, params, request_id, lora_request=self._lora):
                delta = output.outputs[0].text
                if delta:
                    yield delta
        except (GeneratorExit, asyncio.CancelledError):
            # The consumer stopped listening; free the sequence's GPU slot now rather than at max_tokens.
            # (Only here: after a failure vLLM cleans up itself, and a dead engine cannot abort.)
            await self._engine.abort(request_id)
            raise
        except Exception as exc:  # validation (prompt too long) and engine failures alike
            raise BackendError(f"vLLM failed on {self.spec.source}: {exc or type(exc).__name__}") from exc

    async def aclose(self) -> None:
        """Stop the engine's worker processes and free the GPU."""
        self._engine.shutdown()


def _lora_rank(path: Path) -> int:
    """The smallest rank vLLM accepts that holds the adapter's PEFT ``r`` (its default, 16, is too small for many).

    vLLM only takes the ranks in ``_LORA_RANKS`` and pads a smaller adapter up to the engine's rank,
    so an adapter of rank 4 or 24 needs 8 or 32 here rather than its own ``r``.
    """
    try:
        rank = int(json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))["r"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackendError(f"{path} is not a PEFT LoRA adapter folder (adapter_config.json with 'r'): {exc}") from exc
    fits = [allowed for allowed in _LORA_RANKS if allowed >= rank]
    if rank < 1 or not fits:
        raise BackendError(f"{path} has LoRA rank {rank}; vLLM serves ranks 1 to {_LORA_RANKS[-1]}.")
    return fits[0]
