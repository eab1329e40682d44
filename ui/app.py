"""LongWriter Studio in the browser: ``python app.py`` or ``longwriter app``.

:func:`build_app` assembles the tabs around one :class:`~longwriter.studio.Studio`; :func:`launch`
starts it the way every entry point should (theme, stylesheet, login, address, queue). Tabs owned
by other parts of the product are mounted when their module exists (see ``EXTRA_TABS``).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import gradio as gr
import typer

from longwriter.settings import Settings, get_settings
from longwriter.studio import Studio
from ui import presets
from ui.api import register_api
from ui.common import ASSETS
from ui.library import LibraryTab
from ui.write import WriteTab

log = logging.getLogger(__name__)

EXTRA_TABS: Sequence[tuple[str, str, str]] = (
    ("Arena", "ui.arena", "build_arena_tab"),
    ("Data", "ui.data", "build_data_tab"),
    ("Evaluate", "ui.evaluate", "build_evaluate_tab"),
)
"""(label, module, function): each ``function(studio)`` builds its tab's content inside an open gr.Tab."""

GENERATION_CONCURRENCY = 2
"""How many runs (plan or write) stream at once; more wait in the queue and see their position."""

PRESETS_SECRET = "longwriter-studio-presets-v1"
"""Fixed so saved presets survive a server restart (they are preferences, not secrets)."""


def theme() -> gr.themes.Base:
    system = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Noto Sans", "Noto Sans CJK SC", "sans-serif"]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    return gr.themes.Soft(
        primary_hue="indigo", secondary_hue="slate", neutral_hue="slate", font=system, font_mono=mono, radius_size="md"
    )


def style_options() -> dict[str, Any]:
    """Theme, stylesheet and icon: what ``launch`` needs (Gradio 6 takes these in launch(), not Blocks())."""
    options: dict[str, Any] = {"theme": theme(), "css_paths": [ASSETS / "style.css"]}
    logo = ASSETS / "logo.svg"
    if logo.exists():
        options["favicon_path"] = str(logo)
    return options


def header_html() -> str:
    logo = ASSETS / "logo.svg"
    svg = logo.read_text(encoding="utf-8") if logo.exists() else ""
    return (
        f'<div class="lw-header"><div class="lw-logo" aria-hidden="true">{svg}</div>'
        '<div><div class="lw-title">LongWriter Studio</div>'
        '<div class="lw-tagline">Plan, stream and refine long documents — section by section, '
        "nothing lost.</div></div></div>"
    )


def build_app(studio: Studio, concurrency: int = GENERATION_CONCURRENCY) -> gr.Blocks:
    """The whole app around ``studio``: Write and Library tabs, other teams' tabs, and the API."""
    with gr.Blocks(title="LongWriter Studio", delete_cache=(3600, 24 * 3600)) as demo:
        presets_store = gr.BrowserState(presets.empty_store(), storage_key="longwriter-presets", secret=PRESETS_SECRET)
        register_api(studio, concurrency=concurrency)  # first: the API keeps its exact endpoint names
        gr.HTML(header_html(), elem_id="lw-header", js_on_load=None)
        write = WriteTab(studio, concurrency=concurrency)
        with gr.Tabs(elem_id="lw-tabs") as tabs:
            with gr.Tab("Write", id="write", elem_id="lw-write-tab"):
                write.build(presets_store)
            LibraryTab(studio, write).build(tabs, write_tab_id="write")
            for label, module_name, function in EXTRA_TABS:
                build = _optional_tab(module_name, function)
                if build is not None:
                    with gr.Tab(label, id=label.lower()):
                        build(studio)
        demo.load(
            write.load,
            [write.doc_box, presets_store],
            write.outputs,
            api_visibility="private",
            concurrency_limit=None,
            show_progress="hidden",
            js="(doc, store) => [new URLSearchParams(window.location.search).get('doc') || '', store]",
        )
    demo.studio = studio  # type: ignore[attr-defined]
    return demo


def _optional_tab(module_name: str, function: str) -> Any:
    """The tab builder of another part of the product, or None when that module is not there yet."""
    if importlib.util.find_spec(module_name) is None:
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # the module exists but needs packages this install lacks
        log.warning("Tab %s is unavailable: %s", module_name, exc)
        return None
    return getattr(module, function, None)


# -- login -------------------------------------------------------------------------------------


def auth_pairs(settings: Settings) -> list[tuple[str, str]]:
    """Logins from ``LONGWRITER_AUTH`` ("user:pass,user2:pass2") and ``LONGWRITER_AUTH_FILE`` (user:pass lines)."""
    entries: list[str] = []
    if settings.auth:
        entries += settings.auth.split(",")
    if settings.auth_file:
        try:
            lines = Path(settings.auth_file).expanduser().read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SystemExit(f"Cannot read the users file {settings.auth_file}: {exc.strerror or exc}") from None
        entries += [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    pairs: dict[str, str] = {}
    for entry in entries:
        user, sep, password = entry.strip().partition(":")
        if not sep or not user.strip() or not password:
            raise SystemExit(f"Bad login entry {entry.strip()!r}: write user:password.")
        pairs[user.strip()] = password
    return list(pairs.items())


# -- entry points ------------------------------------------------------------------------------


def launch(
    studio: Studio,
    host: str | None = None,
    port: int | None = None,
    share: bool | None = None,
    **kwargs: Any,
) -> gr.Blocks:
    """Build and start the app with the deployment's settings (flags override them)."""
    settings = studio.settings
    demo = build_app(studio)
    demo.queue(default_concurrency_limit=4)
    auth = auth_pairs(settings)
    port = port or settings.port  # None: Gradio's own GRADIO_SERVER_PORT, then 7860 and up
    demo.launch(
        server_name=host or settings.host,
        server_port=port,
        share=bool(share if share is not None else settings.share),
        auth=auth or None,
        auth_message="LongWriter Studio: sign in to see your documents." if auth else None,
        run_history=False,
        show_error=True,
        footer_links=["api"],
        **style_options(),
        **kwargs,
    )
    return demo


def cli(
    host: Annotated[str | None, typer.Option(help="address to bind (LONGWRITER_HOST; default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (LONGWRITER_PORT, GRADIO_SERVER_PORT; default 7860)")] = None,
    share: Annotated[bool, typer.Option("--share", help="also open a public Gradio share link")] = False,
    model: Annotated[str | None, typer.Option("--model", "-m", help="default model (catalog id or path)")] = None,
    backend: Annotated[str | None, typer.Option(help="local, openai or vllm")] = None,
) -> None:
    """Open LongWriter Studio in the browser (Write and Library tabs, and the API)."""
    settings = get_settings(model=model, backend=backend)
    studio = Studio(settings)
    launch(studio, host=host, port=port, share=share or None)


def main() -> None:
    """``python app.py``: the studio with the settings from the environment and .env."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cli(host=None, port=None, share=False, model=None, backend=None)
