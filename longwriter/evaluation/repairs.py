"""What the writer had to repair in a document, recounted from its stored model calls.

Alongside S_l, a report says how many plans were the model's own and how many the writer asked for
again or replaced, how many loops it cut and how much prompt text it removed, so that a good S_l
bought by repairs is visible as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from longwriter.cleanup import remove_leaks
from longwriter.prompts import PROMPT_WORDING
from longwriter.store.models import Generation

PLAN_SOURCES = ("model", "retry", "fallback", "given")


def writer_signals(generations: Sequence[Generation], text: str | None) -> dict[str, Any]:
    """What the writer had to repair in one document, recounted from its stored model calls.

    * ``plan``: whose plan was written — the model's first outline, its second after the first was
      refused ("retry"), the default plan ("fallback"), or one given by the user. The plan calls of
      the last planning run are its rows sharing the last one's start time: refused outlines are
      "failed" rows, and the last row is "failed" too when the default plan stood in.
    * ``loops_cut``: section calls stopped and cut back because the model looped.
    * ``leaks_found``: lines (or sentences) of prompt text in what the model wrote, before cleanup.
    * ``leaks_left``: the same count in the document's stored text: what a reader still sees.
    """
    plans = [g for g in generations if g.kind == "plan"]
    sections = [g for g in generations if g.kind != "plan"]
    if not plans:
        source = "given"
    else:
        last_run = [g for g in plans if g.started_at == plans[-1].started_at]
        source = "fallback" if plans[-1].status == "failed" else "retry" if len(last_run) > 1 else "model"
    return {
        "plan": source,
        "loops_cut": sum(g.stop_reason == "loop" for g in sections),
        "leaks_found": sum(len(remove_leaks(g.output, PROMPT_WORDING).removed) for g in sections),
        "leaks_left": len(remove_leaks(text, PROMPT_WORDING).removed) if text else 0,
    }


def signals_section(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The writer's repairs over the items with a final text (those S_l is taken over): plans by
    source, loops cut, prompt lines found and left."""
    signals = [r["writer"] for r in records if r.get("writer") and r["S_l"] is not None]
    return {
        "n": len(signals),
        "plans": {source: sum(s["plan"] == source for s in signals) for source in PLAN_SOURCES},
        **{key: sum(s[key] for s in signals) for key in ("loops_cut", "leaks_found", "leaks_left")},
    }
