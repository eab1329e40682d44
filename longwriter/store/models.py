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


# -- preferences: arena battles, preference pairs and thumbs (migration 0002) -------------------

BattleStatus = Literal["running", "done", "failed", "unfinished"]
Vote = Literal["a", "b", "tie", "both_bad"]
PairSource = Literal["arena", "regenerate", "edit"]
Verdict = Literal["preferred", "tie", "both_bad"]


class Battle(SQLModel, table=True):
    """One blind A/B comparison: an instruction written by two configurations under neutral names.

    Each side is a full document (in the Library like any other); ``config_a``/``config_b`` hold
    the configuration each side drew (``label``, ``model``, ``mode``, ``preset``, ``sampling``).
    Only a battle whose status is "done" (both sides finished) can be voted on and rated.
    """

    __tablename__ = "battles"

    id: str = Field(default_factory=new_id, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    user: str | None = Field(default=None, index=True)
    instruction: str = Field(sa_type=Text)
    target_words: int
    config_a: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    config_b: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    document_a_id: str | None = Field(default=None, foreign_key="documents.id", ondelete="SET NULL")
    document_b_id: str | None = Field(default=None, foreign_key="documents.id", ondelete="SET NULL")
    status: BattleStatus = Field(default="running", sa_type=AutoString)
    error: str | None = Field(default=None, sa_type=Text)


class PreferencePair(SQLModel, table=True):
    """One judgement as training data: a prompt and two texts, ``chosen`` preferred over ``rejected``.

    Rows are only ever appended (a second vote on the same battle is a new row), and the texts are
    copies taken when the judgement was made, so later edits or deletions of the documents do not
    change what was judged. ``verdict`` "tie" or "both_bad" (arena only) means neither side won;
    such rows keep side A in ``chosen`` and are left out of exports unless asked for.
    """

    __tablename__ = "preference_pairs"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    user: str | None = Field(default=None, index=True)
    source: PairSource = Field(sa_type=AutoString, index=True)
    verdict: Verdict = Field(default="preferred", sa_type=AutoString)
    prompt: str = Field(sa_type=Text, description="the full user prompt the texts answer")
    chosen: str = Field(sa_type=Text)
    rejected: str = Field(sa_type=Text)
    chosen_config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    rejected_config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    chosen_document_id: str | None = Field(default=None, foreign_key="documents.id", ondelete="SET NULL")
    rejected_document_id: str | None = Field(default=None, foreign_key="documents.id", ondelete="SET NULL")
    section_index: int | None = Field(default=None, description="None for whole documents")
    generation_id: int | None = Field(
        default=None, foreign_key="generations.id", ondelete="SET NULL", description="the model output judged"
    )
    battle_id: str | None = Field(default=None, foreign_key="battles.id", ondelete="SET NULL", index=True)
    vote: Vote | None = Field(default=None, sa_type=AutoString, description="the arena button: a, b, tie, both_bad")
    chosen_words: int = 0
    rejected_words: int = 0
    changed: float | None = Field(default=None, description="edits: share of words changed")


class Feedback(SQLModel, table=True):
    """A thumbs up or down on a section or a whole document: an unpaired (KTO) label."""

    __tablename__ = "feedback"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    user: str | None = Field(default=None, index=True)
    document_id: str | None = Field(default=None, foreign_key="documents.id", ondelete="SET NULL", index=True)
    section_index: int | None = Field(default=None, description="None for the whole document")
    label: bool = Field(description="True: thumbs up")
    reason: str | None = Field(default=None, sa_type=Text)
    prompt: str = Field(sa_type=Text)
    completion: str = Field(sa_type=Text)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    generation_id: int | None = Field(default=None, foreign_key="generations.id", ondelete="SET NULL")
    words: int = 0


# -- evaluations: LongBench-Write, LongWrite-Ruler and judge arenas (migration 0003) -------------

EvalKind = Literal["longbench-write", "ruler", "arena"]
EvalRunStatus = Literal["running", "done", "stopped", "failed"]
EvalItemStatus = Literal["pending", "writing", "done", "failed"]
ComparisonStatus = Literal["done", "unparsable"]


class EvalRun(SQLModel, table=True):
    """One evaluation run: what was evaluated (items, configurations, judge) and its latest report.

    ``fingerprint`` hashes the items and the generation settings, so running the same command
    again finds this run and continues it where it stopped instead of starting over.
    """

    __tablename__ = "eval_runs"

    id: str = Field(default_factory=new_id, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    kind: EvalKind = Field(sa_type=AutoString)
    fingerprint: str = Field(default="", index=True)
    source: str = Field(default="", description="the data file, folder or Hub id the items came from")
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: EvalRunStatus = Field(default="running", sa_type=AutoString)
    error: str | None = Field(default=None, sa_type=Text)
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON), description="the latest report")


class EvalItem(SQLModel, table=True):
    """One item of a run under one configuration: the request, the document written and its scores.

    The text itself lives in the document; ``words`` and ``length_score`` are computed from it
    with :mod:`longwriter.text`, ``judgement`` holds the judge's scores (or why they are missing).
    """

    __tablename__ = "eval_items"
    __table_args__ = (UniqueConstraint("run_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="eval_runs.id", ondelete="CASCADE")
    key: str = Field(description="unique in the run: configuration label and item id")
    position: int = 0
    config: str = Field(default="", description="configuration label")
    item_id: str = ""
    prompt: str = Field(sa_type=Text)
    type: str = ""
    language: str = ""
    required_words: int
    document_id: str | None = Field(default=None, foreign_key="documents.id", ondelete="SET NULL")
    status: EvalItemStatus = Field(default="pending", sa_type=AutoString)
    error: str | None = Field(default=None, sa_type=Text)
    words: int = 0
    length_score: float | None = None
    seconds: float = 0.0
    judgement: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    quality: float | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class EvalComparison(SQLModel, table=True):
    """One pairwise judgement of an arena run: one item written by two configurations, A shown first.

    Each pair is judged in both orders (two rows); ``winner`` is "a", "b" or "tie", and None when
    the judge's answer could not be parsed after its retries (``status`` "unparsable").
    """

    __tablename__ = "eval_comparisons"
    __table_args__ = (UniqueConstraint("run_id", "item_id", "config_a", "config_b"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="eval_runs.id", ondelete="CASCADE")
    item_id: str
    config_a: str
    config_b: str
    judge: str = ""
    winner: str | None = None
    status: ComparisonStatus = Field(default="done", sa_type=AutoString)
    attempts: int = 0
    answer: str = Field(default="", sa_type=Text, description="the judge's last answer")
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)
