"""Schema migrations: every database is brought to the newest schema when the store opens it.

The schema has been versioned with Alembic since the first table, so a database written by any
earlier release is upgraded in place and nothing a user wrote is ever dropped to "recreate the
tables". :func:`upgrade` runs ``alembic upgrade head`` in code; no alembic.ini is needed.

Adding a migration (for example the preference tables: votes, pairs, thumbs):

1. Declare the tables in ``longwriter/store/models.py`` (or in a module that models.py imports,
   so that ``SQLModel.metadata`` knows them when migrations run).
2. Generate the script: ``python -m longwriter.store.migrations "add preference tables"``. It builds
   a scratch database at the current head, compares it with the models and writes
   ``migrations/versions/000N_add_preference_tables.py`` with the next sequential revision id.
3. Read and tidy the script: autogenerate misses renames (it sees a drop and an add) and cannot
   guess how to fill a new NOT NULL column in existing rows (give it a ``server_default`` or
   backfill with ``op.execute``). Keep ``batch_alter_table`` blocks: SQLite can only alter a
   table by copying it. Write a working ``downgrade()``.
4. ``pytest tests/test_store.py`` checks that the migrated schema equals the models, so a model
   change without its migration fails there before it reaches a user.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine

from longwriter.store.engine import StoreError, make_engine, translate_errors

MIGRATIONS = Path(__file__).with_name("migrations")
# PostgreSQL names advisory locks by a 64-bit number; every release must use the same one.
_MIGRATION_LOCK = 0x4C57_4D49_4752_4154  # "LWMIGRAT"


def alembic_config(connection: Connection) -> Config:
    """An Alembic configuration that migrates ``connection`` with the scripts in this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision``: creates a fresh database, upgrades an older one.

    On SQLite, foreign keys are off while migrating: batch migrations copy a table, drop the
    original and rename the copy, and dropping a table with foreign keys on would first delete
    (cascade) every row that references it.
    """
    sqlite = engine.dialect.name == "sqlite"
    with translate_errors(engine.url), engine.connect() as connection:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op once a transaction is open
        try:
            _take_turns(connection)
            command.upgrade(alembic_config(connection), revision)
            connection.commit()
        except CommandError as exc:
            raise StoreError(
                f"The database schema cannot be upgraded: {exc}. "
                "A database last used by a newer LongWriter Studio needs that version."
            ) from exc
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def _take_turns(connection: Connection) -> None:
    """Hold the database's migration lock until the upgrade commits.

    Processes that open one database at the same moment (studio replicas started together by
    compose, the CLI beside a running app on a fresh data folder) would otherwise each find it
    empty and create the same tables, and all but one would fail. With the lock they take turns,
    and each one after the first finds the schema at head and does nothing. SQLite's lock is its
    write lock (waiting up to its busy timeout); PostgreSQL's is an advisory lock that the commit
    releases. Both run the whole upgrade in that one transaction.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")


def new_migration(message: str) -> Path:
    """Write the next migration script from the difference between the models and the scripts."""
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/head.db")
        try:
            upgrade(engine)
            with engine.connect() as connection:
                config = alembic_config(connection)
                number = sum(1 for _ in ScriptDirectory.from_config(config).walk_revisions()) + 1
                script = command.revision(config, message, autogenerate=True, rev_id=f"{number:04d}")
        finally:
            engine.dispose()
    assert script is not None and not isinstance(script, list)  # one head, so one script
    return Path(script.path)
