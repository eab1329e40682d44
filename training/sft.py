"""Supervised fine-tuning on long-writing conversations (LongWriter-6k style) with TRL's SFTTrainer.

Loss is on the assistant's text only: ``assistant_only_loss`` for conversational rows (with a marked
chat template, see ``training.chat_templates``), completion-only loss for raw-format prompt/completion
rows. Long sequences are TRL's business: ``max_length``, ``packing``, ``padding_free`` and
``gradient_checkpointing`` are SFTConfig fields under ``trl:``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from training.chat_templates import use_training_template
from training.data import sft_dataset

if TYPE_CHECKING:
    from trl import SFTTrainer

    from training.job import Job


def build_trainer(job: Job) -> SFTTrainer:
    """An SFTTrainer for ``job``: its conversations, its SFTConfig, the base model by path."""
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(**job.trl_fields())
    if args.assistant_only_loss:
        use_training_template(job.tokenizer)
    return SFTTrainer(
        model=job.model_path,
        args=args,
        train_dataset=sft_dataset(job.config.data, job.prompting, job.settings),
        processing_class=job.tokenizer,
        peft_config=job.peft_config,
    )
