"""What writes an evaluation's items: a model, a mode and sampling, parsed from the CLI's ``--config``.

A configuration is part of a run's fingerprint (the same configuration resumes the same run), so it
lives apart from the runner, with its one text form and its JSON form.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from longwriter.agentwrite import MODES, Mode
from longwriter.sampling import INTEGER_KEYS, SAMPLING_KEYS

if TYPE_CHECKING:
    from longwriter.studio import Studio


class EvalError(ValueError):
    """An evaluation that cannot start as asked; the message is for the user."""


@dataclass(frozen=True)
class GenConfig:
    """What writes the items: a model, a mode and sampling overrides (the model's defaults otherwise)."""

    model: str | None = None
    mode: Mode = "agentwrite"
    sampling: dict[str, float | int] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise EvalError(f"Unknown mode {self.mode!r}; choose one of {', '.join(MODES)}.")
        unknown = set(self.sampling) - set(SAMPLING_KEYS)
        if unknown:
            raise EvalError(f"Unknown sampling parameter(s): {', '.join(sorted(unknown))}.")

    @classmethod
    def parse(cls, text: str) -> GenConfig:
        """``"model=ID,mode=single,temperature=0.5,seed=1,name=label"``; a bare first word is the model."""
        fields: dict[str, Any] = {}
        sampling: dict[str, float | int] = {}
        for number, part in enumerate(p.strip() for p in text.split(",") if p.strip()):
            key, sep, value = part.partition("=")
            key, value = key.strip(), value.strip()
            if not sep:
                if number:
                    raise EvalError(f"{part!r} in {text!r}: expected key=value")
                key, value = "model", part
            if key in ("model", "mode", "name"):
                fields[key] = value
            elif key in SAMPLING_KEYS:
                try:
                    sampling[key] = int(value) if key in INTEGER_KEYS else float(value)
                except ValueError:
                    raise EvalError(f"{key}={value!r} in {text!r} is not a number") from None
            else:
                raise EvalError(
                    f"Unknown setting {key!r} in {text!r}; use model, mode, name or {', '.join(SAMPLING_KEYS)}."
                )
        return cls(sampling=sampling, **fields)

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        extra = "".join(f",{k}={v}" for k, v in sorted(self.sampling.items()))
        return f"{self.model or 'default'}/{self.mode}{extra}"

    def resolved(self, studio: Studio) -> GenConfig:
        """The same configuration with the model named by its catalog id."""
        return replace(self, model=studio.spec(self.model).id)

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "model": self.model, "mode": self.mode, "sampling": dict(self.sampling)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GenConfig:
        config = cls(
            model=data.get("model"), mode=data.get("mode", "agentwrite"), sampling=dict(data.get("sampling") or {})
        )
        return config if config.label == data.get("label") else replace(config, name=str(data.get("label", "")))
