"""Backends are found by name in the ``longwriter.backends`` entry points: a new engine is a plugin.

The plugin here is a real installed distribution as far as ``importlib.metadata`` can tell (a
``dist-info`` folder with its ``entry_points.txt`` on ``sys.path``), so the test goes through the
same lookup a ``pip install``-ed engine would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from longwriter.backends import BackendError, backend_names, create_backend
from longwriter.doctor import run_checks
from longwriter.settings import Settings
from longwriter.studio import Studio

PLUGIN = """
from scripted import ScriptedBackend


async def create(settings, spec):
    backend = ScriptedBackend(settings.models_dir, delay=0)
    backend.made_for = spec.id
    return backend
"""


def install(site: Path, name: str, module: str, source: str, target: str) -> None:
    """Lay out ``module`` and a dist-info that registers ``name = target`` in the backends group."""
    (site / f"{module}.py").write_text(source, encoding="utf-8")
    info = site / f"{module}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[longwriter.backends]\n{name} = {target}\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def plugin_settings(settings: Settings, backend: str) -> Settings:
    return Settings(_env_file=None, data_dir=settings.data_dir, models_path=settings.models_dir, backend=backend)  # type: ignore[call-arg]


def test_the_shipped_engines_are_entry_points() -> None:
    assert {"local", "openai", "vllm"} <= set(backend_names())


async def test_a_plugin_engine_is_chosen_by_name_and_writes_a_document(settings: Settings, site: Path) -> None:
    install(site, "scripted", "scripted_engine", PLUGIN, "scripted_engine:create")
    chosen = plugin_settings(settings, "scripted")
    backend = await create_backend(chosen, "smollm2-135m")
    assert type(backend).__name__ == "ScriptedBackend" and backend.made_for == "smollm2-135m"  # type: ignore[attr-defined]

    studio = Studio(chosen)
    try:
        doc = studio.create("Write about green tea", 150, mode="single")
        events = [event async for event in studio.write(doc.id)]
        stored = studio.document(doc.id)
        assert stored.status == "done" and stored.words > 0, events[-1]
        assert stored.backend == "scripted"
    finally:
        await studio.aclose()
    summary = {check.name: check for check in run_checks(chosen)}["backend"]
    assert summary.ok and "'scripted' plugin" in summary.message  # the doctor knows it without a list


def test_an_unknown_engine_is_refused_naming_the_installed_ones(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="installed backends are .*local.*openai.*vllm"):
        plugin_settings(settings, "tgi")


async def test_a_plugin_that_cannot_load_is_a_clear_backend_error(settings: Settings, site: Path) -> None:
    install(site, "broken", "broken_engine", "import no_such_engine_library\n", "broken_engine:create")
    with pytest.raises(
        BackendError, match="broken backend cannot be loaded here: No module named 'no_such_engine_library'"
    ):
        await create_backend(plugin_settings(settings, "broken"), "smollm2-135m")
