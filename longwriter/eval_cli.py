"""``longwriter eval``: LongBench-Write, LongWrite-Ruler and judge arenas from the terminal.

Each command is a thin consumer of :class:`longwriter.evaluation.Evaluator`'s event stream: a
progress display while items are written and judged, the report's tables at the end, the JSON
report and its PNG plots on disk. Running the same command again continues an interrupted run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import TaskID
from rich.table import Table

from longwriter.backends import Backend, BackendError, create_backend
from longwriter.evaluation import (
    EvalDataError,
    EvalError,
    EvalEvent,
    Evaluator,
    GenConfig,
    ItemFinished,
    ItemJudged,
    ItemProgress,
    ItemStarted,
    Judge,
    PairJudged,
    RunEnded,
    RunStarted,
    load_items,
    report_tables,
)
from longwriter.evaluation.runner import write_json
from longwriter.settings import get_settings
from longwriter.store import StoreError
from longwriter.studio import Studio
from longwriter.terminal import console, fail, out, progress_bars

eval_app = typer.Typer(
    help="Evaluate length control and quality: LongBench-Write, LongWrite-Ruler and judge arenas.",
    no_args_is_help=True,
)

ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="catalog id, local folder or Hub id")]
BackendOpt = Annotated[str | None, typer.Option("--backend", help="local, openai or vllm (for generation)")]
ModeOpt = Annotated[str, typer.Option(help="agentwrite | parallel | single | think")]
TemperatureOpt = Annotated[float | None, typer.Option(help="overrides the model's default temperature")]
SeedOpt = Annotated[int | None, typer.Option(help="sampling seed (recorded with every document)")]
DataOpt = Annotated[
    str | None,
    typer.Option(
        "--data", help="LongBench-Write .jsonl, a saved dataset folder, a Hub dataset id, or 'mini' (default)"
    ),
]
SplitOpt = Annotated[str, typer.Option(help="split of a saved DatasetDict or Hub dataset")]
LimitOpt = Annotated[int | None, typer.Option(help="evaluate only the first N items")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="report JSON (plots are written next to it)")]
FreshOpt = Annotated[bool, typer.Option("--fresh", help="start a new run instead of continuing the last identical one")]
ConcurrencyOpt = Annotated[int, typer.Option(help="items written (and judged) at once; >1 suits served models")]
NoTextsOpt = Annotated[bool, typer.Option("--no-texts", help="leave the generated texts out of the JSON")]
NoPlotsOpt = Annotated[bool, typer.Option("--no-plots", help="do not draw PNG plots")]
ConfigOpt = Annotated[
    list[str] | None,
    typer.Option("--config", "-c", help="a configuration 'model=ID,mode=single,temperature=0.5,name=label' (repeat)"),
]
JudgeOpt = Annotated[str | None, typer.Option("--judge", help="judge model (served model name for openai)")]
JudgeBackendOpt = Annotated[
    str | None, typer.Option("--judge-backend", help="backend of the judge; openai when --judge-url is given")
]
JudgeUrlOpt = Annotated[str | None, typer.Option("--judge-url", help="OpenAI-compatible base URL of the judge")]
JudgeKeyOpt = Annotated[
    str | None, typer.Option("--judge-key", envvar="LONGWRITER_JUDGE_API_KEY", help="API key of the judge endpoint")
]
JudgeAttemptsOpt = Annotated[int, typer.Option(help="answers asked for before an item is reported unparsable")]
JudgeTokensOpt = Annotated[int, typer.Option(help="most tokens of one judge answer")]


def _studio(model: str | None = None, backend: str | None = None) -> Studio:
    """The studio a command works with (tests replace this to inject a backend)."""
    return Studio(get_settings(model=model, backend=backend))


def _sampling(temperature: float | None, seed: int | None) -> dict[str, float | int]:
    return {k: v for k, v in (("temperature", temperature), ("seed", seed)) if v is not None}


async def _judge(
    studio: Studio, model: str, backend: str | None, url: str | None, key: str | None, attempts: int, max_tokens: int
) -> tuple[Judge, Backend | None]:
    """The judge, and its backend when this command owns it (else the studio shares its own)."""
    settings = studio.settings
    name = backend or ("openai" if url else settings.backend)
    if name == settings.backend and url is None and key is None:
        return Judge(await studio.backend(model), attempts=attempts, max_tokens=max_tokens), None
    update: dict[str, Any] = {"backend": name}
    if url is not None:
        update["base_url"] = url
    if key is not None:
        update["api_key"] = key
    owned = await create_backend(settings.model_copy(update=update), model)
    return Judge(owned, attempts=attempts, max_tokens=max_tokens), owned


def _print_report(ended: RunEnded) -> None:
    for title, headers, rows in report_tables(ended.report):
        if title == "Items" and len(rows) > 40:
            rows = rows[:40] + [["…"] * len(headers)]
        table = Table(*headers, title=title, title_justify="left")
        for row in rows:
            table.add_row(*row)
        out.print(table)
    quality = ended.report.get("quality")
    if quality and quality["unparsable"]:
        console.print(
            f"[yellow]{len(quality['unparsable'])} item(s) with unparsable judgements:[/] "
            + ", ".join(f"{u['id']} ({u['error']})" for u in quality["unparsable"])
        )
    console.print(f"Report: [bold]{ended.path}[/]")
    for name, path in ended.plots.items():
        console.print(f"Plot ({name}): {path}")


async def _consume(events: AsyncIterator[EvalEvent]) -> RunEnded | None:
    """Show a run's progress; returns its end (None if interrupted before it ended)."""
    ended: RunEnded | None = None
    with progress_bars() as progress:
        overall: TaskID | None = None
        current: dict[str, TaskID] = {}
        judging: TaskID | None = None
        async for event in events:
            if isinstance(event, RunStarted):
                verb = "Continuing" if event.resumed else "Started"
                progress.console.print(
                    f"{verb} run [bold]{event.run_id}[/] ({event.kind}): {event.done} of "
                    f"{event.items} items already written. Report: {event.out}"
                )
                overall = progress.add_task("items", total=event.items, completed=event.done)
            elif isinstance(event, ItemStarted):
                current[event.key] = progress.add_task(f"  {event.key}", total=event.required)
            elif isinstance(event, ItemProgress) and event.key in current:
                progress.update(current[event.key], completed=min(event.words, event.required))
            elif isinstance(event, ItemFinished):
                task = current.pop(event.key, None)
                if task is not None:
                    progress.remove_task(task)
                if overall is not None:
                    progress.advance(overall)
                note = f" [red]{event.error}[/]" if event.error else ""
                progress.console.print(
                    f"  {event.key}: {event.words} / {event.required} words, S_l {event.length_score:.1f}{note}"
                )
            elif isinstance(event, ItemJudged):
                if judging is None:
                    judging = progress.add_task("judging", total=event.total)
                progress.advance(judging)
                verdict = (
                    f"S_q {event.quality:.1f}"
                    if event.quality is not None
                    else f"[yellow]unparsable[/] ({event.error})"
                )
                progress.console.print(f"  judged {event.key}: {verdict} after {event.attempts} answer(s)")
            elif isinstance(event, PairJudged):
                if judging is None:
                    judging = progress.add_task("comparisons", total=event.total)
                progress.advance(judging)
            elif isinstance(event, RunEnded):
                ended = event
    return ended


