"""Users kept apart on every endpoint, found by enumeration; logins on every route; secrets kept.

The isolation test does not list endpoints: it reads the running app's own description — every
event handler in the page's config (what a browser, or anyone copying its requests, can call) and
every named API endpoint in ``/gradio_api/info`` — and, logged in as Bob, calls each one with
Alice's document, battle, vote, thumb and run ids in every string input and her section indexes
and row ids in every number. Whatever Bob gets back (event messages, and any file they point to)
must not contain Alice's text, and no row of Alice's may change. An endpoint added tomorrow is
probed without anyone adding it here. The same probe run as Alice must find her text, so the probe
is known to reach the data it guards.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import tempfile
import uuid
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from scripted import ScriptedBackend
from sqlmodel import SQLModel, select, text
from web import App

from longwriter.documents import export_filename
from longwriter.settings import Settings
from longwriter.store.models import EvalRun
from longwriter.studio import Studio

pytestmark = pytest.mark.timeout(600)

ALICE, BOB = ("alice", "wonderland"), ("bob", "builder")
MARK = uuid.uuid4().hex[:10]
SECRETS = {
    "document": f"DOCSECRET{MARK}",
    "section": f"SECTIONSECRET{MARK}",
    "edit": f"EDITSECRET{MARK}",
    "battle": f"BATTLESECRET{MARK}",
    "thumb": f"THUMBSECRET{MARK}",
    "run": f"RUNSECRET{MARK}",
}
"""Words that exist only in Alice's rows: seeing one anywhere in Bob's answers is a leak."""


# -- a client that calls any event handler, as the page does ---------------------------------------


@dataclass
class Call:
    """One handler call: what came back over the event stream, and whether the handler succeeded."""

    fn_index: int
    messages: list[dict[str, Any]] = field(default_factory=list)
    raw: str = ""

    @property
    def succeeded(self) -> bool:
        return any(m.get("msg") == "process_completed" and m.get("success") for m in self.messages)


class PageClient:
    """Logs in, reads the app's config and calls event handlers by index through the queue, as the
    browser does (``gradio_client`` refuses the page's private handlers; an attacker need not)."""

    def __init__(self, url: str, login: tuple[str, str] | None) -> None:
        self.http = httpx.Client(base_url=url, timeout=60)
        if login is not None:
            answer = self.http.post("/login", data={"username": login[0], "password": login[1]})
            assert answer.status_code == 200, answer.text
        self.config = self.http.get("/config").json()
        self.components = {c["id"]: c for c in self.config["components"]}
        self.info = self.http.get("/gradio_api/info").json()

    def call(self, fn_index: int, data: list[Any], event_data: Any = None) -> Call:
        session = uuid.uuid4().hex
        call = Call(fn_index)
        joined = self.http.post(
            "/gradio_api/queue/join",
            json={"data": data, "fn_index": fn_index, "session_hash": session, "event_data": event_data},
        )
        call.raw = joined.text
        if joined.status_code != 200:
            return call
        with self.http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as events:
            for line in events.iter_lines():
                if not line.startswith("data:"):
                    continue
                call.raw += line + "\n"
                message = json.loads(line[5:])
                call.messages.append(message)
                if message.get("msg") in ("process_completed", "close_stream", "unexpected_error"):
                    break
        return call

    def files_in(self, call: Call) -> list[bytes]:
        """The content of every file an answer points to (downloaded as its receiver would)."""
        found: list[bytes] = []

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                if value.get("url") and value.get("path"):
                    found.append(self.http.get(value["url"]).content)
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(call.messages)
        return found

    def close(self) -> None:
        self.http.close()


def readable(content: bytes) -> str:
    """A file's text, DOCX (a zip of XML) included."""
    if content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(content)) as docx:
            return " ".join(docx.read(name).decode("utf-8", "replace") for name in docx.namelist())
    return content.decode("utf-8", "replace")


# -- Alice's data ------------------------------------------------------------------------------------


@dataclass
class AlicesData:
    doc_id: str
    battle_id: str
    battle_doc_id: str
    pair_ids: list[int]
    feedback_id: int
    run_id: str

    @property
    def strings(self) -> list[str]:
        return [self.doc_id, self.battle_id, self.run_id]

    @property
    def numbers(self) -> list[int]:
        """Section indexes first; then a row id (pairs and thumbs are numbered rows)."""
        return [0, 1, max(self.pair_ids + [self.feedback_id])]


async def drain(events: AsyncIterator[Any]) -> None:
    async for _ in events:
        pass


