"""Faults survived: a model server that misbehaves in every way we know, a data folder that cannot be
written, and a studio killed with SIGKILL in the middle of a section.

The server is tests/openai_server.py (vLLM's wire format over a real socket) in front of the
scripted backend, broken on purpose with :class:`openai_server.Faults`; the client is the product's
own ``openai`` backend inside a studio with a real SQLite database. Each fault must end the run with
a plain message (no traceback, no API key), keep the text streamed so far, and Retry must finish
the document once the server is mended.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from openai_server import STRICT_OPENAI_FIELDS, Faults, ServerHandle, serve
from scripted import ScriptedBackend

from longwriter.events import DocumentDone, Event, Failed
from longwriter.plan import Plan, Section
from longwriter.settings import Settings
from longwriter.store import Store, StoreError
from longwriter.studio import Studio

pytestmark = pytest.mark.timeout(300)

API_KEY = "sk-test-SECRET-7d1e0c"
PLAN = Plan(
    sections=[Section(main_point="Where tea grows", words=150), Section(main_point="How it is made", words=150)]
)


@contextmanager
def served(settings: Settings, **faults: Any) -> Iterator[tuple[ServerHandle, Studio]]:
    """A misbehaving server and a studio whose openai backend talks to it."""
    with serve(ScriptedBackend(settings.models_dir, delay=0.002), faults=Faults(**faults)) as server:  # type: ignore[arg-type]
        configured = settings.model_copy(
            update={"backend": "openai", "base_url": server.base_url, "api_key": API_KEY, "request_timeout": 1.5}
        )
        studio = Studio(configured)
        try:
            yield server, studio
        finally:
            studio.store.close()


async def run(events: AsyncIterator[Event]) -> list[Event]:
    return [event async for event in events]


def new_document(studio: Studio) -> str:
    doc = studio.create("Write about tea.", 300, plan=PLAN)
    return doc.id


def assert_plain(message: str, *expected: str) -> None:
    assert message and "Traceback" not in message and API_KEY not in message, message
    for part in expected:
        assert part in message, message


async def fails_then_retry_finishes(server: ServerHandle, studio: Studio, *expected: str, partial: bool) -> None:
    doc_id = new_document(studio)
    events = await run(studio.write(doc_id))
    failed = [e for e in events if isinstance(e, Failed)]
    assert failed, events[-3:]
    assert_plain(failed[-1].message, *expected)
    doc = studio.store.get_document(doc_id)
    assert doc is not None and doc.status == "failed"
    assert_plain(doc.error or "", *expected)
    kept = studio.store.sections(doc_id)[0].text
    if partial:
        assert len(kept.split()) >= 5, "the text streamed before the fault is kept"

    server.misbehave(Faults())  # the server is mended: Retry
    events = await run(studio.write(doc_id))
    assert isinstance(events[-1], DocumentDone), events[-3:]
    sections = studio.store.sections(doc_id)
    assert all(s.status == "done" for s in sections)
    assert sections[0].text.startswith(kept.strip()[:60]), "Retry continues the partial text, not a new one"


async def test_refused_connection_is_a_message(settings: Settings) -> None:
    with served(settings) as (_server, studio):
        pass  # the server is gone; its port refuses connections
    studio = Studio(studio.settings)
    try:
        doc_id = new_document(studio)
        events = await run(studio.write(doc_id))
        assert isinstance(events[-1], Failed)
        assert_plain(events[-1].message, "Cannot reach the model server", "Is it running?")
    finally:
        studio.store.close()


async def test_http_500_is_a_message_and_retry_finishes(settings: Settings) -> None:
    with served(settings, status=500) as (server, studio):
        await fails_then_retry_finishes(server, studio, "HTTP 500", partial=False)


async def test_429_retry_after_is_honoured_once(settings: Settings) -> None:
    with served(settings, rate_limited=1, retry_after=0.3) as (_server, studio):
        doc_id = new_document(studio)
        started = time.monotonic()
        events = await run(studio.write(doc_id))
        assert isinstance(events[-1], DocumentDone), events[-3:]
        assert time.monotonic() - started >= 0.3, "the client waited as asked"


async def test_429_twice_is_a_busy_message_and_retry_finishes(settings: Settings) -> None:
    with served(settings, rate_limited=2, retry_after=0.2) as (server, studio):
        await fails_then_retry_finishes(server, studio, "HTTP 429", "busy", "0.2 s", partial=False)
        assert server.stats.requests >= 3


async def test_a_stream_that_dies_mid_section(settings: Settings) -> None:
    with served(settings, die_after=8) as (server, studio):
        await fails_then_retry_finishes(server, studio, "broke after", "partial text was kept", partial=True)


async def test_malformed_events(settings: Settings) -> None:
    with served(settings, garble_after=8) as (server, studio):
        await fails_then_retry_finishes(server, studio, "malformed event", partial=True)


async def test_a_stall_past_the_read_timeout(settings: Settings) -> None:
    with served(settings, stall_after=8) as (server, studio):
        await fails_then_retry_finishes(server, studio, "sent nothing for 1.5 s", partial=True)
        assert any(g.outcome == "cancelled" for g in server.stats.generations), "the stalled request was dropped"


async def test_a_field_the_server_does_not_know(settings: Settings) -> None:
    """A strict OpenAI-style server refuses vLLM's extra sampling fields by name."""
    with served(settings, known_fields=STRICT_OPENAI_FIELDS) as (server, studio):
        await fails_then_retry_finishes(server, studio, "HTTP 400", "Unrecognized request argument", partial=False)


