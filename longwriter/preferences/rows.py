"""How judgements are stored and selected: one append-only insert, the date filter, the error they refuse with."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import col

from longwriter.store import Store
from longwriter.store.models import PairSource

SOURCES: tuple[PairSource, ...] = ("arena", "regenerate", "edit")
"""Where a preference pair comes from."""


class PreferenceError(ValueError):
    """A judgement that cannot be recorded (unfinished battle, unknown vote, nothing to compare); for the user."""


def add_row(store: Store, row: Any) -> Any:
    """Insert one row in a transaction that writes first: on SQLite a transaction that reads and then
    writes can fail at once under concurrent writers, while one that starts by writing waits its turn."""
    with store.session() as session:
        session.add(row)
        session.flush()
        return row


def _as_utc(value: datetime | date | None, end: bool) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min, tzinfo=UTC) + (timedelta(days=1) if end else timedelta(0))
        return value - timedelta(microseconds=1) if end else value
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def in_range(query: Any, table: Any, since: datetime | date | None, until: datetime | date | None) -> Any:
    start, end = _as_utc(since, end=False), _as_utc(until, end=True)
    if start is not None:
        query = query.where(col(table.created_at) >= start)
    if end is not None:
        query = query.where(col(table.created_at) <= end)
    return query