def make_alices_data(app: App, settings: Settings) -> AlicesData:
    """A finished document with an edited section, a thumb, a voted battle and an evaluation run."""
    from longwriter.preferences import arena_configs, record_thumb, run_battle, start_battle, vote

    studio = app.studio
    alice = app.client(ALICE)
    doc = alice.predict(f"Write about tea. {SECRETS['document']}", 200, api_name="/create_document")
    alice.predict(
        doc["id"], [[f"Where tea grows {SECRETS['section']}", 100], ["How it is made", 100]], api_name="/set_plan"
    )
    assert alice.submit(doc["id"], api_name="/write").result(timeout=120)["status"] == "done"
    alice.predict(doc["id"], 1, f"{SECRETS['edit']} " + "My own words about tea. " * 20, api_name="/edit_section")
    alice.predict(doc["id"], "docx", api_name="/export")

    feedback = record_thumb(studio.store, doc["id"], True, index=0, reason=SECRETS["thumb"], user=ALICE[0])
    spec = studio.spec()
    configs = [c for c in arena_configs(studio.models()) if c.model == spec.id][:2]
    battle = start_battle(studio, f"A poem about kettles. {SECRETS['battle']}", 100, configs, user=ALICE[0])
    asyncio.run(drain(run_battle(studio, battle.id)))
    pair = vote(studio.store, battle.id, "a", user=ALICE[0])
    with studio.store.session() as session:
        run = EvalRun(kind="longbench-write", source=SECRETS["run"], report={"note": SECRETS["run"]})
        session.add(run)
    pair_ids = [p for (p,) in snapshot(studio).get("preference_pairs", {})]
    assert pair.id in pair_ids and len(pair_ids) >= 2, "the edit and the vote are both preference pairs"
    return AlicesData(
        doc_id=doc["id"],
        battle_id=battle.id,
        battle_doc_id=battle.document_a_id or "",
        pair_ids=pair_ids,
        feedback_id=feedback.id or 0,
        run_id=run.id,
    )