# -- the data folder ----------------------------------------------------------------------------------


def test_a_read_only_data_folder_is_a_clear_error(settings: Settings) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes through read-only permissions; the full-disk test covers root")
    settings.data_dir.mkdir(parents=True)
    settings.data_dir.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="LONGWRITER_DATA_DIR"):
            Store.from_settings(settings)
    finally:
        settings.data_dir.chmod(0o700)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (root only; a skip elsewhere)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=False, capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_a_clear_error_and_the_database_survives(tiny_disk: Path) -> None:
    store = Store(f"sqlite:///{tiny_disk / 'longwriter.db'}")
    doc = store.create_document("Write about tea.", 300, plan=PLAN)
    store.save_section(doc.id, 0, text="The first words, safely stored.", status="writing")
    filler = tiny_disk / "filler"
    with filler.open("wb") as f:  # something else fills the disk while the section streams
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    with pytest.raises(StoreError, match="disk is full"):
        for n in range(1, 50):
            store.save_section(doc.id, 0, text="The first words, safely stored. " + "More text. " * 2000 * n)
    filler.unlink()  # the disk frees
    assert store.sections(doc.id)[0].text.startswith("The first words, safely stored.")
    store.save_section(doc.id, 0, text="After the disk freed up.")
    store.close()
    with sqlite3.connect(tiny_disk / "longwriter.db") as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# -- kill -9 in the middle of a section ------------------------------------------------------------


def test_sigkill_mid_section_loses_at_most_the_last_checkpoint(settings: Settings, tmp_path: Path) -> None:
    """The CLI writes with a slow stand-in model; SIGKILL lands mid-section; a second CLI run continues."""
    script = tmp_path / "writer.py"
    script.write_text(KILLABLE_WRITER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(Path.cwd())])}
    db = settings.data_dir / "longwriter.db"
    store = Store.from_settings(settings)
    doc_id = store.create_document("Write about tea.", 300, plan=PLAN).id
    store.close()
    child = subprocess.Popen([sys.executable, str(script), str(settings.data_dir), doc_id, "0.4"], env=env)
    try:
        deadline = time.monotonic() + 60
        seen = ""
        while time.monotonic() < deadline:  # wait until the second section has checkpointed some text
            time.sleep(0.2)
            with sqlite3.connect(db) as peek:
                rows = peek.execute(
                    'SELECT status, text FROM sections WHERE document_id = ? ORDER BY "index"', (doc_id,)
                ).fetchall()
            if len(rows) == 2 and rows[0][0] == "done" and len(rows[1][1].split()) >= 20:
                seen = rows[1][1]
                break
        assert seen, "the second section never checkpointed"
        killed_at = time.monotonic()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    store = Store.from_settings(settings)
    sections = store.sections(doc_id)
    assert sections[0].status == "done" and len(sections[0].text.split()) > 50
    assert sections[1].text.startswith(seen), "text checkpointed before the kill is there"
    assert killed_at  # the kill came mid-section: the second section was not finished
    assert sections[1].status != "done"
    store.close()

    finished = subprocess.run(
        [sys.executable, str(script), str(settings.data_dir), doc_id, "0"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr.decode()[-2000:]
    store = Store.from_settings(settings)
    sections = store.sections(doc_id)
    assert all(s.status == "done" for s in sections)
    assert sections[1].text.startswith(seen), "Continue picked up the killed section"
    store.close()


KILLABLE_WRITER = '''
"""Write (or continue) one document through the studio with the scripted model, as the CLI does."""
import asyncio, sys
from pathlib import Path
from scripted import ScriptedBackend
from longwriter.settings import Settings
from longwriter.studio import Studio
from longwriter.events import Failed

async def main(data_dir: str, doc_id: str, delay: float) -> int:
    settings = Settings(_env_file=None, data_dir=Path(data_dir))
    studio = Studio(settings)
    studio.use_backend(ScriptedBackend(settings.models_dir, delay=delay))
    failed = [e async for e in studio.write(doc_id) if isinstance(e, Failed)]
    await studio.aclose()
    return 1 if failed else 0

sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]))))
'''
