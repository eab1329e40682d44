"""Backends: one streaming protocol, three implementations, chosen by settings.

Nothing above this package knows which backend runs; ``create_backend`` is the only place
that decides, and it imports heavy optional dependencies (vLLM) only when they are chosen.
"""

from __future__ import annotations

from longwriter.backends.base import Backend, BackendError, GenerationRequest, estimate_tokens
from longwriter.catalog import ModelSpec, resolve
from longwriter.settings import Settings

__all__ = ["Backend", "BackendError", "GenerationRequest", "create_backend", "estimate_tokens"]


async def create_backend(settings: Settings, model: str | ModelSpec | None = None) -> Backend:
    """Build (and for in-process backends, load) the backend the settings ask for."""
    spec = model if isinstance(model, ModelSpec) else resolve(model or settings.model, settings.models_dir)
    if settings.backend == "local":
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
    if settings.backend == "openai":
        from longwriter.backends.openai import OpenAIBackend

        return OpenAIBackend(
            spec,
            settings.base_url,
            api_key=settings.api_key,
            timeout=settings.request_timeout,
            served_model=settings.served_model,
        )
    if settings.backend == "vllm":
        from longwriter.backends.vllm import VLLMBackend

        return VLLMBackend(spec, settings)
    raise BackendError(f"Unknown backend {settings.backend!r}; choose local, openai or vllm.")