def _execute(studio: Studio, make_events: Any, judge_spec: dict[str, Any] | None = None) -> None:
    """Run one evaluation to its end with progress, print the report; Ctrl-C stops it resumably."""

    async def go() -> RunEnded | None:
        owned: Backend | None = None
        try:
            judge = None
            if judge_spec is not None:
                judge, owned = await _judge(studio, **judge_spec)
            return await _consume(make_events(judge))
        finally:
            if owned is not None:
                await owned.aclose()
            await studio.aclose()

    try:
        ended = asyncio.run(go())
    except KeyboardInterrupt:
        console.print(
            "[yellow]Stopped. Everything finished so far is stored; run the same command again to continue.[/]"
        )
        raise typer.Exit(130) from None
    except (EvalError, EvalDataError, BackendError, StoreError) as exc:
        raise fail(str(exc)) from None
    if ended is None:
        raise fail("The evaluation ended without a report.")
    _print_report(ended)
    if ended.status == "failed":
        raise fail(f"{ended.error} What finished is stored; run the same command again to continue.")
    if ended.status == "stopped":
        console.print("[yellow]The run was stopped; run the same command again to continue.[/]")
        raise typer.Exit(130)


def _judge_spec(
    judge: str | None, backend: str | None, url: str | None, key: str | None, attempts: int, max_tokens: int
) -> dict[str, Any] | None:
    if judge is None:
        if url or backend:
            raise fail("--judge-url and --judge-backend need --judge MODEL.")
        return None
    return {"model": judge, "backend": backend, "url": url, "key": key, "attempts": attempts, "max_tokens": max_tokens}


