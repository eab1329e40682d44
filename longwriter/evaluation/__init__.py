"""Evaluation: LongBench-Write (S_l and a judge's S_q), LongWrite-Ruler and judge arenas.

Every claim about length control or quality becomes a number the user can reproduce: items are
written through the studio (so each generation is a stored document), scored with
:mod:`longwriter.text` (the one definition of words and S_l), optionally judged by any backend,
and reported as JSON with plots. Runs live in the database and continue where they stopped.

``data``     items from JSONL files, saved datasets, the Hub, the shipped mini set; ruler prompts
``judge``    the six-dimension judge prompt, the pairwise prompt, the tolerant strict-JSON parsers
``config``   :class:`GenConfig`: what writes the items (model, mode, sampling)
``runner``   :class:`Evaluator`: the resumable run
``events``   what a run says as it goes (the stream the CLI and the app consume)
``report``   reports recomputed from the stored texts; tables for the CLI and the app
``plots``    PNG plots (matplotlib Agg)
"""

from longwriter.evaluation.config import EvalError, GenConfig
from longwriter.evaluation.data import (
    MINI_SET,
    RULER_LENGTHS,
    RULER_PROMPTS,
    BenchItem,
    EvalDataError,
    load_items,
    ruler_items,
)
from longwriter.evaluation.events import (
    EvalEvent,
    ItemFinished,
    ItemJudged,
    ItemProgress,
    ItemStarted,
    PairJudged,
    RunEnded,
    RunStarted,
    final_report,
)
from longwriter.evaluation.judge import (
    DIMENSIONS,
    Judge,
    Judgement,
    JudgeParseError,
    JudgeUnavailable,
    Verdict,
    parse_scores,
    parse_verdict,
    quality,
)
from longwriter.evaluation.report import BUCKETS, bucket_of, report_tables
from longwriter.evaluation.runner import Evaluator

__all__ = [
    "BUCKETS",
    "DIMENSIONS",
    "MINI_SET",
    "RULER_LENGTHS",
    "RULER_PROMPTS",
    "BenchItem",
    "EvalDataError",
    "EvalError",
    "EvalEvent",
    "Evaluator",
    "GenConfig",
    "ItemFinished",
    "ItemJudged",
    "ItemProgress",
    "ItemStarted",
    "Judge",
    "JudgeParseError",
    "JudgeUnavailable",
    "Judgement",
    "PairJudged",
    "RunEnded",
    "RunStarted",
    "Verdict",
    "bucket_of",
    "final_report",
    "load_items",
    "parse_scores",
    "parse_verdict",
    "quality",
    "report_tables",
    "ruler_items",
]
