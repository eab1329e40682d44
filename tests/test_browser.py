"""Browser tests: Debian's Chromium driven by Playwright against the real app.

The main test is what a writer does, with the real embedded 135M model: draft a plan, edit a row
(and see an invalid edit explained inline), write, stop mid-section, reload the page, continue to
the end, export Markdown; it also takes the Write tab's screenshot. Cheaper tests use a scripted
backend for the Library, sanitising, two tabs at once and login.

Chromium comes from Debian (``apt-get install chromium``; ``scripts/install.sh dev`` does it), never
from ``playwright install``. Without it these tests skip locally, and fail under CI=true.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scripted import ScriptedBackend
from web import App

from longwriter.backends.worker import inference_worker
from longwriter.documents import document_record, to_markdown
from longwriter.plan import Plan, Section
from longwriter.settings import Settings
from longwriter.studio import Studio

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def doc_id_of(page: Any) -> str:
    match = re.search(r"[?&]doc=([0-9a-f]+)", page.url)
    assert match, f"no ?doc= in {page.url}"
    return match.group(1)


def edit_cell(page: Any, row: int, col: int, text: str, attempts: int = 3) -> None:
    """Type ``text`` into a plan cell the way a person does, again if a re-render swallowed the edit.

    Saving an edit re-renders the table; a double-click that lands during that re-render edits
    nothing, so the cell's shown value is checked and the edit repeated, as a user would.
    """
    cell = page.locator(f'#lw-plan-table [data-testid="cell-{row}-{col}"]')
    for _ in range(attempts):
        page.wait_for_timeout(400)  # let the previous save's re-render settle
        cell.dblclick()
        page.keyboard.press("Control+A")
        page.keyboard.type(text)
        page.keyboard.press("Enter")
        try:
            wait_until(lambda: text in cell.inner_text(), 5)
            return
        except AssertionError:
            continue
    raise AssertionError(f"plan cell ({row}, {col}) never showed {text!r}")


def click_row(page: Any, text: str) -> None:
    page.locator("#lw-library-table [role=gridcell]").filter(has_text=text).first.click()


def wait_until(predicate: Any, timeout: float, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


# -- the writer's flow with the real model ---------------------------------------------------------


@pytest.fixture
def model_app(settings: Settings, local_backend: Any) -> Iterator[App]:
    studio = Studio(settings)
    studio.use_backend(local_backend)
    app = App(studio)
    yield app
    app.close()


@pytest.mark.model
@pytest.mark.timeout(900)
def test_plan_edit_write_stop_reload_continue_export(model_app: App, page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    store = model_app.studio.store
    page.goto(model_app.url)
    page.fill("#lw-instruction textarea", "Write a short, friendly guide to brewing green tea at home.")
    page.fill("#lw-target input", "200")
    page.click("#lw-draft")

    # The plan streams, then becomes an editable table with a running total.
    expect(page.locator("#lw-regen-plan")).to_be_visible(timeout=240_000)
    doc_id = doc_id_of(page)
    expect(page.locator("#lw-plan-total")).to_contain_text("of 200 words")
    edit_cell(page, 0, 0, "How to choose green tea and the water for it")
    wait_until(lambda: store.get_document(doc_id).plan[0]["main_point"].startswith("How to choose green tea"), 20)
    edit_cell(page, 0, 1, "lots")
    expect(page.locator("#lw-plan-total")).to_contain_text("not a whole number")
    edit_cell(page, 0, 1, "120")
    expect(page.locator("#lw-plan-total")).not_to_contain_text("⚠")
    # Keep two rows (the model may plan more): delete from the end, then balance to the target.
    while page.locator('#lw-plan-table [data-testid="cell-2-0"]').count():
        page.fill("#lw-row input", "3")
        page.click("#lw-del-row")
        page.wait_for_timeout(300)
    if not page.locator('#lw-plan-table [data-testid="cell-1-0"]').count():
        page.click("#lw-add-row")
        edit_cell(page, 1, 0, "Brewing, serving and storing")
    page.click("#lw-rebalance")
    expect(page.locator("#lw-plan-total")).to_contain_text("2 sections")
    expect(page.locator("#lw-plan-total")).to_contain_text("on target")
    wait_until(lambda: len(store.get_document(doc_id).plan) == 2, 20)

    # Write, and stop in the middle of the first section.
    page.click("#lw-write-btn")
    expect(page.locator("#lw-stop")).to_be_visible()
    first = page.locator("#lw-section-0 .lw-section-body")
    wait_until(lambda: len(first.inner_text().split()) >= 15 if first.count() else False, 240)
    page.click("#lw-stop")
    expect(page.locator("#lw-message")).to_contain_text("Stopped", timeout=60_000)
    expect(page.locator("#lw-stop")).to_be_hidden()
    started = time.monotonic()
    inference_worker().call(lambda: None)  # waits behind any generation still running
    assert time.monotonic() - started < 10, "the model kept generating after Stop"
    record = document_record(store, doc_id)
    assert record["status"] == "stopped"
    partial = record["sections"][0]["text"]
    assert len(partial.split()) >= 10

    # Reload: the stored sections come back and the page offers Continue.
    page.reload()
    expect(page.locator("#lw-write-btn")).to_have_text("Continue")
    expect(page.locator("#lw-meter")).to_contain_text("stopped")
    expect(page.locator("#lw-section-0")).to_contain_text(f"{record['sections'][0]['words']:,} / ")
    shown = page.locator("#lw-section-0 .lw-section-body").inner_text()
    words = re.findall(r"[A-Za-z]{4,}", partial)
    assert sum(w in shown for w in words) >= 0.9 * len(words), "the stored text is on the page"
    assert page.locator("#lw-instruction textarea").input_value().startswith("Write a short, friendly guide")

    # Continue to the end.
    page.click("#lw-write-btn")
    expect(page.locator("#lw-stop")).to_be_visible()
    expect(page.locator("#lw-meter")).to_contain_text("done", timeout=420_000)
    expect(page.locator("#lw-download-markdown")).to_be_visible()
    record = document_record(store, doc_id)
    assert record["status"] == "done"
    assert record["sections"][0]["text"].startswith(partial.strip()[:40]), "continued, not rewritten"
    n = len(record["sections"])
    for i in range(n):
        expect(page.locator(f"#lw-section-{i}")).to_contain_text(f"{record['sections'][i]['words']:,} / ")
    expect(page.locator("#lw-meter")).to_contain_text(f"{n} of {n}")

    # The screenshot of the Write tab for the README.
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.locator("#lw-plan").get_by_text("Plan", exact=True).click()  # show the plan with the text
    page.set_viewport_size({"width": 1360, "height": 1320})
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts / "screenshot-write.png"), full_page=False)
    page.set_viewport_size({"width": 1360, "height": 1000})
    if os.environ.get("UPDATE_SCREENSHOT"):
        shutil.copy(artifacts / "screenshot-write.png", ROOT / "assets" / "screenshot-write.png")

    # Export Markdown: the file is the document.
    with page.expect_download() as download:
        page.click("#lw-download-markdown")
    saved = tmp_path / "export.md"
    download.value.save_as(saved)
    assert saved.read_text(encoding="utf-8") == to_markdown(document_record(store, doc_id))


# -- without the model ------------------------------------------------------------------------------


def scripted_app(settings: Settings, **kwargs: Any) -> App:
    studio = Studio(settings)
    backend = ScriptedBackend(settings.models_dir, delay=kwargs.pop("delay", 0.02))
    studio.use_backend(backend)  # type: ignore[arg-type]
    app = App(studio, **kwargs)
    app.backend = backend  # type: ignore[attr-defined]
    return app


def seed(studio: Studio, instruction: str, texts: list[str], user: str | None = None, status: str = "done") -> str:
    plan = Plan(sections=[Section(main_point=f"Point {i + 1}", words=120) for i in range(len(texts))])
    doc = studio.create(instruction, 120 * len(texts), plan=plan, user=user)
    for i, text in enumerate(texts):
        studio.store.save_section(doc.id, i, text=text, status="done")
    studio.store.set_status(doc.id, status)  # type: ignore[arg-type]
    return doc.id


MALICIOUS = (
    "## Heading kept\n\nSafe **bold** text.<script>window.__xss = 1</script>"
    '<img src=x onerror="window.__xss = 2"> <a href="javascript:window.__xss=3">link</a>'
    '<div onmouseover="window.__xss = 4">hover me</div>\n\nTemplates stay text: ${window.__xss = 7} {{constructor}}'
)


def test_model_html_is_sanitised_on_the_page_and_in_edits(settings: Settings, page: Any) -> None:
    from playwright.sync_api import expect

    app = scripted_app(settings)
    try:
        doc_id = seed(app.studio, "Write about tea.", [MALICIOUS, "Second section."])
        page.goto(f"{app.url}?doc={doc_id}")
        body = page.locator("#lw-section-0 .lw-section-body")
        expect(body).to_contain_text("Safe bold text.")
        expect(body.locator("h2")).to_have_text("Heading kept")
        assert body.locator("script, img, [onerror], [onmouseover]").count() == 0
        assert body.locator("a").get_attribute("href") is None
        expect(body).to_contain_text("${window.__xss = 7} {{constructor}}")
        body.locator("a").click()
        page.locator("#lw-section-0").hover()
        assert page.evaluate("window.__xss") is None

        # A plan cell's content is shown in messages as text, never as HTML.
        page.locator("#lw-plan").get_by_text("Plan", exact=True).click()  # folded once a document has text
        edit_cell(page, 0, 1, '<img src=x onerror="window.__xss = 8">')
        expect(page.locator("#lw-plan-total")).to_contain_text("not a whole number")
        assert page.locator("#lw-plan-total img").count() == 0
        assert page.evaluate("window.__xss") is None

        # Edit section: the user's text goes through the same sanitiser.
        page.locator("#lw-section-pick input").click()
        page.get_by_role("option", name=re.compile(r"^1\.")).click()
        page.click("#lw-edit-section")
        page.fill(
            "#lw-editor textarea",
            'Edited *by hand*. <script>window.__xss = 5</script><b onclick="window.__xss = 6">bold</b>',
        )
        page.click("#lw-save-edit")
        expect(body).to_contain_text("Edited by hand.")
        assert body.locator("script, [onclick]").count() == 0
        assert page.evaluate("window.__xss") is None
        assert app.studio.store.sections(doc_id)[0].text.startswith("Edited *by hand*.")

        # Regenerate section 2: it streams again; section 1 stays as edited.
        page.locator("#lw-section-pick input").click()
        page.get_by_role("option", name=re.compile(r"^2\.")).click()
        page.click("#lw-regen-section")
        expect(page.locator("#lw-section-1")).not_to_contain_text("Second section.", timeout=30_000)
        expect(page.locator("#lw-meter")).to_contain_text("done", timeout=30_000)
        sections = app.studio.store.sections(doc_id)
        assert sections[0].text.startswith("Edited *by hand*.") and sections[1].words > 20
        assert [g.kind for g in app.studio.store.generations(doc_id)] == ["regenerate"]
    finally:
        app.close()


def test_library_search_open_duplicate_delete(settings: Settings, page: Any) -> None:
    from playwright.sync_api import expect

    app = scripted_app(settings)
    try:
        tea = seed(app.studio, "An essay about green tea.", ["Green tea is steamed or pan-fired."])
        seed(app.studio, "A story about a lighthouse.", ["The keeper climbed the stairs."], status="stopped")
        page.goto(app.url)
        page.click("#lw-library-tab-button")
        table = page.locator("#lw-library-table")
        expect(table).to_contain_text("An essay about green tea.")
        expect(table).to_contain_text("A story about a lighthouse.")
        expect(table).to_contain_text("stopped")

        page.fill("#lw-search textarea", "pan-fired")  # full text: words inside the sections
        page.keyboard.press("Enter")
        expect(table).not_to_contain_text("lighthouse")
        expect(table).to_contain_text("green tea")

        click_row(page, "An essay about green tea.")
        expect(page.locator("#lw-library-details")).to_contain_text("done")
        expect(page.locator("#lw-library-download-markdown")).to_be_visible()
        page.click("#lw-open")
        expect(page.locator("#lw-section-0")).to_contain_text("Green tea is steamed")
        assert doc_id_of(page) == tea

        # Delete asks first.
        page.click("#lw-library-tab-button")
        page.fill("#lw-search textarea", "")
        page.keyboard.press("Enter")
        click_row(page, "A story about a lighthouse.")
        page.click("#lw-delete")
        expect(page.locator("#lw-delete-yes")).to_be_visible()
        assert len(app.studio.store.list_documents()) == 2
        page.click("#lw-delete-yes")
        expect(table).not_to_contain_text("lighthouse")
        assert len(app.studio.store.list_documents()) == 1

        # Duplicate with a new plan: a copy opens in the Write tab and its plan is drafted afresh.
        click_row(page, "An essay about green tea.")
        page.click("#lw-duplicate")
        page.wait_for_url(lambda url: "doc=" in url and tea not in url)
        copy = doc_id_of(page)
        assert app.studio.store.get_document(copy).parent_id == tea
        expect(page.locator("#lw-regen-plan")).to_be_visible(timeout=60_000)
        assert app.studio.store.get_document(copy).status == "planned"
        assert app.studio.store.generations(copy), "a new plan was drafted"
    finally:
        app.close()


def test_two_tabs_write_at_once_and_a_third_sees_its_queue_position(settings: Settings, browser: Any) -> None:
    from playwright.sync_api import expect

    app = scripted_app(settings, delay=0.1, concurrency=2)
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    try:
        pages = [context.new_page() for _ in range(3)]
        for page, topic in zip(pages, ("green tea", "black tea", "white tea")):
            page.goto(app.url)
            page.fill("#lw-instruction textarea", f"Write about {topic}.")
            page.fill("#lw-target input", "200")
            page.locator("#lw-mode").get_by_text("Single pass").click()
        for page in pages[:2]:
            page.click("#lw-write-btn")
            expect(page.locator("#lw-stop")).to_be_visible()
        pages[2].click("#lw-write-btn")
        expect(pages[2].locator("#lw-meter")).to_contain_text(re.compile(r"queue:?\s*\d"), timeout=20_000)
        for page in pages:
            expect(page.locator("#lw-meter")).to_contain_text("done", timeout=120_000)
        assert app.backend.max_active == 2  # type: ignore[attr-defined]
        ids = {doc_id_of(p) for p in pages}
        assert len(ids) == 3
        assert all(app.studio.store.get_document(i).status == "done" for i in ids)
    finally:
        context.close()
        app.close()


def test_login_shows_each_user_only_their_documents(settings: Settings, browser: Any) -> None:
    from playwright.sync_api import expect

    app = scripted_app(settings, auth=[("alice", "wonder"), ("bob", "builder")])
    try:
        seed(app.studio, "Alice's essay on tea.", ["Alice wrote this."], user="alice")
        bobs = seed(app.studio, "Bob's report on bridges.", ["Bob wrote this."], user="bob")
        context = browser.new_context(viewport={"width": 1360, "height": 1000})
        page = context.new_page()
        page.goto(app.url)
        page.fill("input[type=text], input[name=username]", "alice")
        page.fill("input[type=password]", "wonder")
        page.keyboard.press("Enter")
        page.click("#lw-library-tab-button")
        table = page.locator("#lw-library-table")
        expect(table).to_contain_text("Alice's essay on tea.")
        expect(table).not_to_contain_text("Bob's report")
        page.goto(f"{app.url}?doc={bobs}")  # someone else's document by its URL
        expect(page.locator("#lw-message")).to_contain_text("There is no document")
        expect(page.locator("#lw-section-0")).to_be_hidden()
        context.close()
    finally:
        app.close()
