"""Shared fixtures: settings on a fresh data directory, and the real embedded model loaded once.

The converted SmolLM2 weights are cached once per test session (the GGUF conversion takes ~15 s)
and shared by every test's settings through ``models_path``; each test still gets its own data
directory and database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from postgres import postgres_cluster
from web import chromium

from longwriter.backends.local import LocalBackend
from longwriter.catalog import resolve
from longwriter.settings import Settings
from longwriter.studio import Studio


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def settings(tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings on an empty data dir, ignoring any LONGWRITER_* variables and .env of the developer."""
    monkeypatch.setenv("LONGWRITER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LONGWRITER_MODELS_PATH", str(models_dir))
    return Settings(_env_file=None, data_dir=tmp_path / "data", models_path=models_dir)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
async def local_backend(models_dir: Path) -> AsyncIterator[LocalBackend]:
    """The real embedded SmolLM2-135M, loaded once for the whole session."""
    backend = LocalBackend(resolve("smollm2-135m", models_dir), models_dir=models_dir)
    await backend.load()
    yield backend


@pytest.fixture
async def studio(settings: Settings, local_backend: LocalBackend) -> AsyncIterator[Studio]:
    """A studio on a fresh database that reuses the session's loaded model."""
    studio = Studio(settings)
    studio.use_backend(local_backend)
    yield studio
    await studio.aclose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, one per test module (see ``web.chromium``).

    Assertions wait up to 20 s instead of Playwright's 5: on 2 cores the model, the server and the
    browser share the CPU, and a page update can take longer than 5 s without anything being wrong.
    """
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    with chromium() as opened:
        yield opened


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server for the session (see ``postgres.postgres_cluster``)."""
    with postgres_cluster() as url:
        yield url
