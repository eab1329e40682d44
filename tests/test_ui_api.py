"""The studio's Gradio app through its API (gradio_client), the way scripts and other tools use it.

The main flow uses the real embedded 135M model: create, draft a plan, edit it (and see invalid
edits refused with a clear message), write, stop mid-section (the model really stops), continue
to the end, revise a section, export. Cheaper tests use a scripted backend for what needs no
model: failures mid-stream, two documents at once and the queue, login and per-user isolation.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError, AuthenticationError
from scripted import ScriptedBackend
from web import App

from longwriter.backends.worker import inference_worker
from longwriter.catalog import resolve
from longwriter.documents import document_record, to_markdown
from longwriter.settings import Settings
from longwriter.studio import Studio
from ui.app import auth_pairs
from ui.common import current_user, throttled

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def model_app(settings: Settings, local_backend: Any) -> Iterator[App]:
    studio = Studio(settings)
    studio.use_backend(local_backend)
    app = App(studio)
    yield app
    app.close()


def scripted_app(settings: Settings, backend: ScriptedBackend, **kwargs: Any) -> App:
    studio = Studio(settings)
    studio.use_backend(backend)  # type: ignore[arg-type]
    return App(studio, **kwargs)


def wait_for(predicate: Any, timeout: float, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


# -- the whole flow with the real model ----------------------------------------------------------


@pytest.mark.model
@pytest.mark.timeout(900)
def test_api_flow_with_real_model(model_app: App, tmp_path: Path) -> None:
    client = model_app.client()
    store = model_app.studio.store

    doc = client.predict(
        "Write a short, friendly guide to brewing green tea at home.", 200, api_name="/create_document"
    )
    doc_id = doc["id"]
    assert doc["status"] == "planning" and doc["target_words"] == 200

    # Draft the plan: the outline streams, the plan arrives, and it is stored.
    job = client.submit(doc_id, api_name="/draft_plan")
    planned = job.result(timeout=240)
    assert planned["status"] == "planned", planned
    assert 1 <= len(planned["plan"]) <= 5
    assert any(update["outline"] for update in job.outputs()), "the outline should stream"

    # Edit a row; invalid edits come back as clear messages, never a traceback.
    # (Two short rows keep the test's generation small, whatever the model planned.)
    rows = [[s["main_point"], s["words"]] for s in planned["plan"]][:2]
    rows[0] = ["How to choose green tea and the water for it", 120]
    rows[1:] = [[rows[1][0] if len(rows) > 1 else "Brewing, serving and storing", 60]]
    edited = client.predict(doc_id, rows, api_name="/set_plan")
    assert edited["plan"][0]["main_point"].startswith("How to choose green tea") and edited["total_words"] == 180
    assert store.get_document(doc_id).plan[0]["words"] == 120
    for bad, message in (
        ([["", 100]], "no main point"),
        ([["Point", "lots"]], "not a whole number"),
        ([["Point", -5]], "must be positive"),
        ([], "at least one section"),
        ([["Point", 100]] * 300, "at most"),
    ):
        with pytest.raises(AppError, match=message):
            client.predict(doc_id, bad, api_name="/set_plan")
    balanced = client.predict([["A", 100], ["B", 300]], 800, api_name="/rebalance_plan")
    assert [s["words"] for s in balanced] == [200, 600]

    # Write, and stop in the middle of the first section: the run ends as "stopped" and the model stops.
    job = client.submit(doc_id, api_name="/write")
    wait_for(lambda: any(o.get("current_section_words", 0) >= 15 for o in job.outputs()), timeout=240)
    assert client.predict(doc_id, api_name="/stop") is True
    stopped = job.result(timeout=60)
    assert stopped["status"] == "stopped", stopped
    record = document_record(store, doc_id)
    partial = record["sections"][0]["text"]
    assert record["status"] == "stopped" and count_words_loose(partial) >= 10
    started = time.monotonic()
    inference_worker().call(lambda: None)  # queued behind any generation still running
    assert time.monotonic() - started < 10, "the model kept generating after Stop"

    # Continue to the end: the stopped section is picked up, not rewritten.
    final = client.submit(doc_id, api_name="/write").result(timeout=420)
    assert final["status"] == "done", final
    record = client.predict(doc_id, api_name="/document")
    assert record["status"] == "done" and all(s["status"] == "done" for s in record["sections"])
    assert record["sections"][0]["text"].startswith(partial.strip()[:40])
    assert record["words"] > 100 and record["length_score"] > 0

    # Revise: continue a finished section a little, then replace its text by hand.
    last = len(record["sections"]) - 1
    before = record["sections"][last]["words"]
    revised = client.submit(doc_id, last, 40, api_name="/continue_section").result(timeout=240)
    assert revised["status"] in ("done", "stopped")
    after = client.predict(doc_id, api_name="/document")["sections"][last]
    assert after["status"] == "done" and after["words"] > before
    edited_doc = client.predict(doc_id, last, "My own closing paragraph.", api_name="/edit_section")
    assert edited_doc["sections"][last]["text"] == "My own closing paragraph."

    # Export Markdown (and the other formats) as files.
    path = client.predict(doc_id, "markdown", api_name="/export")
    assert Path(path).read_text(encoding="utf-8") == to_markdown(document_record(store, doc_id))
    assert Path(client.predict(doc_id, "html", api_name="/export")).read_text().startswith("<!DOCTYPE html>")
    assert Path(client.predict(doc_id, "docx", api_name="/export")).read_bytes()[:2] == b"PK"

    # The library: listing, search, duplicate, delete.
    listed = client.predict("", api_name="/list_documents")
    assert [d["id"] for d in listed] == [doc_id] and listed[0]["status"] == "done"
    assert client.predict("green tea", api_name="/list_documents")[0]["id"] == doc_id
    assert client.predict("no such words anywhere", api_name="/list_documents") == []
    copy = client.predict(doc_id, api_name="/duplicate_document")
    assert copy["id"] != doc_id and copy["plan"]["sections"] and copy["words"] == 0
    assert client.predict(copy["id"], api_name="/delete_document") is True
    assert client.predict(copy["id"], api_name="/delete_document") is False


def count_words_loose(text: str) -> int:
    return len(text.split())


# -- failures, concurrency, login: no model needed --------------------------------------------------


def test_backend_failure_keeps_text_and_retry_finishes(settings: Settings) -> None:
    failing = ScriptedBackend(settings.models_dir, fail_after=10)
    app = scripted_app(settings, failing)
    try:
        client = app.client()
        doc = client.predict("Write about tea.", 300, "agentwrite", "", None, api_name="/create_document")
        client.predict(doc["id"], [["Where tea grows", 150], ["How it is made", 150]], api_name="/set_plan")
        failed = client.submit(doc["id"], api_name="/write").result(timeout=60)
        assert failed["status"] == "failed"
        assert "went away" in failed["message"] and "went away" in failed["error"]
        record = client.predict(doc["id"], api_name="/document")
        assert record["sections"][0]["words"] >= 40, "partial text is kept"

        app.studio.use_backend(ScriptedBackend(settings.models_dir))  # the server is back
        done = client.submit(doc["id"], api_name="/write").result(timeout=60)
        assert done["status"] == "done"
        record = client.predict(doc["id"], api_name="/document")
        assert all(s["status"] == "done" for s in record["sections"])

        regenerated = client.submit(doc["id"], 1, api_name="/regenerate_section").result(timeout=60)
        assert regenerated["status"] == "done"
        assert [g.kind for g in app.studio.store.generations(doc["id"])][-1] == "regenerate"
        with pytest.raises(AppError, match="There is no section 8: choose one of sections 1–2"):
            client.submit(doc["id"], 7, api_name="/regenerate_section").result(timeout=30)
    finally:
        app.close()


def test_a_model_that_cannot_start_is_a_message(settings: Settings) -> None:
    studio = Studio(settings)
    app = App(studio)
    try:
        client = app.client()
        doc = client.predict(
            "Write about tea.", 300, "agentwrite", "/no/such/model/folder", None, api_name="/create_document"
        )
        result = client.submit(doc["id"], api_name="/write").result(timeout=60)
        assert result["status"] == "failed" and "could not be started" in result["message"]
    finally:
        app.close()


def test_two_documents_at_once_and_the_queue(settings: Settings) -> None:
    backend = ScriptedBackend(settings.models_dir, delay=0.03)
    app = scripted_app(settings, backend, concurrency=2)
    try:
        client = app.client()
        ids = []
        for topic in ("green tea", "black tea", "oolong"):
            doc = client.predict(f"Write about {topic}.", 200, api_name="/create_document")
            client.predict(doc["id"], [[f"All about {topic}", 200]], api_name="/set_plan")
            ids.append(doc["id"])
        jobs = [client.submit(i, api_name="/write") for i in ids]
        queued = wait_for(lambda: any(j.status().code.name == "IN_QUEUE" for j in jobs), timeout=20, interval=0.05)
        assert queued, "the third run waits in the queue"
        results = [j.result(timeout=120) for j in jobs]
        assert [r["status"] for r in results] == ["done"] * 3
        assert backend.max_active == 2, "two runs stream at once, the third waits"
    finally:
        app.close()


def test_login_isolates_users_in_the_api(settings: Settings) -> None:
    app = scripted_app(settings, ScriptedBackend(settings.models_dir), auth=[("alice", "wonder"), ("bob", "builder")])
    try:
        alice, bob = app.client(("alice", "wonder")), app.client(("bob", "builder"))
        doc = alice.predict("Alice's secret essay about tea.", 300, api_name="/create_document")
        assert [d["id"] for d in alice.predict("", api_name="/list_documents")] == [doc["id"]]
        assert bob.predict("", api_name="/list_documents") == []
        assert bob.predict("secret", api_name="/list_documents") == []
        with pytest.raises(AppError, match="no document"):
            bob.predict(doc["id"], api_name="/document")
        with pytest.raises(AppError, match="no document"):
            bob.submit(doc["id"], api_name="/write").result(timeout=30)
        with pytest.raises(AppError, match="no document"):
            bob.predict(doc["id"], "markdown", api_name="/export")
        with pytest.raises(AppError, match="no document"):
            bob.predict(doc["id"], api_name="/stop")
        assert bob.predict(doc["id"], api_name="/delete_document") is False
        assert app.studio.store.get_document(doc["id"]).user == "alice"
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(app.url, verbose=False).predict("", api_name="/list_documents")
    finally:
        app.close()


# -- the studio's rules hold for the API as they do for the page -----------------------------------


def written(client: Client, rows: list[list[Any]] | None = None) -> str:
    """A document written to the end through the API; returns its id."""
    doc = client.predict("Write about tea.", 300, api_name="/create_document")
    client.predict(doc["id"], rows or [["Where tea grows", 150], ["How it is made", 150]], api_name="/set_plan")
    assert client.submit(doc["id"], api_name="/write").result(timeout=60)["status"] == "done"
    return doc["id"]


def test_redrafting_the_plan_of_a_written_document_is_refused_and_keeps_the_text(settings: Settings) -> None:
    app = scripted_app(settings, ScriptedBackend(settings.models_dir))
    try:
        client = app.client()
        doc_id = written(client)
        before = client.predict(doc_id, api_name="/document")
        with pytest.raises(AppError, match="already has text"):
            client.submit(doc_id, api_name="/draft_plan").result(timeout=30)
        after = client.predict(doc_id, api_name="/document")
        assert [s["text"] for s in after["sections"]] == [s["text"] for s in before["sections"]]
        assert after["plan"] == before["plan"] and after["status"] == "done"
    finally:
        app.close()


def test_regenerating_an_unfinished_section_is_refused(settings: Settings) -> None:
    app = scripted_app(settings, ScriptedBackend(settings.models_dir, fail_after=10))
    try:
        client = app.client()
        doc = client.predict("Write about tea.", 300, api_name="/create_document")
        client.predict(doc["id"], [["Where tea grows", 150], ["How it is made", 150]], api_name="/set_plan")
        assert client.submit(doc["id"], api_name="/write").result(timeout=60)["status"] == "failed"
        partial = client.predict(doc["id"], api_name="/document")["sections"][0]["text"]
        assert partial.strip()
        for index in (0, 1):
            with pytest.raises(AppError, match="not finished"):
                client.submit(doc["id"], index, api_name="/regenerate_section").result(timeout=30)
        assert client.predict(doc["id"], api_name="/document")["sections"][0]["text"] == partial
        assert [g.kind for g in app.studio.store.generations(doc["id"])] == []
    finally:
        app.close()


def test_an_api_edit_is_kept_as_a_preference_pair(settings: Settings) -> None:
    from longwriter import preferences

    app = scripted_app(settings, ScriptedBackend(settings.models_dir))
    try:
        client = app.client()
        doc_id = written(client)
        mine = "My own opening: where tea grows, told the way I would tell it to a friend over a cup."
        client.predict(doc_id, 0, mine, api_name="/edit_section")
        edits = preferences.pairs(app.studio.store, preferences.Filters(sources=("edit",)))
        assert [(p.chosen, p.section_index) for p in edits] == [(mine, 0)]
    finally:
        app.close()


# -- small pieces ----------------------------------------------------------------------------------


def test_auth_pairs_from_env_and_file(settings: Settings, tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("# writers\ncarol:c4rol:with-colon\n\ndave:d\n", encoding="utf-8")
    configured = settings.model_copy(update={"auth": "alice:a, bob:b", "auth_file": users})
    assert auth_pairs(configured) == [("alice", "a"), ("bob", "b"), ("carol", "c4rol:with-colon"), ("dave", "d")]
    assert auth_pairs(settings) == []
    with pytest.raises(SystemExit, match="user:password"):
        auth_pairs(settings.model_copy(update={"auth": "nopassword"}))


def test_current_user_without_and_with_login() -> None:
    class Req:
        username = "alice"

    assert current_user(None) is None
    assert current_user(Req()) == "alice"  # type: ignore[arg-type]


def test_throttled_batches_and_flushes_when_quiet() -> None:
    async def events():
        for i in range(50):
            yield i
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.5)  # quiet: pending events must not wait for the next one
        yield "late"

    async def run() -> list[tuple[float, list[Any]]]:
        out, start = [], time.monotonic()
        async for batch in throttled(events(), interval=0.1, urgent=lambda e: e == 25):
            out.append((time.monotonic() - start, batch))
        return out

    batches = asyncio.run(run())
    flat = [e for _, b in batches for e in b]
    assert flat == [*range(50), "late"]
    assert len(batches) < 15, "a few batches, not one per event"
    assert any(b[-1] == 25 for _, b in batches), "an urgent event releases its batch at once"
    assert batches[-1][1] == ["late"]
    assert batches[-2][0] < batches[-1][0] - 0.3, "the tail is flushed before the stream speaks again"


def test_closing_throttled_closes_the_source() -> None:
    closed = threading.Event()

    async def events():
        try:
            while True:
                yield 1
                await asyncio.sleep(0.01)
        finally:
            closed.set()

    async def run() -> None:
        gen = throttled(events(), interval=0.05)
        await anext(gen)
        await gen.aclose()

    asyncio.run(run())
    assert closed.is_set()


def test_api_lists_exactly_the_documented_endpoints(settings: Settings) -> None:
    app = scripted_app(settings, ScriptedBackend(settings.models_dir))
    try:
        names = set(app.client().view_api(print_info=False, return_format="dict")["named_endpoints"])
        assert names == {
            "/models",
            "/create_document",
            "/draft_plan",
            "/set_plan",
            "/rebalance_plan",
            "/write",
            "/regenerate_section",
            "/continue_section",
            "/edit_section",
            "/stop",
            "/document",
            "/list_documents",
            "/delete_document",
            "/duplicate_document",
            "/export",
        }
    finally:
        app.close()


def test_cli_binds_locally_and_reads_the_environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import gradio as gr
    import typer
    from typer.testing import CliRunner

    from ui.app import cli

    launched: list[dict[str, Any]] = []
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kwargs: launched.append(kwargs))
    command = typer.Typer()
    command.command("app")(cli)
    command.command("other")(lambda: None)  # a group, as in `longwriter app`

    assert CliRunner().invoke(command, ["app"]).exit_code == 0
    assert launched[-1]["server_name"] == "127.0.0.1" and launched[-1]["share"] is False
    assert launched[-1]["auth"] is None and launched[-1]["run_history"] is False
    assert launched[-1]["css_paths"] and launched[-1]["theme"] is not None

    monkeypatch.setenv("LONGWRITER_HOST", "0.0.0.0")
    monkeypatch.setenv("LONGWRITER_PORT", "7999")
    monkeypatch.setenv("LONGWRITER_AUTH", "alice:wonder")
    assert CliRunner().invoke(command, ["app"]).exit_code == 0
    assert (launched[-1]["server_name"], launched[-1]["server_port"]) == ("0.0.0.0", 7999)
    assert launched[-1]["auth"] == [("alice", "wonder")]

    assert CliRunner().invoke(command, ["app", "--host", "127.0.0.2", "--port", "8001", "--share"]).exit_code == 0
    assert (launched[-1]["server_name"], launched[-1]["server_port"], launched[-1]["share"]) == (
        "127.0.0.2",
        8001,
        True,
    )


def test_sampling_presets_saved_and_per_model_defaults() -> None:
    from ui import presets

    spec = resolve("smollm2-135m", Path("/nonexistent"))
    assert presets.values_for(presets.MODEL_DEFAULT, spec, None)["temperature"] == spec.temperature
    assert presets.values_for("Creative", spec, None)["temperature"] == 0.9
    store = presets.save_preset(
        None,
        "  My  tone ",
        {"temperature": 0.42, "top_p": 0.9, "top_k": 7, "repetition_penalty": 1.2},
        model_id=spec.id,
    )
    assert "My tone" in presets.preset_names(store)
    assert presets.default_preset(spec.id, store) == "My tone"
    assert presets.values_for("My tone", spec, store)["top_k"] == 7
    assert presets.default_preset("another-model", store) == presets.MODEL_DEFAULT
    with pytest.raises(ValueError, match="built-in"):
        presets.save_preset(store, "Creative", {})
    store = presets.delete_preset(store, "My tone")
    assert presets.default_preset(spec.id, store) == presets.MODEL_DEFAULT
    assert presets.preset_names({"presets": "garbage"}) == presets.preset_names(None)