def _configs(
    configs: list[str] | None, model: str | None, mode: str, sampling: dict[str, float | int]
) -> list[GenConfig]:
    try:
        if configs:
            return [GenConfig.parse(c) for c in configs]
        return [GenConfig(model=model, mode=mode, sampling=sampling)]  # type: ignore[arg-type]
    except EvalError as exc:
        raise fail(str(exc)) from None


@eval_app.command("longbench-write")
def longbench_write(
    data: DataOpt = None,
    split: SplitOpt = "train",
    limit: LimitOpt = None,
    model: ModelOpt = None,
    backend: BackendOpt = None,
    mode: ModeOpt = "agentwrite",
    temperature: TemperatureOpt = None,
    seed: SeedOpt = None,
    judge: JudgeOpt = None,
    judge_backend: JudgeBackendOpt = None,
    judge_url: JudgeUrlOpt = None,
    judge_key: JudgeKeyOpt = None,
    judge_attempts: JudgeAttemptsOpt = 3,
    judge_max_tokens: JudgeTokensOpt = 1024,
    out_path: OutOpt = None,
    fresh: FreshOpt = False,
    concurrency: ConcurrencyOpt = 1,
    no_texts: NoTextsOpt = False,
    no_plots: NoPlotsOpt = False,
) -> None:
    """LongBench-Write: write every item, score length (S_l) per bucket and type, and quality (S_q) with --judge."""
    try:
        items, source = load_items(data, limit=limit, split=split)
    except EvalDataError as exc:
        raise fail(str(exc)) from None
    (config,) = _configs(None, model, mode, _sampling(temperature, seed))
    spec = _judge_spec(judge, judge_backend, judge_url, judge_key, judge_attempts, judge_max_tokens)
    studio = _studio(model, backend)
    evaluator = Evaluator(studio)
    _execute(
        studio,
        lambda j: evaluator.longbench_write(
            items,
            config,
            source=source,
            judge=j,
            out=out_path,
            fresh=fresh,
            concurrency=concurrency,
            include_texts=not no_texts,
            plots=not no_plots,
        ),
        spec,
    )


@eval_app.command()
def ruler(
    config: ConfigOpt = None,
    data: Annotated[
        str | None, typer.Option("--data", help="ruler items (prompt, length) instead of the built-in prompts")
    ] = None,
    model: ModelOpt = None,
    backend: BackendOpt = None,
    mode: ModeOpt = "agentwrite",
    temperature: TemperatureOpt = None,
    seed: SeedOpt = None,
    lengths: Annotated[
        str, typer.Option(help="required lengths in words, comma-separated")
    ] = "1000,2000,5000,10000,20000,30000",
    prompts: Annotated[
        int, typer.Option(help="how many of the 8 ruler instructions to use (4 English, 4 Chinese)")
    ] = 8,
    out_path: OutOpt = None,
    fresh: FreshOpt = False,
    concurrency: ConcurrencyOpt = 1,
    no_texts: NoTextsOpt = False,
    no_plots: NoPlotsOpt = False,
) -> None:
    """LongWrite-Ruler: instructions x required lengths; the largest length each configuration reaches, log-log plot."""
    from longwriter.evaluation import RULER_PROMPTS

    try:
        required = [int(x.replace("_", "")) for x in lengths.split(",") if x.strip()]
    except ValueError:
        raise fail(f"--lengths must be whole numbers separated by commas, not {lengths!r}.") from None
    if not 1 <= prompts <= len(RULER_PROMPTS):
        raise fail(f"--prompts must be between 1 and {len(RULER_PROMPTS)}.")
    # English and Chinese alternate when fewer than all eight are asked for
    order = [RULER_PROMPTS[i] for pair in zip(range(4), range(4, 8), strict=True) for i in pair][:prompts]
    items, source = None, "ruler"
    if data is not None:
        try:
            items, source = load_items(data)
        except EvalDataError as exc:
            raise fail(str(exc)) from None
    configs = _configs(config, model, mode, _sampling(temperature, seed))
    studio = _studio(model, backend)
    evaluator = Evaluator(studio)
    try:
        _execute(
            studio,
            lambda _j: evaluator.ruler(
                configs,
                lengths=required,
                prompts=order,
                items=items,
                source=source,
                out=out_path,
                fresh=fresh,
                concurrency=concurrency,
                include_texts=not no_texts,
                plots=not no_plots,
            ),
        )
    except EvalError as exc:
        raise fail(str(exc)) from None


