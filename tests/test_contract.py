"""The contract: every action on a document gets the same answer from every entry point.

One table of document states (planned, writing, stopped, done, another user's) × actions × entry
points (the Write and Library tabs' handlers, the HTTP API, the ``longwriter`` command where it has
the action). Each cell acts on a fresh document in that state through the real app served over HTTP
with logins, a real database, and the real CLI command in-process; the answer is compared with the
studio's own words (:mod:`longwriter.rules`), so a rule that one entry point forgets fails here.

The CLI has no login (it is the local owner's tool, and sees every document) and cannot see a run of
another process, so it has no cell for "another user's" or "writing".
"""

from __future__ import annotations

import asyncio
import html
import random
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from scripted import VOCABULARY, ScriptedBackend
from typer.testing import CliRunner
from web import App

from longwriter import cli, rules
from longwriter.backends.base import GenerationRequest
from longwriter.catalog import resolve
from longwriter.plan import Plan, Section
from longwriter.settings import Settings
from longwriter.studio import Studio
from ui.library import LibraryTab
from ui.write import WriteTab
from ui.write.plan_table import plan_rows

pytestmark = pytest.mark.timeout(300)

ALICE, BOB = ("alice", "wonder"), ("bob", "builder")
OK, MISSING = "ok", "missing"
NOT_FINISHED = "Section 2 is not finished, so it cannot be revised yet"
SLOW_MODEL = "longwriter-llama3.1-8b"
"""The "writing" document's model: served by a backend that writes until it is stopped."""

UNFINISHED = dict.fromkeys(("regenerate", "continue", "edit"), NOT_FINISHED)
EVERY_ACTION = ("plan", "write", "resume", "regenerate", "continue", "edit", "delete")
EXPECTED: dict[str, dict[str, str]] = {
    "planned": {"plan": OK, "write": OK, "resume": OK, **UNFINISHED, "delete": OK},
    "writing": dict.fromkeys(EVERY_ACTION, rules.RUNNING),
    "stopped": {"plan": rules.HAS_TEXT, "write": OK, "resume": OK, **UNFINISHED, "delete": OK},
    "done": {
        "plan": rules.HAS_TEXT,
        "write": rules.FINISHED,
        "resume": rules.FINISHED,
        "regenerate": OK,
        "continue": OK,
        "edit": OK,
        "delete": OK,
    },
    "another user's": dict.fromkeys(EVERY_ACTION, MISSING),
}
CLI_ACTIONS = {"write", "resume"}
CLI_STATES = {"planned", "stopped", "done"}

CELLS = [
    pytest.param(state, action, entry, id=f"{state}-{action}-{entry}")
    for state, row in EXPECTED.items()
    for action in row
    for entry in ("page", "api", "cli")
    if entry != "cli" or (action in CLI_ACTIONS and state in CLI_STATES)
]


class EndlessBackend(ScriptedBackend):
    """Writes a word at a time until the run is stopped: keeps a document "writing" for the whole module."""

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        rng = random.Random(0)
        while True:  # a word every half second: the 2,000-word section outlasts the module
            await asyncio.sleep(0.5)
            yield f" {rng.choice(VOCABULARY)}"


class Request:
    """What a page handler reads of a Gradio request: the logged-in user."""

    def __init__(self, username: str) -> None:
        self.username = username


# -- the app, and documents in each state -----------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[App]:
    data = tmp_path_factory.mktemp("contract")
    settings = Settings(_env_file=None, data_dir=data, models_path=models_dir)  # type: ignore[call-arg]
    studio = Studio(settings)
    studio.use_backend(ScriptedBackend(models_dir, delay=0.002))  # type: ignore[arg-type]
    endless = EndlessBackend(models_dir)
    endless.spec = resolve(SLOW_MODEL, models_dir)
    studio.use_backend(endless)  # type: ignore[arg-type]
    served = App(studio, auth=[ALICE, BOB])
    yield served
    served.close()


def handler_owner(app: App, kind: type) -> Any:
    """The tab object of ``kind`` whose handlers the served page runs."""
    for block_fn in app.demo.fns.values():
        owner = getattr(block_fn.fn, "__self__", None)
        for candidate in (owner, getattr(owner, "tab", None)):
            if isinstance(candidate, kind):
                return candidate
    raise AssertionError(f"the app has no {kind.__name__}")


def seed(studio: Studio, state: str) -> str:
    """A fresh two-section document of alice's (bob's for "another user's") in ``state``."""
    plan = Plan(
        sections=[Section(main_point="Where tea grows", words=120), Section(main_point="How it is made", words=120)]
    )
    user = BOB[0] if state == "another user's" else ALICE[0]
    doc = studio.create("Write about tea.", 240, plan=plan, user=user)
    store = studio.store
    if state in ("stopped", "done", "another user's"):
        store.save_section(doc.id, 0, text="Tea grows on misty hills in the south.", status="done")
        second = "done" if state != "stopped" else "stopped"
        store.save_section(doc.id, 1, text="Leaves are withered, rolled and dried.", status=second)
        store.set_status(doc.id, "done" if state != "stopped" else "stopped")
    return doc.id


