"""How a backend is found: by name, in the ``longwriter.backends`` entry-point group.

Each entry point names a factory ``async (settings, spec) -> Backend``. The three engines this
package ships are registered in its own ``pyproject.toml`` (:mod:`longwriter.backends.builtin`);
another package adds an engine by registering its factory under a new name, and
``LONGWRITER_BACKEND=<name>`` selects it — no edit here. Factories are imported only when chosen,
so an engine's heavy dependencies (vLLM) load only for the deployments that use it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.metadata import EntryPoint, entry_points

from longwriter.backends.base import Backend, BackendError
from longwriter.catalog import ModelSpec, resolve
from longwriter.settings import Settings

GROUP = "longwriter.backends"
BackendFactory = Callable[[Settings, ModelSpec], Awaitable[Backend]]


def _registered() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def backend_names() -> list[str]:
    """The names ``LONGWRITER_BACKEND`` may take here: the installed entry points, sorted."""
    return sorted(_registered())


def backend_factory(name: str) -> BackendFactory:
    """The factory registered as ``name``; a clear :class:`BackendError` for an unknown or broken one."""
    registered = _registered()
    if name not in registered:
        known = ", ".join(sorted(registered)) or "none (is longwriter-studio installed?)"
        raise BackendError(f"Unknown backend {name!r}; the installed backends are {known}.")
    try:
        return registered[name].load()
    except ImportError as exc:
        raise BackendError(f"The {name} backend cannot be loaded here: {exc}") from exc


async def create_backend(settings: Settings, model: str | ModelSpec | None = None) -> Backend:
    """Build (and for in-process backends, load) the backend the settings name, for ``model``."""
    spec = model if isinstance(model, ModelSpec) else resolve(model or settings.model, settings.models_dir)
    return await backend_factory(settings.backend)(settings, spec)
