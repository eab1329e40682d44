"""Reports: every number recomputed from the stored texts with :mod:`longwriter.text`.

A report is plain JSON. Each item carries its text (unless asked not to), required and produced
words and its S_l, so anyone can check every aggregate by hand: S_l overall and per length bucket,
type and language; S_q per dimension and overall when a judge ran; for the ruler, the largest
length each configuration reaches; for an arena, pairwise records and the leaderboard.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from longwriter.evaluation.judge import DIMENSIONS
from longwriter.evaluation.repairs import signals_section
from longwriter.store.models import EvalComparison, EvalItem, EvalRun
from longwriter.text import count_words, length_score

BUCKETS = (("[0,500)", 0, 500), ("[500,2k)", 500, 2000), ("[2k,4k)", 2000, 4000), ("[4k,20k]", 4000, 20000))
"""LongBench-Write's length buckets; the last includes 20,000 itself."""
OVER_BUCKET = "(20k,inf)"
REACHED_SHARE = 0.8
"""A ruler configuration "reaches" a length when its median output is at least this share of it."""
SCORED = ("done", "failed")
"""Item states with a final text: a failed item is scored on whatever it wrote (0 words: S_l 0)."""


def bucket_of(required: int) -> str:
    """The LongBench-Write bucket of a required length: [0,500), [500,2k), [2k,4k), [4k,20k]."""
    for name, low, high in BUCKETS[:-1]:
        if low <= required < high:
            return name
    return BUCKETS[-1][0] if required <= BUCKETS[-1][2] else OVER_BUCKET


def mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def item_records(
    rows: Sequence[EvalItem],
    texts: dict[str, str],
    include_texts: bool = True,
    signals: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One JSON record per item; words and S_l are recounted from the stored text when it exists.

    ``signals`` (document id → :func:`writer_signals`) adds what the writer repaired per item.
    """
    records = []
    for row in rows:
        text = texts.get(row.document_id) if row.document_id else None
        final = row.status in SCORED
        if text is not None:
            words = count_words(text)
        else:
            words = row.words
        score = length_score(row.required_words, words) if final else None
        judgement = row.judgement
        record: dict[str, Any] = {
            "key": row.key,
            "id": row.item_id,
            "config": row.config,
            "type": row.type,
            "language": row.language,
            "bucket": bucket_of(row.required_words),
            "required": row.required_words,
            "words": words if (final or text is not None) else None,
            "S_l": score,
            "status": row.status,
            "error": row.error,
            "document_id": row.document_id,
            "seconds": round(row.seconds, 2),
            "S_q": judgement.get("quality") if judgement else None,
            "judgement": judgement,
            "prompt": row.prompt,
            "writer": (signals or {}).get(row.document_id or ""),
        }
        if include_texts:
            record["text"] = text
        records.append(record)
    return records


def _group(records: list[dict[str, Any]], key: str, order: Sequence[str] | None = None) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(str(record[key]), []).append(record)
    names = [n for n in order if n in groups] if order else sorted(groups)
    names += [n for n in sorted(groups) if n not in names]
    return {
        name: {
            "n": len(groups[name]),
            "S_l": mean(r["S_l"] for r in groups[name]),
            "mean_required": mean(r["required"] for r in groups[name]),
            "mean_words": mean(r["words"] for r in groups[name]),
        }
        for name in names
    }


def length_section(records: list[dict[str, Any]]) -> dict[str, Any]:
    """S_l overall and per bucket, type and language over the items with a final text."""
    scored = [r for r in records if r["S_l"] is not None]
    return {
        "n": len(scored),
        "S_l": mean(r["S_l"] for r in scored),
        "by_bucket": _group(scored, "bucket", [b[0] for b in BUCKETS] + [OVER_BUCKET]),
        "by_type": _group(scored, "type"),
        "by_language": _group(scored, "language"),
    }


def quality_section(records: list[dict[str, Any]], judge: dict[str, Any] | None) -> dict[str, Any]:
    """S_q from the judgements: per dimension (mean − 1)·25 over parsed items, S_q their mean.

    Items whose answers never parsed are listed under ``unparsable`` with the reason; items not
    judged at all (generation failed, nothing written, run interrupted) under ``not_judged``.
    """
    judged = [r for r in records if r["judgement"] and r["judgement"].get("scores")]
    unparsable = [
        {
            "id": r["id"],
            "key": r["key"],
            "error": r["judgement"].get("error"),
            "attempts": r["judgement"].get("attempts", 0),
            "last_answer": (r["judgement"].get("answers") or [""])[-1][:500],
        }
        for r in records
        if r["judgement"] and not r["judgement"].get("scores")
    ]
    not_judged = [
        {"id": r["id"], "key": r["key"], "reason": "generation failed" if r["status"] == "failed" else "not judged yet"}
        for r in records
        if not r["judgement"]
    ]
    mean_scores = {d: mean(float(r["judgement"]["scores"][d]) for r in judged) for d in DIMENSIONS}
    dimensions = {d: None if m is None else (m - 1.0) * 25.0 for d, m in mean_scores.items()}
    return {
        "judge": judge,
        "judged": len(judged),
        "unparsable_count": len(unparsable),
        "S_q": mean(dimensions.values()) if judged else None,
        "dimensions": dimensions,
        "mean_scores": mean_scores,
        "by_type": {
            name: mean(r["S_q"] for r in judged if r["type"] == name) for name in sorted({r["type"] for r in judged})
        },
        "unparsable": unparsable,
        "not_judged": not_judged,
    }


def _counts(records: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"items": len(records), "done": 0, "failed": 0, "pending": 0}
    for r in records:
        counts[r["status"] if r["status"] in ("done", "failed") else "pending"] += 1
    return counts


def _header(run: EvalRun) -> dict[str, Any]:
    return {
        "kind": run.kind,
        "run_id": run.id,
        "created_at": run.created_at.isoformat(timespec="seconds"),
        "updated_at": run.updated_at.isoformat(timespec="seconds"),
        "source": run.source,
        "config": run.config,
    }


def longbench_report(
    run: EvalRun,
    rows: Sequence[EvalItem],
    texts: dict[str, str],
    include_texts: bool = True,
    signals: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The LongBench-Write report of a run: S_l overall / per bucket / per type, S_q when judged,
    and what the writer repaired (plans by source, loops cut, prompt lines) when ``signals`` are given."""
    records = item_records(rows, texts, include_texts, signals)
    counts = _counts(records)
    length = length_section(records)
    judge = run.config.get("judge")
    quality = quality_section(records, judge) if judge or any(r["judgement"] for r in records) else None
    s_q = quality["S_q"] if quality else None
    summary = {
        **counts,
        "S_l": length["S_l"],
        "S_q": s_q,
        "S": (length["S_l"] + s_q) / 2 if length["S_l"] is not None and s_q is not None else None,
        "complete": counts["pending"] == 0,
    }
    writer = signals_section(records)
    return {
        **_header(run),
        "summary": summary,
        "length": length,
        "quality": quality,
        "writer": writer,
        "items": records,
    }


def ruler_report(
    run: EvalRun, rows: Sequence[EvalItem], texts: dict[str, str], include_texts: bool = True
) -> dict[str, Any]:
    """LongWrite-Ruler: per configuration and required length, what was produced; the largest length reached."""
    records = item_records(rows, texts, include_texts)
    configs: dict[str, Any] = {}
    for label in dict.fromkeys(r["config"] for r in records):
        mine = [r for r in records if r["config"] == label and r["S_l"] is not None]
        lengths: dict[str, Any] = {}
        reached = None
        for required in sorted({r["required"] for r in mine}):
            at = [r for r in mine if r["required"] == required]
            median = statistics.median(r["words"] for r in at)
            lengths[str(required)] = {
                "n": len(at),
                "words": [r["words"] for r in at],
                "median_words": median,
                "S_l": mean(r["S_l"] for r in at),
            }
            if median >= REACHED_SHARE * required:
                reached = required
        configs[label] = {
            "n": len(mine),
            "S_l": mean(r["S_l"] for r in mine),
            "max_words": max((r["words"] for r in mine), default=None),
            "reached": reached,
            "lengths": lengths,
        }
    summary = {
        **_counts(records),
        "complete": _counts(records)["pending"] == 0,
        "reached": {label: c["reached"] for label, c in configs.items()},
        "max_words": {label: c["max_words"] for label, c in configs.items()},
    }
    rule = f"median output >= {REACHED_SHARE:.0%} of the required length"
    return {**_header(run), "summary": summary, "reached_rule": rule, "configs": configs, "items": records}


def arena_report(
    run: EvalRun,
    rows: Sequence[EvalItem],
    texts: dict[str, str],
    comparisons: Sequence[EvalComparison],
    rate: Callable[[list[tuple[str, str, str]]], list[dict[str, Any]]] | None = None,
    include_texts: bool = True,
) -> dict[str, Any]:
    """Pairwise judge verdicts (both orders), each configuration's record and the leaderboard."""
    records = item_records(rows, texts, include_texts)
    labels = list(dict.fromkeys(r["config"] for r in records))
    lengths = {label: length_section([r for r in records if r["config"] == label]) for label in labels}
    judged = [c for c in comparisons if c.winner is not None]
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for c in comparisons:
        first, second = sorted((c.config_a, c.config_b), key=labels.index)
        entry = pairs.setdefault(
            (first, second),
            {"a": first, "b": second, "a_wins": 0, "b_wins": 0, "ties": 0, "unparsable": 0, "order_agreement": None},
        )
        if c.winner is None:
            entry["unparsable"] += 1
        elif c.winner == "tie":
            entry["ties"] += 1
        else:
            winner = c.config_a if c.winner == "a" else c.config_b
            entry["a_wins" if winner == first else "b_wins"] += 1
    for (first, second), entry in pairs.items():  # do the two orders of an item agree on the winner?
        both: dict[str, list[str]] = {}
        for c in judged:
            if {c.config_a, c.config_b} == {first, second}:
                name = "tie" if c.winner == "tie" else (c.config_a if c.winner == "a" else c.config_b)
                both.setdefault(c.item_id, []).append(name)
        complete = [v for v in both.values() if len(v) == 2]
        entry["order_agreement"] = (sum(v[0] == v[1] for v in complete) / len(complete)) if complete else None
    battles = [(c.config_a, c.config_b, c.winner) for c in judged]
    ratings: list[dict[str, Any]] | None = None
    ratings_error = None
    if rate is not None and battles:
        try:
            ratings = rate(battles)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - the verdicts stay useful even if rating fails
            ratings_error = str(exc)
    counts = _counts(records)
    summary = {
        **counts,
        "complete": counts["pending"] == 0,
        "comparisons": len(comparisons),
        "judged": len(judged),
        "unparsable": len(comparisons) - len(judged),
        "leader": ratings[0]["config"] if ratings else None,
    }
    return {
        **_header(run),
        "summary": summary,
        "configs": labels,
        "length": lengths,
        "pairs": list(pairs.values()),
        "ratings": ratings,
        "ratings_error": ratings_error,
        "comparisons": [
            {
                "item": c.item_id,
                "a": c.config_a,
                "b": c.config_b,
                "winner": c.winner,
                "status": c.status,
                "attempts": c.attempts,
                "judge": c.judge,
                "error": c.error,
            }
            for c in comparisons
        ],
        "items": records,
    }


def without_texts(report: dict[str, Any]) -> dict[str, Any]:
    """The report with the item texts left out (they live in the documents), for the database."""
    slim = dict(report)
    slim["items"] = [{k: v for k, v in item.items() if k != "text"} for item in report.get("items", [])]
    return slim


# -- tables for the CLI and the app -----------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def report_tables(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report as (title, headers, rows) tables, the same for the terminal and the app."""
    tables: list[tuple[str, list[str], list[list[str]]]] = []
    kind = report["kind"]
    if kind == "longbench-write":
        s = report["summary"]
        tables.append(
            (
                "Summary",
                ["items", "done", "failed", "pending", "S_l", "S_q", "S"],
                [[_fmt(s[k]) for k in ("items", "done", "failed", "pending", "S_l", "S_q", "S")]],
            )
        )
        writer = report.get("writer")
        if writer and writer["n"]:
            plans = writer["plans"]
            tables.append(
                (
                    "Writer repairs",
                    [
                        "documents",
                        "own plan",
                        "retried plan",
                        "default plan",
                        "loops cut",
                        "prompt lines found",
                        "left",
                    ],
                    [
                        [
                            _fmt(writer["n"]),
                            _fmt(plans["model"]),
                            _fmt(plans["retry"]),
                            _fmt(plans["fallback"]),
                            _fmt(writer["loops_cut"]),
                            _fmt(writer["leaks_found"]),
                            _fmt(writer["leaks_left"]),
                        ]
                    ],
                )
            )
        for title, key in (
            ("S_l by length bucket", "by_bucket"),
            ("S_l by type", "by_type"),
            ("S_l by language", "by_language"),
        ):
            rows = [
                [name, _fmt(g["n"]), _fmt(g["mean_required"]), _fmt(g["mean_words"]), _fmt(g["S_l"])]
                for name, g in report["length"][key].items()
            ]
            tables.append((title, ["group", "n", "required", "words", "S_l"], rows))
        quality = report.get("quality")
        if quality:
            rows = [[d, _fmt(quality["mean_scores"][d]), _fmt(quality["dimensions"][d])] for d in DIMENSIONS]
            rows.append(["S_q", "", _fmt(quality["S_q"])])
            title = (
                f"Quality (judge {quality['judge']['id'] if quality.get('judge') else '?'}: "
                f"{quality['judged']} judged, {quality['unparsable_count']} unparsable)"
            )
            tables.append((title, ["dimension", "mean 1-5", "score"], rows))
        tables.append(
            (
                "Items",
                ["id", "type", "required", "words", "S_l", "S_q", "status"],
                [
                    [
                        i["id"],
                        i["type"],
                        _fmt(i["required"]),
                        _fmt(i["words"]),
                        _fmt(i["S_l"]),
                        _fmt(i["S_q"])
                        if i["judgement"] and i["judgement"].get("scores")
                        else ("unparsable" if i["judgement"] else "–"),
                        i["status"],
                    ]
                    for i in report["items"]
                ],
            )
        )
    elif kind == "ruler":
        rows = []
        for label, c in report["configs"].items():
            for required, at in c["lengths"].items():
                rows.append([label, required, _fmt(at["n"]), _fmt(at["median_words"]), _fmt(at["S_l"])])
        tables.append(("Required vs produced", ["config", "required", "n", "median words", "S_l"], rows))
        tables.append(
            (
                "Largest length reached",
                ["config", "reached", "max words", "S_l"],
                [
                    [label, _fmt(c["reached"]), _fmt(c["max_words"]), _fmt(c["S_l"])]
                    for label, c in report["configs"].items()
                ],
            )
        )
    elif kind == "arena":
        if report.get("ratings"):
            tables.append(
                (
                    "Leaderboard",
                    ["config", "rating", "95% interval", "elo", "W-T-L"],
                    [
                        [
                            r["config"],
                            _fmt(r["rating"]),
                            r["interval"],
                            _fmt(r["elo"]),
                            f"{r['wins']}-{r['ties']}-{r['losses']}",
                        ]
                        for r in report["ratings"]
                    ],
                )
            )
        tables.append(
            (
                "Pairs (both orders)",
                ["A", "B", "A wins", "B wins", "ties", "unparsable", "order agreement"],
                [
                    [
                        p["a"],
                        p["b"],
                        _fmt(p["a_wins"]),
                        _fmt(p["b_wins"]),
                        _fmt(p["ties"]),
                        _fmt(p["unparsable"]),
                        "–" if p["order_agreement"] is None else f"{p['order_agreement']:.0%}",
                    ]
                    for p in report["pairs"]
                ],
            )
        )
        tables.append(
            (
                "Length per configuration",
                ["config", "n", "S_l"],
                [[label, _fmt(s["n"]), _fmt(s["S_l"])] for label, s in report["length"].items()],
            )
        )
    return tables
