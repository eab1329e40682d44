"""The ``longwriter train`` command (also ``python -m training``): sft, dpo and grpo from a YAML config.

Each command trains, registers the result in the studio's catalog and prints a summary. Under
``accelerate launch`` every process runs the same command and only the main one prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from training.config import ConfigError, Task, load_config
from training.data import DataError
from training.summary import Summary

app = typer.Typer(
    help="Retrain long-writing models with TRL and register them in the studio's model catalog.",
    no_args_is_help=True,
)
console = Console()

ConfigFile = Annotated[
    Path, typer.Option("--config", "-c", exists=True, dir_okay=False, help="YAML run config (training/configs/)")
]
OutputDir = Annotated[Path | None, typer.Option("--output-dir", "-o", help="overrides the config's output_dir")]
MaxSteps = Annotated[int | None, typer.Option("--max-steps", min=1, help="overrides trl.max_steps")]


@app.command()
def sft(config: ConfigFile, output_dir: OutputDir = None, max_steps: MaxSteps = None) -> None:
    """Supervised fine-tuning on long-writing conversations (LongWriter-6k, finished documents)."""
    _run("sft", config, output_dir, max_steps)


@app.command()
def dpo(config: ConfigFile, output_dir: OutputDir = None, max_steps: MaxSteps = None) -> None:
    """Direct preference optimisation on the studio's exported preference pairs."""
    _run("dpo", config, output_dir, max_steps)


@app.command()
def grpo(config: ConfigFile, output_dir: OutputDir = None, max_steps: MaxSteps = None) -> None:
    """GRPO with length, repetition, format and quality rewards (LongWriter-Zero style)."""
    _run("grpo", config, output_dir, max_steps)


def _run(task: Task, config_file: Path, output_dir: Path | None, max_steps: int | None) -> None:
    from accelerate import PartialState

    from training.runner import train

    try:
        config = load_config(config_file, task, output_dir=output_dir, max_steps=max_steps)
        summary = train(task, config)
    except (ConfigError, DataError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if PartialState().is_main_process:
        console.print(summary_table(summary))


def summary_table(summary: Summary) -> Table:
    """The run's summary as a table: where the model went, then each headline metric first → last."""
    title = f"{summary.task.upper()} of {summary.base_model}: {summary.steps} steps"
    if summary.runtime_s is not None:
        title += f" in {summary.runtime_s:.0f} s"
    table = Table("metric", "first", "last", "mean", title=title)
    if summary.train_loss is not None:
        table.add_row("train_loss (run mean)", "", "", f"{summary.train_loss:.4f}")
    for key, metric in summary.metrics.items():
        table.add_row(key, f"{metric.first:.4f}", f"{metric.last:.4f}", f"{metric.mean:.4f}")
    caption = f"checkpoint: {summary.checkpoint}"
    if summary.model_id:
        caption += f"\ncatalog id: {summary.model_id} (in the studio's model picker)"
    table.caption = caption
    return table
