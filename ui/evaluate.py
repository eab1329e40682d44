"""The Evaluate tab: run a small LongBench-Write style evaluation and see its report and plots.

Each item is written like any document (it appears in the Library), its length is scored against
the target with S_l, and with a judge model its quality with S_q. The work is done by
:class:`longwriter.evaluation.Evaluator`; this module only turns its events into components.
Full-size evaluations (the official LongBench-Write file, the ruler, arenas) run from the
terminal: ``longwriter eval --help``.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import gradio as gr

from longwriter.agentwrite import MODES
from longwriter.evaluation import (
    EvalDataError,
    EvalError,
    Evaluator,
    GenConfig,
    ItemFinished,
    ItemJudged,
    ItemProgress,
    ItemStarted,
    Judge,
    RunEnded,
    RunStarted,
    load_items,
    report_tables,
)
from longwriter.studio import Studio

EVALUATE = "evaluate"
"""Concurrency group: one evaluation at a time in the whole app (each is many generations)."""
MINI = "Shipped mini set (English + Chinese, 200–10,000 words)"
UPLOAD = "Uploaded LongBench-Write .jsonl"
NO_JUDGE = "(no judge: length only)"
ITEM_HEADERS = ["id", "type", "required", "words", "S_l", "S_q", "status"]
OUT_DIR = Path(tempfile.gettempdir()) / "longwriter-evals"
"""Reports and plots for the browser live in the temp folder, which Gradio may serve."""


def tables_markdown(report: dict[str, Any]) -> str:
    """The report's summary tables (all but the per-item one) as Markdown."""
    parts = []
    for title, headers, rows in report_tables(report):
        if title == "Items":
            continue
        lines = [f"**{title}**", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
        parts.append("\n".join(lines))
    quality = report.get("quality")
    if quality and quality.get("unparsable"):
        parts.append(
            "**Unparsable judgements** (kept in the report, not counted in S_q): "
            + "; ".join(f"{u['id']}: {u['error']}" for u in quality["unparsable"])
        )
    return "\n\n".join(parts)


def item_rows(report: dict[str, Any]) -> list[list[str]]:
    return next((rows for title, _, rows in report_tables(report) if title == "Items"), [])


def run_choices(evaluator: Evaluator) -> list[tuple[str, str]]:
    """Stored runs for the dropdown: (label, run id), newest first."""
    choices = []
    for run in evaluator.records.runs(limit=30):
        summary = (run.report or {}).get("summary") or {}
        score = f" · S_l {summary['S_l']:.1f}" if isinstance(summary.get("S_l"), float) else ""
        configs = ", ".join(c["label"] for c in run.config.get("configs", []))
        choices.append((f"{run.created_at:%Y-%m-%d %H:%M} · {run.kind} · {configs} · {run.status}{score}", run.id))
    return choices


class EvaluateTab:
    """Components and handlers of the Evaluate tab (built inside an open ``gr.Tab``)."""

    def __init__(self, studio: Studio, out_dir: Path = OUT_DIR) -> None:
        self.studio = studio
        self.evaluator = Evaluator(studio, out_dir=out_dir)

    def build(self) -> None:
        models = [m.id for m in self.studio.models()]
        gr.Markdown(
            "Measure how well a model keeps to the requested length (**S_l**, 0–100, LongBench-Write's length "
            "score) and, with a judge model, how good the writing is (**S_q**, six dimensions). Each item is "
            "written like any document and appears in the Library. Running the same evaluation again continues "
            "it where it stopped. Larger runs: `longwriter eval longbench-write --help`."
        )
        with gr.Row():
            self.data = gr.Dropdown([MINI, UPLOAD], value=MINI, label="Items", scale=3)
            self.upload = gr.File(label="LongBench-Write .jsonl", file_types=[".jsonl", ".json"], scale=2)
            self.limit = gr.Slider(1, 12, value=3, step=1, label="How many items", scale=2)
        with gr.Row():
            self.model = gr.Dropdown(models, value=self.studio.spec().id, label="Model", allow_custom_value=True)
            self.mode = gr.Dropdown(list(MODES), value="agentwrite", label="Mode")
            self.judge = gr.Dropdown([NO_JUDGE, *models], value=NO_JUDGE, label="Judge", allow_custom_value=True)
        with gr.Row():
            self.run_btn = gr.Button("Run evaluation", variant="primary", elem_id="lw-eval-run")
            self.stop_btn = gr.Button("Stop", variant="stop", elem_id="lw-eval-stop")
        self.status = gr.Markdown(elem_id="lw-eval-status")
        self.summary = gr.Markdown(elem_id="lw-eval-summary")
        self.items = gr.Dataframe(headers=ITEM_HEADERS, label="Items", interactive=False, wrap=True)
        with gr.Row():
            self.lengths_plot = gr.Image(
                label="Required vs produced words (log-log)", type="filepath", interactive=False
            )
            self.buckets_plot = gr.Image(label="S_l per length bucket", type="filepath", interactive=False)
        self.ratings_plot = gr.Image(
            label="Ratings with 95% intervals (arena runs)", type="filepath", interactive=False, visible=False
        )
        self.report_file = gr.File(label="Report (JSON)", interactive=False)
        with gr.Accordion("Earlier evaluations", open=False), gr.Row():
            self.runs = gr.Dropdown(choices=[], label="Run", scale=4)
            self.refresh_btn = gr.Button("Refresh", scale=1)
            self.show_btn = gr.Button("Show", scale=1)
        self._wire()

    def _wire(self) -> None:
        light: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": None}
        outputs = [
            self.status,
            self.summary,
            self.items,
            self.lengths_plot,
            self.buckets_plot,
            self.ratings_plot,
            self.report_file,
        ]
        running = self.run_btn.click(
            self.run,
            [self.data, self.upload, self.limit, self.model, self.mode, self.judge],
            outputs,
            api_visibility="private",
            concurrency_id=EVALUATE,
            concurrency_limit=1,
            show_progress="minimal",
            show_progress_on=[self.status],
        )
        self.stop_btn.click(self.on_stop, None, [self.status], cancels=[running], **light)
        self.refresh_btn.click(self.refresh, None, [self.runs], **light)
        self.show_btn.click(self.show, [self.runs], outputs, **light)

    # -- handlers -----------------------------------------------------------------------------------

    def refresh(self) -> dict[str, Any]:
        return gr.update(choices=run_choices(self.evaluator))

    @staticmethod
    def on_stop() -> str:
        return "Stopped. Finished items are kept; run the same evaluation again to continue."

    def _view(self, report: dict[str, Any], status: str, plots: dict[str, str], path: Path | None) -> tuple[Any, ...]:
        ratings = plots.get("ratings")
        return (
            status,
            tables_markdown(report),
            item_rows(report),
            plots.get("lengths"),
            plots.get("buckets"),
            gr.update(value=ratings, visible=ratings is not None),
            str(path) if path else None,
        )

    def show(self, run_id: str | None) -> tuple[Any, ...]:
        """A stored run's report, recomputed from the stored texts, with fresh plots."""
        if not run_id:
            return ("Pick a run first.", *(gr.update(),) * 6)
        from longwriter.evaluation.plots import report_plots
        from longwriter.evaluation.runner import write_json

        try:
            report = self.evaluator.report(run_id)
        except EvalError as exc:
            return (str(exc), "", [], None, None, gr.update(value=None, visible=False), None)
        path = write_json(report, self.evaluator.out_dir / f"{report['kind']}-{run_id[:8]}.json")
        plots = report_plots(report, path.with_suffix(""))
        return self._view(report, f"Run `{run_id}` ({report['status']}).", plots, path)

    async def run(
        self, data: str, upload: Any, limit: float, model: str | None, mode: str, judge_name: str | None
    ) -> AsyncIterator[tuple[Any, ...]]:
        """Write (and judge) the first ``limit`` items, showing progress, then the report and plots."""
        keep = (gr.update(),) * 6
        try:
            source = _upload_path(upload) if data == UPLOAD else None
            if data == UPLOAD and source is None:
                raise EvalDataError("Upload a LongBench-Write .jsonl file first (or pick the shipped mini set).")
            items, described = load_items(source, limit=int(limit or 3))
            config = GenConfig(model=model or None, mode=mode)  # type: ignore[arg-type]
            judge = None
            if judge_name and judge_name != NO_JUDGE:
                yield ("Loading the judge…", *keep)
                judge = Judge(await self.studio.backend(judge_name))
        except (EvalDataError, EvalError) as exc:
            yield (f"⚠️ {exc}", *keep)
            return
        except Exception as exc:  # noqa: BLE001 - a judge that cannot start is a message, not a traceback
            yield (f"⚠️ The judge could not be started: {exc}", *keep)
            return
        log: list[str] = []
        current = ""
        try:
            # closing the stream (Stop, a closed tab) stops the model and marks the run resumable
            stream = self.evaluator.longbench_write(items, config, source=described, judge=judge)
            async with aclosing(stream) as events:
                async for event in events:
                    if isinstance(event, RunEnded):
                        outcome = {"done": "Done.", "stopped": "Stopped."}.get(event.status, f"Failed: {event.error}")
                        status = "\n\n".join([*log[-6:], f"**{outcome}**"])
                        yield self._view(event.report, status, event.plots, event.path)
                        return
                    line, current = progress_lines(event, current)
                    if line:
                        log.append(line)
                    yield ("\n\n".join([*log[-6:], current]), *keep)
        except Exception as exc:  # noqa: BLE001 - shown in the tab; the run is stored and can be continued
            yield (f"⚠️ The evaluation failed: {exc}", *keep)


def progress_lines(event: object, current: str) -> tuple[str | None, str]:
    """A line for the run's log (or None) and the new "now doing" line, for one evaluation event."""
    if isinstance(event, RunStarted):
        verb = "Continuing" if event.resumed else "Started"
        return f"{verb} run `{event.run_id}`: {event.done} of {event.items} items already written.", ""
    if isinstance(event, ItemStarted):
        return None, f"Writing **{event.key}** ({event.number} of {event.total}, {event.required:,} words)…"
    if isinstance(event, ItemProgress):
        return None, f"Writing **{event.key}**: {event.words:,} of {event.required:,} words…"
    if isinstance(event, ItemFinished):
        note = f" — {event.error}" if event.error else ""
        return f"✓ {event.key}: {event.words:,} / {event.required:,} words, S_l {event.length_score:.1f}{note}", ""
    if isinstance(event, ItemJudged):
        verdict = f"S_q {event.quality:.1f}" if event.quality is not None else f"unparsable ({event.error})"
        return f"⚖ {event.key}: {verdict}", "Judging…"
    return None, current


def _upload_path(upload: Any) -> str | None:
    if upload is None:
        return None
    if isinstance(upload, (str, Path)):
        return str(upload)
    return getattr(upload, "name", None) or getattr(upload, "path", None)


def build_evaluate_tab(studio: Studio) -> None:
    """Build the Evaluate tab's content (call inside ``with gr.Tab("Evaluate"):``)."""
    EvaluateTab(studio).build()
