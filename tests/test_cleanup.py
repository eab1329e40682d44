"""Prompt text in sections: found and removed on real outputs of the embedded model, prose kept.

``tests/data/smollm2_outputs.jsonl`` holds what SmolLM2-135M wrote under AgentWrite on the mini
set (see ``tests/data/extract_outputs.py``), each section labelled by hand with the lines a reader
must not see (``leaks``) and each plan with whether it is a plan (``usable``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from longwriter.cleanup import remove_leaks
from longwriter.plan import PlanError, accept_plan
from longwriter.prompts import PROMPT_WORDING

CORPUS = [json.loads(line) for line in (Path(__file__).parent / "data" / "smollm2_outputs.jsonl").open()]
SECTIONS = [row for row in CORPUS if row["kind"] != "plan"]
PLANS = [row for row in CORPUS if row["kind"] == "plan"]


def test_the_corpus_is_real_and_has_leaks_to_find() -> None:
    assert len(SECTIONS) >= 8 and len(PLANS) >= 10
    assert sum(len(row["leaks"]) for row in SECTIONS) >= 6
    assert any(not row["usable"] for row in PLANS) and any(row["usable"] for row in PLANS)


@pytest.mark.parametrize("row", SECTIONS, ids=lambda r: f"{r['source'][:6]}-{r['item']}-{r['index']}")
def test_leaks_go_and_prose_stays(row: dict[str, Any]) -> None:
    cleaned = remove_leaks(row["output"], PROMPT_WORDING)
    assert sorted(cleaned.removed) == sorted(row["leaks"])
    for leak in row["leaks"]:
        assert leak not in cleaned.text
    for line in row["output"].splitlines():
        for leak in row["leaks"]:
            line = line.replace(leak, "")
        assert line.strip() in cleaned.text  # every other word the model wrote is still there


@pytest.mark.parametrize("row", PLANS, ids=lambda r: f"{r['source'][:6]}-{r['item']}")
def test_plans_are_judged_as_a_reader_would(row: dict[str, Any]) -> None:
    if row["usable"]:
        assert accept_plan(row["output"], row["instruction"], row["words"]).sections
    else:
        with pytest.raises(PlanError):
            accept_plan(row["output"], row["instruction"], row["words"])


@pytest.mark.parametrize(
    "prose",
    [
        "Step 1: Buy a Lisboa Card. It covers the trams, the funicular and most museums.",
        (
            "The main point of visiting Belém is the pastries, which locals have baked since 1837 in a bakery near the "
            "monastery and which visitors queue for every morning before the tour buses arrive."
        ),
        "Please let me know if the lift is still out of order on Monday.",
        "Here is the best part: the view from the castle at sunset.",
        "1. Take the 28 tram early.\n2. Walk down to the river.",
        "有的读者说，晚上来图书馆看书很安静。",
    ],
)
def test_ordinary_prose_is_never_touched(prose: str) -> None:
    cleaned = remove_leaks(prose, PROMPT_WORDING)
    assert cleaned.text == prose and cleaned.removed == ()
