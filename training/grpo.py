"""GRPO in the LongWriter-Zero style with TRL's GRPOTrainer and the rewards in ``training.rewards``.

Each prompt carries its word range; completions are scored for length, repetition, format (think
template) and, optionally, writing quality by a reward model; TRL normalises each reward within its
group and sums them with the config's weights. Generation runs in transformers, or in vLLM with
``use_vllm: true`` and ``vllm_mode: colocate`` (same GPUs) or ``server`` (``trl vllm-serve``) under ``trl:``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from training.config import GRPORunConfig
from training.data import prompt_dataset
from training.rewards import reward_functions

if TYPE_CHECKING:
    from trl import GRPOTrainer

    from training.job import Job


def build_trainer(job: Job) -> GRPOTrainer:
    """A GRPOTrainer for ``job``: its prompts with length targets, its rewards and their weights."""
    from trl import GRPOConfig, GRPOTrainer

    config = cast(GRPORunConfig, job.config)
    funcs, weights = reward_functions(config.rewards, think=job.prompting.format.think)
    return GRPOTrainer(
        model=job.model_path,
        reward_funcs=funcs,
        args=GRPOConfig(**job.trl_fields(), reward_weights=weights),
        train_dataset=prompt_dataset(config.data, job.prompting, config.length, job.settings),
        processing_class=job.tokenizer,
        peft_config=job.peft_config,
    )
