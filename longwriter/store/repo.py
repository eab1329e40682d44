"""The store: every read and write of documents, sections and generations goes through here.

Each method opens its own short session and commits before returning, so a row is durable the
moment the call ends (a crash or closed tab afterwards loses nothing) and returned objects are
plain detached values that any thread may read. Calls are synchronous on purpose: each is one
small transaction of a few milliseconds on SQLite in WAL mode, which costs less than handing it
to a thread pool, and keeps the writer's checkpoints in event order. They are safe from many
threads at once (one pooled connection per call; SQLite writers queue on ``busy_timeout``) and
from asyncio code, where a call briefly blocks the loop like any other short computation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import func, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from longwriter.plan import Plan
from longwriter.store.engine import StoreError, make_engine, translate_errors
from longwriter.store.migrate import upgrade
from longwriter.store.models import (
    Document,
    DocumentStatus,
    Generation,
    Mode,
    Section,
    SectionStatus,
    utcnow,
)
from longwriter.text import count_words, length_score

if TYPE_CHECKING:
    from longwriter.settings import Settings


class NotFound(StoreError, LookupError):
    """No such document (or section), or it belongs to another user: the two are not told apart on purpose."""


class Store:
    """Documents, their sections and generations in one database, migrated to the newest schema on open."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        try:
            upgrade(self.engine)
        except BaseException:
            self.engine.dispose()
            raise

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """The store of a deployment: ``settings.db_url`` (SQLite in the data folder by default)."""
        return cls(settings.db_url)

    def close(self) -> None:
        """Release pooled connections (the SQLite WAL is checkpointed when the last one closes)."""
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One short transaction, committed on exit: every call of the app is one, so whatever it
        wrote is durable the moment it returns. Storage failures come out as :class:`StoreError`.

        The preference and evaluation tables live in this same database and use this too."""
        with (
            translate_errors(self.engine.url),
            Session(self.engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    # -- documents --------------------------------------------------------------------------

    def create_document(
        self,
        instruction: str,
        target_words: int,
        *,
        mode: Mode = "agentwrite",
        model: str = "",
        backend: str = "",
        params: dict[str, object] | None = None,
        user: str | None = None,
        title: str | None = None,
        plan: Plan | None = None,
        parent_id: str | None = None,
    ) -> Document:
        """Save a new document before anything is generated, so even the request survives a crash."""
        if target_words < 1:
            raise ValueError(f"target_words must be positive, not {target_words}")
        doc = Document(
            instruction=instruction,
            target_words=target_words,
            mode=mode,
            model=model,
            backend=backend,
            params=dict(params or {}),
            user=user,
            title=title,
            parent_id=parent_id,
        )
        with self.session() as session:
            session.add(doc)
            if plan is not None:
                _apply_plan(session, doc, plan, raw="")
        return doc

    def get_document(self, doc_id: str, user: str | None = None) -> Document | None:
        """The document, or None; with ``user``, only that user's documents are visible."""
        with self.session() as session:
            return _find(session, doc_id, user)

    def list_documents(self, user: str | None = None, search: str | None = None, limit: int = 200) -> list[Document]:
        """Documents, most recently changed first, optionally only ``user``'s and matching ``search``.

        ``search`` is a case-insensitive substring of the instruction, the title or any section's text.
        """
        query = select(Document)
        if user is not None:
            query = query.where(Document.user == user)
        if search and search.strip():
            pattern = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            in_text = select(Section.document_id).where(col(Section.text).ilike(pattern, escape="\\"))
            query = query.where(
                or_(
                    col(Document.instruction).ilike(pattern, escape="\\"),
                    col(Document.title).ilike(pattern, escape="\\"),
                    col(Document.id).in_(in_text),
                )
            )
        query = query.order_by(col(Document.updated_at).desc(), col(Document.created_at).desc()).limit(limit)
        with self.session() as session:
            return list(session.exec(query).all())

    def set_plan(self, doc_id: str, plan: Plan, raw: str = "") -> Document:
        """Store the plan and one section row per step; the document becomes "planned".

        A step whose main point is unchanged keeps its text and status (only its budget follows the
        plan), so editing a half-written document's plan keeps the finished sections; a changed
        step starts over empty, and rows past the end of the plan are deleted.
        """
        with self.session() as session:
            doc = _get(session, doc_id)
            _apply_plan(session, doc, plan, raw)
            return doc

    def set_status(self, doc_id: str, status: DocumentStatus, error: str | None = None) -> Document:
        """Set the document's status; ``error`` is kept with "failed" and cleared otherwise."""
        with self.session() as session:
            doc = _get(session, doc_id)
            doc.status, doc.error, doc.updated_at = status, error, utcnow()
            return doc

    def delete_document(self, doc_id: str, user: str | None = None) -> bool:
        """Delete the document with its sections and generations; False if there was none to delete."""
        with self.session() as session:
            doc = _find(session, doc_id, user)
            if doc is None:
                return False
            session.delete(doc)  # the database cascades to sections and generations
            return True

    def duplicate_document(self, doc_id: str, user: str | None = None) -> Document:
        """A new document with the same request, settings and plan but no text, to rewrite or re-plan."""
        with self.session() as session:
            source = _find(session, doc_id, user)
            if source is None:
                raise NotFound(f"There is no document {doc_id}.")
            copy = Document(
                instruction=source.instruction,
                target_words=source.target_words,
                mode=source.mode,
                model=source.model,
                backend=source.backend,
                params=dict(source.params),
                user=source.user,
                title=source.title,
                parent_id=source.id,
            )
            session.add(copy)
            if source.plan is not None:
                _apply_plan(session, copy, Plan.model_validate({"sections": source.plan}), raw=source.plan_raw)
            return copy

    # -- sections ---------------------------------------------------------------------------

    def sections(self, doc_id: str) -> list[Section]:
        """The document's sections in plan order."""
        with self.session() as session:
            return list(session.exec(_sections_of(doc_id)).all())

    def save_section(
        self,
        doc_id: str,
        index: int,
        *,
        text: str | None = None,
        reasoning: str | None = None,
        status: SectionStatus | None = None,
        target_words: int | None = None,
    ) -> Section:
        """Create or update section ``index`` with the given fields; the writer's checkpoints use this.

        A section missing from the table takes its main point and budget from the document's plan.
        The document's word count and length score follow every text change.
        """
        with self.session() as session:
            doc = _get(session, doc_id)
            section = _section(session, doc, index, create=True)
            if reasoning is not None:
                section.reasoning = reasoning
            if status is not None:
                section.status = status
            if target_words is not None:
                section.target_words = target_words
            _set_text(session, doc, section, text)
            return section

    def update_section_text(self, doc_id: str, index: int, text: str) -> Section:
        """Replace a section's text with the user's edit; its status is left as it was.

        The model's original output stays in its generation row, so an edit can later become a
        preference pair (model text vs. edited text).
        """
        with self.session() as session:
            doc = _get(session, doc_id)
            section = _section(session, doc, index, create=False)
            _set_text(session, doc, section, text)
            return section

    def document_text(self, doc_id: str) -> str:
        """The document as one text: its non-empty sections in order, separated by blank lines."""
        return "\n\n".join(s.text.strip() for s in self.sections(doc_id) if s.text.strip())

    # -- generations ------------------------------------------------------------------------

    def add_generation(self, generation: Generation) -> Generation:
        """Record one model call (its ``document_id`` must exist); returns it with its id."""
        with self.session() as session:
            _get(session, generation.document_id)
            session.add(generation)
            session.flush()  # assigns the id before the session closes
            return generation

    def generations(self, doc_id: str) -> list[Generation]:
        """The document's generations in the order they were recorded."""
        query = select(Generation).where(Generation.document_id == doc_id).order_by(col(Generation.id))
        with self.session() as session:
            return list(session.exec(query).all())