def snapshot(studio: Studio) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Every row of every table, keyed by primary key, as plain values."""
    tables: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    with studio.store.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            keys = [c.name for c in table.primary_key.columns]
            rows = connection.execute(select(table)).mappings().all()
            tables[table.name] = {tuple(row[k] for k in keys): dict(row) for row in rows}
    return tables


# -- the probe ---------------------------------------------------------------------------------------


def inputs_for(client: PageClient, dependency: dict[str, Any], data: AlicesData, round_: int) -> list[Any]:
    """Values for a handler's inputs: Alice's ids in strings, her indexes and row ids in numbers."""
    api_name = dependency.get("api_name")
    params = client.info["named_endpoints"].get(f"/{api_name}", {}).get("parameters", []) if api_name else []
    strings, numbers = data.strings, data.numbers
    some_string = strings[round_ % len(strings)]
    some_number = numbers[round_ % len(numbers)]
    values: list[Any] = []
    for position, component_id in enumerate(dependency["inputs"]):
        component = client.components.get(component_id, {})
        kind, props = component.get("type"), component.get("props", {})
        default = props.get("value")
        if kind == "api":
            python = params[position]["python_type"]["type"] if position < len(params) else "str"
            values.append(
                some_number
                if python in ("int", "float")
                else [[some_string, 100]]
                if python.startswith("list")
                else some_string
            )
        elif kind in ("textbox", "markdown", "html", "radio", "code"):
            values.append(some_string)
        elif kind == "dropdown":
            values.append([some_string] if props.get("multiselect") else some_string)
        elif kind in ("number", "slider"):
            values.append(some_number)
        elif kind == "checkbox":
            values.append(round_ % 2 == 1)  # "only mine" switches and the like, both ways
        elif kind == "dataframe" and isinstance(default, dict):
            width = max(1, len(default.get("headers") or []))
            values.append({"headers": default.get("headers") or [], "data": [[some_string, *[100] * (width - 1)]]})
        elif kind == "state":
            values.append(None)  # the server keeps state per session; a client's value is not used
        else:
            values.append(default)
    return values


@dataclass
class Findings:
    calls: int = 0
    succeeded: int = 0
    reached: set[int] = field(default_factory=set)
    leaks: dict[str, set[str]] = field(default_factory=dict)  # secret kind → endpoints that showed it

    def saw(self, what: str, where: str) -> None:
        self.leaks.setdefault(what, set()).add(where)


def probe(client: PageClient, data: AlicesData, rounds: int, before_each: Callable[[], None] | None = None) -> Findings:
    """Call every handler ``rounds`` times with Alice's ids; in parallel unless ``before_each`` resets
    the database between calls (each call waits ~0.3 s on the queue's event stream, mostly idle)."""
    found = Findings()
    dependencies = [d for d in client.config["dependencies"] if d.get("backend_fn")]
    work = [(d, r) for d in dependencies for r in range(rounds)]

    def one(item: tuple[dict[str, Any], int]) -> tuple[dict[str, Any], Call, str]:
        dependency, round_ = item
        if before_each is not None:
            before_each()
        event = {"index": [0, 0], "value": data.strings[round_ % len(data.strings)], "selected": True}
        call = client.call(dependency["id"], inputs_for(client, dependency, data, round_), event)
        return dependency, call, call.raw + " ".join(readable(content) for content in client.files_in(call))

    with ThreadPoolExecutor(max_workers=1 if before_each else 8) as pool:
        for dependency, call, seen in pool.map(one, work):
            found.calls += 1
            found.succeeded += call.succeeded
            found.reached.add(dependency["id"])
            for kind, secret in SECRETS.items():
                if secret in seen:
                    found.saw(kind, dependency.get("api_name") or f"#{dependency['id']}")
    return found


def restorer(database: Path) -> Callable[[], None]:
    """Puts the SQLite database back as it is now (the backup API, safe beside the app's connections)."""
    saved = sqlite3.connect(":memory:", check_same_thread=False)
    with closing(sqlite3.connect(database)) as live:
        live.backup(saved)

    def restore() -> None:
        with closing(sqlite3.connect(database)) as live:
            saved.backup(live)

    return restore


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("security")
    settings = Settings(_env_file=None, data_dir=root / "data", models_path=models_dir)  # type: ignore[call-arg]
    studio = Studio(settings)
    studio.use_backend(ScriptedBackend(settings.models_dir))  # type: ignore[arg-type]
    app = App(studio, auth=[ALICE, BOB])
    try:
        data = make_alices_data(app, settings)
        before = snapshot(studio)
        bob = PageClient(app.url, BOB)
        as_bob = probe(bob, data, rounds=3)  # each id and index once, switches both ways
        # The page writes exports to a folder named after the document; Bob knows the id, not the file's
        # cached copy (Gradio names that by a keyed hash of its content).
        exported = sorted((Path(tempfile.gettempdir()) / "longwriter-exports" / data.doc_id).glob("*"))
        assert exported, "Alice's export files exist on the server"
        direct = [bob.http.get(f"/gradio_api/file={path}").status_code for path in exported]
        after = snapshot(studio)
        alice = PageClient(app.url, ALICE)
        # Alice's own calls change her rows (she may delete her document): each starts from her data.
        as_alice = probe(alice, data, rounds=1, before_each=restorer(settings.data_dir / "longwriter.db"))
        yield {
            "data": data,
            "bob": as_bob,
            "alice": as_alice,
            "before": before,
            "after": after,
            "client": bob,
            "direct_file": direct,
        }
        bob.close()
        alice.close()
    finally:
        app.close()


def test_the_probe_covers_every_endpoint_and_reaches_the_data(probed: dict[str, Any]) -> None:
    client: PageClient = probed["client"]
    handlers = {d["id"] for d in client.config["dependencies"] if d.get("backend_fn")}
    named = {d.get("api_name") for d in client.config["dependencies"] if d["id"] in probed["bob"].reached}
    assert handlers and probed["bob"].reached == handlers, "every event handler was called"
    assert {name.lstrip("/") for name in client.info["named_endpoints"]} <= named, "every named endpoint was called"
    assert probed["bob"].succeeded > len(handlers) // 2, "most calls ran the handler (not refused at the door)"
    alice: Findings = probed["alice"]
    # Run as Alice, the same probe finds her text: it would see a leak if Bob had one.
    assert {"document", "section", "edit"} <= set(alice.leaks), alice.leaks
    assert len(alice.leaks["document"]) >= 5, alice.leaks


def test_bob_gets_nothing_of_alices_from_any_endpoint(probed: dict[str, Any]) -> None:
    leaks = {kind: sorted(where) for kind, where in probed["bob"].leaks.items()}
    assert leaks == {}, f"Alice's data reached Bob through: {leaks}"
    assert set(probed["direct_file"]) <= {403, 404}, "Alice's export files are not served to Bob by path"


def test_bob_changes_nothing_of_alices(probed: dict[str, Any]) -> None:
    before, after, data = probed["before"], probed["after"], probed["data"]
    changed = [
        (table, key)
        for table, rows in before.items()
        for key, row in rows.items()
        if after.get(table, {}).get(key) != row
    ]
    assert changed == [], f"Alice's rows changed or vanished: {changed[:5]}"
    alices = {data.doc_id, data.battle_id, data.battle_doc_id, data.run_id, ALICE[0]}
    touching = [
        (table, row)
        for table, rows in after.items()
        for key, row in rows.items()
        if key not in before.get(table, {}) and alices & {str(v) for v in row.values()}
    ]
    assert touching == [], f"new rows point at Alice's: {touching[:3]}"


# -- every route needs a login ---------------------------------------------------------------------

PUBLIC_ROUTES = {
    "/login",
    "/login/",
    "/logout",
    "/favicon.ico",
    "/robots.txt",
    "/manifest.json",
    "/theme.css",
    "/pwa_icon",
    "/gradio_api/theme.css",
    "/gradio_api/user",
    "/gradio_api/user/",
    "/gradio_api/token",
    "/gradio_api/token/",
    "/gradio_api/app_id",
    "/gradio_api/app_id/",
    "/gradio_api/startup-events",
    "/gradio_api/heartbeat/{session_hash}",
}
"""Routes Gradio answers before a login: the login page's assets, and facts about the caller (nobody
yet) or the app; none of them serves stored data (each is still checked for Alice's text)."""


def first_bytes(client: httpx.Client, path: str, params: dict[str, str]) -> tuple[int, str]:
    """Status and the start of a body (event streams such as the heartbeat never end on their own)."""
    with client.stream("GET", path, params=params, timeout=5) as answer:
        body = b""
        try:
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > 4096:
                    break
        except httpx.ReadTimeout:
            pass
        return answer.status_code, body.decode("utf-8", "replace")


def test_every_route_needs_a_login_when_auth_is_on(settings: Settings) -> None:
    studio = Studio(settings)
    studio.use_backend(ScriptedBackend(settings.models_dir))  # type: ignore[arg-type]
    app = App(studio, auth=[ALICE])
    try:
        alice = app.client(ALICE)
        doc = alice.predict(f"Private {SECRETS['document']}", 200, api_name="/create_document")
        schema = app.demo.server_app.openapi()
        paths = [p for p, ops in schema["paths"].items() if "get" in ops]
        assert len(paths) > 10, paths
        anonymous = httpx.Client(base_url=app.url, timeout=30)
        opened = {}
        for path in paths:
            concrete = path.replace("{session_hash}", "x").replace("{path:path}", "x").replace("{path}", "x")
            concrete = concrete.split("{")[0]  # any other parameter: the route's prefix
            status, body = first_bytes(anonymous, concrete, {"session_hash": "x", "doc": doc["id"]})
            assert SECRETS["document"] not in body, path
            if status == 200 and path not in PUBLIC_ROUTES:
                opened[path] = body[:80]
        # The page answers with the login form; Gradio inlines the app's layout there (no stored data:
        # the loop above checked that Alice's document is nowhere in it).
        opened.pop("/", None)
        assert opened == {}, f"answered without a login: {opened}"
        assert anonymous.get("/config").status_code in (401, 403)
        with pytest.raises(Exception, match="credentials"):
            from gradio_client import Client

            Client(app.url, verbose=False)
    finally:
        app.close()


# -- secrets and file names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "instruction",
    ["../../etc/passwd", "..\\..\\windows\\system32", "/absolute/path", "~/home", "a/b/c", "....//....//x", "\x00nul"],
)
def test_export_file_names_stay_in_the_export_folder(instruction: str, tmp_path: Path) -> None:
    record = {"id": uuid.uuid4().hex, "instruction": instruction, "text": f"# {instruction}\n\nbody"}
    for fmt in ("markdown", "html", "docx"):
        name = export_filename(record, fmt)
        assert "/" not in name and "\\" not in name and "\x00" not in name and not name.startswith(".")
        assert (tmp_path / name).resolve().parent == tmp_path.resolve()


def test_the_studio_binds_locally_and_shares_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LONGWRITER_HOST", "LONGWRITER_SHARE", "LONGWRITER_AUTH"):
        monkeypatch.delenv(name, raising=False)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.host == "127.0.0.1" and defaults.share is False and defaults.auth is None


def test_sqlite_database_is_a_plain_file_in_the_data_folder(settings: Settings) -> None:
    """The one file to back up; WAL mode, so a copy taken with the SQLite backup API is consistent."""
    studio = Studio(settings)
    try:
        studio.store.create_document("x", 200)
        with studio.store.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert (settings.data_dir / "longwriter.db").exists()
    finally:
        studio.store.close()
