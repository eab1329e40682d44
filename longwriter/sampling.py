"""Sampling: the parameters of one run, their names, and the named presets every front end offers.

A model's catalog entry carries its recommended sampling; a preset overrides some of it with a
style ("Precise", "Balanced", "Creative"), and a run may override any parameter. The Write tab's
preset menu, the arena's contestants, the API and the evaluator's configurations all read the
names and the presets here, so "Creative" means the same temperature wherever it is chosen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from longwriter.catalog import ModelSpec


@dataclass(frozen=True)
class Sampling:
    """Sampling parameters of one run; the model's catalog defaults unless overridden."""

    temperature: float
    top_p: float
    top_k: int = 0
    repetition_penalty: float = 1.0
    seed: int | None = None

    @classmethod
    def for_model(cls, spec: ModelSpec, **overrides: float | None) -> Sampling:
        """The catalog's recommended sampling for ``spec``, with any non-None overrides applied."""
        base = cls(spec.temperature, spec.top_p, spec.top_k, spec.repetition_penalty)
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})


SAMPLING_KEYS: tuple[str, ...] = tuple(f.name for f in fields(Sampling))
"""Every parameter a run may override."""
INTEGER_KEYS = ("top_k", "seed")
PRESET_KEYS: tuple[str, ...] = tuple(k for k in SAMPLING_KEYS if k != "seed")
"""What a preset sets: a style of writing. A seed belongs to one run, not to a style."""

MODEL_DEFAULT = "Model default"
"""The preset that keeps the model's own recommended sampling."""
PRESETS: dict[str, dict[str, float | int]] = {
    "Precise": {"temperature": 0.3, "top_p": 0.8, "top_k": 40, "repetition_penalty": 1.1},
    "Balanced": {"temperature": 0.6, "top_p": 0.9, "top_k": 50, "repetition_penalty": 1.1},
    "Creative": {"temperature": 0.9, "top_p": 0.95, "top_k": 0, "repetition_penalty": 1.05},
}
"""The built-in presets: overrides on top of each model's catalog defaults."""
PRESET_NAMES: tuple[str, ...] = (MODEL_DEFAULT, *PRESETS)


def preset_overrides(name: str) -> dict[str, float | int]:
    """What preset ``name`` changes from the model's defaults (nothing for :data:`MODEL_DEFAULT`)."""
    if name == MODEL_DEFAULT:
        return {}
    if name not in PRESETS:
        raise KeyError(f"Unknown sampling preset {name!r}; choose one of {', '.join(PRESET_NAMES)}.")
    return dict(PRESETS[name])


def model_values(spec: ModelSpec) -> dict[str, float | int]:
    """The catalog's recommended values of every preset parameter for ``spec``."""
    values = asdict(Sampling.for_model(spec))
    return {k: values[k] for k in PRESET_KEYS}


def describe_presets() -> str:
    """One line naming each preset's temperature, for a hint next to a preset choice."""
    return ", ".join(f"{name}: temperature {values['temperature']}" for name, values in PRESETS.items())
