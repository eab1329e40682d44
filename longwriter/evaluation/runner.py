"""The evaluation runner: generate every item with the studio, judge, report — resumably.

A run is an async stream of small events (like the writer's), so the CLI, the app and the tests
consume the same loop. Everything lands in the database as it happens: each item's document is
written through :meth:`Studio.write` (recorded section by section), its words and S_l are stored
the moment it finishes, and the JSON report is rewritten after every item. Running the same
evaluation again (same items, model, mode and sampling) finds the run by its fingerprint and
continues: finished items are kept, an item interrupted mid-document resumes that document, and
only what is missing is generated or judged.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import asdict
from pathlib import Path
from typing import Any

from longwriter.document_state import DocumentState
from longwriter.evaluation.config import EvalError, GenConfig
from longwriter.evaluation.data import RULER_LENGTHS, RULER_PROMPTS, BenchItem, items_digest, ruler_items
from longwriter.evaluation.events import (
    EvalEvent,
    ItemFinished,
    ItemJudged,
    ItemProgress,
    ItemStarted,
    PairJudged,
    RunEnded,
    RunStarted,
)
from longwriter.evaluation.judge import Judge, Judgement, JudgeUnavailable
from longwriter.evaluation.records import EvalRecords
from longwriter.evaluation.repairs import writer_signals
from longwriter.evaluation.report import arena_report, longbench_report, ruler_report, without_texts
from longwriter.events import SectionDone, Stopped
from longwriter.store.models import EvalComparison, EvalItem, EvalKind, EvalRun, EvalRunStatus
from longwriter.streams import merge
from longwriter.studio import Studio, StudioError
from longwriter.text import count_words, length_score

PROGRESS_SECONDS = 1.5


class _Stopped(Exception):
    """A document of the run was stopped by the user (the Stop button): the run stops too."""


# -- the runner -----------------------------------------------------------------------------------


class Evaluator:
    """Runs LongBench-Write, LongWrite-Ruler and judge-arena evaluations on one studio."""

    def __init__(self, studio: Studio, out_dir: Path | None = None) -> None:
        self.studio = studio
        self.records = EvalRecords(studio.store)
        self.out_dir = out_dir or studio.settings.data_dir / "evals"

    # -- public entry points ----------------------------------------------------------------------

    def longbench_write(
        self,
        items: Sequence[BenchItem],
        config: GenConfig | None = None,
        *,
        source: str = "",
        judge: Judge | None = None,
        out: Path | None = None,
        fresh: bool = False,
        concurrency: int = 1,
        include_texts: bool = True,
        plots: bool = True,
    ) -> AsyncGenerator[EvalEvent, None]:
        """Generate each item, compute words and S_l, then (with ``judge``) S_q; report per bucket and type."""
        return self._run(
            "longbench-write",
            items,
            [config or GenConfig()],
            source=source,
            judge=judge,
            out=out,
            fresh=fresh,
            concurrency=concurrency,
            include_texts=include_texts,
            plots=plots,
        )

    def ruler(
        self,
        configs: Sequence[GenConfig] | None = None,
        *,
        lengths: Sequence[int] = RULER_LENGTHS,
        prompts: Sequence[str] = RULER_PROMPTS,
        items: Sequence[BenchItem] | None = None,
        source: str = "ruler",
        out: Path | None = None,
        fresh: bool = False,
        concurrency: int = 1,
        include_texts: bool = True,
        plots: bool = True,
    ) -> AsyncGenerator[EvalEvent, None]:
        """LongWrite-Ruler: every prompt at every required length, per configuration.

        ``prompts`` hold a ``{length}`` placeholder; ``items`` (e.g. the paper's own ruler file) replace them.
        """
        if items is None:
            if not lengths or any(int(n) <= 0 for n in lengths):
                raise EvalError("The ruler needs positive required lengths.")
            items = ruler_items(lengths, prompts)
        return self._run(
            "ruler",
            items,
            list(configs or [GenConfig()]),
            source=source,
            judge=None,
            out=out,
            fresh=fresh,
            concurrency=concurrency,
            include_texts=include_texts,
            plots=plots,
        )

    def arena(
        self,
        items: Sequence[BenchItem],
        configs: Sequence[GenConfig],
        judge: Judge,
        *,
        source: str = "",
        out: Path | None = None,
        fresh: bool = False,
        concurrency: int = 1,
        include_texts: bool = True,
        plots: bool = True,
    ) -> AsyncGenerator[EvalEvent, None]:
        """Every configuration writes every item; the judge compares each pair in both orders; ratings."""
        if len(configs) < 2:
            raise EvalError("An arena needs at least two configurations.")
        return self._run(
            "arena",
            items,
            list(configs),
            source=source,
            judge=judge,
            out=out,
            fresh=fresh,
            concurrency=concurrency,
            include_texts=include_texts,
            plots=plots,
        )

    def report(self, run_id: str, include_texts: bool = True) -> dict[str, Any]:
        """The current report of a stored run (for the app's list of runs and for re-export)."""
        run = self.records.run(run_id)
        if run is None:
            raise EvalError(f"There is no evaluation run {run_id}.")
        return self._build(run, include_texts)

    # -- the run ----------------------------------------------------------------------------------

    async def _run(
        self,
        kind: EvalKind,
        items: Sequence[BenchItem],
        configs: list[GenConfig],
        *,
        source: str,
        judge: Judge | None,
        out: Path | None,
        fresh: bool,
        concurrency: int,
        include_texts: bool,
        plots: bool,
    ) -> AsyncGenerator[EvalEvent, None]:
        if not items:
            raise EvalError("There are no items to evaluate.")
        if concurrency < 1:
            raise EvalError("Concurrency must be at least 1.")
        resolved = [c.resolved(self.studio) for c in configs]
        labels = [c.label for c in resolved]
        if len(set(labels)) != len(labels):
            raise EvalError(f"Two configurations have the same label ({', '.join(labels)}); give them name=….")
        run, resumed = self._open(kind, items, resolved, source, judge, fresh)
        path = Path(out) if out is not None else self.out_dir / f"{kind}-{run.id[:8]}.json"
        rows = self.records.items(run.id)
        status: EvalRunStatus = "stopped"
        error: str | None = None
        settled = False  # False while the consumer may still walk away (aclose) or the task be cancelled
        try:
            yield RunStarted(run.id, kind, len(rows), sum(r.status == "done" for r in rows), resumed, path)
            async with aclosing(self._generate(run, resolved, concurrency, path, include_texts)) as events:
                async for event in events:
                    yield event
            if judge is not None and kind == "longbench-write":
                async with aclosing(self._judge_items(run, judge, concurrency, path, include_texts)) as events:
                    async for event in events:
                        yield event
            if judge is not None and kind == "arena":
                async with aclosing(self._compare(run, resolved, judge, concurrency, path, include_texts)) as events:
                    async for event in events:
                        yield event
            status, settled = "done", True
        except _Stopped:
            status, settled = "stopped", True
        except (JudgeUnavailable, StudioError, EvalError) as exc:
            status, error, settled = "failed", str(exc), True
        except Exception as exc:
            settled = True
            self._finish(run.id, "failed", path, include_texts, plots=False, error=str(exc) or type(exc).__name__)
            raise
        finally:
            if not settled:  # closed from outside: what is stored stays, the run can be continued
                self._finish(run.id, "stopped", path, include_texts, plots=False)
        report, plot_paths = self._finish(run.id, status, path, include_texts, plots=plots, error=error)
        yield RunEnded(status, report, path, plot_paths, error)

    def _open(
        self,
        kind: EvalKind,
        items: Sequence[BenchItem],
        configs: list[GenConfig],
        source: str,
        judge: Judge | None,
        fresh: bool,
    ) -> tuple[EvalRun, bool]:
        """The run to continue (same fingerprint) or a new one with a row per item and configuration."""
        digest = items_digest(items)
        identity = {"kind": kind, "items": digest, "configs": [c.to_json() for c in configs]}
        fingerprint = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]
        config = {
            "configs": [c.to_json() for c in configs],
            "items": len(items),
            "data_digest": digest,
            "judge": judge.describe() if judge else None,
        }
        run = None if fresh else self.records.find_run(kind, fingerprint)
        if run is not None:
            if judge is None and run.config.get("judge"):
                config["judge"] = run.config["judge"]  # keep saying who judged the stored scores
            return self.records.update_run(run.id, status="running", error=None, config=config), True
        rows = [
            EvalItem(
                run_id="",
                key=item.id if len(configs) == 1 else f"{c.label}::{item.id}",
                position=k * len(items) + i,
                config=c.label,
                item_id=item.id,
                prompt=item.prompt,
                type=item.type,
                language=item.language,
                required_words=item.length,
            )
            for k, c in enumerate(configs)
            for i, item in enumerate(items)
        ]
        run = EvalRun(kind=kind, fingerprint=fingerprint, source=source, config=config)
        return self.records.create_run(run, rows), False

    # -- phase 1: generation ----------------------------------------------------------------------

    async def _generate(
        self, run: EvalRun, configs: list[GenConfig], concurrency: int, path: Path, include_texts: bool
    ) -> AsyncGenerator[EvalEvent, None]:
        by_label = {c.label: c for c in configs}
        rows = self.records.items(run.id)
        todo = [r for r in rows if r.status != "done"]
        for label in dict.fromkeys(r.config for r in todo):  # a model that cannot start fails the run once
            try:
                await self.studio.backend(by_label[label].model)
            except Exception as exc:
                raise EvalError(f"The model {by_label[label].model} could not be started: {exc}") from exc
        done = len(rows) - len(todo)
        jobs = [
            (lambda row=row, number=done + n: self._write_item(run, row, by_label[row.config], number, len(rows)))
            for n, row in enumerate(todo, start=1)
        ]
        async with aclosing(merge(jobs, concurrency)) as events:
            async for event in events:
                yield event
                if isinstance(event, ItemFinished):
                    self._snapshot(run.id, path, include_texts)

    async def _write_item(
        self, run: EvalRun, row: EvalItem, config: GenConfig, number: int, total: int
    ) -> AsyncGenerator[EvalEvent, None]:
        store = self.studio.store
        yield ItemStarted(row.key, row.config, row.required_words, number, total)
        doc = store.get_document(row.document_id) if row.document_id else None
        if doc is None:
            try:
                doc = self.studio.create(
                    row.prompt,
                    row.required_words,
                    mode=config.mode,
                    model=config.model,
                    sampling=dict(config.sampling) or None,
                )
            except StudioError as exc:
                self.records.update_item(row.id, status="failed", error=str(exc), words=0, length_score=0.0)
                yield ItemFinished(row.key, row.config, row.required_words, 0, 0.0, "failed", str(exc))
                return
            self.records.label_document(doc.id, f"eval {run.kind} {run.id[:8]} · {row.item_id}")
            self.records.update_item(row.id, document_id=doc.id, status="writing", error=None)
        started = time.monotonic()
        finished = False
        try:
            if doc.status != "done":
                stopped = False
                async with aclosing(self.studio.write(doc.id)) as events:  # type: ignore[type-var]
                    async for event in _progress(events, row):
                        if isinstance(event, Stopped):
                            stopped = True
                        elif isinstance(event, ItemProgress):
                            yield event
                if stopped:
                    raise _Stopped
            doc = store.get_document(doc.id) or doc
            words = count_words(store.document_text(doc.id))
            score = length_score(row.required_words, words)
            status = "done" if doc.status == "done" else "failed"
            error = None if status == "done" else (doc.error or f"the document ended as {doc.status!r}")
            self.records.update_item(
                row.id,
                status=status,
                words=words,
                length_score=score,
                error=error,
                seconds=row.seconds + time.monotonic() - started,
            )
            finished = True
            yield ItemFinished(row.key, row.config, row.required_words, words, score, status, error)
        finally:
            if not finished:
                self.records.update_item(row.id, seconds=row.seconds + time.monotonic() - started)

    # -- phase 2: judging -------------------------------------------------------------------------

    async def _judge_items(
        self, run: EvalRun, judge: Judge, concurrency: int, path: Path, include_texts: bool
    ) -> AsyncGenerator[EvalEvent, None]:
        rows = self.records.items(run.id)
        todo = [r for r in rows if r.status == "done" and (not r.judgement or r.judgement.get("judge") != judge.id)]

        async def one(row: EvalItem, number: int) -> AsyncGenerator[EvalEvent, None]:
            text = self._text(row.document_id) or ""
            if text.strip():
                judgement = await judge.score(row.prompt, text)
            else:
                judgement = Judgement(judge=judge.id, error="the document has no text to judge")
            self.records.update_item(row.id, judgement=judgement.to_json(), quality=judgement.quality)
            yield ItemJudged(row.key, judgement.quality, judgement.error, judgement.attempts, number, len(todo))

        jobs = [(lambda row=row, n=n: one(row, n)) for n, row in enumerate(todo, start=1)]
        async with aclosing(merge(jobs, concurrency)) as events:
            async for event in events:
                yield event
                self._snapshot(run.id, path, include_texts)

    async def _compare(
        self, run: EvalRun, configs: list[GenConfig], judge: Judge, concurrency: int, path: Path, include_texts: bool
    ) -> AsyncGenerator[EvalEvent, None]:
        rows = {(r.config, r.item_id): r for r in self.records.items(run.id)}
        item_ids = list(dict.fromkeys(item_id for _, item_id in rows))
        labels = [c.label for c in configs]
        existing = {(c.item_id, c.config_a, c.config_b): c for c in self.records.comparisons(run.id)}
        todo: list[tuple[str, str, str]] = []
        for item_id in item_ids:
            for i, first in enumerate(labels):
                for second in labels[i + 1 :]:
                    for a, b in ((first, second), (second, first)):
                        done = existing.get((item_id, a, b))
                        if done is not None and done.judge == judge.id:
                            continue
                        if rows[(a, item_id)].status == "done" and rows[(b, item_id)].status == "done":
                            todo.append((item_id, a, b))

        async def one(item_id: str, a: str, b: str, number: int) -> AsyncGenerator[EvalEvent, None]:
            row_a, row_b = rows[(a, item_id)], rows[(b, item_id)]
            verdict = await judge.compare(
                row_a.prompt, self._text(row_a.document_id) or "", self._text(row_b.document_id) or ""
            )
            self.records.save_comparison(
                EvalComparison(
                    run_id=run.id,
                    item_id=item_id,
                    config_a=a,
                    config_b=b,
                    judge=judge.id,
                    winner=verdict.winner,
                    status="done" if verdict.winner else "unparsable",
                    attempts=verdict.attempts,
                    answer=verdict.answers[-1] if verdict.answers else "",
                    error=verdict.error,
                )
            )
            yield PairJudged(item_id, a, b, verdict.winner, verdict.error, number, len(todo))

        jobs = [(lambda t=t, n=n: one(t[0], t[1], t[2], n)) for n, t in enumerate(todo, start=1)]
        async with aclosing(merge(jobs, concurrency)) as events:
            async for event in events:
                yield event
                self._snapshot(run.id, path, include_texts)

    # -- reports ----------------------------------------------------------------------------------

    def _text(self, doc_id: str | None) -> str | None:
        """A document's text as stored, or None when there is no such document (deleted)."""
        if not doc_id or self.studio.store.get_document(doc_id) is None:
            return None
        return self.studio.store.document_text(doc_id)

    def _build(self, run: EvalRun, include_texts: bool) -> dict[str, Any]:
        rows = self.records.items(run.id)
        texts = {r.document_id: t for r in rows if r.document_id and (t := self._text(r.document_id)) is not None}
        if run.kind == "ruler":
            report = ruler_report(run, rows, texts, include_texts)
        elif run.kind == "arena":
            report = arena_report(
                run, rows, texts, self.records.comparisons(run.id), rate=rate_battles, include_texts=include_texts
            )
        else:
            store = self.studio.store
            signals = {doc: writer_signals(store.generations(doc), texts.get(doc)) for doc in texts}
            report = longbench_report(run, rows, texts, include_texts, signals)
        report["status"] = run.status
        return report

    def _snapshot(self, run_id: str, path: Path, include_texts: bool) -> None:
        """Rewrite the JSON report mid-run (status "running"), so the file always shows progress."""
        run = self.records.run(run_id)
        if run is not None:
            write_json(self._build(run, include_texts), path)

    def _finish(
        self,
        run_id: str,
        status: EvalRunStatus,
        path: Path,
        include_texts: bool,
        plots: bool,
        error: str | None = None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        run = self.records.update_run(run_id, status=status, error=error)
        report = self._build(run, include_texts)
        report["error"] = error
        plot_paths: dict[str, str] = {}
        if plots:
            from longwriter.evaluation.plots import report_plots  # matplotlib only when drawing

            plot_paths = report_plots(report, path.with_suffix(""))
        report["plots"] = plot_paths
        write_json(report, path)
        self.records.update_run(run_id, report=without_texts(report))
        return report, plot_paths


def rate_battles(battles: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Leaderboard rows (Bradley–Terry with bootstrap intervals, online Elo) from (a, b, winner) verdicts."""
    from longwriter.ratings import Battle, leaderboard

    rows = leaderboard([Battle(a, b, winner) for a, b, winner in battles])  # type: ignore[arg-type]
    return [{**asdict(row), "win_rate": row.win_rate} for row in rows]


def write_json(report: dict[str, Any], path: Path) -> Path:
    """Write the report atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


async def _progress(events: AsyncIterator[Any], row: EvalItem) -> AsyncGenerator[Any, None]:
    """Pass the writer's Stopped on and turn the document so far into occasional ItemProgress events."""
    state = DocumentState()
    last = time.monotonic()
    async for event in events:
        state.apply(event)
        if isinstance(event, Stopped):
            yield event
        elif isinstance(event, SectionDone) or time.monotonic() - last >= PROGRESS_SECONDS:
            last = time.monotonic()
            yield ItemProgress(row.key, state.words, row.required_words)
