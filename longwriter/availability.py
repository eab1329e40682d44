"""Whether a model can be written with here and now, and if not, why: so lists offer only what runs.

The arena draws two configurations and writes with both at once; offering one whose model cannot
start here (a 9B model on a CPU machine with no model server configured) only produces a failed
battle. The answer reuses the doctor's checks (:func:`longwriter.doctor.model_checks`: packaged
or cached weights, device, model server), plus one rule the doctor cannot see from files alone:
a model the catalog marks ``needs_gpu`` does not run in this process without a GPU.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from longwriter.catalog import ModelSpec
from longwriter.doctor import model_checks
from longwriter.settings import Settings


@dataclass(frozen=True)
class Availability:
    """Can ``model`` run now under the current settings; ``reason`` says why not (empty when it can)."""

    model: str
    runnable: bool
    reason: str = ""


def availability(settings: Settings, spec: ModelSpec) -> Availability:
    """Whether ``spec`` can run now with ``settings``' backend, and if not, what to change.

    No weights are loaded; the openai backend costs one short GET to the model server.
    """
    if spec.needs_gpu and settings.backend != "openai" and not _has_gpu(settings):
        return Availability(
            spec.id,
            False,
            f"{spec.id} needs a GPU and this machine has none: serve it with vLLM on a GPU machine "
            "and set LONGWRITER_BACKEND=openai with LONGWRITER_BASE_URL.",
        )
    failed = [check.message for check in model_checks(settings, spec) if not check.ok]
    return Availability(spec.id, not failed, failed[0] if failed else "")


def availabilities(settings: Settings, specs: Iterable[ModelSpec]) -> dict[str, Availability]:
    """:func:`availability` for each model, by model id (each model checked once)."""
    return {spec.id: availability(settings, spec) for spec in {s.id: s for s in specs}.values()}


def _has_gpu(settings: Settings) -> bool:
    if settings.device == "cpu":
        return False
    import torch

    return torch.cuda.is_available()
