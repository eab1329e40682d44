"""The factories of the engines this package ships, registered in ``pyproject.toml``'s
``longwriter.backends`` entry points. Each imports its engine only when it is chosen."""

from __future__ import annotations

from longwriter.backends.base import Backend
from longwriter.catalog import ModelSpec
from longwriter.settings import Settings


async def local(settings: Settings, spec: ModelSpec) -> Backend:
    """transformers in this process (CPU or GPU); loads the weights before returning."""
    from longwriter.backends.local import LocalBackend

    backend = LocalBackend(
        spec,
        models_dir=settings.models_dir,
        device=settings.device,
        dtype=settings.dtype,
        threads=settings.torch_threads,
    )
    await backend.load()
    return backend


async def openai(settings: Settings, spec: ModelSpec) -> Backend:
    """Any OpenAI-compatible server, first of all ``vllm serve``."""
    from longwriter.backends.openai import OpenAIBackend

    return OpenAIBackend(
        spec,
        settings.base_url,
        api_key=settings.api_key,
        timeout=settings.request_timeout,
        served_model=settings.served_model,
    )


async def vllm(settings: Settings, spec: ModelSpec) -> Backend:
    """vLLM's ``AsyncLLM`` in this process (the ``gpu`` extra)."""
    from longwriter.backends.vllm import VLLMBackend

    return VLLMBackend(spec, settings)
