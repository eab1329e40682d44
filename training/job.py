"""A training job: everything a trainer needs, resolved once from the run's config.

Its own module so that the runner (which trains) and the checkpoint code (which saves and
registers what was trained) both depend on it, not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from longwriter.catalog import ModelSpec
from longwriter.formats import FORMATS
from longwriter.settings import Settings
from training.config import RunConfig, Task
from training.models import load_tokenizer, lora_config, resolve_model
from training.prompting import Prompting

if TYPE_CHECKING:
    from peft import LoraConfig
    from transformers import PreTrainedTokenizerBase


@dataclass
class Job:
    """What every trainer needs, resolved once: the base model, its tokenizer, how prompts look, and LoRA."""

    task: Task
    config: RunConfig
    settings: Settings
    base: ModelSpec
    model_path: str
    tokenizer: PreTrainedTokenizerBase
    prompting: Prompting
    peft_config: LoraConfig | None

    def trl_fields(self) -> dict[str, Any]:
        """Keyword arguments for the task's TRL config: the file's ``trl:`` fields plus our output folder."""
        return {
            **self.config.trl,
            "trust_remote_code": _trusts_remote_code(self.config, self.base),
            "output_dir": str(self.config.output_dir),
        }


def _trusts_remote_code(config: RunConfig, base: ModelSpec) -> bool:
    """The config's ``trl.trust_remote_code`` when set, else the catalog's word for the base (GLM-4 needs it)."""
    return bool(config.trl.get("trust_remote_code", base.trust_remote_code))


def prepare(task: Task, config: RunConfig, settings: Settings) -> Job:
    """Resolve the base model and everything derived from it, before any trainer exists."""
    base, path = resolve_model(config.base_model, settings)
    tokenizer = load_tokenizer(path, trust_remote_code=_trusts_remote_code(config, base))
    fmt = FORMATS[config.prompt_format] if config.prompt_format else base.format
    return Job(
        task=task,
        config=config,
        settings=settings,
        base=base,
        model_path=path,
        tokenizer=tokenizer,
        prompting=Prompting.for_tokenizer(fmt, tokenizer),
        peft_config=lora_config(config.lora),
    )
