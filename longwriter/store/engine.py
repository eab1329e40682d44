"""Database engines and the one error type the rest of the app sees from storage.

SQLite in the data directory is the default: one file, no server, and in WAL mode readers never
block the writer, so the UI can list documents while a run checkpoints text. Any other SQLAlchemy
URL (PostgreSQL for shared deployments) gets a plain pooled engine with pre-ping, so a database
restart costs one reconnect instead of an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",  # readers and one writer at once; persistent, but cheap to re-assert
    "PRAGMA synchronous=NORMAL",  # durable at every checkpoint of the WAL; safe against app crashes
    "PRAGMA busy_timeout=5000",  # wait for a concurrent writer instead of failing at once
    "PRAGMA foreign_keys=ON",  # SQLite ignores ON DELETE CASCADE unless asked, per connection
)

_RELOCATE = "Set LONGWRITER_DATA_DIR to a writable folder or LONGWRITER_DATABASE_URL to another database."
_HINTS = (
    ("disk is full", "The disk is full: free some space and try again."),
    ("readonly", f"The database is read-only. {_RELOCATE}"),
    ("unable to open", f"Check that the folder exists and is writable. {_RELOCATE}"),
    ("locked", "Another process kept the database locked for more than 5 seconds; try again."),
)


class StoreError(RuntimeError):
    """Storage cannot be used; the message says why and what to do, and is meant for the user."""


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for SQLite, create the folder and configure every connection.

    SQLite connections may be used from any thread (``check_same_thread=False``) because the pool
    hands each call its own connection; an in-memory database (``sqlite://``) is a single shared
    connection, since every new connection would otherwise see a different, empty database.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if parsed.database in (None, "", ":memory:"):
        options["poolclass"] = StaticPool
    elif not parsed.query.get("uri"):  # "file:" URIs name their own location and mode
        _create_folder(Path(parsed.database).parent)
    engine = create_engine(parsed, **options)
    event.listen(engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _create_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"Cannot create the data folder {folder}: {exc.strerror or exc}. {_RELOCATE}") from exc


@contextmanager
def translate_errors(url: URL) -> Iterator[None]:
    """Turn the database's operational failures (full disk, read-only file, lock timeout, server
    gone) into a :class:`StoreError` that names the database and the remedy."""
    try:
        yield
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip()
        hint = next((text for key, text in _HINTS if key in reason.lower()), "")
        where = url.render_as_string(hide_password=True)
        raise StoreError(f"The database {where} failed: {reason}. {hint}".strip()) from exc
