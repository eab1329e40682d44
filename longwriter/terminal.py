"""The terminal of the ``longwriter`` commands: where output goes, how errors and progress look.

Results (text, JSON, tables) go to stdout so they can be piped; progress and messages go to
stderr. Every command group (``cli``, ``eval_cli``, ``export_cli``) prints through these, so an
error reads the same whichever command raised it.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(stderr=True)
"""Progress and messages (stderr)."""
out = Console()
"""Results (stdout)."""


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as an error and return the exit to raise: ``raise fail("…") from None``."""
    console.print(f"[bold red]Error:[/] {message}")
    return typer.Exit(code)


def progress_bars() -> Progress:
    """Bars with a label, done-of-total counts and elapsed time, on stderr."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=console)