@eval_app.command()
def arena(
    config: ConfigOpt = None,
    judge: JudgeOpt = None,
    data: DataOpt = None,
    split: SplitOpt = "train",
    limit: LimitOpt = None,
    backend: BackendOpt = None,
    judge_backend: JudgeBackendOpt = None,
    judge_url: JudgeUrlOpt = None,
    judge_key: JudgeKeyOpt = None,
    judge_attempts: JudgeAttemptsOpt = 3,
    judge_max_tokens: JudgeTokensOpt = 1024,
    out_path: OutOpt = None,
    fresh: FreshOpt = False,
    concurrency: ConcurrencyOpt = 1,
    no_texts: NoTextsOpt = False,
    no_plots: NoPlotsOpt = False,
) -> None:
    """Judge arena: two or more --config write the same items; each pair judged in both orders; ratings."""
    if not config or len(config) < 2:
        raise fail("An arena needs at least two --config options.")
    if judge is None:
        raise fail("An arena needs a judge: --judge MODEL (with --judge-url for an OpenAI-compatible endpoint).")
    try:
        items, source = load_items(data, limit=limit, split=split)
    except EvalDataError as exc:
        raise fail(str(exc)) from None
    configs = _configs(config, None, "agentwrite", {})
    spec = _judge_spec(judge, judge_backend, judge_url, judge_key, judge_attempts, judge_max_tokens)
    studio = _studio(None, backend)
    evaluator = Evaluator(studio)
    _execute(
        studio,
        lambda j: evaluator.arena(
            items,
            configs,
            j,
            source=source,
            out=out_path,
            fresh=fresh,
            concurrency=concurrency,
            include_texts=not no_texts,
            plots=not no_plots,
        ),
        spec,
    )


@eval_app.command("runs")
def runs(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List stored evaluation runs, newest first."""
    studio = _studio()
    try:
        listed = Evaluator(studio).records.runs()
    finally:
        studio.store.close()
    rows: list[dict[str, Any]] = [
        {
            "id": r.id,
            "kind": r.kind,
            "created": r.created_at.isoformat(timespec="seconds"),
            "status": r.status,
            "source": r.source,
            "configs": [c["label"] for c in r.config.get("configs", [])],
            "summary": (r.report or {}).get("summary"),
        }
        for r in listed
    ]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("id", "kind", "created", "status", "source", "configs", "S_l", "S_q")
    for r in rows:
        summary = r["summary"] or {}
        table.add_row(
            r["id"],
            r["kind"],
            r["created"],
            r["status"],
            r["source"],
            ", ".join(r["configs"]),
            *(f"{summary[k]:.1f}" if isinstance(summary.get(k), float) else "–" for k in ("S_l", "S_q")),
        )
    out.print(table)


@eval_app.command("report")
def report(run_id: str, out_path: OutOpt = None, no_texts: NoTextsOpt = False) -> None:
    """Print a stored run's report (recomputed from the stored texts); --out writes the JSON."""
    studio = _studio()
    try:
        data = Evaluator(studio).report(run_id, include_texts=not no_texts)
    except EvalError as exc:
        raise fail(str(exc)) from None
    finally:
        studio.store.close()
    path = write_json(data, out_path) if out_path else None
    for title, headers, rows in report_tables(data):
        table = Table(*headers, title=title, title_justify="left")
        for row in rows:
            table.add_row(*row)
        out.print(table)
    if path:
        console.print(f"Report: [bold]{path}[/]")
