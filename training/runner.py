"""One training run from config to catalog entry, the same for SFT, DPO and GRPO.

The runner resolves the base model, loads its tokenizer, builds the LoRA config, lets the task's
module (``training.sft``, ``training.dpo``, ``training.grpo``) build its TRL trainer, trains, saves a
plain checkpoint (LoRA merged), registers it in the studio's catalog and writes the summary. Task
modules hold only what differs between tasks: their dataset, their TRL config and trainer.
"""

from __future__ import annotations

import json
from importlib import import_module

from longwriter.settings import Settings, get_settings
from training.checkpoint import register_checkpoint, save_final
from training.config import RunConfig, Task
from training.job import prepare
from training.summary import Summary, summarize

SUMMARY_FILE = "training_summary.json"


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
