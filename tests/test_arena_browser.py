"""An arena battle in a real browser with the real model: stream both sides, vote, reveal, export the pair.

Drives Debian's Chromium (/usr/bin/chromium) with Playwright against the whole app
(``ui.app.build_app``); nothing is downloaded. Each side is a short single-pass document written
by the embedded SmolLM2-135M, so the battle takes about a minute on two CPU cores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from web import App, chromium

from longwriter.export_cli import export_app
from longwriter.preferences import Filters, arena_outcomes, get_battle, pairs
from longwriter.studio import Studio

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.timeout(2400)]
WRITE_TIMEOUT_MS = 1_800_000
"""Two ~100-word documents take about a minute on two idle cores; far longer when the machine is busy."""

A_LABEL = "smollm2-135m · single · Model default"
B_LABEL = "smollm2-135m · single · Creative"


@pytest.fixture
def app_url(studio: Studio) -> Iterator[str]:
    app = App(studio)
    try:
        yield app.url
    finally:
        app.close()


@pytest.fixture
def page(app_url: str) -> Iterator[Any]:
    with chromium() as browser:  # opened after the studio: Playwright's loop would block its asyncio
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        yield page


def test_a_browser_battle_ends_in_a_stored_vote_and_an_exported_pair(
    page: object, studio: Studio, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    p = page  # type: ignore[assignment]
    p.get_by_role("tab", name="Arena").click()
    p.locator("#lw-arena-instruction textarea").fill("Write a short friendly note about why cats purr.")
    p.locator("#lw-arena-target input").fill("100")
    # Two quick single-pass contestants (AgentWrite is enabled by default; it would take longer here).
    p.get_by_text("Contestants").click()
    p.get_by_label("smollm2-135m · agentwrite · Model default", exact=True).uncheck()
    p.get_by_label(B_LABEL, exact=True).check()
    expect(p.get_by_label(A_LABEL, exact=True)).to_be_checked()

    vote_a = p.locator("#lw-arena-vote-a")
    expect(vote_a).to_be_disabled()
    p.locator("#lw-arena-start").click()
    expect(p.locator("#lw-arena-message")).to_contain_text("writing", timeout=30_000)
    expect(p.locator("#lw-arena-stop")).to_be_visible()
    expect(vote_a).to_be_disabled()  # no voting while the sides stream

    # Both sides stream under neutral names; the vote opens when both are done.
    try:
        expect(vote_a).to_be_enabled(timeout=WRITE_TIMEOUT_MS)
    except AssertionError:
        p.screenshot(path=str(tmp_path / "arena-timeout.png"), full_page=True)
        raise
    expect(p.locator("#lw-arena-message")).to_contain_text("Which one is better")
    for side in ("a", "b"):
        name = p.locator(f"#lw-arena-name-{side}")
        expect(name).to_have_text(f"Model {side.upper()}")
        assert len(p.locator(f"#lw-arena-text-{side}").inner_text().split()) > 20
    for label in (A_LABEL, B_LABEL):
        expect(p.locator(".lw-arena-sides")).not_to_contain_text(label)
    shown_a = p.locator("#lw-arena-text-a").inner_text()

    vote_a.click()
    expect(p.locator("#lw-arena-message")).to_contain_text("Vote recorded", timeout=30_000)
    expect(p.locator("#lw-arena-name-a")).to_contain_text("smollm2-135m · single ·")  # revealed
    expect(vote_a).to_be_disabled()  # one vote per battle

    # The vote is stored as an arena pair whose chosen text is side A's document.
    stored = pairs(studio.store, Filters(sources=["arena"]))
    assert len(stored) == 1
    pair = stored[0]
    battle = get_battle(studio.store, pair.battle_id or "")
    assert battle.status == "done" and pair.vote == "a" and pair.verdict == "preferred"
    assert {battle.config_a["label"], battle.config_b["label"]} == {A_LABEL, B_LABEL}
    assert pair.chosen == studio.store.document_text(battle.document_a_id or "")
    assert pair.rejected == studio.store.document_text(battle.document_b_id or "")
    assert pair.chosen_config["label"] in p.locator("#lw-arena-name-a").inner_text()
    assert " ".join(pair.chosen.split()[:5]) in " ".join(shown_a.split())
    assert [(o.a, o.b, o.winner) for o in arena_outcomes(studio.store)] == [
        (battle.config_a["label"], battle.config_b["label"], "a")
    ]

    # ... and `longwriter export dpo` yields that pair in TRL's conversational format.
    out = tmp_path / "pairs.jsonl"
    env = {"LONGWRITER_DATABASE_URL": studio.settings.db_url}
    result = CliRunner().invoke(export_app, ["dpo", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == [
        {
            "prompt": [{"role": "user", "content": pair.prompt}],
            "chosen": [{"role": "assistant", "content": pair.chosen}],
            "rejected": [{"role": "assistant", "content": pair.rejected}],
        }
    ]

    # The Data tab shows the count and both configurations on the leaderboard.
    p.get_by_role("tab", name="Data").click()
    board = p.locator("#lw-data-board")
    expect(board).to_contain_text(A_LABEL, timeout=30_000)
    expect(board).to_contain_text(B_LABEL)
    expect(p.locator("#lw-data-preview")).to_contain_text("arena")
