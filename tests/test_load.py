"""Load held: 1,000 judgements posted at once land as exactly 1,000 rows, on SQLite and PostgreSQL;
eight writers share the embedded model through the queue and none sees another's text.

The judgements go through the same functions the page and the API call (``vote``, ``record_thumb``,
``record_edit`` via the studio), from 32 threads at once: SQLite writers queue on the busy timeout
(WAL lets readers through), PostgreSQL serves them from its pool. Every call must succeed, and the
rows must be exactly the ones posted: no duplicates, none lost.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, make_url
from sqlmodel import select

from longwriter.plan import Plan, Section
from longwriter.preferences import record_thumb, vote
from longwriter.settings import Settings
from longwriter.store import Store
from longwriter.store.models import Battle, Feedback, PreferencePair

pytestmark = pytest.mark.timeout(600)

POSTS = 1000
THREADS = 32
PLAN = Plan(
    sections=[Section(main_point="Where tea grows", words=150), Section(main_point="How it is made", words=150)]
)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'longwriter.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        name = f"load_{tmp_path.name.replace('-', '_').lower()}"[:60]
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
    opened = Store(url)
    yield opened
    opened.close()


def finished_battle(store: Store) -> tuple[str, str]:
    """A document with written sections and a battle that finished on both sides."""
    docs = []
    for side in ("a", "b"):
        doc = store.create_document(f"Write about tea ({side}).", 300, plan=PLAN, user="writer")
        for index in (0, 1):
            store.save_section(doc.id, index, text=f"Side {side}, section {index}: tea grows on hills.", status="done")
        store.set_status(doc.id, "done")
        docs.append(doc.id)
    battle = Battle(
        user="writer",
        instruction="Write about tea.",
        target_words=300,
        config_a={"label": "a"},
        config_b={"label": "b"},
        document_a_id=docs[0],
        document_b_id=docs[1],
        status="done",
    )
    with store.session() as session:
        session.add(battle)
    return docs[0], battle.id


def test_a_thousand_judgements_at_once_are_a_thousand_rows(store: Store) -> None:
    doc_id, battle_id = finished_battle(store)

    def post(n: int) -> tuple[str, int]:
        user = f"user{n % 50}"
        if n % 2:
            pair = vote(store, battle_id, ("a", "b", "tie", "both_bad")[n % 4], user=user)
            return "vote", pair.id or 0
        thumb = record_thumb(store, doc_id, bool(n % 4), index=n % 3 if n % 3 < 2 else None, reason=f"#{n}", user=user)
        return "thumb", thumb.id or 0

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(post, range(POSTS)))  # any failure re-raises here
    seconds = time.monotonic() - started

    kinds = Counter(kind for kind, _ in results)
    assert kinds == {"vote": POSTS // 2, "thumb": POSTS // 2}
    with store.session() as session:
        pairs = session.exec(select(func.count()).select_from(PreferencePair)).one()
        thumbs = session.exec(select(Feedback.reason)).all()
        pair_ids = session.exec(select(PreferencePair.id)).all()
    assert pairs == POSTS // 2 and len(thumbs) == POSTS // 2
    assert sorted(thumbs) == sorted(f"#{n}" for n in range(0, POSTS, 2)), "each thumb exactly once"
    assert sorted(pair_ids) == sorted(i for kind, i in results if kind == "vote"), "each vote exactly once"
    print(f"{POSTS} judgements from {THREADS} threads on {store.engine.url.get_backend_name()}: {seconds:.1f} s")


@pytest.mark.model
async def test_eight_writers_share_the_model_and_keep_their_own_text(settings: Settings, local_backend: Any) -> None:
    """Eight API clients write at once with the queue on (two at a time): all finish, each its own text."""
    import asyncio

    from web import App

    from longwriter.studio import Studio

    studio = Studio(settings)
    studio.use_backend(local_backend)
    app = await asyncio.to_thread(App, studio, None, 2)
    try:
        topics = ["green tea", "lighthouses", "bees", "volcanoes", "violins", "glaciers", "owls", "bridges"]

        def write(topic: str) -> dict[str, Any]:
            client = app.client()
            doc = client.predict(f"Write two sentences about {topic}.", 100, "single", api_name="/create_document")
            job = client.submit(doc["id"], api_name="/write")
            final = job.result(timeout=500)
            positions = [u for u in job.outputs() if isinstance(u, dict)]
            return {"topic": topic, "id": doc["id"], "final": final, "updates": len(positions)}

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = await asyncio.to_thread(lambda: list(pool.map(write, topics)))
        assert [r["final"]["status"] for r in results] == ["done"] * 8, [r["final"] for r in results]
        texts = {r["id"]: studio.store.document_text(r["id"]) for r in results}
        assert all(texts.values()), "every document has text"
        assert len(set(texts.values())) == 8, "no two writers got the same text"
        for r in results:
            others = [t for i, t in texts.items() if i != r["id"]]
            assert not any(texts[r["id"]] in other for other in others), "no text landed in another document"
    finally:
        await asyncio.to_thread(app.close)
