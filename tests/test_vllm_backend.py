"""The in-process vLLM backend.

Without vLLM (every CPU machine) only the refusals run: the backend must say how to install the
gpu extra instead of failing on an import. With vLLM and CUDA a tiny random llama, carrying the
real SmolLM2 tokenizer, streams, stops early and streams again.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import pytest

from longwriter.backends.base import BackendError, GenerationRequest
from longwriter.backends.vllm import VLLMBackend, _lora_rank
from longwriter.catalog import ModelSpec, resolve
from longwriter.settings import Settings

REQUEST = GenerationRequest(prompt="Write about rivers.", max_tokens=8, temperature=0.0, top_p=1.0)


def test_missing_vllm_names_the_gpu_extra(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes every `import vllm...` fail, as on a CPU install
    with pytest.raises(BackendError, match=r"pip install 'longwriter-studio\[gpu\]'"):
        VLLMBackend(ModelSpec(id="m", source="/models/m"), settings)


def test_embedded_gguf_model_is_refused(settings: Settings) -> None:
    with pytest.raises(BackendError, match="vLLM needs a model folder"):
        VLLMBackend(resolve("smollm2-135m", settings.models_dir), settings)


@pytest.mark.parametrize(("rank", "reserved"), [(1, 1), (4, 8), (16, 16), (24, 32), (512, 512)])
def test_a_lora_adapter_gets_the_smallest_rank_vllm_accepts(tmp_path: Path, rank: int, reserved: int) -> None:
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": rank, "peft_type": "LORA"}))
    assert _lora_rank(tmp_path) == reserved


def test_unservable_lora_adapters_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="not a PEFT LoRA adapter folder"):
        _lora_rank(tmp_path)
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 1024}))
    with pytest.raises(BackendError, match="rank 1024; vLLM serves ranks 1 to 512"):
        _lora_rank(tmp_path)


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-layer random llama folder with SmolLM2's tokenizer (only built where vLLM can run it)."""
    pytest.importorskip("vllm")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("vLLM needs a CUDA GPU")
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from longwriter.backends.local import EMBEDDED_GGUF, embedded_gguf_dir

    path = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(embedded_gguf_dir(), gguf_file=EMBEDDED_GGUF)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture
async def vllm_backend(tiny_llama: Path, settings: Settings) -> AsyncIterator[VLLMBackend]:
    tuned = settings.model_copy(update={"backend": "vllm", "max_model_len": 512, "gpu_memory_utilization": 0.3})
    backend = VLLMBackend(ModelSpec(id="tiny", source=str(tiny_llama)), tuned)
    yield backend
    await backend.aclose()


@pytest.mark.gpu
async def test_streams_stops_early_and_streams_again(vllm_backend: VLLMBackend) -> None:
    assert vllm_backend.context_window == 512
    assert vllm_backend.count_tokens("Write about rivers.") > 0
    async with aclosing(vllm_backend.stream(REQUEST)) as stream:
        first = await anext(stream)
    assert first
    pieces = [piece async for piece in vllm_backend.stream(REQUEST)]
    assert pieces and "".join(pieces).startswith(first)  # greedy: the aborted run was a prefix of this one
