"""The end-of-run summary: steps, loss, and the headline metrics TRL logged along the way.

Headline metrics are picked by name from the trainer's log history, so one summary serves every task:
the loss everywhere, token accuracy for SFT, the reward margin and accuracy for DPO, and the overall
reward, each reward's mean and the completion length for GRPO. Each shows its first and last logged
value and its mean, which is what tells whether a short run moved anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from statistics import fmean
from typing import Any

_HEADLINE_PREFIXES = ("loss", "mean_token_accuracy", "reward", "rewards/", "completions/mean_length", "kl")


@dataclass(frozen=True)
class Metric:
    """One logged metric over the run."""

    first: float
    last: float
    mean: float


@dataclass(frozen=True)
class Summary:
    """What a finished run reports; ``model_id`` is its catalog id once registered."""

    task: str
    base_model: str
    checkpoint: str
    steps: int
    train_loss: float | None
    runtime_s: float | None
    metrics: dict[str, Metric]
    model_id: str | None = None

    def registered_as(self, model_id: str) -> Summary:
        return replace(self, model_id=model_id)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _headline(key: str) -> bool:
    return key.startswith(_HEADLINE_PREFIXES) and not key.endswith("std")


def summarize(task: str, base_model: str, checkpoint: Path, state: Any) -> Summary:
    """Summarise a finished trainer's ``state`` (``transformers.TrainerState``)."""
    series: dict[str, list[float]] = {}
    final: dict[str, Any] = {}
    for entry in state.log_history:
        if "train_runtime" in entry:  # the trainer's closing entry, not a training step
            final = entry
            continue
        for key, value in entry.items():
            if _headline(key) and isinstance(value, int | float):
                series.setdefault(key, []).append(float(value))
    return Summary(
        task=task,
        base_model=base_model,
        checkpoint=str(checkpoint),
        steps=state.global_step,
        train_loss=final.get("train_loss"),
        runtime_s=final.get("train_runtime"),
        metrics={key: Metric(values[0], values[-1], fmean(values)) for key, values in series.items()},
    )
