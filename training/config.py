"""Run configuration: one YAML file per training run, validated before anything heavy is imported.

A config names the base model (catalog id, local folder or Hub id), where the data comes from, the
TRL trainer fields, LoRA on or off, the output folder and the catalog entry the result becomes.
TRL and peft fields are passed through verbatim (``trl:`` to ``SFTConfig``/``DPOConfig``/``GRPOConfig``,
``lora:`` to ``peft.LoraConfig``) so every option those libraries document works here without being
mirrored, and a TRL upgrade needs no change in this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from longwriter.formats import FORMATS

Task = Literal["sft", "dpo", "grpo"]


class ConfigError(ValueError):
    """The YAML file is missing, unreadable or invalid; the message says which field and why."""


class _Strict(BaseModel):
    """Unknown keys are errors: a typo in a config must not silently train with a default."""

    model_config = ConfigDict(extra="forbid")


class Source(_Strict):
    """One place training rows come from.

    ``database`` reads the studio's own database (``path`` is an SQLAlchemy URL, the app's database by
    default); ``jsonl`` a file (LongWriter-6k ``messages`` lines, the app's preference export, prompt
    lists); ``disk`` a ``datasets.save_to_disk`` folder; ``hub`` anything ``datasets.load_dataset``
    opens: a Hub id (downloaded only because the config asks for it) or a local dataset folder.
    """

    kind: Literal["database", "jsonl", "disk", "hub"]
    path: str | None = None
    name: str | None = Field(default=None, description="dataset configuration name (hub)")
    split: str = "train"
    limit: int | None = Field(default=None, gt=0, description="use only the first N rows")
    prompt_field: str = Field(default="prompt", description="GRPO: the column holding the instruction")
    target_field: str | None = Field(default=None, description="GRPO: a column holding the target word count")

    @model_validator(mode="after")
    def _path_needed(self) -> Source:
        if self.kind != "database" and not self.path:
            raise ValueError(f"a {self.kind} source needs a path")
        return self


class CatalogEntry(_Strict):
    """How the finished checkpoint appears in the studio's model picker."""

    enabled: bool = True
    id: str | None = Field(default=None, description="catalog id; the output folder's name by default")
    description: str = ""


class RunConfig(_Strict):
    """Everything one SFT run needs; DPO and GRPO add their own fields below."""

    base_model: str = Field(description="catalog id (e.g. smollm2-135m), local folder or Hub id")
    prompt_format: str | None = Field(
        default=None, description="a longwriter.formats name; the base model's catalog format by default"
    )
    data: list[Source] = Field(min_length=1)
    lora: dict[str, Any] | None = Field(
        default=None, description="peft.LoraConfig fields; absent or null: full fine-tune"
    )
    output_dir: Path
    catalog: CatalogEntry = Field(default_factory=CatalogEntry)
    trl: dict[str, Any] = Field(default_factory=dict, description="fields of the task's TRL config")

    @field_validator("prompt_format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        if value is not None and value not in FORMATS:
            raise ValueError(f"unknown prompt format {value!r}; choose one of {', '.join(FORMATS)}")
        return value

    @field_validator("trl")
    @classmethod
    def _output_dir_is_ours(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "output_dir" in value:
            raise ValueError("set output_dir at the top level of the config, not under trl")
        return value

    @field_validator("output_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()


class DPORunConfig(RunConfig):
    """DPO adds the reference model; beta, loss_type and ld_alpha (LD-DPO) are DPOConfig fields under ``trl``."""

    ref_model: str | None = Field(
        default=None,
        description="catalog id, folder or Hub id of the reference; by default a frozen copy of the base "
        "(with LoRA: the base with the adapter switched off)",
    )


class LengthTargets(_Strict):
    """How each GRPO prompt gets the word range its length reward aims at.

    A target found in a column or stated in the instruction ("2,000 words", "3000字") becomes
    ``target ± tolerance`` (LongWriter-Zero uses ±10%); a tolerance of 0 gives LongBench-Write's S_l
    curve around the exact target. Prompts that state nothing get ``default_range``.
    """

    tolerance: float = Field(default=0.1, ge=0, lt=1)
    default_range: tuple[int, int] = (1000, 3000)

    @field_validator("default_range")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 0 < value[0] <= value[1]:
            raise ValueError("default_range must be two positive word counts, low first")
        return value


class RewardWeights(_Strict):
    """Which GRPO rewards run and how much each counts after TRL normalises it within its group.

    A weight of 0 drops that reward. ``format`` applies only with a think prompt format (zero-think);
    ``quality`` only when ``quality_model`` names a sequence-classification checkpoint.
    """

    length: float = Field(default=1.0, ge=0)
    redundancy: float = Field(default=1.0, ge=0)
    format: float = Field(default=1.0, ge=0)
    quality: float = Field(default=1.0, ge=0)
    quality_model: str | None = None
    ngram: int = Field(default=8, ge=2, description="n-gram size that counts as repeated text")


class GRPORunConfig(RunConfig):
    """GRPO adds the rewards and the length targets of its prompts."""

    rewards: RewardWeights = Field(default_factory=RewardWeights)
    length: LengthTargets = Field(default_factory=LengthTargets)

    @field_validator("trl")
    @classmethod
    def _group_normalised(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "reward_weights" in value:
            raise ValueError("set reward weights under rewards:, not trl.reward_weights")
        # Each reward on its own scale, normalised within the group before the weighted sum (LongWriter-Zero).
        return {"multi_objective_aggregation": "normalize_then_sum", **value}


CONFIG_TYPES: dict[str, type[RunConfig]] = {"sft": RunConfig, "dpo": DPORunConfig, "grpo": GRPORunConfig}


def load_config(path: Path, task: Task, *, output_dir: Path | None = None, max_steps: int | None = None) -> RunConfig:
    """Read and validate a YAML run config for ``task``; command-line overrides win over the file."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a mapping of settings")
    if output_dir is not None:
        raw["output_dir"] = str(output_dir)
    if max_steps is not None:
        raw["trl"] = {**(raw.get("trl") or {}), "max_steps": max_steps}
    try:
        return CONFIG_TYPES[task].model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path} is not a valid {task} config:\n{exc}") from exc
