"""Alembic environment: migrate the connection that :mod:`longwriter.store.migrate` hands over.

There is no alembic.ini and no engine here: the app opens the database with its own engine
(SQLite pragmas, pooling) and passes the connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import DateTime, String, TypeDecorator
from sqlmodel import SQLModel

import longwriter.store.models  # noqa: F401  (declares the tables on SQLModel.metadata)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write SQLModel's column types (``AutoString``, ``UTCDateTime``) as the plain SQLAlchemy
    types they store, in generated migrations.

    A migration is a frozen record of the schema: it should not change meaning, or stop
    importing, when SQLModel's own types do.
    """
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        if type(impl) is DateTime:
            return f"sa.DateTime(timezone={impl.timezone})"
        if type(impl) is String:
            return "sa.String()" if impl.length is None else f"sa.String(length={impl.length})"
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through longwriter.store.migrate, not the alembic command line.")
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them; batch mode does that portably
    render_item=render_item,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
