"""What the page claims about a plan and a document: where the plan came from, and how many sections.

Issue 12: a plan the model could not make was shown as "Plan ready" in green, and the meter said
"0 of 1 section" for a three-row plan. These run through the served API on a scripted backend (the
claims are the studio's and the page's, not the model's words) and through the page's own renderers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import gradio as gr
import httpx
import pytest
from scripted import ScriptedBackend
from web import App

from longwriter.backends.base import GenerationRequest
from longwriter.documents import document_record
from longwriter.events import PlanReady
from longwriter.plan import Plan, Section
from longwriter.ratings import Battle, leaderboard
from longwriter.settings import Settings
from longwriter.studio import Studio
from ui.arena import ArenaTab
from ui.data import EXPORTS, DataTab, board_chart, board_rows
from ui.view import LiveDoc, meter_html
from ui.write.plan_table import plan_total_html
from ui.write.tab import WriteTab

ECHO = "Paragraph 1 - Main Point: <What this paragraph covers, in detail> - Word Count: 600 words"
GOOD = (
    "Paragraph 1 - Main Point: Where to stay in Lisbon - Word Count: 300 words\n"
    "Paragraph 2 - Main Point: What to eat in Lisbon - Word Count: 300 words"
)


class OutlineBackend(ScriptedBackend):
    """Plans with the given outlines in turn (the prompt's own placeholder, a usable one), writes as scripted."""

    def __init__(self, models_dir: Path, outlines: list[str]) -> None:
        super().__init__(models_dir)
        self.outlines = outlines

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        if request.prompt.startswith("You are planning"):
            yield self.outlines.pop(0) if len(self.outlines) > 1 else self.outlines[0]
            return
        async for piece in super().stream(request):
            yield piece


def draft(settings: Settings, outlines: list[str]) -> dict:
    studio = Studio(settings)
    studio.use_backend(OutlineBackend(settings.models_dir, outlines))  # type: ignore[arg-type]
    app = App(studio)
    try:
        client = app.client()
        doc = client.predict("A 600-word guide to Lisbon.", 600, "agentwrite", "", None, api_name="/create_document")
        return client.submit(doc["id"], api_name="/draft_plan").result(timeout=60)
    finally:
        app.close()


@pytest.mark.parametrize(
    ("outlines", "says"),
    [
        ([ECHO], "a default plan was made — edit it"),
        ([ECHO, GOOD], "this is its second try"),
    ],
)
def test_a_plan_the_model_did_not_make_first_time_says_so(settings: Settings, outlines: list[str], says: str) -> None:
    result = draft(settings, outlines)
    assert result["status"] == "planned"
    assert says in result["message"] and "Plan ready" not in result["message"]
    assert result["sections"] == len(result["plan"]) >= 2


def test_the_models_own_plan_needs_no_note(settings: Settings) -> None:
    result = draft(settings, [GOOD])
    assert result["message"] == "" and result["sections"] == 2


def _page(store_doc: dict, *events: PlanReady) -> LiveDoc:
    page = LiveDoc.from_record(store_doc, running=True)
    page.start_run()
    for event in events:
        page.apply(event)
    return page


THREE = Plan(sections=[Section(main_point=f"Part {i}", words=200) for i in (1, 2, 3)])


def test_a_fallback_is_a_warning_and_a_retry_is_not_green(settings: Settings) -> None:
    store = Studio(settings).store
    record = document_record(store, store.create_document("Lisbon", 600).id)
    fallback = _page(record, PlanReady(THREE, source="fallback", problem="it repeats the prompt's placeholder"))
    assert fallback.level == "warn" and "default plan was made" in fallback.message
    retry = _page(record, PlanReady(THREE, source="retry", problem="one section for 600 words"))
    assert retry.level == "warn" and "second try" in retry.message
    own = _page(record, PlanReady(THREE, source="model"))
    assert own.message == ""


def test_the_meter_counts_the_plans_sections_while_and_after_it_is_drafted(settings: Settings) -> None:
    store = Studio(settings).store
    one = Plan(sections=[Section(main_point="All of it", words=600)])
    record = document_record(store, store.create_document("Lisbon", 600, plan=one).id)
    page = _page(record, PlanReady(THREE, source="model"))
    assert page.position() == (0, 3)
    assert "0<span class='lw-dim'> of 3</span>" in meter_html(page) and ">sections</div>" in meter_html(page)
    single = _page(record)
    assert ">section</div>" in meter_html(single)


@pytest.mark.parametrize(
    ("rows", "count"), [([["All", 600]], "1 section ·"), ([["A", 300], ["B", 300]], "2 sections ·")]
)
def test_the_plan_total_says_section_or_sections(rows: list, count: str) -> None:
    assert count in plan_total_html(rows, 600)
    assert count in plan_total_html(rows, None)


def test_the_arena_offers_only_what_can_run_here_and_says_why_not(settings: Settings) -> None:
    """On a CPU machine with no model server the GPU-only models are listed as unavailable, not offered."""
    cpu = settings.model_copy(update={"device": "cpu"})
    app = App(Studio(cpu))
    try:
        config = httpx.get(f"{app.url.rstrip('/')}/config", timeout=30).json()
    finally:
        app.close()
    props = {c["props"].get("elem_id"): c["props"] for c in config["components"] if c.get("props")}
    offered = [choice[0] for choice in props["lw-arena-configs"]["choices"]]
    assert offered and all(label.startswith("smollm2-135m") for label in offered)
    note = props["lw-arena-unavailable"]["value"]
    assert props["lw-arena-unavailable"]["visible"]
    assert "Not offered: longwriter-glm4-9b needs a GPU" in note


def test_the_leaderboard_says_too_few_battles_instead_of_a_zero_width_interval() -> None:
    one_vote = leaderboard([Battle("A", "B", "a")])
    assert [row[3] for row in board_rows(one_vote)] == ["too few battles (1 of 10)"] * 2
    chart = board_chart(one_vote)
    assert chart is not None
    axes = chart.axes[0]
    assert not axes.containers, "no error bar for a rating that one vote made"
    assert axes.get_legend().get_texts()[0].get_text().startswith("too few battles")
    many = leaderboard([Battle("A", "B", w) for w in ["a"] * 7 + ["b"] * 5])
    assert all(" – " in row[3] for row in board_rows(many))
    assert board_chart(many).axes[0].containers  # type: ignore[union-attr]


def test_the_exported_file_box_shows_only_when_there_is_a_file(settings: Settings) -> None:
    studio = Studio(settings)
    tab = DataTab(studio)
    empty, message = tab.export(next(iter(EXPORTS)), [], 0, False, None)  # type: ignore[arg-type]
    assert empty["visible"] is False and "Nothing to export yet" in message
    app = App(studio)
    try:
        config = httpx.get(f"{app.url.rstrip('/')}/config", timeout=30).json()
    finally:
        app.close()
    props = {c["props"].get("elem_id"): c["props"] for c in config["components"] if c.get("props")}
    assert props["lw-data-file"]["visible"] is False


@pytest.mark.parametrize(
    ("outlines", "level"), [([ECHO], "lw-msg-warn"), ([ECHO, GOOD], "lw-msg-warn"), ([GOOD], "lw-msg-ok")]
)
async def test_the_write_tab_ends_a_plan_run_green_only_for_the_models_own_plan(
    settings: Settings, outlines: list[str], level: str
) -> None:
    studio = Studio(settings)
    studio.use_backend(OutlineBackend(settings.models_dir, outlines))  # type: ignore[arg-type]
    tab = WriteTab(studio, interval=0.0)
    with gr.Blocks():
        tab.build(gr.BrowserState({}))
    doc = studio.create("A 600-word guide to Lisbon.", 600, mode="agentwrite")
    last = [out async for out in tab.runs.stream({"doc": doc.id, "action": "plan"}, None)][-1]  # type: ignore[arg-type]
    assert level in last[tab.message]
    assert ("Plan ready" in last[tab.message]) == (level == "lw-msg-ok")
    await studio.aclose()


def test_opening_the_arena_asks_again_what_can_run_and_keeps_the_users_picks(settings: Settings) -> None:
    cpu = settings.model_copy(update={"device": "cpu"})
    tab = ArenaTab(Studio(cpu))
    with gr.Blocks():
        tab.build()
    mine, gpu = "smollm2-135m · parallel · Creative", "longwriter-glm4-9b · agentwrite · Model default"
    configs, note = tab.on_open([mine, gpu])
    assert configs["value"] == [mine] and mine in configs["choices"] and gpu not in configs["choices"]
    assert note["visible"] and "Not offered: longwriter-glm4-9b needs a GPU" in note["value"]
