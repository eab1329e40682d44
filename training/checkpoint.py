"""Closing the loop: save a plain checkpoint and register it in the studio's model catalog.

The studio's local backend (and ``vllm serve``) load a plain model folder, so a LoRA run is merged
into its base before registering; the adapter is kept next to it in ``adapter/``. Merging reloads the
base from disk rather than merging the trainer's copy, which under ZeRO-3 holds only a shard of each
weight. The catalog entry inherits the parent's context window and sampling defaults, takes the
prompt format the run trained on, and names the parent, so the arena can pit the two against each other.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longwriter.catalog import ModelSpec, register
from training.models import load_causal_lm

if TYPE_CHECKING:
    from training.job import Job
    from training.summary import Summary

ADAPTER_DIR = "adapter"


def save_final(trainer: Any, job: Job) -> Path:
    """Save the trained model with its tokenizer in the output folder as a plain checkpoint; returns the folder."""
    out = job.config.output_dir
    if job.peft_config is None:
        trainer.save_model(str(out))  # gathers ZeRO-3 shards; saves the tokenizer too
        return out
    adapter = out / ADAPTER_DIR
    trainer.save_model(str(adapter))
    if trainer.is_world_process_zero():
        _merge(job.model_path, adapter, out, trainer)
    trainer.accelerator.wait_for_everyone()
    return out


def _merge(base_path: str, adapter: Path, out: Path, trainer: Any) -> None:
    from peft import PeftModel

    base = load_causal_lm(base_path, trainer.args)
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    merged.save_pretrained(str(out))
    trainer.processing_class.save_pretrained(str(out))


def register_checkpoint(job: Job, checkpoint: Path, summary: Summary) -> ModelSpec:
    """Add the checkpoint to the catalog (``models_dir/registry.json``) so the model picker lists it."""
    entry = job.config.catalog
    spec = replace(
        job.base,
        id=entry.id or job.config.output_dir.name,
        source=str(checkpoint.resolve()),
        format=job.prompting.format,
        parent=job.base.id,
        description=entry.description
        or f"{job.task.upper()} of {job.base.id}, {summary.steps} steps ({date.today().isoformat()})",
    )
    register(job.settings.models_dir, spec)
    return spec
