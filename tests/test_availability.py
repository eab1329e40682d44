"""Which configurations can run here: GPU-only models are not offered on a CPU machine without a server."""

from __future__ import annotations

from pathlib import Path

from openai_server import serve
from scripted import ScriptedBackend

from longwriter.availability import availabilities
from longwriter.catalog import list_models, resolve
from longwriter.settings import Settings


def test_on_a_cpu_only_the_embedded_model_runs(settings: Settings) -> None:
    cpu = settings.model_copy(update={"device": "cpu"})
    found = availabilities(cpu, list_models(cpu.models_dir))
    assert found["smollm2-135m"].runnable and found["smollm2-135m"].reason == ""
    for gpu_model in ("longwriter-glm4-9b", "longwriter-llama3.1-8b", "longwriter-zero-32b"):
        assert not found[gpu_model].runnable
        assert "needs a GPU" in found[gpu_model].reason and "LONGWRITER_BACKEND=openai" in found[gpu_model].reason


def test_a_served_endpoint_makes_its_model_runnable(settings: Settings, models_dir: Path) -> None:
    backend = ScriptedBackend(models_dir)
    backend.spec = resolve("longwriter-glm4-9b", models_dir)  # the server lists the name vllm serve would
    with serve(backend) as server:
        served = settings.model_copy(update={"backend": "openai", "base_url": server.base_url})
        found = availabilities(served, list_models(served.models_dir))
    assert found["longwriter-glm4-9b"].runnable
    assert not found["longwriter-zero-32b"].runnable
    assert "serves THUDM/LongWriter-glm4-9b" in found["longwriter-zero-32b"].reason
    down = settings.model_copy(update={"backend": "openai", "base_url": server.base_url})  # the server is gone now
    assert (
        "Cannot reach" in availabilities(down, [resolve("longwriter-glm4-9b", models_dir)])["longwriter-glm4-9b"].reason
    )