@pytest.fixture(scope="module")
def alice(app: App) -> Client:
    """Alice's API client (one login for the module)."""
    return app.client(ALICE)


@pytest.fixture(scope="module")
def writing(app: App, alice: Client) -> Iterator[str]:
    """Alice's document while a run writes it (started through the API, stopped at the end)."""
    studio = app.studio
    plan = Plan(sections=[Section(main_point="Everything about tea", words=2000)])
    doc = studio.create("Write about tea.", 2000, model=SLOW_MODEL, plan=plan, user=ALICE[0])
    job = alice.submit(doc.id, api_name="/write")
    deadline = time.monotonic() + 30
    while not studio.is_running(doc.id):
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.05)
    yield doc.id
    alice.predict(doc.id, api_name="/stop")
    job.result(timeout=60)


# -- the entry points, each answering OK, MISSING or the refusal's message ---------------------------


def page_text(update: Any) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", update if isinstance(update, str) else str(update)))


def by_page(app: App, action: str, doc_id: str) -> str:
    tab: WriteTab = handler_owner(app, WriteTab)
    request = Request(ALICE[0])
    form = ("Write about tea.", 240, "agentwrite", "", 0.7, 0.9, 0, 1.0, None)
    shown_plan = plan_rows(app.studio.store.get_document(doc_id).plan)  # the table as the page shows it
    if action == "delete":
        library: LibraryTab = handler_owner(app, LibraryTab)
        note = page_text(library.delete_doc(doc_id, "", request)[3])
        return OK if note == "Deleted." else (MISSING if note == "That document no longer exists." else note)
    calls: dict[str, Callable[[], dict[Any, Any]]] = {
        "plan": lambda: tab.runs.prepare("plan")(*form, doc_id, shown_plan, request),
        "write": lambda: tab.runs.prepare("write")(*form, doc_id, shown_plan, request),
        "resume": lambda: tab.runs.prepare_resume(doc_id, request),
        "regenerate": lambda: tab.revise.prepare_regenerate(doc_id, 1, request),
        "continue": lambda: tab.revise.prepare_continue(doc_id, 1, 50, request),
        "edit": lambda: tab.revise.on_save_edit(doc_id, 1, "My own words about tea.", None, request),
    }
    out = calls[action]()
    message = page_text(out.get(tab.message, ""))
    if out.get(tab.pending) or message == "Section 2 saved.":
        return OK
    return MISSING if message.startswith("There is no document") else message


def by_api(client: Client, action: str, doc_id: str) -> str:
    calls: dict[str, Callable[[], Any]] = {
        "plan": lambda: client.submit(doc_id, api_name="/draft_plan").result(timeout=60),
        "write": lambda: client.submit(doc_id, api_name="/write").result(timeout=60),
        "resume": lambda: client.submit(doc_id, api_name="/write").result(timeout=60),
        "regenerate": lambda: client.submit(doc_id, 1, api_name="/regenerate_section").result(timeout=60),
        "continue": lambda: client.submit(doc_id, 1, 50, api_name="/continue_section").result(timeout=60),
        "edit": lambda: client.predict(doc_id, 1, "My own words about tea.", api_name="/edit_section"),
        "delete": lambda: client.predict(doc_id, api_name="/delete_document"),
    }
    try:
        result = calls[action]()
    except AppError as exc:
        message = str(exc)
        return MISSING if message.startswith("There is no document") else message
    return MISSING if result is False else OK


def by_cli(app: App, action: str, doc_id: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``longwriter resume`` in-process, with its own studio on the app's database and the scripted model."""

    def studio(model: str | None = None, backend: str | None = None) -> Studio:
        own = Studio(app.studio.settings)
        own.use_backend(ScriptedBackend(app.studio.settings.models_dir, delay=0.002))  # type: ignore[arg-type]
        return own

    monkeypatch.setattr(cli, "_studio", studio)
    result = CliRunner().invoke(cli.app, ["resume", doc_id])
    if result.exit_code == 0:
        return OK
    said = " ".join(result.output.split())
    assert said.startswith("Error: "), result.output
    return said.removeprefix("Error: ")


@pytest.mark.parametrize(("state", "action", "entry"), CELLS)
def test_every_entry_point_gives_the_studios_answer(
    app: App, alice: Client, writing: str, state: str, action: str, entry: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc_id = writing if state == "writing" else seed(app.studio, state)
    if entry == "page":
        answer = by_page(app, action, doc_id)
    elif entry == "api":
        answer = by_api(alice, action, doc_id)
    else:
        answer = by_cli(app, action, doc_id, monkeypatch)
    expected = EXPECTED[state][action]
    if expected in (OK, MISSING):
        assert answer == expected
    else:
        assert answer.startswith(expected), f"{entry} answered {answer!r}"
    if expected != OK and state != "writing":
        assert app.studio.store.get_document(doc_id) is not None, "a refused action changed nothing"
