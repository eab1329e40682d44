"""The store: real SQLite files (and PostgreSQL when it is installed), migrations, queries and the recorder."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, Table, create_engine, event, make_url
from sqlmodel import AutoString, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from longwriter.events import (
    DocumentDone,
    Event,
    Failed,
    PlanDelta,
    PlanReady,
    SectionDone,
    SectionReset,
    SectionStarted,
    Stopped,
    TextDelta,
)
from longwriter.plan import Plan
from longwriter.plan import Section as Step
from longwriter.settings import Settings
from longwriter.store import (
    Generation,
    NotFound,
    Store,
    StoreError,
    migrate,
    record,
    upgrade,
)
from longwriter.text import count_words, length_score

PLAN = Plan(sections=[Step(main_point="Why cats purr", words=300), Step(main_point="How cats hunt", words=200)])


# -- databases ----------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'longwriter.db'}"
    server = request.getfixturevalue("postgres_server")
    name = f"t_{tmp_path.name.replace('-', '_').lower()}"[:60]
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = Store(url)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'longwriter.db'}")
    yield opened
    opened.close()


def _schema_diff(store: Store) -> list[object]:
    with store.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), SQLModel.metadata)


# -- engine and migrations ----------------------------------------------------------------------


def test_sqlite_database_is_created_in_its_folder_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "longwriter.db"
    store = Store(f"sqlite:///{path}")
    assert path.exists()
    with store.engine.connect() as connection:
        pragma = {
            p: connection.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        }
    assert pragma == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 5000, "foreign_keys": 1}
    store.close()
    with sqlite3.connect(path) as raw:  # WAL is a property of the file, seen by any client
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_store_from_settings_lives_in_the_data_dir(tmp_path: Path) -> None:
    store = Store.from_settings(Settings(data_dir=tmp_path / "data", database_url=None))
    store.create_document("Hello", 500)
    store.close()
    assert (tmp_path / "data" / "longwriter.db").exists()


def test_migrated_schema_matches_the_models(store: Store) -> None:
    """A model change without a migration fails here (see longwriter.store.migrate for how to add one)."""
    assert _schema_diff(store) == []


def test_reopening_keeps_data_and_an_older_schema_is_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'longwriter.db'}"
    store = Store(url)
    doc_id = store.create_document("Keep me", 800).id
    store.close()
    reopened = Store(url)
    assert reopened.get_document(doc_id) is not None
    with reopened.engine.connect() as connection:
        command.downgrade(migrate.alembic_config(connection), "base")
        connection.commit()
        assert connection.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name='documents'").scalar() == 0
    reopened.close()
    upgraded = Store(url)
    assert _schema_diff(upgraded) == []
    assert upgraded.list_documents() == []
    upgraded.close()


OLD_ROWS: dict[str, list[tuple[str, dict[str, object]]]] = {
    "0001": [
        (
            "documents",
            {
                "id": "old-doc",
                "created_at": "2026-11-01 09:00:00.000000",
                "updated_at": "2026-11-01 09:05:00.000000",
                "user": "ann",
                "instruction": "Write about old lighthouses",
                "target_words": 400,
                "mode": "agentwrite",
                "model": "smollm2-135m",
                "backend": "local",
                "params": '{"temperature": 0.5, "top_p": 0.8}',
                "plan": '[{"main_point": "The keepers", "words": 200}, {"main_point": "The lamps", "words": 200}]',
                "plan_raw": "Paragraph 1 - Main Point: The keepers",
                "status": "stopped",
                "words": 6,
                "length_score": 12.5,
            },
        ),
        *(
            (
                "sections",
                {
                    "id": index + 1,
                    "document_id": "old-doc",
                    "index": index,
                    "main_point": point,
                    "target_words": 200,
                    "text": text,
                    "reasoning": "",
                    "status": status,
                    "words": len(text.split()),
                    "updated_at": "2026-11-01 09:04:00.000000",
                },
            )
            for index, point, text, status in [
                (0, "The keepers", "Keepers lived alone by the sea.", "done"),
                (1, "The lamps", "", "pending"),
            ]
        ),
        (
            "generations",
            {
                "id": 1,
                "document_id": "old-doc",
                "section_index": 0,
                "kind": "section",
                "model": "smollm2-135m",
                "backend": "local",
                "params": "{}",
                "prompt": "Write paragraph 1 about the keepers.",
                "output": "Keepers lived alone by the sea.",
                "output_tokens": 9,
                "started_at": "2026-11-01 09:03:00.000000",
                "seconds": 4.5,
                "stop_reason": "complete",
                "status": "done",
            },
        ),
    ],
    "0002": [
        (
            "preference_pairs",
            {
                "id": 1,
                "created_at": "2026-11-02 10:00:00.000000",
                "user": "ann",
                "source": "edit",
                "verdict": "preferred",
                "prompt": "Write paragraph 1 about the keepers.",
                "chosen": "Keepers lived alone, tending the light.",
                "rejected": "Keepers lived alone by the sea.",
                "chosen_config": '{"edited_by": "ann"}',
                "rejected_config": '{"model": "smollm2-135m"}',
                "chosen_document_id": "old-doc",
                "rejected_document_id": "old-doc",
                "section_index": 0,
                "generation_id": 1,
                "chosen_words": 6,
                "rejected_words": 6,
                "changed": 0.5,
            },
        ),
    ],
}
"""Rows as the releases at revisions 0001 and 0002 wrote them (each revision holds the earlier ones' rows too)."""


@pytest.mark.parametrize("revision", ["0001", "0002"])
def test_rows_of_an_older_schema_survive_the_upgrade_and_stay_usable(tmp_path: Path, revision: str) -> None:
    """A database an older release left at ``revision``, holding its rows, opens at head with them intact."""
    from longwriter.documents import document_record
    from longwriter.preferences import Filters, dpo_records, pairs, record_thumb

    path = tmp_path / "longwriter.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine, revision)
    engine.dispose()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone() == (revision,)
        for table, row in [item for rev, rows in OLD_ROWS.items() if rev <= revision for item in rows]:
            columns = ", ".join(f'"{name}"' for name in row)
            raw.execute(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))

    store = Store(f"sqlite:///{path}")
    assert _schema_diff(store) == []
    assert store.get_document("old-doc", user="bob") is None  # still ann's
    record = document_record(store, "old-doc", user="ann")
    assert (record["instruction"], record["status"], record["target_words"], record["sampling"]["temperature"]) == (
        "Write about old lighthouses",
        "stopped",
        400,
        0.5,
    )
    assert [(s["main_point"], s["status"], s["text"]) for s in record["sections"]] == [
        ("The keepers", "done", "Keepers lived alone by the sea."),
        ("The lamps", "pending", ""),
    ]
    assert [(g.kind, g.output_tokens, g.stop_reason) for g in store.generations("old-doc")] == [
        ("section", 9, "complete")
    ]
    # The tables added since hold the old rows' judgements: a thumb finds the old write prompt.
    thumb = record_thumb(store, "old-doc", True, index=0, user="ann")
    assert thumb.prompt == "Write paragraph 1 about the keepers." and thumb.generation_id == 1
    kept = dpo_records(pairs(store, Filters(sources=("edit",))), format="standard")
    expected = [
        {
            "prompt": "Write paragraph 1 about the keepers.",
            "chosen": "Keepers lived alone, tending the light.",
            "rejected": "Keepers lived alone by the sea.",
        }
    ]
    assert kept == (expected if revision == "0002" else [])
    # and the old document goes on being written where it stopped.
    store.save_section("old-doc", 1, text="The lamps burned whale oil.", status="done")
    assert store.document_text("old-doc") == "Keepers lived alone by the sea.\n\nThe lamps burned whale oil."
    store.close()


