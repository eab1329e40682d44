"""Helpers for the tests that serve the app over HTTP and drive it in Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from gradio_client import Client

    from longwriter.studio import Studio

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",  # this machine refuses outside connections; don't try them
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A port nothing listens on: bound once to get a number, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chromium_path() -> str | None:
    """Debian's Chromium (never a browser a test tool downloaded)."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"{reason} — CI must run the browser tests (scripts/install.sh dev installs Chromium).")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright; a skip locally without it, a failure under CI=true.

    Playwright's sync API runs an event loop of its own while it is open, so open it after any
    fixture that needs asyncio (the studio), as the arena test does.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    executable = chromium_path()
    if executable is None:
        _unavailable("Chromium is not installed (apt-get install -y chromium chromium-driver)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class App:
    """The whole studio app served on a free local port, as a browser or an API client reaches it.

    ``client()`` makes a ``gradio_client`` client, optionally logged in; ``close()`` stops the server
    and releases the studio's database.
    """

    def __init__(self, studio: Studio, auth: list[tuple[str, str]] | None = None, concurrency: int = 2) -> None:
        from ui.app import build_app, style_options

        self.studio = studio
        self.demo = build_app(studio, concurrency=concurrency)
        self.demo.queue()
        _, self.url, _ = self.demo.launch(
            prevent_thread_lock=True,
            server_name="127.0.0.1",
            server_port=free_port(),
            auth=auth,
            quiet=True,
            run_history=False,
            **style_options(),
        )

    def client(self, auth: tuple[str, str] | None = None) -> Client:
        from gradio_client import Client

        return Client(self.url, auth=auth, verbose=False)

    def close(self) -> None:
        self.demo.close()
        self.studio.store.close()
