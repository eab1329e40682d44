"""How many judgements of each kind are stored, for the Data tab."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from longwriter.preferences.rows import SOURCES
from longwriter.store import Battle, Feedback, PreferencePair, Store


def counts(store: Store) -> list[tuple[str, int]]:
    """How many judgements of each kind are stored: pairs by source and verdict, thumbs, battles."""
    with store.session() as session:
        by_source = session.exec(
            select(PreferencePair.source, PreferencePair.verdict, func.count()).group_by(
                col(PreferencePair.source), col(PreferencePair.verdict)
            )
        ).all()
        thumbs = dict(session.exec(select(Feedback.label, func.count()).group_by(col(Feedback.label))).all())
        battles = dict(session.exec(select(Battle.status, func.count()).group_by(col(Battle.status))).all())
    pairs_by = {(source, verdict): n for source, verdict, n in by_source}
    rows = [(f"{source} pairs", pairs_by.get((source, "preferred"), 0)) for source in SOURCES]
    rows += [
        ("arena ties", pairs_by.get(("arena", "tie"), 0)),
        ("arena both bad", pairs_by.get(("arena", "both_bad"), 0)),
        ("thumbs up", thumbs.get(True, 0)),
        ("thumbs down", thumbs.get(False, 0)),
        ("battles finished", battles.get("done", 0)),
        ("battles unfinished", battles.get("unfinished", 0) + battles.get("running", 0)),
        ("battles failed", battles.get("failed", 0)),
    ]
    return rows