def test_a_database_from_a_newer_release_is_refused_clearly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'longwriter.db'}"
    Store(url).close()
    with sqlite3.connect(tmp_path / "longwriter.db") as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="newer LongWriter Studio"):
        Store(url)


def test_new_migration_captures_a_model_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented workflow: change the models, generate the script, and it migrates a database."""
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS", scripts)
    probe = Table(
        "probe_votes",
        SQLModel.metadata,
        Column("id", Integer, primary_key=True),
        Column("label", AutoString),
        Column("at", UTCDateTime),
    )
    try:
        path = migrate.new_migration("add probe votes")
        number = len(list((scripts / "versions").glob("0*.py")))  # the new script is among them
        assert path.parent == scripts / "versions" and path.name == f"{number:04d}_add_probe_votes.py"
        script = path.read_text()
        assert "op.create_table('probe_votes'" in script
        assert "sa.String()" in script and "sa.DateTime(timezone=True)" in script and "sqlmodel" not in script
        store = Store(f"sqlite:///{tmp_path / 'migrated.db'}")
        assert _schema_diff(store) == []
        store.close()
    finally:
        SQLModel.metadata.remove(probe)


def test_in_memory_database_is_shared_across_threads() -> None:
    store = Store("sqlite://")
    doc_id = store.create_document("In memory", 300).id
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.append(store.get_document(doc_id)))
    worker.start()
    worker.join()
    assert seen[0] is not None


# -- errors -------------------------------------------------------------------------------------


def test_an_unusable_data_folder_is_a_clear_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(StoreError, match="Cannot create the data folder .*LONGWRITER_DATA_DIR"):
        Store(f"sqlite:///{blocker / 'longwriter.db'}")


def test_a_read_only_database_is_a_clear_store_error(tmp_path: Path) -> None:
    path = tmp_path / "longwriter.db"
    Store(f"sqlite:///{path}").close()
    read_only = Store(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(StoreError, match="read-only"):
        read_only.create_document("Cannot be saved", 500)
    read_only.close()


def test_a_full_disk_is_a_clear_store_error(sqlite_store: Store) -> None:
    doc_id = sqlite_store.create_document("Fill the disk", 500).id
    sqlite_store.set_plan(doc_id, PLAN)
    sqlite_store.engine.dispose()  # new connections get the small page limit below
    event.listen(sqlite_store.engine, "connect", lambda conn, _: conn.execute("PRAGMA max_page_count=20"))
    with pytest.raises(StoreError, match="disk is full"):
        sqlite_store.update_section_text(doc_id, 0, "word " * 100_000)


def test_missing_documents_are_reported(store: Store) -> None:
    with pytest.raises(NotFound):
        store.set_status("nope", "done")
    with pytest.raises(NotFound):
        store.add_generation(Generation(document_id="nope", kind="plan"))
    assert store.get_document("nope") is None
    assert store.delete_document("nope") is False


# -- documents ----------------------------------------------------------------------------------


def test_document_lifecycle(store: Store) -> None:
    doc = store.create_document(
        "Write about cats",
        500,
        mode="parallel",
        model="smollm2-135m",
        backend="local",
        params={"temperature": 0.6, "top_p": 0.9},
        title="Cats",
    )
    assert (doc.status, doc.words, doc.length_score, doc.plan) == ("planning", 0, None, None)
    assert doc.created_at.tzinfo is not None

    planned = store.set_plan(doc.id, PLAN, raw="Paragraph 1 - ...")
    assert planned.status == "planned"
    assert planned.plan == [step.model_dump() for step in PLAN.sections]
    sections = store.sections(doc.id)
    assert [(s.index, s.main_point, s.target_words, s.status, s.text) for s in sections] == [
        (0, "Why cats purr", 300, "pending", ""),
        (1, "How cats hunt", 200, "pending", ""),
    ]

    store.update_section_text(doc.id, 1, "Cats stalk, pounce and bite.")
    store.update_section_text(doc.id, 0, "Cats purr when content.")
    assert store.document_text(doc.id) == "Cats purr when content.\n\nCats stalk, pounce and bite."
    loaded = store.get_document(doc.id)
    assert loaded is not None
    assert loaded.words == count_words(store.document_text(doc.id)) == 9
    assert loaded.length_score == length_score(500, 9)
    assert loaded.params == {"temperature": 0.6, "top_p": 0.9}
    assert loaded.updated_at > doc.updated_at
    with pytest.raises(NotFound):
        store.update_section_text(doc.id, 5, "no such section")

    failed = store.set_status(doc.id, "failed", error="backend died")
    assert (failed.status, failed.error) == ("failed", "backend died")
    assert store.set_status(doc.id, "stopped").error is None


def test_editing_the_plan_keeps_unchanged_sections(store: Store) -> None:
    doc = store.create_document("Write about cats", 500, plan=PLAN)
    assert doc.status == "planned"
    store.save_section(doc.id, 0, text="Purring text.", status="done")
    store.save_section(doc.id, 1, text="Hunting text.", status="done")
    edited = Plan(sections=[Step(main_point="Why cats purr", words=250), Step(main_point="Cats and dogs", words=250)])
    store.set_plan(doc.id, edited)
    assert [(s.main_point, s.target_words, s.text, s.status) for s in store.sections(doc.id)] == [
        ("Why cats purr", 250, "Purring text.", "done"),
        ("Cats and dogs", 250, "", "pending"),
    ]
    store.set_plan(doc.id, Plan(sections=[Step(main_point="Why cats purr", words=500)]))
    assert len(store.sections(doc.id)) == 1
    assert store.get_document(doc.id).words == 2  # type: ignore[union-attr]


def test_duplicate_and_delete(store: Store) -> None:
    doc = store.create_document("Write about cats", 500, model="m", params={"seed": 1}, user="ann", plan=PLAN)
    store.update_section_text(doc.id, 0, "Some text.")
    store.add_generation(Generation(document_id=doc.id, kind="section", section_index=0, output="Some text."))
    copy = store.duplicate_document(doc.id)
    assert (copy.instruction, copy.model, copy.params, copy.user, copy.parent_id, copy.status) == (
        "Write about cats",
        "m",
        {"seed": 1},
        "ann",
        doc.id,
        "planned",
    )
    assert [s.text for s in store.sections(copy.id)] == ["", ""] and copy.words == 0
    assert store.generations(copy.id) == []

    assert store.delete_document(doc.id) is True
    assert store.get_document(doc.id) is None
    assert store.sections(doc.id) == [] and store.generations(doc.id) == []
    orphan = store.get_document(copy.id)
    assert orphan is not None and orphan.parent_id is None  # ON DELETE SET NULL


def test_users_see_only_their_documents(store: Store) -> None:
    ann = store.create_document("Ann's essay", 500, user="ann")
    bob = store.create_document("Bob's essay", 500, user="bob")
    assert store.get_document(ann.id, user="bob") is None
    assert store.get_document(ann.id, user="ann") is not None
    assert [d.id for d in store.list_documents(user="bob")] == [bob.id]
    assert {d.id for d in store.list_documents()} == {ann.id, bob.id}  # no login: everything
    assert store.delete_document(ann.id, user="bob") is False
    with pytest.raises(NotFound):
        store.duplicate_document(ann.id, user="bob")
    assert store.duplicate_document(ann.id, user="ann").user == "ann"


def test_search_and_order(store: Store) -> None:
    first = store.create_document("A poem about the sea", 500)
    second = store.create_document("A report on budgets", 500, title="Q3 numbers: 100% done")
    third = store.create_document("A story", 500, plan=PLAN)
    store.update_section_text(third.id, 1, "The lighthouse keeper watched the SEA at night.")
    assert [d.id for d in store.list_documents()] == [third.id, second.id, first.id]  # newest change first
    assert [d.id for d in store.list_documents(search="sea")] == [third.id, first.id]
    assert [d.id for d in store.list_documents(search="q3 NUMBERS")] == [second.id]
    assert [d.id for d in store.list_documents(search="100%")] == [second.id]
    assert [d.id for d in store.list_documents(search="%")] == [second.id]  # literal, not a wildcard
    assert store.list_documents(search="_") == []
    assert len(store.list_documents(limit=2)) == 2
    store.set_status(first.id, "done")
    assert store.list_documents()[0].id == first.id


def test_concurrent_writes_from_threads_are_all_kept(store: Store) -> None:
    doc = store.create_document("Many writers", 2000)
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            barrier.wait()
            store.add_generation(Generation(document_id=doc.id, kind="section", section_index=i, output=f"text {i}"))
            store.save_section(doc.id, i, text=f"Section {i} words here.", status="done")
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(g.section_index for g in store.generations(doc.id)) == list(range(20))  # type: ignore[type-var]
    assert [s.index for s in store.sections(doc.id)] == list(range(20))


# -- recorder -----------------------------------------------------------------------------------


class Writer:
    """A scripted writer: yields events, optionally then hangs or raises, and notes when it was closed."""

    def __init__(self, events: list[Event], then: str = "end") -> None:
        self.events, self.then, self.closed = events, then, False

    async def __call__(self) -> AsyncIterator[Event]:
        try:
            for item in self.events:
                yield item
                await asyncio.sleep(0)
            if self.then == "hang":
                await asyncio.Event().wait()
            if self.then == "raise":
                raise RuntimeError("backend died")
        finally:
            self.closed = True


def _full_run() -> list[Event]:
    purr = "Cats purr when they are content, and sometimes when they are hurt."
    hunt = "Cats hunt at dawn and dusk."
    return [
        PlanDelta("Paragraph 1 ..."),
        PlanReady(plan=PLAN, raw="Paragraph 1 - Main Point: Why cats purr - Word Count: 300 words"),
        SectionStarted(index=0, target_words=300, prompt="write section 1"),
        TextDelta(index=0, text="Let me think.", channel="reasoning"),
        TextDelta(index=0, text="## Purring\n"),
        SectionReset(index=0, text=""),
        TextDelta(index=0, text=purr[:20]),
        TextDelta(index=0, text=purr[20:]),
        SectionDone(index=0, text=purr, words=count_words(purr), target_words=300, tokens=17, seconds=1.5),
        SectionStarted(index=1, target_words=200, prompt="write section 2"),
        TextDelta(index=1, text=hunt),
        SectionDone(index=1, text=hunt, words=6, target_words=200, tokens=8, seconds=0.5, stop_reason="length-cap"),
        DocumentDone(
            text=f"{purr}\n\n{hunt}",
            words=count_words(purr) + 6,
            target_words=500,
            length_score=length_score(500, count_words(purr) + 6),
            seconds=2.0,
            tokens=25,
        ),
    ]


async def test_recorder_persists_a_whole_run_and_passes_events_through(store: Store) -> None:
    doc = store.create_document("Write about cats", 500, model="smollm2-135m", backend="local", params={"seed": 3})
    script = _full_run()
    writer = Writer(script)
    seen = [e async for e in record(store, doc.id, writer(), checkpoint_seconds=3600)]
    assert seen == script and all(a is b for a, b in zip(seen, script))

    done = store.get_document(doc.id)
    final = script[-1]
    assert isinstance(final, DocumentDone) and done is not None
    assert (done.status, done.words, done.length_score) == ("done", final.words, final.length_score)
    assert done.plan_raw.startswith("Paragraph 1")
    assert store.document_text(doc.id) == final.text
    sections = store.sections(doc.id)
    assert [(s.status, s.words, s.reasoning) for s in sections] == [
        ("done", count_words(final.text.split("\n\n")[0]), "Let me think."),
        ("done", 6, ""),
    ]

    plan_call, first, second = store.generations(doc.id)
    assert (plan_call.kind, plan_call.section_index, plan_call.status) == ("plan", None, "done")
    assert (first.kind, first.section_index, first.prompt, first.output_tokens, first.seconds) == (
        "section",
        0,
        "write section 1",
        17,
        1.5,
    )
    assert (second.stop_reason, second.model, second.backend, second.params) == (
        "length-cap",
        "smollm2-135m",
        "local",
        {"seed": 3},
    )
    assert writer.closed


async def test_text_is_checkpointed_while_streaming(store: Store) -> None:
    doc = store.create_document("Write about cats", 500, plan=PLAN)
    script = [
        SectionStarted(index=0, target_words=300),
        TextDelta(index=0, text="First words"),
        TextDelta(index=0, text=" and more."),
    ]
    async for item in record(store, doc.id, Writer(script)(), checkpoint_seconds=0):
        if isinstance(item, SectionStarted):
            assert store.get_document(doc.id).status == "writing"  # type: ignore[union-attr]
            assert store.sections(doc.id)[0].status == "writing"
        if isinstance(item, TextDelta):
            assert store.sections(doc.id)[0].text.endswith(item.text)  # in the database before SectionDone


async def test_checkpoints_are_throttled(store: Store) -> None:
    doc = store.create_document("Write about cats", 500, plan=PLAN)
    script = [
        SectionStarted(index=0, target_words=300),
        TextDelta(index=0, text="Buffered."),
        SectionReset(index=0, text="Reset text."),
    ]
    async for item in record(store, doc.id, Writer(script)(), checkpoint_seconds=3600):
        expected = {SectionStarted: "", TextDelta: "", SectionReset: "Reset text."}[type(item)]
        assert store.sections(doc.id)[0].text == expected


@pytest.mark.parametrize("how", ["close", "cancel"])
async def test_a_closed_tab_keeps_the_partial_text(store: Store, how: str) -> None:
    doc = store.create_document("Write about cats", 500, plan=PLAN)
    store.save_section(doc.id, 1, text="Written earlier.", status="done")
    last = TextDelta(index=0, text=" and this.")
    writer = Writer([SectionStarted(index=0, target_words=300), TextDelta(index=0, text="Keep this"), last], "hang")
    stream = record(store, doc.id, writer(), checkpoint_seconds=3600)
    if how == "close":
        async for item in stream:
            if item is last:
                break
        await stream.aclose()
    else:
        reached = asyncio.Event()

        async def consume() -> None:
            async for item in stream:
                if item is last:
                    reached.set()

        task = asyncio.create_task(consume())
        await reached.wait()
        await asyncio.sleep(0.01)  # the consumer now waits on the hung writer
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [(s.text, s.status) for s in store.sections(doc.id)] == [
        ("Keep this and this.", "stopped"),
        ("Written earlier.", "done"),
    ]
    assert store.get_document(doc.id).status == "stopped"  # type: ignore[union-attr]
    assert writer.closed


async def test_stopped_and_failed_runs(store: Store) -> None:
    stopped = store.create_document("Write about cats", 500, plan=PLAN)
    script: list[Event] = [SectionStarted(index=0, target_words=300), TextDelta(index=0, text="Half"), Stopped(index=0)]
    [_ async for _ in record(store, stopped.id, Writer(script)())]
    assert next((s.text, s.status) for s in store.sections(stopped.id)) == ("Half", "stopped")
    assert store.get_document(stopped.id).status == "stopped"  # type: ignore[union-attr]

    failed = store.create_document("Write about cats", 500, plan=PLAN)
    script = [SectionStarted(index=0, target_words=300), TextDelta(index=0, text="Half"), Failed("out of memory", 0)]
    [_ async for _ in record(store, failed.id, Writer(script)())]
    assert next((s.text, s.status) for s in store.sections(failed.id)) == ("Half", "failed")
    doc = store.get_document(failed.id)
    assert doc is not None and (doc.status, doc.error) == ("failed", "out of memory")


async def test_a_crashing_writer_marks_the_document_failed(store: Store) -> None:
    doc = store.create_document("Write about cats", 500, plan=PLAN)
    writer = Writer([SectionStarted(index=0, target_words=300), TextDelta(index=0, text="Partial")], "raise")
    with pytest.raises(RuntimeError, match="backend died"):
        [_ async for _ in record(store, doc.id, writer())]
    loaded = store.get_document(doc.id)
    assert loaded is not None and (loaded.status, loaded.error) == ("failed", "backend died")
    assert next((s.text, s.status) for s in store.sections(doc.id)) == ("Partial", "stopped")


async def test_a_regenerated_section_completes_the_document(store: Store) -> None:
    doc = store.create_document("Write about cats", 500, plan=PLAN)
    store.save_section(doc.id, 0, text="Done before.", status="done")
    script = [
        SectionStarted(index=1, target_words=200),
        TextDelta(index=1, text="New take."),
        SectionDone(index=1, text="New take.", words=2, target_words=200, tokens=3, seconds=0.1),
    ]
    [_ async for _ in record(store, doc.id, Writer(script)(), kind="regenerate")]
    assert store.get_document(doc.id).status == "done"  # type: ignore[union-attr]
    assert [g.kind for g in store.generations(doc.id)] == ["regenerate"]


async def test_recording_an_unknown_document_fails_before_any_event(store: Store) -> None:
    events = Writer([PlanDelta("x")])()
    with pytest.raises(NotFound):
        [_ async for _ in record(store, "nope", events)]
    assert events.ag_frame is None  # closed, so a real writer would not start its backend


_OPEN_AT_THE_SIGNAL = """
import sys
from longwriter.store import Store
print("ready", flush=True)
sys.stdin.readline()
Store(sys.argv[1]).close()
"""


def test_replicas_starting_together_on_an_empty_database_all_open_it(url: str) -> None:
    """Studio replicas behind one database start at once (compose up): each migrates on open, and
    the migrations must take turns (two CREATE TABLEs of one name: all but one process fail)."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT_THE_SIGNAL, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for process in processes:  # every process has imported everything and waits
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    failures = [error for process in processes if (error := process.communicate(timeout=120)[1]) and process.returncode]
    assert failures == []
    store = Store(url)
    try:
        assert _schema_diff(store) == []
    finally:
        store.close()


def test_upgrade_is_idempotent(sqlite_store: Store) -> None:
    upgrade(sqlite_store.engine)
    assert _schema_diff(sqlite_store) == []
