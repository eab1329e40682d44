"""The ``longwriter`` command: plan, write, resume, list and show documents from the terminal.

Every command is a thin consumer of :class:`longwriter.studio.Studio` and its event stream.
Commands from the sibling packages (``app`` from ``ui``, ``train`` from ``training``) are found
through the ``longwriter.commands`` entry points, so this package never imports them.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import TaskID
from rich.table import Table

from longwriter.backends import BackendError
from longwriter.catalog import list_models
from longwriter.document_state import DocumentState
from longwriter.documents import to_markdown
from longwriter.events import Event, Failed, PlanReady, SectionStarted, Stopped
from longwriter.plan import Plan, PlanError, validate_rows
from longwriter.settings import get_settings
from longwriter.store import NotFound, StoreError
from longwriter.studio import Studio, StudioError
from longwriter.terminal import console, fail, out, progress_bars
from longwriter.text import clip

app = typer.Typer(help="LongWriter Studio: plan, write and refine very long documents.", no_args_is_help=True)

ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="catalog id, local folder or Hub id")]
BackendOpt = Annotated[str | None, typer.Option("--backend", help="local, openai or vllm")]


def _studio(model: str | None = None, backend: str | None = None) -> Studio:
    return Studio(get_settings(model=model, backend=backend))


@app.command()
def models(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the model catalog: built-in models and registered trained checkpoints."""
    catalog = list_models(get_settings().models_dir)
    if as_json:
        out.print_json(json.dumps([m.to_json() for m in catalog]))
        return
    table = Table("id", "format", "context", "temperature", "top_p", "description")
    for m in catalog:
        table.add_row(m.id, m.format.name, str(m.context_window), str(m.temperature), str(m.top_p), m.description)
    out.print(table)


@app.command()
def plan(
    instruction: str,
    words: Annotated[int, typer.Option("--words", "-w", help="target length in words")] = 2000,
    model: ModelOpt = None,
    backend: BackendOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
) -> None:
    """Draft a plan (one line per section with its main point and words); it is stored as a document."""
    studio = _studio(model, backend)

    async def go() -> tuple[str, PlanReady | None]:
        doc = studio.create(instruction, words, model=model)
        ready = None
        with console.status("Drafting the plan…"):
            async for event in studio.plan(doc.id):
                if isinstance(event, PlanReady):
                    ready = event
                elif isinstance(event, (Failed, Stopped)):
                    raise fail(getattr(event, "message", "stopped"))
        return doc.id, ready

    doc_id, ready = _run(go(), studio)
    assert ready is not None
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "id": doc_id,
                    "instruction": instruction,
                    "target_words": words,
                    "fallback": ready.fallback,
                    "plan_source": ready.source,
                    "plan": ready.plan.model_dump(),
                }
            )
        )
        return
    if ready.note:
        console.print(f"[yellow]{escape(ready.note)}[/]")
    out.print(ready.plan.to_text())
    console.print(f"Stored as document [bold]{doc_id}[/]; write it with: longwriter resume {doc_id}")


@app.command()
def write(
    instruction: str,
    words: Annotated[int, typer.Option("--words", "-w", help="target length in words")] = 2000,
    mode: Annotated[str, typer.Option(help="agentwrite | parallel | single | think")] = "agentwrite",
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="a plan JSON to follow instead of drafting one")
    ] = None,
    model: ModelOpt = None,
    backend: BackendOpt = None,
    temperature: Annotated[float | None, typer.Option(help="overrides the model's default")] = None,
    seed: Annotated[int | None, typer.Option(help="sampling seed")] = None,
    out_md: Annotated[Path | None, typer.Option("--out", help="write the text as Markdown")] = None,
    out_json: Annotated[Path | None, typer.Option("--json", help="write the full record as JSON")] = None,
) -> None:
    """Plan and write a document section by section, with live progress; Ctrl-C stops and keeps the text."""
    studio = _studio(model, backend)
    given = _read_plan(plan_file) if plan_file else None
    try:
        doc = studio.create(
            instruction,
            words,
            mode=mode,
            model=model,
            plan=given,  # type: ignore[arg-type]
            sampling={"temperature": temperature, "seed": seed},
        )
    except StudioError as exc:
        raise fail(str(exc)) from None
    _write_and_report(studio, doc.id, out_md, out_json)


@app.command()
def resume(
    doc_id: str,
    model: ModelOpt = None,
    backend: BackendOpt = None,
    out_md: Annotated[Path | None, typer.Option("--out")] = None,
    out_json: Annotated[Path | None, typer.Option("--json")] = None,
) -> None:
    """Continue an interrupted (or only planned) document from its stored sections."""
    studio = _studio(model, backend)
    _write_and_report(studio, doc_id, out_md, out_json)


