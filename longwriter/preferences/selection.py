"""Which judgements an export takes: filters by source, date, user and length."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import col, select

from longwriter.preferences.rows import SOURCES, PreferenceError, in_range
from longwriter.store import Feedback, PreferencePair, Store


@dataclass
class Filters:
    """Which judgements to export. Dates are inclusive; a bare date means the whole day (UTC)."""

    sources: Sequence[str] | None = None
    since: datetime | date | None = None
    until: datetime | date | None = None
    user: str | None = None
    min_words: int = 0
    """Both texts of a pair (a KTO completion) must have at least this many words."""
    include_ties: bool = False
    include_both_bad: bool = False
    latest_edit_only: bool = True
    """Of several edits of the same model text, export only the newest (the user's final text)."""

    def __post_init__(self) -> None:
        unknown = set(self.sources or ()) - set(SOURCES)
        if unknown:
            raise PreferenceError(f"Unknown source(s) {', '.join(sorted(unknown))}; choose from {', '.join(SOURCES)}.")


def pairs(store: Store, filters: Filters | None = None) -> list[PreferencePair]:
    """Stored pairs matching ``filters``, oldest first."""
    f = filters or Filters()
    query = select(PreferencePair).order_by(col(PreferencePair.created_at), col(PreferencePair.id))
    if f.sources:
        query = query.where(col(PreferencePair.source).in_(list(f.sources)))
    if f.user is not None:
        query = query.where(PreferencePair.user == f.user)
    verdicts = ["preferred"] + (["tie"] if f.include_ties else []) + (["both_bad"] if f.include_both_bad else [])
    query = query.where(col(PreferencePair.verdict).in_(verdicts))
    if f.min_words:
        query = query.where(PreferencePair.chosen_words >= f.min_words, PreferencePair.rejected_words >= f.min_words)
    query = in_range(query, PreferencePair, f.since, f.until)
    with store.session() as session:
        rows = list(session.exec(query).all())
    if f.latest_edit_only:
        newest: dict[int | None, int] = {}
        for row in rows:
            if row.source == "edit":
                newest[row.generation_id] = row.id or 0
        rows = [r for r in rows if r.source != "edit" or newest.get(r.generation_id) == r.id]
    return rows


def feedback(store: Store, filters: Filters | None = None) -> list[Feedback]:
    """Stored thumbs matching ``filters`` (user, dates, minimum words), oldest first."""
    f = filters or Filters()
    query = select(Feedback).order_by(col(Feedback.created_at), col(Feedback.id))
    if f.user is not None:
        query = query.where(Feedback.user == f.user)
    if f.min_words:
        query = query.where(Feedback.words >= f.min_words)
    query = in_range(query, Feedback, f.since, f.until)
    with store.session() as session:
        return list(session.exec(query).all())
