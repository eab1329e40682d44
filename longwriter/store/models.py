"""The tables: documents, their sections, and every generation that produced text.

A document row exists from the moment the user asks for one; each plan section is a row whose
text is checkpointed while it streams; each model call is a generation row with its settings,
timings and token counts, so later issues (ratings, preference pairs, evaluation) have something
to point at. Changing anything here needs a migration: see :mod:`longwriter.store.migrate`.

Short strings use SQLModel's ``AutoString`` (VARCHAR, unbounded on SQLite and PostgreSQL);
free text uses ``TEXT``; small structured values (sampling parameters, the plan) use SQLAlchemy's
portable ``JSON``. Datetimes are timezone-aware UTC on every backend (SQLModel's ``UTCDateTime``).
Enumerations are ``Literal`` annotations stored as plain strings: adding a status then needs no
migration, unlike a database ENUM.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import uuid4

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

Mode = Literal["agentwrite", "parallel", "single", "think"]
DocumentStatus = Literal["planning", "planned", "writing", "done", "stopped", "failed"]
SectionStatus = Literal["pending", "writing", "done", "stopped", "failed"]
GenerationKind = Literal["plan", "section", "continue", "regenerate", "single"]
GenerationStatus = Literal["done", "stopped", "failed"]

# Deterministic constraint names: Alembic needs names to alter or drop a constraint, and SQLite's
# batch migrations recreate tables by name. Must be set before the first table is declared.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (naive datetimes are refused by the columns)."""
    return datetime.now(UTC)


def new_id() -> str:
    """A document id: random, unguessable in a URL, and unique without a database round trip."""
    return uuid4().hex


class Document(SQLModel, table=True):
    """One piece of writing: the request, its settings, its plan and where writing stands."""

    __tablename__ = "documents"

    id: str = Field(default_factory=new_id, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, index=True)
    user: str | None = Field(default=None, index=True, description="login name; None without login")
    instruction: str = Field(sa_type=Text)
    target_words: int
    mode: Mode = Field(default="agentwrite", sa_type=AutoString)
    model: str = ""
    backend: str = ""
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    plan: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON), description="[{main_point, words}, ...] as in plan.Plan"
    )
    plan_raw: str = Field(default="", sa_type=Text, description="the model's plan text before parsing")
    status: DocumentStatus = Field(default="planning", sa_type=AutoString)
    error: str | None = Field(default=None, sa_type=Text)
    words: int = 0
    length_score: float | None = None
    title: str | None = None
    parent_id: str | None = Field(
        default=None, foreign_key="documents.id", ondelete="SET NULL", description="duplicated from"
    )


class Section(SQLModel, table=True):
    """One plan step's text; ``index`` is its 0-based position in the plan and in the writer's events.

    The unique (document_id, index) constraint doubles as the index for "sections of a document".
    """

    __tablename__ = "sections"
    __table_args__ = (UniqueConstraint("document_id", "index"),)

    id: int | None = Field(default=None, primary_key=True)
    document_id: str = Field(foreign_key="documents.id", ondelete="CASCADE")
    index: int
    main_point: str = Field(default="", sa_type=Text)
    target_words: int = 0
    text: str = Field(default="", sa_type=Text)
    reasoning: str = Field(default="", sa_type=Text, description="think mode's thoughts, not document text")
    status: SectionStatus = Field(default="pending", sa_type=AutoString)
    words: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class Generation(SQLModel, table=True):
    """One model call: what was asked, what came back, with which settings and how fast."""

    __tablename__ = "generations"

    id: int | None = Field(default=None, primary_key=True)
    document_id: str = Field(foreign_key="documents.id", ondelete="CASCADE", index=True)
    section_index: int | None = Field(default=None, description="None for the plan")
    kind: GenerationKind = Field(sa_type=AutoString)
    model: str = ""
    backend: str = ""
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prompt: str = Field(default="", sa_type=Text)
    output: str = Field(default="", sa_type=Text)
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    started_at: datetime = Field(default_factory=utcnow)
    seconds: float = 0.0
    stop_reason: str | None = None
    status: GenerationStatus = Field(default="done", sa_type=AutoString)