def _find(session: Session, doc_id: str, user: str | None) -> Document | None:
    doc = session.get(Document, doc_id)
    if doc is None or (user is not None and doc.user != user):
        return None
    return doc


def _get(session: Session, doc_id: str) -> Document:
    doc = session.get(Document, doc_id)
    if doc is None:
        raise NotFound(f"There is no document {doc_id}.")
    return doc


def _sections_of(doc_id: str) -> SelectOfScalar[Section]:
    return select(Section).where(Section.document_id == doc_id).order_by(col(Section.index))


def _section(session: Session, doc: Document, index: int, *, create: bool) -> Section:
    section = session.exec(_sections_of(doc.id).where(Section.index == index)).first()
    if section is not None:
        return section
    if not create:
        raise NotFound(f"Document {doc.id} has no section {index + 1}.")
    plan = doc.plan or []
    step = plan[index] if 0 <= index < len(plan) else {}
    section = Section(
        document_id=doc.id, index=index, main_point=step.get("main_point", ""), target_words=step.get("words", 0)
    )
    session.add(section)
    return section


def _set_text(session: Session, doc: Document, section: Section, text: str | None) -> None:
    """Touch the section and its document; on a text change, recount words and the document's totals."""
    section.updated_at = doc.updated_at = utcnow()
    if text is not None and text != section.text:
        section.text, section.words = text, count_words(text)
        _refresh_totals(session, doc)


def _refresh_totals(session: Session, doc: Document) -> None:
    """The document's words are its sections' words; its length score is None until there are any."""
    session.flush()
    total = session.exec(select(func.coalesce(func.sum(Section.words), 0)).where(Section.document_id == doc.id))
    doc.words = int(total.one())
    doc.length_score = length_score(doc.target_words, doc.words) if doc.words else None


def _apply_plan(session: Session, doc: Document, plan: Plan, raw: str) -> None:
    doc.plan = [step.model_dump() for step in plan.sections]
    doc.plan_raw, doc.status, doc.error, doc.updated_at = raw, "planned", None, utcnow()
    session.flush()  # the document row must exist before its sections reference it
    existing = {s.index: s for s in session.exec(_sections_of(doc.id))}
    for index, step in enumerate(plan.sections):
        section = existing.pop(index, None)
        if section is None:
            section = Section(document_id=doc.id, index=index)
            session.add(section)
        if section.main_point != step.main_point:
            section.main_point, section.text, section.reasoning = step.main_point, "", ""
            section.words, section.status = 0, "pending"
        section.target_words = step.words
    for stale in existing.values():
        session.delete(stale)
    _refresh_totals(session, doc)
