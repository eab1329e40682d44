"""Preference optimisation on the studio's exported pairs with TRL's DPOTrainer.

``beta``, ``loss_type`` (a list: sigmoid, ipo, ... or several with ``loss_weights``) and ``ld_alpha``
are DPOConfig fields under ``trl:``. ``ld_alpha`` is LD-DPO: it down-weights the log-probabilities of
the part of the longer answer that goes beyond the shorter one, so DPO does not simply learn that
longer is better, a real risk when raters favour the longer of two long texts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from training.config import DPORunConfig
from training.data import preference_dataset
from training.models import load_causal_lm, resolve_model

if TYPE_CHECKING:
    from trl import DPOTrainer

    from training.job import Job


def build_trainer(job: Job) -> DPOTrainer:
    """A DPOTrainer for ``job``; the reference is the config's ``ref_model`` or TRL's frozen copy of the base."""
    from trl import DPOConfig, DPOTrainer

    config = cast(DPORunConfig, job.config)
    args = DPOConfig(**job.trl_fields())
    ref_model = load_causal_lm(resolve_model(config.ref_model, job.settings)[1], args) if config.ref_model else None
    return DPOTrainer(
        model=job.model_path,
        ref_model=ref_model,
        args=args,
        train_dataset=preference_dataset(config.data, job.prompting, job.settings),
        processing_class=job.tokenizer,
        peft_config=job.peft_config,
    )
