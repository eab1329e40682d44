"""One training run from config to catalog entry, the same for SFT, DPO and GRPO.

The runner resolves the base model, loads its tokenizer, builds the LoRA config, lets the task's
module (``training.sft``, ``training.dpo``, ``training.grpo``) build its TRL trainer, trains, saves a
plain checkpoint (LoRA merged), registers it in the studio's catalog and writes the summary. Task
modules hold only what differs between tasks: their dataset, their TRL config and trainer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from longwriter.catalog import ModelSpec
from longwriter.formats import FORMATS
from longwriter.settings import Settings, get_settings
from training.checkpoint import register_checkpoint, save_final
from training.config import RunConfig, Task
from training.models import load_tokenizer, lora_config, resolve_model
from training.prompting import Prompting
from training.summary import Summary, summarize

if TYPE_CHECKING:
    from peft import LoraConfig
    from transformers import PreTrainedTokenizerBase

SUMMARY_FILE = "training_summary.json"


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


def train(task: Task, config: RunConfig, settings: Settings | None = None) -> Summary:
    """Run ``task`` as ``config`` says; returns the summary (also written to the output folder).

    Under ``accelerate launch`` every process trains; only the main one registers and writes files.
    """
    job = prepare(task, config, settings or get_settings())
    trainer = import_module(f"training.{task}").build_trainer(job)
    trainer.train()
    checkpoint = save_final(trainer, job)
    summary = summarize(task, job.base.id, checkpoint, trainer.state)
    if trainer.is_world_process_zero():
        if config.catalog.enabled:
            spec = register_checkpoint(job, checkpoint, summary)
            summary = summary.registered_as(spec.id)
        trainer.save_state()
        (config.output_dir / SUMMARY_FILE).write_text(json.dumps(summary.to_json(), indent=2), encoding="utf-8")
    return summary