@app.command("list")
def list_(
    search: Annotated[str | None, typer.Option(help="full-text search")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List stored documents, newest first."""
    studio = _studio()
    docs = studio.documents(search=search)
    rows = [
        {
            "id": d.id,
            "created": d.created_at.isoformat(timespec="seconds"),
            "instruction": d.instruction,
            "status": d.status,
            "words": d.words,
            "target_words": d.target_words,
            "length_score": None if d.length_score is None else round(d.length_score, 1),
        }
        for d in docs
    ]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("id", "created", "instruction", "status", "words", "S_l")
    for r in rows:
        table.add_row(
            r["id"],
            r["created"],
            clip(r["instruction"], 60),
            r["status"],
            f"{r['words']}/{r['target_words']}",
            "" if r["length_score"] is None else f"{r['length_score']:.1f}",
        )
    out.print(table)


@app.command()
def show(doc_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Print one stored document (its text, or the full JSON record)."""
    studio = _studio()
    try:
        record = studio.record(doc_id)
    except NotFound as exc:
        raise fail(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(record))
    else:
        out.print(to_markdown(record), markup=False, highlight=False)
        console.print(
            f"{record['words']} words of {record['target_words']} (S_l {record['length_score']:.1f}), "
            f"status {record['status']}"
        )


@app.command()
def doctor() -> None:
    """Print what the current settings will use and check that each piece is reachable."""
    from longwriter.doctor import render_checks, run_checks

    checks = run_checks(get_settings())
    out.print(render_checks(checks))
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def _write_and_report(studio: Studio, doc_id: str, out_md: Path | None, out_json: Path | None) -> None:
    try:
        outcome = _run(_progress(studio, studio.write(doc_id), doc_id), studio)
    except (StudioError, NotFound) as exc:
        raise fail(str(exc)) from None
    record = studio.record(doc_id)
    if out_md:
        out_md.write_text(to_markdown(record), encoding="utf-8")
    if out_json:
        out_json.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    console.print(
        f"Document [bold]{doc_id}[/]: {record['words']} words of {record['target_words']} "
        f"(S_l {record['length_score']:.1f}), status {record['status']}."
    )
    if isinstance(outcome, Failed):
        raise fail(f"{outcome.message} The text so far is kept: longwriter resume {doc_id}")
    if not out_md and not out_json:
        out.print(to_markdown(record), markup=False, highlight=False)


async def _progress(studio: Studio, events: AsyncIterator[Event], doc_id: str) -> Event | None:
    """Show the run as progress bars: the document's words and each section's words."""
    state = DocumentState.from_record(studio.record(doc_id))
    state.changed.clear()
    last: Event | None = None
    with progress_bars() as progress:
        total = progress.add_task("document", total=state.target_words, completed=state.words)
        bars: dict[int, TaskID] = {}
        try:
            async for event in events:
                last = event
                state.apply(event)
                if isinstance(event, PlanReady):
                    progress.update(total, total=event.plan.total_words)
                    progress.console.print(
                        f"Plan: {len(event.plan.sections)} sections"
                        + (f" — {escape(event.note)}" if event.note else "")
                    )
                elif isinstance(event, SectionStarted):
                    bars[event.index] = progress.add_task(f"section {event.index + 1}", total=event.target_words)
                for index in state.changed & bars.keys():
                    section = state.sections[index]
                    progress.update(
                        bars[index], completed=section.words, total=max(section.target_words, section.words)
                    )
                state.changed.clear()
                progress.update(total, completed=state.words)
        except asyncio.CancelledError:
            studio.stop(doc_id)
            raise
    return last


def _run(coro: Any, studio: Studio) -> Any:
    """Run a coroutine; Ctrl-C stops the writer cleanly (text kept, document marked stopped)."""
    try:
        return asyncio.run(_with_cleanup(coro, studio))
    except KeyboardInterrupt:
        console.print("[yellow]Stopped. Everything written so far is stored; continue with 'longwriter resume ID'.[/]")
        raise typer.Exit(130) from None
    except (StudioError, BackendError, StoreError, PlanError) as exc:
        raise fail(str(exc)) from None


async def _with_cleanup(coro: Any, studio: Studio) -> Any:
    try:
        return await coro
    finally:
        await studio.aclose()


def _read_plan(path: Path) -> Plan:
    """A plan from JSON: ``longwriter plan --json`` output, ``{"sections": [...]}`` or a bare list."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise fail(f"Cannot read the plan file {path}: {exc}") from None
    if isinstance(data, dict):
        data = data.get("plan", data)
        data = data.get("sections", data) if isinstance(data, dict) else data
    if not isinstance(data, list):
        raise fail(f"{path} holds no list of sections.")
    try:
        return validate_rows([(s.get("main_point"), s.get("words")) for s in data if isinstance(s, dict)])
    except PlanError as exc:
        raise fail(f"{path}: {exc}") from None


def _load_plugins(command: str | None) -> None:
    """Add the commands other packages contribute (``app``, ``train``, …) under their entry-point names.

    Only the one being run is imported (``app`` pulls in Gradio, ``train`` TRL, seconds each), so
    ``longwriter list`` starts at once; with no command (``--help``) all are, to be listed.
    """
    for ep in entry_points(group="longwriter.commands"):
        if command is not None and ep.name != command:
            continue
        try:
            target = ep.load()
        except ImportError as exc:
            missing = ep.name

            @app.command(missing, help=f"(unavailable: {exc})", add_help_option=False)
            def _unavailable(_exc: str = str(exc), _name: str = missing) -> None:
                raise fail(f"'longwriter {_name}' needs extra packages: {_exc}")

            continue
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=ep.name)
        else:
            app.command(ep.name)(target)


def _add_subcommands() -> None:
    """Command groups that live in their own modules of this package."""
    from longwriter.export_cli import export_app

    app.add_typer(export_app, name="export")
    try:
        from longwriter.eval_cli import eval_app
    except ImportError:  # evaluation module not installed in this build
        return
    app.add_typer(eval_app, name="eval")


def main() -> None:
    """Console-script entry point."""
    _add_subcommands()
    _load_plugins(next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None))
    app()


if __name__ == "__main__":
    sys.exit(main())
