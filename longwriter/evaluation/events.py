"""What an evaluation run says as it goes: the events the CLI, the Evaluate tab and the tests consume.

They are the evaluator's counterpart of :mod:`longwriter.events`: small frozen records, one stream
per run, ending with :class:`RunEnded` (the report and where it was written).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from longwriter.store.models import EvalRunStatus


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    kind: str
    items: int
    done: int
    resumed: bool
    out: Path


@dataclass(frozen=True)
class ItemStarted:
    key: str
    config: str
    required: int
    number: int
    total: int


@dataclass(frozen=True)
class ItemProgress:
    key: str
    words: int
    required: int


@dataclass(frozen=True)
class ItemFinished:
    key: str
    config: str
    required: int
    words: int
    length_score: float
    status: str
    error: str | None = None


@dataclass(frozen=True)
class ItemJudged:
    key: str
    quality: float | None
    error: str | None
    attempts: int
    number: int
    total: int


@dataclass(frozen=True)
class PairJudged:
    item: str
    a: str
    b: str
    winner: str | None
    error: str | None
    number: int
    total: int


@dataclass(frozen=True)
class RunEnded:
    """The last event: the run's status ("done", "stopped", "failed"), its report and where it was written."""

    status: EvalRunStatus
    report: dict[str, Any]
    path: Path
    plots: dict[str, str]
    error: str | None = None


EvalEvent = RunStarted | ItemStarted | ItemProgress | ItemFinished | ItemJudged | PairJudged | RunEnded


async def final_report(events: AsyncIterator[EvalEvent]) -> RunEnded:
    """Consume a run's events and return its :class:`RunEnded` (the report and its path)."""
    ended: RunEnded | None = None
    async with aclosing(events) as stream:  # type: ignore[type-var]
        async for event in stream:
            if isinstance(event, RunEnded):
                ended = event
    assert ended is not None, "an evaluation stream always ends with RunEnded"
    return ended
